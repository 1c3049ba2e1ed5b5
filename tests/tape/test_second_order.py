"""Second order: the op table's second partials, Hessian-vector products and Hessians.

References are independent of the code under test: second partials against central
differences of the first partials (ops.partials, checked against NumPy in test_ops.py);
HVPs against central differences of the tape's gradient (or of its VJP for vector
functions); Hessians against the HVPs along unit vectors (the uncompressed path) and
against mixed second partials read off Taylor coefficients (hyper-dual style). Every tape
is recorded at one point and replayed at others, and every request runs twice.
"""

import math
import os
import zlib

import numpy as np
import pytest
from numba import njit

import numba_ad as ad  # noqa: E402
from numba_ad.api import transforms as functions
from numba_ad.ops import table as ops
from numba_ad.ops.table import FIRST_MATH, NONZERO_PARTIALS, SMOOTH, TABLE, Op  # noqa: E402
from numba_ad.tape import drivers  # noqa: E402
from tests._support import hessian_reference
from tests._support.corpus import CASES  # noqa: E402
from tests._support.op_tapes import one_op_tape  # noqa: E402

MATH_OPS = [op for op in Op if op >= FIRST_MATH]


def _points(op, size, seed):
    rng = np.random.default_rng(seed + int(op))
    (xlo, xhi), (ylo, yhi) = TABLE[op].domain
    return rng.uniform(xlo, xhi, size), rng.uniform(ylo, yhi, size)


# --- the op table --------------------------------------------------------------------------
@pytest.mark.parametrize("op", MATH_OPS, ids=lambda op: op.name)
def test_second_partials_match_differences_of_first_partials(op):
    spec = TABLE[op]
    c = spec.test_c
    xs, ys = _points(op, 20, 4321)
    for x, y in zip(xs, ys):
        d_aa, d_ab, d_bb = ops.second_partials(int(op), x, y, c, ops.value(int(op), x, y, c))
        h = 1e-6 * max(1.0, abs(x))
        k = 1e-6 * max(1.0, abs(y))

        def first(x_, y_):
            return np.array(ops.partials(int(op), x_, y_, c, ops.value(int(op), x_, y_, c)))

        dx = (first(x + h, y) - first(x - h, y)) / (2 * h)  # (d_aa, d_ab)
        assert d_aa == pytest.approx(dx[0], rel=1e-6, abs=1e-6), (op.name, x, y)
        if spec.arity == 2:
            dy = (first(x, y + k) - first(x, y - k)) / (2 * k)  # (d_ab, d_bb)
            assert d_ab == pytest.approx(dx[1], rel=1e-6, abs=1e-6), (op.name, x, y)
            assert d_ab == pytest.approx(dy[0], rel=1e-6, abs=1e-6), (op.name, x, y)
            assert d_bb == pytest.approx(dy[1], rel=1e-6, abs=1e-6), (op.name, x, y)
        else:
            assert d_ab == 0.0 and d_bb == 0.0, "a unary op must have d_ab = d_bb = 0: the sweeps rely on it"


@pytest.mark.parametrize("op", MATH_OPS, ids=lambda op: op.name)
def test_nonzero_table_covers_every_nonzero_partial(op):
    """The Hessian's sparsity pattern is built from NONZERO_PARTIALS: it must never say 0
    where a partial is not (a superset is all it needs)."""
    c = TABLE[op].test_c
    xs, ys = _points(op, 30, 99)
    xs = np.concatenate([xs, [0.0, 1.0, -1.0]])
    ys = np.concatenate([ys, [0.0, 1.0, 2.0]])
    for x, y in zip(xs, ys):
        v = ops.value(int(op), x, y, c)
        got = list(ops.partials(int(op), x, y, c, v)) + list(ops.second_partials(int(op), x, y, c, v))
        for flag, value, name in zip(NONZERO_PARTIALS[op], got, ("d_a", "d_b", "d_aa", "d_ab", "d_bb")):
            if not flag:
                assert value == 0.0, f"{op.name}: {name} = {value} at ({x}, {y}) but the table says it is always 0"


