"""No kernel reads or writes outside its arrays, whatever Python passes (issue: out-of-bounds access).

Each case the issue found is a regression test here; a hypothesis test mutates real tapes and
runs the whole compile-free API on every mutation Tape.from_arrays accepts; and a child process
runs the same mutations and bad inputs with NUMBA_BOUNDSCHECK=1, where an index outside an array
raises IndexError inside the kernel instead of reading or writing memory silently.
"""

import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from numba import njit

import numba_ad as ad
from numba_ad import nb
from numba_ad.errors import KernelArgumentError
from numba_ad.ops.table import Op
from numba_ad.tape.arrays import is_validated
from tests._support.mutations import mutations, operands_in_range, real_tapes, run_mutation

REPO = Path(__file__).resolve().parents[2]


def rosen(x):
    return sum(100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2 for i in range(len(x) - 1))


def gmm_tape():
    """GMM (benchmarks/gmm.py) traced array-style: its loop nest reads w through an index table T."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    from gmm import gmm_numpy, make_data

    data = make_data(3, 4, 30)
    return ad.trace(lambda p: gmm_numpy(p, data.x, 4, 3), data.p_rec), data.p_rep


@pytest.fixture(scope="module")
def tape():
    return ad.trace(rosen, np.zeros(5))


X5 = np.array([0.3, -1.2, 0.7, 1.9, -0.4])


# ---------------------------------------------------------------------------------------
# Validated once, immutable after
# ---------------------------------------------------------------------------------------
def test_a_tapes_arrays_are_immutable(tape):
    for name, arr in zip(ad.TapeArrays._fields, tape.arrays, strict=True):
        with pytest.raises(ValueError, match="read-only"):
            arr[...] = 0
        with pytest.raises(ValueError, match="WRITEABLE"):
            arr.flags.writeable = True  # numpy refuses: the memory is a bytes object's
    with pytest.raises(ValueError, match="read-only"):
        tape.arrays.a[-1] = 10**7  # the issue: this made tape.gradient(x) return zeros
    g = tape.gradient(X5)
    np.testing.assert_array_equal(g, ad.trace(rosen, np.zeros(5)).gradient(X5))


def test_every_way_to_make_a_tape_validates_once(tape, tmp_path):
    assert is_validated(tape.arrays)
    assert is_validated(tape.optimize().arrays)
    assert is_validated(ad.Tape.from_arrays(tape.arrays).arrays)
    tape.save(tmp_path / "t.npz")
    assert is_validated(ad.load(tmp_path / "t.npz").arrays)
    copies = ad.TapeArrays(*[np.array(a) for a in tape.arrays])
    assert not is_validated(copies)
    assert not is_validated(tape.arrays._replace(c=np.frombuffer(tape.arrays.c.tobytes())))  # read-only, unchecked
    # Tape(...) itself validates what validated() did not return
    bad = copies._replace(a=np.where(np.arange(tape.n_ops) == 0, 7, copies.a))
    with pytest.raises(ValueError, match="slot 0 is a CONST"):
        ad.Tape(bad, True)


# ---------------------------------------------------------------------------------------
# from_arrays checks everything a later pass relies on
# ---------------------------------------------------------------------------------------
def _small(**changes):
    base = dict(
        op=np.array([Op.CONST, Op.INPUT, Op.PARAM, Op.CONST, Op.MUL, Op.SIN, Op.ADD]),
        a=np.array([0, 0, 0, 0, 1, 4, 5]),
        b=np.array([0, 0, 0, 0, 2, 0, 3]),
        c=np.array([0.0, 0.0, 0.0, 2.5, 0.0, 0.0, 0.0]),
        inputs=np.array([1]),
        outputs=np.array([6]),
        params=np.array([2]),
        guards=np.array([], dtype=np.int32),
    )
    base.update(changes)
    return ad.TapeArrays(**base)


@pytest.mark.parametrize(
    "field, slot, value, pattern",
    [
        ("a", 3, 2147483647, "slot 3 is a CONST whose a, b are 2147483647, 0"),  # optimize indexed with it
        ("b", 3, 1_000_000, "slot 3 is a CONST whose a, b are 0, 1000000"),
        ("a", 0, 5, "slot 0 is a CONST"),
        ("b", 1, 6, "slot 1 is a INPUT slot whose b is 6"),
        ("b", 2, -1, "slot 2 is a PARAM slot whose b is -1"),
        ("a", 1, 1_000_000, "must have a == j"),
        ("a", 2, 2147483647, "must have a == j"),
        ("a", 6, 6, "slot 6 reads slot a=6"),  # topological order: operands precede their op
    ],
)
def test_from_arrays_refuses_bad_structural_slots(field, slot, value, pattern):
    arr = getattr(_small(), field).copy()
    arr[slot] = value
    with pytest.raises(ValueError, match=pattern):
        ad.Tape.from_arrays(_small(**{field: arr}))


def test_from_arrays_accepts_the_small_tape_and_optimizes_it():
    tape = ad.Tape.from_arrays(_small())
    x, p = np.array([0.4]), np.array([1.5])
    assert tape.eval(x, p) == np.sin(0.6) + 2.5
    assert tape.optimize().eval(x, p) == tape.eval(x, p)


def test_the_issues_corrupted_tapes_are_refused():
    """The two reported shapes: slot index 2147483647, and 1000000 in a 15-slot tape."""
    tape = ad.trace(lambda x: x[0] * 2.0 + np.sin(x[1]) * x[0] + np.exp(x[2] * 3.0) / (x[1] + 1.5), np.ones(3))
    assert tape.n_ops < 20
    const = int(np.flatnonzero(tape.arrays.op == Op.CONST)[-1])
    for field, value in (("a", 2147483647), ("b", 1_000_000)):
        arr = np.array(getattr(tape.arrays, field))
        arr[const] = value
        with pytest.raises(ValueError, match="CONST"):
            ad.Tape.from_arrays(tape.arrays._replace(**{field: arr}))


# ---------------------------------------------------------------------------------------
# Hypothesis: mutations of real tapes are refused, or run cleanly
# ---------------------------------------------------------------------------------------
TAPES = real_tapes()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(mutations(len(TAPES)))
def test_mutated_tapes_are_refused_or_run_cleanly(mutation):
    which, changes = mutation
    assert run_mutation(TAPES, which, changes) in ("refused", "ran")


def test_the_oracle_catches_what_validation_used_to_miss():
    """The independent check of test_mutated_tapes... fails on the issue's tapes (it can fail)."""
    arrays = TAPES[0][1].arrays
    bad = arrays._replace(a=np.where(np.arange(arrays.op.shape[0]) == 0, 2147483647, arrays.a))
    with pytest.raises(AssertionError):
        operands_in_range(bad)


