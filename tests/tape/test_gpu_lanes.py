"""device="cuda" in eval_many, value_and_gradient_many, gradient_many, jacobian_many, check_many.

Under numba's CUDA simulator (tests/conftest.py sets NUMBA_ENABLE_CUDASIM=1) every thread runs
as Python calling the CPU build of the op switch, so results equal the CPU path bit for bit; on
a GPU (NUMBA_ENABLE_CUDASIM=0) libdevice's math and fused multiply-adds change the last bits,
and the tolerances below widen. The simulator runs each thread in Python: batches stay small.
Each tape is recorded at one point and replayed at others; each call runs twice.
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("numba_cuda")

from numba import cuda  # noqa: E402

import numba_ad as ad  # noqa: E402
from numba_ad.api import batch  # noqa: E402
from numba_ad.ops.table import TABLE, Op  # noqa: E402
from tests._support.branchy import FUNCTIONS as BRANCHY  # noqa: E402
from tests._support.op_tapes import one_op_tape  # noqa: E402
from tests._support.primitives import BINARY, UNARY  # noqa: E402

SIMULATOR = bool(cuda.config.ENABLE_CUDASIM)
if not SIMULATOR and not cuda.is_available():
    pytest.skip("NUMBA_ENABLE_CUDASIM=0 and no usable GPU", allow_module_level=True)

from numba_ad.tape import gpu_lanes  # noqa: E402

# Values equal the CPU's bit for bit under the simulator; derivatives are asked to rounding.
VALUE_RTOL = 0.0 if SIMULATOR else 1e-12
DERIVATIVE_RTOL = 1e-13 if SIMULATOR else 1e-11
N = 37  # not a multiple of the block (THREADS_PER_BLOCK): the last block is partial


def assert_values(gpu, cpu):
    if SIMULATOR:
        np.testing.assert_array_equal(gpu, cpu)
    else:
        np.testing.assert_allclose(gpu, cpu, rtol=VALUE_RTOL, atol=1e-300)


def assert_derivatives(gpu, cpu):
    np.testing.assert_allclose(gpu, cpu, rtol=DERIVATIVE_RTOL, atol=1e-14)


def p2_like(x):
    """P2 (sin, exp, cos, division, log) plus a constant power, a traced power and sqrt."""
    s = sum(
        np.sin(x[i]) * np.exp(np.cos(x[i + 1])) / (1 + x[i] ** 2) + np.log(1 + x[i] ** 2) for i in range(len(x) - 1)
    )
    return s + (1 + x[0] ** 2) ** 1.5 + (2 + x[1] ** 2) ** (0.5 * x[2]) - np.sqrt(3 + x[3])


def vector_f(x):
    return [
        x[0] * x[1] + np.tanh(x[2]),
        np.exp(x[0] - x[3]) / (2 + np.cos(x[1])),
        np.arctan(x[2] / (1.5 + x[3])) * x[0] ** 3,
    ]


def with_params(x, p):
    return np.sum(p[0] * np.sin(x) ** 2) + p[1] * np.exp(x[0] * x[1]) - np.log(2 + p[2] * x[2])


def complex_step_jacobian(f, x, h=1e-30):
    """d f / d x by the complex step (exact to rounding, independent of numba_ad): (m, n)."""
    cols = []
    for j in range(x.shape[0]):
        z = x.astype(complex)
        z[j] += 1j * h
        cols.append(np.imag(np.atleast_1d(np.asarray(f(z), dtype=complex))) / h)
    return np.stack(cols, axis=-1)


def points(n, N=N, seed=0, lo=-1.0, hi=1.0):
    rng = np.random.default_rng(seed)
    return rng.uniform(lo, hi, n), rng.uniform(lo, hi, (N, n))


@pytest.fixture(scope="module")
def p2_tape():
    x0, X = points(8)
    return ad.trace(p2_like, x0), X


def test_eval_and_gradient_equal_the_cpu_and_the_complex_step(p2_tape):
    tape, X = p2_tape
    values, G = tape.value_and_gradient_many(X)
    for _ in range(2):  # twice: nothing carries over between calls on the cached device arrays
        assert_values(tape.eval_many(X, device="cuda"), values)
        gpu_values, gpu_G = tape.value_and_gradient_many(X, device="cuda")
        assert_values(gpu_values, values)
        assert_derivatives(gpu_G, G)
        assert_derivatives(tape.gradient_many(X, device="cuda"), G)
    reference = np.array([complex_step_jacobian(p2_like, x)[0] for x in X])
    np.testing.assert_allclose(tape.gradient_many(X, device="cuda"), reference, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(tape.eval_many(X, device="cuda"), [p2_like(x) for x in X], rtol=1e-14)


def test_compiled_tape_passes_device_to_its_tape(p2_tape):
    tape, X = p2_tape
    compiled = tape.compile()
    values, G = compiled.value_and_gradient_many(X, device="cuda")
    assert_values(values, tape.eval_many(X))
    assert_derivatives(G, tape.gradient_many(X))
    assert_derivatives(compiled.gradient_many(X, device="cuda"), G)


@pytest.mark.parametrize("mode", ["forward", "reverse", "auto"])
def test_scalar_jacobian_is_the_gradient(p2_tape, mode):
    tape, X = p2_tape
    X = X[:9]
    J = tape.jacobian_many(X, mode=mode, device="cuda")
    assert J.shape == (9, 8)
    assert_derivatives(J, tape.gradient_many(X))


@pytest.mark.parametrize("mode", ["forward", "reverse", "auto"])
def test_vector_jacobian_both_modes(mode):
    x0, X = points(4, seed=1)
    tape = ad.trace(vector_f, x0)
    cpu = tape.jacobian_many(X, mode=mode)
    for _ in range(2):
        J = tape.jacobian_many(X, mode=mode, device="cuda")
        assert J.shape == (N, 3, 4)
        assert_derivatives(J, cpu)
    reference = np.array([complex_step_jacobian(lambda z: np.array(vector_f(z)), x) for x in X])
    np.testing.assert_allclose(J, reference, rtol=1e-12, atol=1e-14)
    assert_values(tape.eval_many(X, device="cuda"), tape.eval_many(X))


def test_forward_and_reverse_agree():
    x0, X = points(4, N=11, seed=2)
    tape = ad.trace(vector_f, x0)
    forward = tape.jacobian_many(X, mode="forward", device="cuda")
    np.testing.assert_allclose(forward, tape.jacobian_many(X, mode="reverse", device="cuda"), rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("per_point", [False, True], ids=["shared", "per_point"])
def test_params_shared_and_per_point(per_point):
    x0, X = points(3, seed=3)
    rng = np.random.default_rng(4)
    p0 = np.array([0.7, -0.3, 0.5])
    P = rng.uniform(0.2, 1.0, (N, 3)) if per_point else np.array([1.1, 0.4, 0.9])
    tape = ad.trace(with_params, x0, params=p0)
    for _ in range(2):
        assert_values(tape.eval_many(X, P, device="cuda"), tape.eval_many(X, P))
        assert_derivatives(tape.gradient_many(X, P, device="cuda"), tape.gradient_many(X, P))
        assert_derivatives(tape.jacobian_many(X, P, mode="forward", device="cuda"), tape.gradient_many(X, P))
    rows = P if per_point else np.tile(P, (N, 1))
    expected = [complex_step_jacobian(lambda z, p=p: with_params(z, p), x)[0] for x, p in zip(X, rows)]
    np.testing.assert_allclose(tape.gradient_many(X, P, device="cuda"), expected, rtol=1e-12, atol=1e-14)


GPU_OPS = [op for op in TABLE if op not in (Op.USER1, Op.USER2)]
EDGES = np.array([0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, np.nan])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the simulator's NumPy scalars at inf and NaN
@pytest.mark.parametrize("op", GPU_OPS, ids=[op.name for op in GPU_OPS])
def test_every_op_of_the_table(op):
    """Each op alone, inside its test domain and at zeros, infinities and NaN: on a GPU this is
    what checks libdevice and tape/gpu_ops.py's stand-ins against the CPU's values."""
    spec = TABLE[op]
    tape = one_op_tape(op, spec.test_c)
    rng = np.random.default_rng(int(op))
    inside = np.stack([rng.uniform(*spec.domain[0], 6), rng.uniform(*spec.domain[1], 6)], axis=1)
    edges = np.stack([EDGES, np.full(EDGES.shape, 0.5)], axis=1)
    if spec.arity == 2:
        edges = np.concatenate([edges, edges[:, ::-1]])
    X = np.concatenate([inside, edges])
    for gpu, cpu in zip(tape.value_and_gradient_many(X, device="cuda"), tape.value_and_gradient_many(X)):
        if SIMULATOR:
            np.testing.assert_array_equal(gpu, cpu)
            np.testing.assert_array_equal(np.signbit(gpu), np.signbit(cpu))
        else:
            np.testing.assert_allclose(gpu, cpu, rtol=1e-13, atol=1e-300, equal_nan=True)


def test_points_off_the_branch_raise_and_check_many_names_them():
    entry = BRANCHY["piecewise_cubic"]
    tape = ad.trace(entry.f, np.array([0.2, 0.1]))
    X = np.random.default_rng(1).uniform(entry.low, entry.high, (40, entry.n))
    expected = tape.check_many(X)
    assert (expected >= 0).any() and (expected < 0).any()
    np.testing.assert_array_equal(tape.check_many(X, device="cuda"), expected)
    first = int(np.argmax(expected >= 0))
    for call in (tape.eval_many, tape.gradient_many, tape.jacobian_many):
        with pytest.raises(ad.BranchChangedError) as info:
            call(X, device="cuda")
        assert info.value.guard == expected[first]
        assert f"row {first} of X" in "".join(getattr(info.value, "__notes__", []))
    on_branch = X[expected < 0]
    assert_derivatives(tape.gradient_many(on_branch, device="cuda"), tape.gradient_many(on_branch))


@pytest.mark.parametrize("n_points", [0, 1, 2, 129])
def test_batch_sizes(p2_tape, n_points):
    tape, _ = p2_tape
    _, X = points(8, N=n_points, seed=n_points)
    values, G = tape.value_and_gradient_many(X, device="cuda")
    assert values.shape == (n_points,) and G.shape == (n_points, 8)
    assert tape.jacobian_many(X, device="cuda").shape == (n_points, 8)
    assert tape.check_many(X, device="cuda").shape == (n_points,)
    assert_values(values, tape.eval_many(X))
    assert_derivatives(G, tape.gradient_many(X))


def test_chunks_cover_every_point(p2_tape, monkeypatch):
    """A budget of a few points per chunk: several chunks, the last one partial."""
    tape, X = p2_tape
    monkeypatch.setattr(gpu_lanes, "THREADS_PER_BLOCK", 4)
    monkeypatch.setattr(gpu_lanes, "DEVICE_BYTES", 8 * 4 * tape.n_ops * 9)
    assert gpu_lanes.chunk_points(N, 8 * 4 * tape.n_ops) == 8
    launches = []
    real = gpu_lanes._gradient_kernel
    monkeypatch.setattr(gpu_lanes, "_gradient_kernel", _Counting(real, launches))
    values, G = tape.value_and_gradient_many(X, device="cuda")
    assert len(launches) == 5  # 37 points in chunks of 8
    assert_values(values, tape.eval_many(X))
    assert_derivatives(G, tape.gradient_many(X))


class _Counting:
    """A kernel that records each launch's grid before launching."""

    def __init__(self, kernel, launches):
        self.kernel, self.launches = kernel, launches

    def __getitem__(self, config):
        self.launches.append(config)
        return self.kernel[config]