@pytest.mark.parametrize("op", list(SMOOTH), ids=lambda op: op.name)
def test_each_op_hessian_through_the_sweeps(op):
    """A one-op tape: its Hessian is the op's second partials, on every path, twice."""
    spec = TABLE[op]
    tape = one_op_tape(op, spec.test_c)
    xs, ys = _points(op, 4, 7)
    for x, y in zip(xs, ys):
        point = np.array([x, y])
        d_aa, d_ab, d_bb = ops.second_partials(int(op), x, y, spec.test_c, ops.value(int(op), x, y, spec.test_c))
        expected = np.array([[d_aa, d_ab], [d_ab, d_bb]])
        for _ in range(2):
            np.testing.assert_allclose(tape.hessian(point), expected, rtol=1e-15, atol=0)
            np.testing.assert_allclose(tape.hvp(point, np.eye(2)), expected, rtol=1e-15, atol=0)
            np.testing.assert_allclose(tape.hvp(point, np.array([0.0, 1.0])), expected[:, 1], rtol=1e-15, atol=0)


# --- the corpus ----------------------------------------------------------------------------
class Points:
    def __init__(self, case):
        rng = np.random.default_rng(zlib.crc32(("second order " + case.name).encode()))
        lo = np.broadcast_to(np.asarray(case.lo, dtype=float), (case.n,))
        hi = np.broadcast_to(np.asarray(case.hi, dtype=float), (case.n,))
        self.x0, self.x1 = rng.uniform(lo, hi), rng.uniform(lo, hi)
        if case.has_params:
            self.p0 = np.array(case.p0, dtype=float)
            self.p1 = rng.uniform(np.asarray(case.p_lo, float), np.asarray(case.p_hi, float))
        else:
            self.p0 = self.p1 = None
        self.v = rng.standard_normal(case.n)
        self.V = rng.standard_normal((case.n, 37))  # more than one 32-lane block
        self.w = rng.standard_normal(case.m or 1)


_RECORDED = {}


def recorded(case):
    """(tape recorded at x0, p0; the points)."""
    if case.name not in _RECORDED:
        pts = Points(case)
        _RECORDED[case.name] = (ad.trace(case.f, pts.x0.copy(), params=pts.p0), pts)
    return _RECORDED[case.name]


def _kw(case, pts):
    kw = {} if pts.p1 is None else {"params": pts.p1}
    if case.m is not None:
        kw["weights"] = pts.w
    return kw


def _first_order(tape, case, pts, x):
    """The gradient of sum_i w_i f_i at x (the tape's own, checked against FD in test_corpus)."""
    p = {} if pts.p1 is None else {"params": pts.p1}
    return tape.gradient(x, **p) if case.m is None else tape.vjp(x, pts.w, **p)


def _scale(a):
    return max(1.0, float(np.max(np.abs(a))))


corpus = pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])


@corpus
def test_hvp_matches_differences_of_the_gradient(case):
    tape, pts = recorded(case)
    x, v = pts.x1, pts.v
    h = 1e-5 * max(1.0, float(np.max(np.abs(x))))
    fd = (_first_order(tape, case, pts, x + h * v) - _first_order(tape, case, pts, x - h * v)) / (2 * h)
    for _ in range(2):
        hv = tape.hvp(x, v, **_kw(case, pts))
        assert hv.shape == (case.n,)
        scale = _scale(fd) * max(1.0, float(np.max(np.abs(_first_order(tape, case, pts, x)))))
        np.testing.assert_allclose(hv, fd, rtol=1e-6, atol=1e-7 * scale, err_msg=case.name)