# ---------------------------------------------------------------------------------------
# CompiledTape: the kernels check the arguments Python or @njit code passes
# ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def compiled(tape):
    return tape.compile(straight_line=False)


def test_compiled_eval_into_with_x_one_short(compiled):
    w, _, T = compiled.workspace()
    with pytest.raises(ValueError, match=r"eval_into: x must have shape \(5,\)"):
        compiled.eval_into(X5[:4].copy(), np.empty(0), w, T, np.empty(1))
    with pytest.raises(ValueError, match=r"eval_into: y must have shape \(1,\)"):
        compiled.eval_into(X5, np.empty(0), w, T, np.empty(0))


def test_compiled_vjp_into_with_g_of_length_2(compiled):
    w, wb, T = compiled.workspace()
    with pytest.raises(ValueError, match=r"vjp_into: g must have shape \(5,\)"):
        compiled.vjp_into(X5, np.empty(0), w, wb, T, np.ones(1), np.empty(1), np.empty(2))
    with pytest.raises(ValueError, match=r"vjp_into: y_bar must have shape \(1,\)"):
        compiled.vjp_into(X5, np.empty(0), w, wb, T, np.ones(3), np.empty(1), np.empty(5))


@njit
def _vjp_from_njit(kernel, x, w, wb, T, g):
    y = np.empty(1)
    return kernel(x, x[:0], w, wb, T, np.ones(1), y, g)


def test_compiled_vjp_into_given_another_tapes_workspace_from_njit(compiled):
    other = ad.trace(rosen, np.zeros(8)).compile(straight_line=False)
    w, wb, T = other.workspace()
    with pytest.raises(ValueError, match="w must have shape"):
        _vjp_from_njit(compiled.vjp_into, X5, w, wb, T, np.empty(5))
    w, wb, T = compiled.workspace()
    g = np.empty(5)
    assert _vjp_from_njit(compiled.vjp_into, X5, w, wb, T, g) == 0
    np.testing.assert_allclose(g, compiled.tape.gradient(X5), rtol=1e-14)