def test_tape_arrays_go_to_the_device_once(monkeypatch):
    x0, X = points(4, N=5, seed=5)
    tape = ad.trace(lambda x: np.sum(np.sin(x) * x), x0)
    copies = []
    real = gpu_lanes.to_device
    monkeypatch.setattr(gpu_lanes, "to_device", lambda arrays: copies.append(1) or real(arrays))
    for _ in range(3):
        tape.gradient_many(X, device="cuda")
    tape.eval_many(X, device="cuda")
    assert len(copies) == 1 and len(tape._on_device) == 1


@pytest.mark.parametrize(
    "f, name",
    [(lambda x: UNARY(x[0]) * x[1], "tests.unary"), (lambda x: BINARY(x[0], x[1]) + x[1], "tests.binary")],
    ids=["USER1", "USER2"],
)
def test_user_primitives_are_refused_by_name(f, name):
    tape = ad.trace(f, np.array([0.3, 0.4]))
    for call in (tape.eval_many, tape.gradient_many, tape.jacobian_many, tape.check_many):
        with pytest.raises(ValueError, match=rf"user primitive\(s\) '{name}'.*device='cpu'"):
            call(np.zeros((3, 2)), device="cuda")
    tape.gradient_many(np.zeros((3, 2)))  # the CPU path still runs it