@corpus
def test_hessian_is_symmetric_and_agrees_with_hvps(case):
    tape, pts = recorded(case)
    x = pts.x1
    kw = _kw(case, pts)
    H = tape.hessian(x, **kw)
    assert H.shape == (case.n, case.n)
    scale = _scale(H)
    np.testing.assert_allclose(H, H.T, rtol=0, atol=1e-13 * scale, err_msg=f"{case.name}: symmetry")
    # The uncompressed Hessian: HVPs along the unit vectors, in 32-lane blocks.
    dense = tape.hvp(x, np.eye(case.n), **kw)
    np.testing.assert_allclose(H, dense, rtol=0, atol=1e-13 * scale, err_msg=f"{case.name}: compressed vs dense")
    zero = dense == 0.0
    assert np.all(H[zero] == 0.0), "a structural zero of the dense Hessian must be exact in the compressed one"
    HV = tape.hvp(x, pts.V, **kw)
    assert HV.shape == (case.n, 37)
    np.testing.assert_allclose(HV, H @ pts.V, rtol=1e-12, atol=1e-12 * scale * _scale(pts.V), err_msg=case.name)
    np.testing.assert_array_equal(tape.hessian(x, **kw), H)  # the same buffers again: no stale state


@corpus
def test_taylor_degree_one_and_two_are_jvp_and_quadratic_form(case):
    tape, pts = recorded(case)
    x, v = pts.x1, pts.v
    p = {} if pts.p1 is None else {"params": pts.p1}
    coefficients = tape.taylor(x, v, 2, **p)
    assert coefficients.shape == ((3,) if case.m is None else (case.m, 3))
    coefficients = coefficients.reshape(-1, 3)
    np.testing.assert_allclose(coefficients[:, 0], np.atleast_1d(tape.eval(x, **p)), rtol=0, atol=0)
    np.testing.assert_array_equal(coefficients[:, 1], np.atleast_1d(tape.jvp(x, v, **p)))  # the same arithmetic
    if case.m is None:
        quad = 0.5 * v @ tape.hvp(x, v, **p)
        np.testing.assert_allclose(coefficients[0, 2], quad, rtol=1e-12, atol=1e-12 * _scale(quad))
    else:
        for i in range(case.m):  # output by output, with weights e_i
            quad = 0.5 * v @ tape.hvp(x, v, weights=np.eye(case.m)[i], **p)
            np.testing.assert_allclose(coefficients[i, 2], quad, rtol=1e-11, atol=1e-12 * _scale(quad), err_msg=str(i))


@pytest.mark.parametrize("name", ["rosenbrock", "nested", "trig_hyperbolic", "special", "polar", "powers"])
def test_hessian_equals_mixed_partials_from_taylor_coefficients(name):
    """Hyper-dual numbers' identity: with c2(v) = v^T H v / 2 (degree 2 along v),
    H_ij = c2(e_i + e_j) - c2(e_i) - c2(e_j) and H_ii = 2 c2(e_i)."""
    case = next(c for c in CASES if c.name == name)
    tape, pts = recorded(case)
    x = pts.x1
    n = case.n
    E = np.eye(n)
    c2 = np.array([tape.taylor(x, E[i], 2)[2] for i in range(n)])
    H_taylor = np.diag(2 * c2)
    for i in range(n):
        for j in range(i + 1, n):
            H_taylor[i, j] = H_taylor[j, i] = tape.taylor(x, E[i] + E[j], 2)[2] - c2[i] - c2[j]
    H = tape.hessian(x)
    np.testing.assert_allclose(H, H_taylor, rtol=1e-10, atol=1e-11 * _scale(H))


def test_hessian_of_a_tridiagonal_problem_is_compressed():
    def p1(x):
        return sum(100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2 for i in range(len(x) - 1))

    n = 50
    rng = np.random.default_rng(3)
    tape = ad.trace(p1, rng.uniform(-1, 1, n))
    plan = tape.sparse_hessian_plan()
    assert plan.n_colors == 3, "a tridiagonal Hessian needs 3 colours"
    assert plan.indptr[-1] == 3 * n - 2
    x = rng.uniform(-1, 1, n)
    H = tape.hessian(x)
    expected = np.zeros((n, n))
    i = np.arange(n - 1)
    expected[i, i] += 1200 * x[i] ** 2 - 400 * x[i + 1] + 2
    expected[i + 1, i + 1] += 200
    expected[i, i + 1] = expected[i + 1, i] = -400 * x[i]
    np.testing.assert_allclose(H, expected, rtol=1e-13, atol=1e-12)
    assert np.all(H[expected == 0] == 0)