def test_compiled_index_table_is_immutable_and_fingerprinted():
    tape, x = gmm_tape()
    compiled = tape.compile(straight_line=False, nest=True)
    n = tape.n_inputs
    w, wb, T = compiled.workspace()
    assert T.shape[0] > 1, "this tape should need an index table"
    with pytest.raises(ValueError, match="read-only"):
        T[0] = 10**6
    forged = T.copy()
    forged[-1] += 1  # a table of another module: its positions may lie beyond this w
    y, g = np.empty(1), np.empty(n)
    with pytest.raises(ValueError, match="T is not this module's index table"):
        compiled.vjp_into(x, np.empty(0), w, wb, forged, np.ones(1), y, g)
    with pytest.raises(ValueError, match="T is not this module's index table"):
        compiled.eval_into(x, np.empty(0), w, T[:-1], y)
    assert compiled.vjp_into(x, np.empty(0), w, wb, T, np.ones(1), y, g) == 0
    np.testing.assert_allclose(g, tape.gradient(x), rtol=1e-12, atol=1e-12)


def test_compiled_gradient_into_refuses_an_integer_g(tape):
    kernel_path = tape.compile()  # straight-line: gradient_into is the compiled kernel itself
    with pytest.raises(TypeError, match="gradient_into: g must be a writable C-contiguous float64 array"):
        kernel_path.gradient_into(X5, np.zeros(5, dtype=np.int64))
    ptape = ad.trace(lambda x, p: x[0] ** 2 * p[0] + x[1], np.ones(2), params=np.ones(1))
    python_path = ptape.compile()  # parameters: gradient_into validates as gradient() does
    g = np.zeros(2, dtype=np.int64)
    with pytest.raises(TypeError, match=r"g must be a float64 array of shape \(2,\); got int64"):
        python_path.gradient_into(np.array([0.3, 0.2]), g, np.array([2.0]))
    assert (g == 0).all()


def test_compiled_read_only_and_0d_arrays_get_clear_errors(compiled, tape):
    w, wb, T = compiled.workspace()
    read_only = np.frombuffer(np.zeros(1).tobytes())
    with pytest.raises(TypeError, match="eval_into: y must be a writable C-contiguous float64 array"):
        compiled.eval_into(X5, np.empty(0), w, T, read_only)
    with pytest.raises(TypeError, match="vjp_into: x must be .* of 1 dimension; got array\\(float64, 0d"):
        compiled.vjp_into(np.array(1.0), np.empty(0), w, wb, T, np.ones(1), np.empty(1), np.empty(5))
    straight = tape.compile()
    with pytest.raises(TypeError, match="gradient_into: g must be a writable"):
        straight.gradient_into(X5, np.frombuffer(np.zeros(5).tobytes()))
    with pytest.raises(ValueError, match="g is read-only"):
        ad.trace(lambda x, p: x[0] * p[0], np.ones(1), params=np.ones(1)).compile().gradient_into(
            np.ones(1), np.frombuffer(np.zeros(1).tobytes()), np.ones(1)
        )
    # read-only x from Python through the methods: accepted (nothing writes x)
    assert compiled.eval(np.frombuffer(X5.tobytes())) == tape.eval(X5)


def test_compiled_vjp_many_checks_shapes_and_dtypes(compiled):
    w, _, T = compiled.workspace()
    X = np.ones((3, 5))
    args = dict(X=X, P=np.empty((1, 0)), w0=w, T=T, y_bar=np.ones(1), Y=np.empty((3, 1)), G=np.empty((3, 5)))
    status = np.zeros(3, dtype=np.int64)
    with pytest.raises(ValueError, match=r"vjp_many: G must have shape \(N, 5\)"):
        compiled.vjp_many(*{**args, "G": np.empty((2, 5))}.values(), status)
    with pytest.raises(ValueError, match=r"vjp_many: P must have shape"):
        compiled.vjp_many(*{**args, "P": np.empty((2, 0))}.values(), status)
    with pytest.raises(KernelArgumentError, match="vjp_many: G must be a writable float64 array"):
        compiled.vjp_many(*{**args, "G": np.empty((3, 5), dtype=np.int64)}.values(), status)


