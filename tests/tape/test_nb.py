"""numba_ad.nb: derivative kernels called from users' @njit code, against the Python Tape.

Every tape is recorded at one point and evaluated at others; every kernel runs twice on the
same workspace. The user functions are defined once at module level: each new @njit function
costs a compile (most of this file's runtime).
"""

import json
import os
import subprocess
import sys
import textwrap
import warnings

import numba
import numpy as np
import pytest
from numba import njit, prange
from numba.core.errors import NumbaPerformanceWarning, NumbaTypeSafetyWarning

import numba_ad as ad
from numba_ad import nb


def rosen(x):
    return sum(100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2 for i in range(len(x) - 1))


def vector_f(x):  # R^3 -> R^2
    return [np.sin(x[0]) * x[1], x[2] ** 2 / (1 + x[0] ** 2)]


def mixer(m):
    """R^n -> R^m, every output depending on a few inputs (for Jacobians in several lane blocks)."""

    def f(x):
        n = len(x)
        return [
            np.sin(x[i % n]) * x[(i + 1) % n] + x[(2 * i) % n] ** 2 + np.exp(0.1 * x[(3 * i + 2) % n]) for i in range(m)
        ]

    return f


def quadratic(x, p):  # minimum 0 at x = p[:2]; p[2] scales the coupling term
    d0, d1 = x[0] - p[0], x[1] - p[1]
    return d0**2 + 2 * d1**2 + p[2] * d0 * d1


def piecewise(x):  # one guard: x[0] > 0.5
    if x[0] > 0.5:
        return x[0] ** 2 + x[1]
    return -x[0] + x[1] ** 3


X5 = np.array([0.3, -1.2, 0.7, 1.9, -0.4])
X5b = np.array([-0.8, 0.1, 1.3, 0.2, 0.9])


# ---------------------------------------------------------------------------------------
# User @njit code calling the kernels
# ---------------------------------------------------------------------------------------
@njit
def _all_kernels(tape, work, x, out, v, jv, w, wj, J):
    """Every kernel from @njit code, in one call."""
    nb.eval_into(tape, work, x, out)
    nb.jvp_into(tape, work, x, v, jv)
    nb.vjp_into(tape, work, x, w, wj)
    nb.jacobian_into(tape, work, x, J)
    return nb.check(tape, work, x)


@njit
def _value_and_gradient(tape, work, x, g):
    return nb.value_and_gradient_into(tape, work, x, g), nb.value(tape, work, x)


@njit
def _set_params(work, p):
    work.params[:] = p


@njit
def _descend(tape, work, x, iters, gtol):
    """Gradient descent with Armijo backtracking; returns (f, iterations)."""
    n = x.shape[0]
    g = np.empty(n)
    trial = np.empty(n)
    f = nb.value_and_gradient_into(tape, work, x, g)
    step = 1.0
    for it in range(iters):
        gg = np.dot(g, g)
        if gg < gtol * gtol:
            return f, it
        while True:
            for j in range(n):
                trial[j] = x[j] - step * g[j]
            if nb.value(tape, work, trial) <= f - 0.5 * step * gg or step < 1e-20:
                break
            step *= 0.5
        x[:] = trial
        f = nb.value_and_gradient_into(tape, work, x, g)
        step *= 2.0
    return f, iters


@njit
def _fit_many(tape, work, P, X):
    """For each parameter row P[r], set work.params in @njit code and descend from X[r]."""
    for r in range(P.shape[0]):
        work.params[:] = P[r]
        _descend(tape, work, X[r], 1000, 1e-10)


@njit
def _gradients_serial(tape, work, X, G, F):
    for i in range(X.shape[0]):
        F[i] = nb.value_and_gradient_into(tape, work, X[i], G[i])