def test_dense_hessians_are_not_compressed():
    tape = ad.trace(lambda x: np.sum(x) ** 3, np.ones(6))
    assert tape.sparse_hessian_plan().n_colors == 6  # one colour per column: the dense path
    np.testing.assert_allclose(tape.hessian(np.full(6, 0.5)), np.full((6, 6), 6 * 3.0), rtol=1e-15)


def test_linear_function_has_zero_hessian():
    tape = ad.trace(lambda x: 2 * x[0] - x[1] + np.floor(x[2]), np.array([1.0, 2.0, 3.5]))
    x = np.array([0.3, -0.2, 1.5])
    np.testing.assert_array_equal(tape.hessian(x), np.zeros((3, 3)))
    np.testing.assert_array_equal(tape.hvp(x, np.ones(3)), np.zeros(3))


# --- conventions and structural zeros --------------------------------------------------------
def test_select_with_nan_branch_keeps_the_hessian_finite():
    # the branch not taken is log of a negative number and sqrt of one: NaN values, NaN partials
    f = lambda x: ad.where(x[0] > 0, np.log(x[0]) * x[1] ** 2, np.sqrt(-x[0]) * x[1])  # noqa: E731
    tape = ad.trace(f, np.array([1.0, 2.0]))
    x = np.array([2.0, 3.0])
    expected = np.array([[-(x[1] ** 2) / x[0] ** 2, 2 * x[1] / x[0]], [2 * x[1] / x[0], 2 * np.log(x[0])]])
    np.testing.assert_allclose(tape.hessian(x), expected, rtol=1e-14)
    np.testing.assert_allclose(tape.hvp(x, np.array([1.0, -1.0])), expected @ [1.0, -1.0], rtol=1e-14)
    np.testing.assert_allclose(
        tape.taylor(x, np.array([1.0, -1.0]), 2)[2], 0.5 * expected.sum() - expected[0, 1] * 2, rtol=1e-14
    )


def test_dead_infinite_second_partials_stay_out():
    def f(x):
        np.sqrt(x[0])  # computed and unused: d_aa = -inf at 0
        return x[1] ** 3 + x[0] * x[1]

    tape = ad.trace(f, np.array([1.0, 1.0]))
    x = np.array([0.0, 2.0])
    np.testing.assert_array_equal(tape.hessian(x), [[0.0, 1.0], [1.0, 12.0]])
    np.testing.assert_array_equal(tape.hvp(x, np.array([1.0, 0.0])), [0.0, 1.0])


def test_kinks_have_zero_second_derivatives():
    tape = ad.trace(lambda x: abs(x[0]) + np.maximum(x[0], x[1]) * 3.0, np.array([1.0, 0.5]))
    np.testing.assert_array_equal(tape.hessian(np.array([0.0, 0.0])), np.zeros((2, 2)))


@pytest.mark.parametrize("scale", [1.0, 2.0])
def test_hvp_near_hypots_kink_is_the_same_for_one_and_many_directions(scale):
    """exp(hypot(x, s x)) at x = 6.7e-30: the second partials of hypot are ~1/|x| and cancel,
    and H = (1 + s^2) exp(...) is what is left. The many-direction sweep once added the
    cancelling terms one at a time and returned 0 (found by the random-graph test in CI)."""
    tape = ad.trace(lambda x: np.exp(np.hypot(x[0], scale * x[0])), np.array([1.0]))
    x = np.array([6.72974052e-30])
    exact = 1.0 + scale * scale  # exp(~1e-29) rounds to 1
    V = np.array([[0.3, -0.5, 1.2]])
    np.testing.assert_allclose(tape.hvp(x, V), exact * V, rtol=1e-12)
    for k in range(3):
        np.testing.assert_allclose(tape.hvp(x, V[:, k]), exact * V[:, k], rtol=1e-12)
    np.testing.assert_allclose(tape.hessian(x), [[exact]], rtol=1e-12)