# ---------------------------------------------------------------------------------------
# nb kernels: only validated tapes, typed arguments, workspaces of their own tape
# ---------------------------------------------------------------------------------------
def test_nb_refuses_a_tape_that_was_not_validated(tape):
    """The issue's segfault: nb.value_and_gradient_into(ad.TapeArrays(**bad), ...). A TapeArrays
    of writable arrays never went through validation: refused while numba compiles."""
    fields = {name: np.array(arr) for name, arr in tape.arrays._asdict().items()}
    fields["a"][-1] = 10**7
    with pytest.raises(KernelArgumentError, match="tape.op is writable, so it did not come from validation"):
        nb.value_and_gradient_into(ad.TapeArrays(**fields), tape.workspace(), X5, np.empty(5))


@pytest.mark.parametrize(
    "g, pattern",
    [
        (np.empty(5, dtype=np.int64), r"value_and_gradient_into: g must be a writable float64 array of 1 dimension"),
        (np.frombuffer(np.zeros(5).tobytes()), r"g must be a writable float64 array .* got a read-only array"),
        (np.empty((5, 1)), r"g must be a writable float64 array of 1 dimension; got array\(float64, 2d"),
    ],
)
def test_nb_outputs_must_be_writable_float64(tape, g, pattern):
    with pytest.raises(KernelArgumentError, match=pattern):
        nb.value_and_gradient_into(tape.arrays, tape.workspace(), X5, g)


def test_nb_0d_x_gets_a_clear_error(tape):
    with pytest.raises(
        KernelArgumentError, match="eval_into: x must be a float64 array of 1 dimension; got array\\(float64, 0d"
    ):
        nb.eval_into(tape.arrays, tape.workspace(), np.array(1.0), np.empty(1))


def test_nb_argument_errors_are_type_errors_from_python_and_from_njit_code(tape):
    """A TypeError numba passes through unchanged, not its TypingError listing candidates;
    the dispatcher still compiles the right call after refusing a wrong one."""
    work, x = tape.workspace(), X5.copy()
    with pytest.raises(
        TypeError, match="^numba_ad.nb.eval_into: x must be a float64 array; got an array of dtype object$"
    ):
        nb.eval_into(tape.arrays, work, np.array([object()] * 5), np.empty(1))

    @njit
    def user(arrays, work, v):
        out = np.empty(1)
        nb.eval_into(arrays, work, v, out)
        return out[0]

    with pytest.raises(TypeError, match="^numba_ad.nb.eval_into: x must be a float64 array of 1 dimension; got array"):
        user(tape.arrays, work, np.ones(5, dtype=np.int64))
    assert user(tape.arrays, work, x) == tape.eval(x)


def test_workspaces_allocate_second_order_scratch_on_demand(tape):
    work = tape.workspace()
    assert work.second.size == 0
    with pytest.raises(ValueError, match=r"second-order scratch: make the workspace with tape.workspace\(second_order"):
        nb.hvp_into(tape.arrays, work, X5, np.ones(5), np.empty(5))
    full = tape.workspace(second_order=True)
    assert full.second.shape == (8, tape.n_ops)
    out = np.empty(5)
    nb.hvp_into(tape.arrays, full, X5, np.ones(5), out)
    np.testing.assert_allclose(out, tape.hvp(X5, np.ones(5)), rtol=1e-14)
    # a first-order workspace still serves the first-order kernels
    g = np.empty(5)
    assert nb.value_and_gradient_into(tape.arrays, work, X5, g) == tape.eval(X5)
    works = tape.workspaces(2, second_order=True)
    assert works[1].second.shape == (8, tape.n_ops) and tape.workspaces(2)[0].second.size == 0