@pytest.mark.parametrize("device", ["gpu", "CUDA", None, "cuda:0"])
def test_bad_device(device):
    tape = ad.trace(lambda x: x[0] * x[1], np.ones(2))
    for call in (tape.eval_many, tape.gradient_many, tape.value_and_gradient_many, tape.jacobian_many):
        with pytest.raises(ValueError, match=r"device must be 'cpu' or 'cuda'"):
            call(np.ones((2, 2)), device=device)


def test_without_numba_cuda_the_error_says_what_to_install(monkeypatch):
    monkeypatch.setattr(batch, "_numba_cuda_installed", lambda: False)
    tape = ad.trace(lambda x: x[0] * x[1], np.ones(2))
    with pytest.raises(ImportError, match=r"pip install numba_ad\[cuda\]"):
        tape.gradient_many(np.ones((2, 2)), device="cuda")


def test_without_a_gpu_the_error_says_so(monkeypatch):
    monkeypatch.setattr(gpu_lanes, "available", lambda: False)
    tape = ad.trace(lambda x: x[0] * x[1], np.ones(2))
    with pytest.raises(RuntimeError, match=r"no usable NVIDIA GPU.*NUMBA_ENABLE_CUDASIM=1"):
        tape.eval_many(np.ones((2, 2)), device="cuda")


PTX_CHECK = Path(__file__).resolve().parent.parent / "_support" / "gpu_ptx_check.py"


def test_kernels_compile_to_ptx(tmp_path):
    """The kernels as a GPU would build them (the rebuilt op switch: tape/gpu_ops.py), compiled
    by NVVM to PTX and assembled by ptxas for sm_90, in a child process with the simulator off.
    Needs the CUDA toolkit's libNVVM (and ptxas, when found), not a GPU."""
    # A cache folder of its own: numba's cache is not safe for two processes at once (numba issue 4807).
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="0", NUMBA_CACHE_DIR=str(tmp_path))
    env["PYTHONPATH"] = os.pathsep.join(sys.path)
    run = subprocess.run([sys.executable, str(PTX_CHECK)], env=env, capture_output=True, text=True, timeout=600)
    if run.returncode == PTX_CHECK_SKIP:
        pytest.skip(run.stdout.strip().splitlines()[-1])
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]


PTX_CHECK_SKIP = 77