# --- vector functions and weights ----------------------------------------------------------
def test_weighted_hessian_is_the_lagrangian_hessian():
    def f(x):
        return [x[0] * x[1] ** 2, np.sin(x[0]) + x[2] ** 3, x[0] * x[1] * x[2]]

    tape = ad.trace(f, np.array([1.0, 2.0, 3.0]))
    x = np.array([0.5, -1.5, 2.0])
    w = np.array([2.0, -1.0, 0.5])
    H = [
        np.array([[0, 2 * x[1], 0], [2 * x[1], 2 * x[0], 0], [0, 0, 0]]),
        np.array([[-np.sin(x[0]), 0, 0], [0, 0, 0], [0, 0, 6 * x[2]]]),
        np.array([[0, x[2], x[1]], [x[2], 0, x[0]], [x[1], x[0], 0]]),
    ]
    expected = sum(wi * Hi for wi, Hi in zip(w, H))
    np.testing.assert_allclose(tape.hessian(x, weights=w), expected, rtol=1e-14, atol=1e-14)
    for i in range(3):
        np.testing.assert_allclose(tape.hessian(x, weights=np.eye(3)[i]), H[i], rtol=1e-14, atol=1e-14)
    v = np.array([1.0, 2.0, -1.0])
    np.testing.assert_allclose(tape.hvp(x, v, weights=w), expected @ v, rtol=1e-14)


def test_outputs_sharing_a_slot_add_their_weights():
    def f(x):
        y = x[0] ** 3
        return [y, y]

    tape = ad.trace(f, np.array([1.0]))
    assert tape.arrays.outputs[0] == tape.arrays.outputs[1]
    np.testing.assert_allclose(tape.hessian(np.array([2.0]), weights=[1.0, 2.0]), [[3 * 6 * 2.0]], rtol=1e-15)
    np.testing.assert_allclose(tape.hvp(np.array([2.0]), np.array([1.0]), weights=[1.0, 2.0]), [36.0], rtol=1e-15)


def test_scalar_tape_takes_a_float_weight():
    tape = ad.trace(lambda x: x[0] ** 2 * x[1], np.array([1.0, 1.0]))
    x = np.array([1.0, 2.0])
    np.testing.assert_allclose(tape.hessian(x, weights=-2.0), -2.0 * tape.hessian(x), rtol=1e-15)
    np.testing.assert_allclose(tape.hvp(x, [1.0, 0.0], weights=[3.0]), 3.0 * tape.hvp(x, [1.0, 0.0]), rtol=1e-15)


# --- API: wrappers, shapes, errors, branches ------------------------------------------------
def test_wrappers_and_function_requests():
    def f(x, p):
        return p[0] * np.exp(x[0] * x[1]) + x[1] ** 4

    x, p = np.array([0.3, -0.4]), np.array([2.0])

    def exact(x, p):
        e = np.exp(x[0] * x[1])
        return np.array(
            [
                [p[0] * x[1] ** 2 * e, p[0] * e * (1 + x[0] * x[1])],
                [p[0] * e * (1 + x[0] * x[1]), p[0] * x[0] ** 2 * e + 12 * x[1] ** 2],
            ]
        )

    hess = functions.hessian(f)
    np.testing.assert_allclose(hess(x, p), exact(x, p), rtol=1e-14)
    np.testing.assert_allclose(hess(-x, 2 * p), exact(-x, 2 * p), rtol=1e-14)
    assert hess.n_traces == 1
    hv = functions.hvp(f)
    v = np.array([1.0, 2.0])
    np.testing.assert_allclose(hv(x, v, p), exact(x, p) @ v, rtol=1e-14)
    np.testing.assert_allclose(hv(x, np.eye(2), p), exact(x, p), rtol=1e-14)
    fn = ad.function(f)
    np.testing.assert_allclose(fn.hessian(x, p), exact(x, p), rtol=1e-14)
    np.testing.assert_allclose(fn.hvp(x, v, p), exact(x, p) @ v, rtol=1e-14)
    assert fn.stats()["traces"] == 1
    vec = functions.hessian(lambda x: [x[0] ** 2, x[0] * x[1]])
    np.testing.assert_allclose(vec(x, weights=[1.0, 1.0]), [[2.0, 1.0], [1.0, 0.0]], rtol=1e-15)
    with pytest.raises(TypeError, match="required positional argument: 'v'"):
        hv(x)