# ---------------------------------------------------------------------------------------
# The whole API under NUMBA_BOUNDSCHECK=1
# ---------------------------------------------------------------------------------------
CHILD = r"""
import json
import warnings

import numpy as np
from hypothesis import given, settings, HealthCheck

import numba_ad as ad
from numba_ad import nb
from numba_ad.tape import drivers
from tests._support.mutations import mutations, real_tapes, run_mutation

warnings.simplefilter("ignore")
report = dict(index_errors=[], counts={})

# 1. the harness can fail: an unvalidated bad index through a driver raises IndexError here
tape = ad.trace(lambda x: np.sin(x[0]) * x[1], np.ones(2))
bad = tape.arrays._replace(a=np.array(tape.arrays.a, dtype=np.int32))
bad.a[-1] = 10**6
w = np.empty(tape.n_ops)
try:
    drivers.eval_into(bad, np.ones(2), np.empty(0), w, np.empty(1))
    report["self_test"] = "no IndexError"
except IndexError:
    report["self_test"] = "IndexError"

# 2. bad inputs through the entry points
def expect_error(name, call):
    try:
        call()
        report["index_errors"].append(name + ": no error")
    except IndexError as error:
        report["index_errors"].append(f"{name}: IndexError {error}")
    except Exception:
        pass

x = np.array([0.3, 0.2])
compiled = tape.compile(straight_line=False)
cw, cwb, cT = compiled.workspace()
other = ad.trace(lambda x: np.sin(x[0]) * x[1] + x[2] * x[0] ** 2, np.ones(3)).compile(straight_line=False)
ow, owb, oT = other.workspace()
work = tape.workspace()
vwork = ad.trace(lambda x: [x[0], x[1] * x[2]], np.ones(3)).workspace()
expect_error("compiled.eval_into x short", lambda: compiled.eval_into(x[:1].copy(), x[:0], cw, cT, np.empty(1)))
expect_error("compiled.vjp_into g of 1",
             lambda: compiled.vjp_into(x, x[:0], cw, cwb, cT, np.ones(1), np.empty(1), np.empty(1)))
expect_error("compiled.vjp_into other workspace",
             lambda: compiled.vjp_into(x, x[:0], ow, owb, oT, np.ones(1), np.empty(1), np.empty(2)))
status = np.zeros(3, dtype=np.int64)
expect_error("compiled.vjp_many bad G", lambda: compiled.vjp_many(
    np.ones((3, 2)), np.empty((1, 0)), cw, cT, np.ones(1), np.empty((3, 1)), np.empty((2, 2)), status))
expect_error("tape.gradient x short", lambda: tape.gradient(x[:1]))
expect_error("nb.value_and_gradient_into g short",
             lambda: nb.value_and_gradient_into(tape.arrays, work, x, np.empty(1)))
expect_error("nb.eval_into other workspace", lambda: nb.eval_into(tape.arrays, vwork, x, np.empty(1)))
expect_error("nb.hvp_into first-order workspace", lambda: nb.hvp_into(tape.arrays, work, x, x, np.empty(2)))
expect_error("nb.jacobian_into J wrong", lambda: nb.jacobian_into(tape.arrays, work, x, np.empty((1, 1))))
expect_error("nb unvalidated tape", lambda: nb.eval_into(bad, work, x, np.empty(1)))

# 3. hypothesis mutations of real tapes
TAPES = real_tapes()

@settings(max_examples=N_EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(mutations(len(TAPES)))
def mutated(mutation):
    which, changes = mutation
    try:
        outcome = run_mutation(TAPES, which, changes)
    except IndexError as error:
        report["index_errors"].append(f"mutation {TAPES[which][0]} {changes}: {error}")
        return
    report["counts"][outcome] = report["counts"].get(outcome, 0) + 1

mutated()
print(json.dumps(report))
"""


def test_the_api_under_numba_boundscheck(tmp_path):
    env = dict(
        os.environ,
        NUMBA_BOUNDSCHECK="1",
        NUMBA_CACHE_DIR=tempfile.mkdtemp(dir=tmp_path),
        NUMBA_AD_COMPILE_DIR=tempfile.mkdtemp(dir=tmp_path),
        PYTHONPATH=os.pathsep.join([str(REPO)] + [p for p in sys.path if p]),
    )
    env.pop("NUMBA_DISABLE_JIT", None)
    script = CHILD.replace("N_EXAMPLES", "150")
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)], env=env, capture_output=True, text=True, timeout=600, cwd=REPO
    )
    assert done.returncode == 0, done.stderr[-4000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["self_test"] == "IndexError", "NUMBA_BOUNDSCHECK=1 did not reach the kernels"
    assert report["index_errors"] == []
    assert report["counts"].get("ran", 0) >= 10 and report["counts"].get("refused", 0) >= 10, report["counts"]