@njit(parallel=True)
def _gradients_parallel(tape, works, X, G, F):
    """The documented pattern: k chunks of points, one workspace per chunk (no thread ids);
    nb.check instead of exceptions, which numba drops inside prange."""
    k = len(works)
    N = X.shape[0]
    for c in prange(k):
        work = works[np.int64(c)]  # a signed index: prange's may be unsigned
        for i in range(c * N // k, (c + 1) * N // k):
            if nb.check(tape, work, X[i]) >= 0:
                F[i] = np.nan
            else:
                F[i] = nb.value_and_gradient_into(tape, work, X[i], G[i])


@njit
def _check_then_gradient(tape, work, x, g):
    """Test the branch first, without exceptions."""
    failed = nb.check(tape, work, x)
    if failed >= 0:
        return failed, np.nan
    return failed, nb.value_and_gradient_into(tape, work, x, g)


# ---------------------------------------------------------------------------------------
# Results equal the Python Tape's
# ---------------------------------------------------------------------------------------
def _expected(tape, x, v, w):
    f = np.atleast_1d(tape.eval(x))
    jv = np.atleast_1d(tape.jvp(x, v))
    wj = tape.vjp(x, w[0] if tape.scalar_output else w)
    J = tape.jacobian(x).reshape(tape.n_outputs, tape.n_inputs)
    return f, jv, wj, J


@pytest.mark.parametrize(
    "f,x0,xs",
    [
        (rosen, np.zeros(5), [X5, X5b]),
        (vector_f, np.ones(3), [X5[:3], X5b[:3]]),
        (mixer(35), np.full(40, 0.5), [np.linspace(-1, 1, 40), np.linspace(2, -1, 40)]),  # reverse, 2 blocks
        (mixer(40), np.full(35, 0.5), [np.linspace(-1, 1, 35), np.linspace(2, -1, 35)]),  # forward, 2 blocks
    ],
    ids=["scalar", "vector", "n40-m35", "n35-m40"],
)
def test_kernels_match_tape_methods(f, x0, xs):
    tape = ad.trace(f, x0)
    n, m = tape.n_inputs, tape.n_outputs
    rng = np.random.default_rng(0)
    v, w = rng.standard_normal(n), rng.standard_normal(m)
    for work, lanes in ((tape.workspace(), min(32, n, m)), (nb.workspace(tape, lanes=3), 3)):
        assert work.lanes.shape == (tape.n_ops, lanes)
        for x in xs + xs:  # twice on the same workspace, interleaved points
            out, jv, wj, J = np.empty(m), np.empty(m), np.empty(n), np.full((m, n), np.nan)
            assert _all_kernels(tape.arrays, work, x, out, v, jv, w, wj, J) == -1
            f_x, jv_x, wj_x, J_x = _expected(tape, x, v, w)
            np.testing.assert_allclose(out, f_x, rtol=1e-14)
            np.testing.assert_allclose(jv, jv_x, rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(wj, wj_x, rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(J, J_x, rtol=1e-12, atol=1e-14)
            assert np.dot(w, jv) == pytest.approx(np.dot(wj, v), rel=1e-12)  # dot-product test
            if tape.scalar_output:
                g = np.empty(n)
                value, value_only = _value_and_gradient(tape.arrays, work, x, g)
                assert value == value_only == tape.eval(x)
                np.testing.assert_array_equal(g, tape.gradient(x))


def test_kernels_callable_from_python_and_slices_accepted():
    tape = ad.trace(vector_f, np.ones(3))
    work = tape.workspace()
    x = X5[:3]
    V = np.arange(12.0).reshape(3, 4)  # a column of V is a strided 1-D array
    out = np.empty((2, 4))
    nb.jvp_into(tape.arrays, work, x, V[:, 1], out[:, 2])
    np.testing.assert_allclose(out[:, 2], tape.jvp(x, V[:, 1]), rtol=1e-14)
    wj = np.empty(3)
    nb.vjp_into(tape.arrays, work, x, V[:2, 3], wj)
    np.testing.assert_allclose(wj, tape.vjp(x, V[:2, 3]), rtol=1e-14)


def test_no_allocation_in_the_kernels():
    """A loop of R calls allocates what one call does (the arguments' boxing): nothing per call."""
    from numba.core.runtime import _nrt_python, rtsys

    @njit
    def loop(R, tape, work, x, g, vtape, vwork, y, v, jv, w, wj, J, out):
        for _ in range(R):
            nb.value_and_gradient_into(tape, work, x, g)
            nb.value(tape, work, x)
            nb.eval_into(vtape, vwork, y, out)
            nb.jvp_into(vtape, vwork, y, v, jv)
            nb.vjp_into(vtape, vwork, y, w, wj)
            nb.jacobian_into(vtape, vwork, y, J)
            nb.check(vtape, vwork, y)

    tape, vtape = ad.trace(rosen, np.zeros(5)), ad.trace(vector_f, np.ones(3))
    args = (
        tape.arrays,
        tape.workspace(),
        X5,
        np.empty(5),
        vtape.arrays,
        vtape.workspace(),
        X5[:3],
        np.ones(3),
        np.empty(2),
        np.ones(2),
        np.empty(3),
        np.empty((2, 3)),
        np.empty(2),
    )
    loop(1, *args)
    enabled = _nrt_python.memsys_stats_enabled()
    _nrt_python.memsys_enable_stats()
    try:
        counts = []
        for R in (1, 50):
            before = rtsys.get_allocation_stats().alloc
            loop(R, *args)
            counts.append(rtsys.get_allocation_stats().alloc - before)
    finally:
        if not enabled:
            _nrt_python.memsys_disable_stats()
    assert counts[0] == counts[1]


# ---------------------------------------------------------------------------------------
# Parameters and optimisation loops in @njit
# ---------------------------------------------------------------------------------------
def test_params_set_from_python_and_from_njit():
    p = np.array([0.5, -1.0, 0.3])
    tape = ad.trace(quadratic, np.zeros(2), params=p)
    work = tape.workspace()
    assert work.params.shape == (3,) and np.isnan(work.params).all()  # unset: NaN shows up
    x, g = np.array([1.5, 0.2]), np.empty(2)
    assert np.isnan(_value_and_gradient(tape.arrays, work, x, g)[0])
    for q in (p, np.array([2.0, 3.0, -0.5])):
        work.params[:] = q  # from Python
        value, _ = _value_and_gradient(tape.arrays, work, x, g)
        assert value == pytest.approx(tape.eval(x, params=q), rel=1e-15)
        np.testing.assert_allclose(g, tape.gradient(x, params=q), rtol=1e-15)
        _set_params(work, q[::-1].copy())  # from @njit
        value, _ = _value_and_gradient(tape.arrays, work, x, g)
        np.testing.assert_allclose(g, tape.gradient(x, params=q[::-1]), rtol=1e-15)


def test_gradient_descent_in_njit_reaches_the_minimum():
    # Rosenbrock: the minimum is at (1, 1), reached slowly along the curved valley.
    tape = ad.trace(rosen, np.array([-1.2, 1.0]))
    x = np.array([-1.2, 1.0])
    f, iters = _descend(tape.arrays, tape.workspace(), x, 200_000, 1e-8)
    assert iters < 200_000 and f < 1e-15
    np.testing.assert_allclose(x, [1.0, 1.0], atol=1e-7)
    # A quadratic whose minimum x = p[:2] is set through work.params inside @njit.
    qtape = ad.trace(quadratic, np.zeros(2), params=np.array([0.0, 0.0, 0.5]))
    P = np.array([[1.0, -2.0, 0.5], [-3.0, 0.25, 1.0], [0.0, 4.0, -1.5]])
    X = np.zeros((3, 2))
    _fit_many(qtape.arrays, qtape.workspace(), P, X)
    np.testing.assert_allclose(X, P[:, :2], atol=1e-9)


# ---------------------------------------------------------------------------------------
# prange with one workspace per chunk
# ---------------------------------------------------------------------------------------
def test_prange_with_per_chunk_workspaces_equals_serial():
    tape = ad.trace(rosen, np.zeros(6))
    X = np.random.default_rng(1).uniform(-2, 2, (301, 6))
    G_serial, F_serial = np.empty_like(X), np.empty(301)
    _gradients_serial(tape.arrays, tape.workspace(), X, G_serial, F_serial)
    np.testing.assert_allclose(G_serial[7], tape.gradient(X[7]), rtol=1e-15)
    with warnings.catch_warnings():
        warnings.simplefilter("error", NumbaTypeSafetyWarning)  # the pattern compiles cleanly
        warnings.simplefilter("error", NumbaPerformanceWarning)  # and runs in parallel
        for k in (numba.get_num_threads(), 7):
            works = tape.workspaces(k)
            assert len(works) == k and isinstance(works, numba.typed.List)
            assert k == 1 or not np.shares_memory(works[0].w, works[1].w)
            G, F = np.full_like(X, np.nan), np.full(301, np.nan)
            _gradients_parallel(tape.arrays, works, X, G, F)
            np.testing.assert_array_equal(G, G_serial)
            np.testing.assert_array_equal(F, F_serial)


def test_workspaces_are_independent():
    tape = ad.trace(quadratic, np.zeros(2), params=np.ones(3))
    works = tape.workspaces(3)
    works[1].params[:] = [1.0, 2.0, 0.0]
    assert np.isnan(works[0].params).all() and np.isnan(works[2].params).all()
    with pytest.raises(ValueError, match="k must be at least 1"):
        tape.workspaces(0)


# ---------------------------------------------------------------------------------------
# Branch changes and bad input
# ---------------------------------------------------------------------------------------
def test_branch_change_raises_and_check_names_the_guard():
    tape = ad.trace(piecewise, np.array([1.0, 2.0]))
    work = tape.workspace()
    on, off = np.array([0.8, -1.0]), np.array([0.2, -1.0])
    g = np.empty(2)
    assert nb.check(tape.arrays, work, on) == -1
    assert nb.check(tape.arrays, work, off) == 0 == tape.check(off)
    assert _check_then_gradient(tape.arrays, work, off, g)[0] == 0
    failed, value = _check_then_gradient(tape.arrays, work, on, g)
    assert failed == -1 and value == tape.eval(on)
    np.testing.assert_array_equal(g, tape.gradient(on))
    one, J = np.empty(1), np.empty((1, 2))
    calls = [
        lambda: _value_and_gradient(tape.arrays, work, off, g),
        lambda: _all_kernels(tape.arrays, work, off, one, np.ones(2), one, np.ones(1), g, J),
        lambda: nb.value(tape.arrays, work, off),
        lambda: nb.jvp_into(tape.arrays, work, off, np.ones(2), one),
        lambda: nb.vjp_into(tape.arrays, work, off, np.ones(1), g),
        lambda: nb.jacobian_into(tape.arrays, work, off, J),
    ]
    for call in calls:
        with pytest.raises(ValueError, match="left the tape's recorded branch"):
            call()
    assert _value_and_gradient(tape.arrays, work, on, g)[0] == tape.eval(on)  # the workspace still works


def test_branch_change_inside_prange_is_flagged_by_check():
    tape = ad.trace(piecewise, np.array([1.0, 2.0]))
    X = np.tile([0.8, 1.0], (40, 1))
    X[33, 0] = 0.1
    G, F = np.zeros_like(X), np.zeros(40)
    _gradients_parallel(tape.arrays, tape.workspaces(2), X, G, F)
    assert np.isnan(F[33]) and not np.isnan(np.delete(F, 33)).any()
    np.testing.assert_array_equal(G[0], tape.gradient(X[0]))


def test_bad_shapes_raise_value_error():
    tape, vtape = ad.trace(rosen, np.zeros(5)), ad.trace(vector_f, np.ones(3))
    T, work, V, vwork = tape.arrays, tape.workspace(), vtape.arrays, vtape.workspace()
    x, y = X5, X5[:3]
    cases = [
        (lambda: nb.value_and_gradient_into(T, work, x[:4], np.empty(5)), "x has the wrong length"),
        (lambda: nb.value_and_gradient_into(T, work, x, np.empty(4)), "g must have length n"),
        (lambda: nb.value_and_gradient_into(V, vwork, y, np.empty(3)), "needs a scalar tape"),
        (lambda: nb.value(V, vwork, y), "needs a scalar tape"),
        (lambda: nb.eval_into(V, vwork, y, np.empty(1)), "out must have length m"),
        (lambda: nb.eval_into(V, vwork, y[:2], np.empty(2)), "x has the wrong length"),
        (lambda: nb.jvp_into(V, vwork, y, np.ones(2), np.empty(2)), "v must have length n"),
        (lambda: nb.jvp_into(V, vwork, y, np.ones(3), np.empty(3)), "out length m"),
        (lambda: nb.vjp_into(V, vwork, y, np.ones(3), np.empty(3)), "w must have length m"),
        (lambda: nb.vjp_into(V, vwork, y, np.ones(2), np.empty(2)), "out length n"),
        (lambda: nb.jacobian_into(V, vwork, y, np.empty((3, 2))), r"J must have shape \(m, n\)"),
        (lambda: nb.jacobian_into(V, vwork, y, np.empty((2, 2))), r"J must have shape \(m, n\)"),
        (lambda: nb.value_and_gradient_into(T, vwork, x, np.empty(5)), "workspace was made for another tape"),
        (lambda: nb.check(V, work, y), "workspace was made for another tape"),
    ]
    for call, message in cases:
        with pytest.raises(ValueError, match=message):
            call()
    ptape = ad.trace(quadratic, np.zeros(2), params=np.ones(3))
    pwork = ptape.workspace()
    pwork = pwork._replace(params=np.ones(2))
    with pytest.raises(ValueError, match="workspace was made for another tape"):
        nb.value(ptape.arrays, pwork, np.zeros(2))
    with pytest.raises(TypeError, match="expected a numba_ad.Tape"):
        nb.workspace(np.zeros(3))
    with pytest.raises(ValueError, match="lanes must be at least 1"):
        nb.workspace(tape, lanes=0)


# ---------------------------------------------------------------------------------------
# The numba cache across processes
# ---------------------------------------------------------------------------------------
USER_MODULE = """
import json

import numpy as np
from numba import njit, prange

import numba_ad as ad
from numba_ad import nb
from numba_ad.tape import nb as tape_nb


def rosen(x):
    return sum(100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2 for i in range(len(x) - 1))


@njit(cache=True)
def descend(tape, work, x, lr, iters):
    g = np.empty_like(x)
    for _ in range(iters):
        nb.value_and_gradient_into(tape, work, x, g)
        x -= lr * g
    return x


@njit(cache=True, parallel=True)
def values(tape, works, X, out):
    k = len(works)
    N = X.shape[0]
    for c in prange(k):
        work = works[np.int64(c)]
        for i in range(c * N // k, (c + 1) * N // k):
            out[i] = nb.value(tape, work, X[i])


if __name__ == "__main__":
    tape = ad.trace(rosen, np.zeros(4))
    x = descend(tape.arrays, tape.workspace(), np.zeros(4), 1e-3, 100)
    g = np.empty(4)
    nb.value_and_gradient_into(tape.arrays, tape.workspace(), x, g)
    X = np.linspace(-1.0, 1.0, 40).reshape(10, 4)
    out = np.empty(10)
    values(tape.arrays, tape.workspaces(2), X, out)
    dispatchers = dict(descend=descend, values=values, value_and_gradient_into=nb.value_and_gradient_into,
                       new_workspaces=tape_nb._new_workspaces)
    print(json.dumps(dict(x=x.tolist(), out=out.tolist(), stats={
        name: [len(d.stats.cache_hits), len(d.stats.cache_misses)] for name, d in dispatchers.items()})))
"""


def test_kernels_and_user_functions_load_from_cache_in_a_second_process(tmp_path):
    (tmp_path / "user_nb_module.py").write_text(textwrap.dedent(USER_MODULE))
    env = dict(
        os.environ,
        NUMBA_CACHE_DIR=str(tmp_path / "cache"),
        NUMBA_AD_CACHE="1",
        PYTHONPATH=os.pathsep.join([str(tmp_path)] + sys.path),
    )
    env.pop("NUMBA_DISABLE_JIT", None)
    runs = []
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, str(tmp_path / "user_nb_module.py")], env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    first, second = runs
    assert first["stats"]["descend"] == [0, 1]  # compiled and saved
    for name, (hits, misses) in second["stats"].items():
        assert hits >= 1 and misses == 0, (name, second["stats"])
    assert first["x"] == second["x"] and first["out"] == second["out"]
    tape = ad.trace(rosen, np.zeros(4))
    np.testing.assert_allclose(
        second["out"], [tape.eval(x) for x in np.linspace(-1.0, 1.0, 40).reshape(10, 4)], rtol=1e-14
    )


@njit
def _hvp_twice(tape, work, x, v, out1, out2):
    nb.hvp_into(tape, work, x, v, out1)
    nb.hvp_into(tape, work, x, v, out2)


def test_hvp_into_matches_the_tape_and_differences_of_the_gradient():
    tape = ad.trace(rosen, np.zeros(5))
    work = tape.workspace(second_order=True)
    rng = np.random.default_rng(4)
    for x in (X5, X5b):
        v = rng.standard_normal(5)
        out1, out2 = np.empty(5), np.empty(5)
        _hvp_twice(tape.arrays, work, x, v, out1, out2)
        np.testing.assert_array_equal(out1, out2)
        np.testing.assert_allclose(out1, tape.hvp(x, v), rtol=1e-13)
        h = 1e-6
        fd = (tape.gradient(x + h * v) - tape.gradient(x - h * v)) / (2 * h)
        np.testing.assert_allclose(out1, fd, rtol=1e-6, atol=1e-6)


def test_hvp_into_of_a_vector_tape_uses_work_weights():
    tape = ad.trace(vector_f, np.ones(3))
    work = tape.workspace(second_order=True)
    x, v, w = X5[:3], np.array([0.3, -1.0, 2.0]), np.array([0.7, -1.5])
    out = np.empty(3)
    nb.hvp_into(tape.arrays, work, x, v, out)
    assert np.isnan(out).all(), "weights start as NaN on a vector tape: a forgotten assignment shows"
    work.weights[:] = w
    nb.hvp_into(tape.arrays, work, x, v, out)
    np.testing.assert_allclose(out, tape.hvp(x, v, weights=w), rtol=1e-13)
    with pytest.raises(ValueError, match="hvp_into"):
        nb.hvp_into(tape.arrays, work, x, v, np.empty(2))