def test_branch_change_raises_on_tapes_and_retraces_in_wrappers():
    def f(x):
        return x[0] ** 3 if x[0] > 0 else -(x[0] ** 2) * x[1]

    tape = ad.trace(f, np.array([1.0, 1.0]))
    other = np.array([-1.0, 2.0])
    for call in (
        lambda: tape.hvp(other, np.ones(2)),
        lambda: tape.hessian(other),
        lambda: tape.taylor(other, np.ones(2), 3),
        lambda: tape.hvp(other, np.ones((2, 3))),
    ):
        with pytest.raises(ad.BranchChangedError):
            call()
    hess = functions.hessian(f)
    np.testing.assert_allclose(hess(np.array([2.0, 1.0])), [[12.0, 0.0], [0.0, 0.0]])
    np.testing.assert_allclose(hess(other), [[-4.0, 2.0], [2.0, 0.0]])
    assert hess.n_traces == 2
    hv = functions.hvp(f)
    np.testing.assert_allclose(hv(other, np.array([1.0, 0.0])), [-4.0, 2.0])


def test_bad_input_is_refused_with_the_expected_shape():
    tape = ad.trace(lambda x: x[0] * x[1] ** 2, np.array([1.0, 2.0]))
    x = np.array([1.0, 2.0])
    with pytest.raises(ValueError, match=r"v must have shape \(2,\) or \(2, K\); got shape \(3,\)"):
        tape.hvp(x, np.ones(3))
    with pytest.raises(ValueError, match=r"weights must have shape \(1,\) or be a float; got shape \(2,\)"):
        tape.hessian(x, weights=np.ones(2))
    with pytest.raises(TypeError, match="complex"):
        tape.hvp(x, np.ones(2) * 1j)
    vec = ad.trace(lambda x: [x[0] ** 2, x[1] ** 3], np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match=r"2 outputs: pass weights= of shape \(2,\)"):
        vec.hessian(x)
    with pytest.raises(ValueError, match=r"2 outputs: pass weights="):
        vec.hvp(x, np.ones(2))
    with pytest.raises(ValueError, match=r"weights must have shape \(2,\); got shape \(3,\)"):
        vec.hvp(x, np.ones(2), weights=np.ones(3))
    with pytest.raises(ValueError, match="x must have shape"):
        tape.hessian(np.ones(3))


# --- from @njit code ---------------------------------------------------------------------
@njit
def _newton_steps(arrays, x, p, weights, work, lanes_dot, lanes_bar, g_buffers, steps):
    """A user's @njit loop calling the drivers: Newton on a separable convex function."""
    w, d_a, d_b, w_bar, g = g_buffers
    n = x.shape[0]
    V = np.empty((n, 1))
    Hv = np.empty((n, 1))
    for _ in range(steps):
        drivers.value_and_gradient_into(arrays, x, p, w, d_a, d_b, w_bar, g)
        for j in range(n):  # the Hessian is diagonal here: H e_j gives H_jj
            V[:, 0] = 0.0
            V[j, 0] = 1.0
            failed = drivers.hvp_into(arrays, x, p, V, weights, work, lanes_dot, lanes_bar, Hv)
            if failed >= 0:
                return failed
            x[j] -= g[j] / Hv[j, 0]
    return -1


def test_hvp_into_from_njit_code_on_the_same_buffers():
    f = lambda x: np.sum(np.exp(x) - 2.0 * x)  # noqa: E731  minimum at x = log 2
    tape = ad.trace(f, np.zeros(4))
    n_slots = tape.n_ops
    work = np.empty((drivers.WORK_ROWS, n_slots))
    lanes = np.empty((n_slots, 4)), np.empty((n_slots, 4))
    g_buffers = (np.empty(n_slots), np.empty(n_slots), np.empty(n_slots), np.empty(n_slots), np.empty(4))
    x = np.array([1.0, -1.0, 0.5, 2.0])
    assert _newton_steps(tape.arrays, x, np.empty(0), np.ones(1), work, *lanes, g_buffers, 20) == -1
    np.testing.assert_allclose(x, np.log(2.0), rtol=1e-14)
    # Several directions through the same driver and buffers, twice.
    V = np.random.default_rng(0).standard_normal((4, 9))
    out = np.empty((4, 9))
    for _ in range(2):
        assert drivers.hvp_into(tape.arrays, x, np.empty(0), V, np.ones(1), work, *lanes, out) == -1
        np.testing.assert_allclose(out, np.exp(x)[:, None] * V, rtol=1e-15)


def test_hvp_into_rejects_buffers_of_the_wrong_shape():
    tape = ad.trace(lambda x: x[0] ** 3, np.ones(1))
    work = np.empty((drivers.WORK_ROWS, tape.n_ops))
    lanes = np.empty((tape.n_ops, 2))
    with pytest.raises(ValueError, match="weights"):
        drivers.hvp_into(
            tape.arrays, np.ones(1), np.empty(0), np.ones((1, 1)), np.ones(2), work, lanes, lanes, np.empty((1, 1))
        )
    with pytest.raises(ValueError, match="work"):
        drivers.hvp_into(
            tape.arrays, np.ones(1), np.empty(0), np.ones((1, 1)), np.ones(1), work[:3], lanes, lanes, np.empty((1, 1))
        )
    with pytest.raises(ValueError, match="lane"):
        drivers.hvp_into(
            tape.arrays, np.ones(1), np.empty(0), np.ones((1, 2)), np.ones(1), work, lanes[:1], lanes, np.empty((1, 2))
        )
    assert math.isfinite(tape.hessian(np.ones(1))[0, 0])


def test_newton_example_converges_quadratically():
    """examples/newton.py: trust-region Newton-CG from HVPs; near the minimum the gradient
    norm (at least) squares at each step: |g_k+1| <= 10 |g_k|^2 once |g_k| < 0.1."""
    import importlib.util

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir, "examples", "newton.py")
    spec = importlib.util.spec_from_file_location("newton_example", path)
    newton = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(newton)
    x0 = np.tile([-1.2, 1.0], 5)
    tape = ad.trace(newton.rosenbrock, np.zeros(10))
    x, norms = newton.newton_cg(tape, x0, verbose=False)
    np.testing.assert_allclose(x, np.ones(10), rtol=0, atol=1e-12)
    assert norms[-1] < 1e-10
    tail = [g for g in norms if g < 0.1][-4:]
    assert len(tail) >= 3
    for g, g_next in zip(tail, tail[1:]):
        assert g_next <= 10 * g * g, (g, g_next)


# --- random expression graphs (tests/api/test_random_graphs.py's strategy) ----------------------
from hypothesis import assume, given, settings  # noqa: E402

from tests._support.random_graphs import SETTINGS, Trace, as_function, plain, problems, well_scaled  # noqa: E402


def _graph_tape(problem):
    graph, x0, x1, p0, p1, seed = problem
    # Subnormal coordinates (hypothesis draws them) make second partials such as hypot's
    # y^2/v^3 overflow: H V is then inf - inf where H's own entries cancel to 0.
    assume(np.all((x1 == 0.0) | (np.abs(x1) > 1e-100)))
    well_scaled(graph, x0, p0)
    _, tr = well_scaled(graph, x1, p1)
    tape = ad.trace(as_function(graph), x0, params=p0)
    rng = np.random.default_rng(seed)
    weights = None if tape.scalar_output else rng.standard_normal(tape.n_outputs)
    kw = dict(weights=weights, **({} if p1 is None else {"params": p1}))
    return graph, tape, x1, p1, kw, rng, tr


@settings(max_examples=200, **SETTINGS)
@given(problems())
def test_random_graphs_hessian_identities(problem):
    """Compressed Hessian == HVPs along unit vectors (structural zeros exact), symmetric, and
    H V for a block of directions: identities of the second-order sweeps, valid at kinks too."""
    graph, tape, x, p, kw, rng, tr = _graph_tape(problem)
    dense = tape.hvp(x, np.eye(tape.n_inputs), **kw)
    assume(np.all(np.isfinite(dense)) and np.max(np.abs(dense), initial=0.0) <= 1e8)
    H = tape.hessian(x, **kw)
    scale = max(1.0, float(np.max(np.abs(dense), initial=0.0))) * (1.0 + tr.max_abs) ** 2
    np.testing.assert_allclose(H, dense, rtol=1e-12, atol=1e-12 * scale, err_msg=str(graph))
    plan = tape.sparse_hessian_plan()
    outside = np.ones_like(H, dtype=bool)  # outside the sparsity pattern both are exactly zero
    outside[plan.rows, plan.cols] = False
    assert np.all(H[outside] == 0.0) and np.all(dense[outside] == 0.0), str(graph)
    mask = None if tape.scalar_output else np.asarray(kw["weights"]) != 0
    np.testing.assert_array_equal(~outside, hessian_reference.hessian_pattern(tape.arrays), err_msg=str(graph))
    if mask is not None:
        weighted = tape.hessian_sparsity(weights=kw["weights"]).toarray() != 0
        np.testing.assert_array_equal(weighted, hessian_reference.hessian_pattern(tape.arrays, mask), str(graph))
    np.testing.assert_allclose(H, H.T, rtol=1e-10, atol=1e-11 * scale, err_msg=str(graph))
    V = rng.standard_normal((tape.n_inputs, 3))
    np.testing.assert_allclose(tape.hvp(x, V, **kw), H @ V, rtol=1e-11, atol=1e-11 * scale * 3, err_msg=str(graph))
    for k in range(3):
        np.testing.assert_allclose(tape.hvp(x, V[:, k], **kw), H @ V[:, k], rtol=1e-11, atol=1e-11 * scale * 3)


@settings(max_examples=200, **SETTINGS)
@given(problems())
def test_random_graphs_hvp_and_taylor_away_from_kinks(problem):
    """HVP vs central differences of the gradient, and Taylor degree 2 == v^T H v / 2, on the
    smooth piece of x1 (every stencil point on it)."""
    graph, tape, x, p, kw, rng, tr = _graph_tape(problem)
    assume(tr.kink > 1e-2)
    weights = kw.pop("weights")
    w = np.ones(1) if weights is None else weights
    v = rng.standard_normal(tape.n_inputs)
    h = 1e-5
    for t in (-h, h):
        tr_t = Trace()
        assume(np.all(np.isfinite(plain(graph, x + t * v, p, tr_t))) and tr_t.pieces == tr.pieces)

    def grad(z):
        return tape.vjp(z, w[0] if tape.scalar_output else w, **kw)

    fd = (grad(x + h * v) - grad(x - h * v)) / (2 * h)
    hv = tape.hvp(x, v, weights=weights, **kw)
    assume(np.all(np.isfinite(hv)) and np.max(np.abs(hv), initial=0.0) <= 1e6)
    scale = max(1.0, float(np.max(np.abs(hv), initial=0.0))) * (1.0 + tr.max_abs) ** 2
    np.testing.assert_allclose(hv, fd, rtol=1e-5, atol=1e-6 * scale, err_msg=str(graph))
    c = np.atleast_2d(tape.taylor(x, v, 2, **kw))
    np.testing.assert_allclose(
        w @ c[:, 2], 0.5 * v @ hv, rtol=1e-10, atol=1e-11 * scale * np.abs(v).sum() ** 2, err_msg=str(graph)
    )
