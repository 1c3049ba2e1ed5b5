"""Taylor mode: every op's recurrence, known series, and derivatives of any order.

The per-op reference is independent of the recurrences: Cauchy's integral formula,
c_k = (1 / 2 pi i) \\oint f(t) t^(-k-1) dt, evaluated by an FFT of f on a circle in the
complex t plane with NumPy's (and SciPy's) complex functions. On a circle of radius r at
half the distance to f's nearest singularity the error is about eps * max|f| / r^k, which
sets the tolerance. Known series are checked against exact rationals (fractions.Fraction)
computed by plain power-series arithmetic.
"""

import math
from fractions import Fraction

import numpy as np
import pytest
from numba import njit

import numba_ad as ad
from numba_ad.api.derivative import derivative_by_taylor
from numba_ad.ops.table import FIRST_MATH, NONZERO_PARTIALS, TABLE, Op
from tests._support.op_tapes import one_op_tape

special = pytest.importorskip("scipy.special")

LN2, LN10 = math.log(2.0), math.log(10.0)
DEGREE = 6

# Each op as an analytic function of complex x, y (c the op's constant).
COMPLEX = {
    Op.ADD: lambda x, y, c: x + y,
    Op.SUB: lambda x, y, c: x - y,
    Op.MUL: lambda x, y, c: x * y,
    Op.DIV: lambda x, y, c: x / y,
    Op.POW: lambda x, y, c: np.exp(y * np.log(x)),
    Op.ARCTAN2: lambda x, y, c: np.arctan(x / y),  # y > 0 on the test domain
    Op.HYPOT: lambda x, y, c: np.sqrt(x * x + y * y),
    Op.POWI: lambda x, y, c: x ** int(c),
    Op.POWC: lambda x, y, c: np.exp(c * np.log(x)),
    Op.CPOW: lambda x, y, c: np.exp(x * math.log(c)),
    Op.NEG: lambda x, y, c: -x,
    Op.SQRT: lambda x, y, c: np.sqrt(x),
    Op.CBRT: lambda x, y, c: np.exp(np.log(x) / 3.0),
    Op.EXP: lambda x, y, c: np.exp(x),
    Op.EXP2: lambda x, y, c: np.exp(x * LN2),
    Op.EXPM1: lambda x, y, c: np.expm1(x),
    Op.LOG: lambda x, y, c: np.log(x),
    Op.LOG2: lambda x, y, c: np.log(x) / LN2,
    Op.LOG10: lambda x, y, c: np.log(x) / LN10,
    Op.LOG1P: lambda x, y, c: np.log1p(x),
    Op.SIN: lambda x, y, c: np.sin(x),
    Op.COS: lambda x, y, c: np.cos(x),
    Op.TAN: lambda x, y, c: np.tan(x),
    Op.ARCSIN: lambda x, y, c: np.arcsin(x),
    Op.ARCCOS: lambda x, y, c: np.arccos(x),
    Op.ARCTAN: lambda x, y, c: np.arctan(x),
    Op.SINH: lambda x, y, c: np.sinh(x),
    Op.COSH: lambda x, y, c: np.cosh(x),
    Op.TANH: lambda x, y, c: np.tanh(x),
    Op.ARCSINH: lambda x, y, c: np.arcsinh(x),
    Op.ARCCOSH: lambda x, y, c: np.arccosh(x),
    Op.ARCTANH: lambda x, y, c: np.arctanh(x),
    Op.ERF: lambda x, y, c: special.erf(x),
    Op.ERFC: lambda x, y, c: special.erfc(x),
    Op.SQUARE: lambda x, y, c: x * x,
    Op.RECIPROCAL: lambda x, y, c: 1.0 / x,
    Op.LOGADDEXP: lambda x, y, c: np.log(np.exp(x) + np.exp(y)),
    Op.LOGADDEXP2: lambda x, y, c: np.log(np.exp(x * LN2) + np.exp(y * LN2)) / LN2,
    Op.EXPIT: lambda x, y, c: 1.0 / (1.0 + np.exp(-x)),
    Op.GAMMALN: lambda x, y, c: special.loggamma(x),  # log Gamma, real where Gamma > 0 (the test domain)
    Op.SINC: lambda x, y, c: np.sinc(x),
}
# No complex reference: checked in tests/ops/test_special.py, erf of the series giving back x's series.
# ERFINV: tests/ops/test_special_taylor.py; the primitives (degree 2 from their second
# partials, higher degrees refused): tests/api/test_primitive.py
TAYLOR_CHECKED_ELSEWHERE = {Op.ERFINV, Op.USER1, Op.USER2}
# Where each op is singular, as points in x (unary ops); binary ops are handled below.
SINGULAR_X = {
    Op.POWC: [0.0],
    Op.SQRT: [0.0],
    Op.CBRT: [0.0],
    Op.LOG: [0.0],
    Op.LOG2: [0.0],
    Op.LOG10: [0.0],
    Op.RECIPROCAL: [0.0],
    Op.LOG1P: [-1.0],
    Op.TAN: [math.pi / 2, -math.pi / 2],
    Op.TANH: [0.5j * math.pi, -0.5j * math.pi],
    Op.ARCSIN: [1.0, -1.0],
    Op.ARCCOS: [1.0, -1.0],
    Op.ARCTANH: [1.0, -1.0],
    Op.ARCCOSH: [1.0, -1.0],
    Op.ARCTAN: [1j, -1j],
    Op.ARCSINH: [1j, -1j],
    Op.EXPIT: [1j * math.pi, -1j * math.pi],  # 1 + exp(-x) = 0
    Op.GAMMALN: [0.0, -1.0, -2.0, -3.0],
}
ANALYTIC_OPS = [op for op in Op if op in COMPLEX]
OTHER_OPS = [op for op in Op if op >= FIRST_MATH and op not in COMPLEX and op not in TAYLOR_CHECKED_ELSEWHERE]


def test_every_curved_op_has_a_complex_reference():
    """An op with a nonzero second partial has a Taylor rule to check: without a COMPLEX entry
    here it would be checked as piecewise linear (coefficients 2.. zero), which a missing Taylor
    branch also gives."""
    missing = [op.name for op in OTHER_OPS if NONZERO_PARTIALS[op][2:].any()]
    assert not missing, f"add these ops to COMPLEX: {missing}"


def _singular_distance(op, x0, y0, vx, vy):
    """|t| of the nearest complex t where op(x0 + t vx, y0 + t vy) is singular (inf: none)."""

    def along(points, p0, dp):
        return min((abs((s - p0) / dp) for s in points), default=math.inf) if dp != 0 else math.inf

    if op in SINGULAR_X:
        return along(SINGULAR_X[op], x0, vx)
    if op == Op.DIV:
        return along([0.0], y0, vy)
    if op == Op.POW:
        return along([0.0], x0, vx)
    if op in (Op.LOGADDEXP, Op.LOGADDEXP2):  # exp(s x) + exp(s y) = 0: s (x - y) = (2k + 1) i pi
        s = 1.0 if op == Op.LOGADDEXP else LN2
        return along([1j * math.pi / s, -1j * math.pi / s], x0 - y0, vx - vy)
    if op in (Op.HYPOT, Op.ARCTAN2):  # x^2 + y^2 = 0, and y = 0 for x / y
        roots = np.roots([vx * vx + vy * vy, 2 * (x0 * vx + y0 * vy), x0 * x0 + y0 * y0])
        d = min(abs(r) for r in roots)
        return min(d, along([0.0], y0, vy)) if op == Op.ARCTAN2 else d
    return math.inf


def cauchy_coefficients(g, r, degree, N=64):
    """(c_0..c_degree of g(t) = sum c_k t^k, max |g| on |t| = r) by the FFT on the circle."""
    t = r * np.exp(2j * np.pi * np.arange(N) / N)
    values = g(t)
    c = np.fft.fft(values) / N
    return (c[: degree + 1] / r ** np.arange(degree + 1)).real, float(np.max(np.abs(values)))


@pytest.mark.parametrize("op", ANALYTIC_OPS, ids=lambda op: op.name)
def test_each_op_matches_cauchy_coefficients(op):
    spec = TABLE[op]
    c = spec.test_c
    tape = one_op_tape(op, c)
    rng = np.random.default_rng(2024 + int(op))
    (xlo, xhi), (ylo, yhi) = spec.domain
    for _ in range(4):
        x0, y0 = rng.uniform(xlo, xhi), rng.uniform(ylo, yhi)
        vx, vy = rng.uniform(-1.5, 1.5, 2)
        if spec.arity == 1:
            vy = 0.0
        r = min(0.5 * _singular_distance(op, x0, y0, vx, vy), 1.0 / max(abs(vx), abs(vy)))
        ref, M = cauchy_coefficients(lambda t: COMPLEX[op](x0 + t * vx, y0 + t * vy, c), r, DEGREE)
        for _ in range(2):  # the same buffers twice
            z = tape.taylor(np.array([x0, y0]), np.array([vx, vy]), DEGREE)
            assert z.shape == (DEGREE + 1,)
            assert z[0] == pytest.approx(spec.reference(x0, y0, c), rel=1e-15)
            tol = 1e-11 * M / r ** np.arange(DEGREE + 1) + 1e-12 * np.abs(ref)
            err = np.abs(z - ref)
            assert np.all(err <= tol), f"{op.name} at ({x0}, {y0}) along ({vx}, {vy}): {z} vs {ref}"


@pytest.mark.parametrize("op", OTHER_OPS, ids=lambda op: op.name)
def test_piecewise_ops_follow_the_selected_series(op):
    """abs, maximum, minimum, floor, ..., comparisons, selects: away from kinks the series of
    the selected operand (x0 + t vx or y0 + t vy), or a constant."""
    spec = TABLE[op]
    tape = one_op_tape(op, spec.test_c)
    rng = np.random.default_rng(77 + int(op))
    for _ in range(4):
        x0, y0 = rng.uniform(-3, 3, 2)
        vx, vy = rng.uniform(-1, 1, 2)
        z = tape.taylor(np.array([x0, y0]), np.array([vx, vy]), 4)
        x_series = np.array([x0, vx, 0, 0, 0])
        y_series = np.array([y0, vy, 0, 0, 0]) if spec.arity == 2 else None
        expected = {
            Op.MINIMUM: x_series if x0 < y0 else y_series,
            Op.MAXIMUM: x_series if x0 > y0 else y_series,
            Op.ABS: np.sign(x0) * x_series,
            Op.IF_TRUE: y_series if x0 != 0 else np.array([-0.0, 0, 0, 0, 0]),
            Op.IF_FALSE: y_series if x0 == 0 else np.array([-0.0, 0, 0, 0, 0]),
        }.get(op, np.array([spec.reference(x0, y0, spec.test_c), 0, 0, 0, 0]))
        np.testing.assert_array_equal(z, expected, err_msg=op.name)


# --- conventions at points without a series -------------------------------------------------
def _taylor1(f, x0, v, degree):
    x0 = np.atleast_1d(np.asarray(x0, dtype=float))
    return ad.trace(f, np.ones_like(x0)).taylor(x0, np.atleast_1d(np.asarray(v, dtype=float)), degree)


def test_integer_powers_at_zero_are_exact_polynomials():
    np.testing.assert_array_equal(_taylor1(lambda x: x[0] ** 5, 0.0, 2.0, 7), [0, 0, 0, 0, 0, 32, 0, 0])
    np.testing.assert_array_equal(_taylor1(lambda x: x[0] ** 3, -2.0, 1.0, 4), [-8, 12, -6, 1, 0])
    # x = t^2 (a square) to the power 3: t^6, at degree 7
    np.testing.assert_array_equal(_taylor1(lambda x: (x[0] ** 2) ** 3, 0.0, 1.0, 7), [0, 0, 0, 0, 0, 0, 1, 0])
    # both traced, the exponent constant along v: the same exact path, also with a negative base
    tape = ad.trace(lambda x: x[0] ** x[1], np.array([1.0, 3.0]))
    np.testing.assert_array_equal(tape.taylor(np.array([0.0, 3.0]), np.array([1.0, 0.0]), 4), [0, 0, 0, 1, 0])
    np.testing.assert_allclose(tape.taylor(np.array([-2.0, 3.0]), np.array([1.0, 0.0]), 4), [-8, 12, -6, 1, 0])


def test_no_series_gives_nan_from_degree_two_and_follows_jvp_at_degree_one():
    z = _taylor1(lambda x: np.sqrt(x[0]), 0.0, 1.0, 3)
    assert z[0] == 0.0 and z[1] == math.inf and np.isnan(z[2:]).all()
    z = _taylor1(lambda x: x[0] ** 2.5, 0.0, 1.0, 3)
    assert z[0] == 0.0 and z[1] == 0.0 and np.isnan(z[2:]).all()
    # constant along v: a constant, whatever the op does at the point
    np.testing.assert_array_equal(_taylor1(lambda x: np.sqrt(x[0]) + x[1], [0.0, 1.0], [0.0, 2.0], 3), [1, 2, 0, 0])


def test_kinks_follow_the_first_order_conventions():
    np.testing.assert_array_equal(_taylor1(lambda x: abs(x[0]), 0.0, 1.0, 3), [0, 0, 0, 0])
    tape = ad.trace(lambda x: np.maximum(x[0] ** 2, x[1]), np.array([1.0, 1.0]))
    np.testing.assert_array_equal(
        tape.taylor(np.array([1.0, 1.0]), np.array([1.0, 3.0]), 3), [1.0, 0.5 * 2 + 0.5 * 3, 0.5, 0.0]
    )  # a tie: the mean of both series


def test_select_with_nan_branch_gives_the_taken_series():
    f = lambda x: ad.where(x[0] > 0, np.exp(x[0]), np.log(-x[0]))  # noqa: E731
    z = _taylor1(f, 0.5, 1.0, 5)
    np.testing.assert_allclose(z, math.exp(0.5) / np.array([1, 1, 2, 6, 24, 120]), rtol=1e-15)


# --- known series, exact rationals ------------------------------------------------------------
def _mul(a, b):
    return [sum(a[j] * b[k - j] for j in range(k + 1)) for k in range(len(a))]


def _compose_exp(s):
    """exp(s(t)) for s(0) = 0, by the series sum s^n / n!."""
    result = [Fraction(0)] * len(s)
    power = [Fraction(1)] + [Fraction(0)] * (len(s) - 1)
    for n in range(len(s)):
        result = [r + p / math.factorial(n) for r, p in zip(result, power)]
        power = _mul(power, s)
    return result


def _sin_series(d):
    return [Fraction((-1) ** (k // 2), math.factorial(k)) if k % 2 else Fraction(0) for k in range(d + 1)]


def _cos_series(d):
    return [Fraction((-1) ** (k // 2), math.factorial(k)) if k % 2 == 0 else Fraction(0) for k in range(d + 1)]


def _divide(a, b):
    q = []
    for k in range(len(a)):
        q.append((a[k] - sum(q[j] * b[k - j] for j in range(k))) / b[0])
    return q


def _binomial(alpha, k):
    out = Fraction(1)
    for j in range(k):
        out *= (alpha - j) / Fraction(j + 1)
    return out


D = 12
ONE_MINUS_T = [Fraction(1), Fraction(-1)] + [Fraction(0)] * (D - 1)
KNOWN = {  # f, x0, v, exact coefficients of t -> f(x0 + t v)
    "exp": (lambda x: np.exp(x[0]), 0.0, 1.0, [Fraction(1, math.factorial(k)) for k in range(D + 1)]),
    "sin": (lambda x: np.sin(x[0]), 0.0, 1.0, _sin_series(D)),
    "cos(2t)": (lambda x: np.cos(x[0]), 0.0, 2.0, [c * 2**k for k, c in enumerate(_cos_series(D))]),
    "log(1 + t)": (
        lambda x: np.log(x[0]),
        1.0,
        1.0,
        [Fraction(0)] + [Fraction((-1) ** (k + 1), k) for k in range(1, D + 1)],
    ),
    "1 / (1 - t)": (lambda x: 1.0 / (1.0 - x[0]), 0.0, 1.0, [Fraction(1)] * (D + 1)),
    "reciprocal(1 - t)^2": (
        lambda x: np.reciprocal((1.0 - x[0]) ** 2),
        0.0,
        1.0,
        [Fraction(k + 1) for k in range(D + 1)],
    ),
    "exp(sin t)": (lambda x: np.exp(np.sin(x[0])), 0.0, 1.0, _compose_exp(_sin_series(D))),
    "log(1 / (1 - t))": (
        lambda x: -np.log1p(-x[0]),
        0.0,
        1.0,
        [Fraction(0)] + [Fraction(1, k) for k in range(1, D + 1)],
    ),
    "sqrt(1 + t)": (lambda x: np.sqrt(1.0 + x[0]), 0.0, 1.0, [_binomial(Fraction(1, 2), k) for k in range(D + 1)]),
    "(1 + t)^(-1/3)": (lambda x: x[0] ** (-1.0 / 3.0), 1.0, 1.0, [_binomial(Fraction(-1, 3), k) for k in range(D + 1)]),
    "tan": (lambda x: np.tan(x[0]), 0.0, 1.0, _divide(_sin_series(D), _cos_series(D))),
    "arctan": (
        lambda x: np.arctan(x[0]),
        0.0,
        1.0,
        [Fraction((-1) ** (k // 2), k) if k % 2 else Fraction(0) for k in range(D + 1)],
    ),
    "arcsin": (
        lambda x: np.arcsin(x[0]),
        0.0,
        1.0,
        [
            Fraction(math.factorial(k - 1), 4 ** ((k - 1) // 2) * math.factorial((k - 1) // 2) ** 2 * k)
            if k % 2
            else Fraction(0)
            for k in range(D + 1)
        ],
    ),
    "sin(t) / (1 - t)": (lambda x: np.sin(x[0]) / (1 - x[0]), 0.0, 1.0, _divide(_sin_series(D), ONE_MINUS_T)),
}


@pytest.mark.parametrize("name", list(KNOWN))
def test_known_series(name):
    f, x0, v, exact = KNOWN[name]
    tape = ad.trace(f, np.array([0.25]))  # recorded elsewhere, replayed at x0
    z = tape.taylor(np.array([x0]), np.array([v]), D)
    np.testing.assert_allclose(z, [float(e) for e in exact], rtol=1e-13, atol=1e-15, err_msg=name)


# --- derivatives of any order -------------------------------------------------------------
def _falling(n, k):
    return math.factorial(n) // math.factorial(n - k) if k <= n else 0


DERIVATIVES = {  # f, x, k -> exact k-th derivative
    "exp(2x)": (lambda x: np.exp(2 * x), 0.3, lambda k: 2**k * math.exp(0.6)),
    "sin": (np.sin, 0.7, lambda k: math.sin(0.7 + k * math.pi / 2)),
    "log": (np.log, 2.0, lambda k: (-1) ** (k - 1) * math.factorial(k - 1) / 2**k if k else math.log(2.0)),
    "1/(1-x)": (lambda x: 1 / (1 - x), 0.5, lambda k: math.factorial(k) / 0.5 ** (k + 1)),
    "x**7": (lambda x: x**7, 1.5, lambda k: _falling(7, k) * 1.5 ** (7 - k)),
    "x**7 at 0": (lambda x: x**7, 0.0, lambda k: 5040.0 if k == 7 else 0.0),
    "cosh": (np.cosh, -0.4, lambda k: math.cosh(-0.4) if k % 2 == 0 else math.sinh(-0.4)),
    "exp(sin x) at 0": (
        lambda x: np.exp(np.sin(x)),
        0.0,
        lambda k: float(_compose_exp(_sin_series(10))[k]) * math.factorial(k),
    ),
}


@pytest.mark.parametrize("name", list(DERIVATIVES))
def test_derivative_of_any_order(name):
    f, x, exact = DERIVATIVES[name]
    for k in range(11):
        got = derivative_by_taylor(f, x, k)
        assert isinstance(got, float)
        assert got == pytest.approx(exact(k), rel=1e-12, abs=1e-12), (name, k)


@njit
def _kernel(x):
    return math.exp(math.sin(x)) + x**3 * math.log(1.0 + x * x)


def test_derivative_of_an_njit_kernel():
    pytest.importorskip("numba_ad.tracing.njit")
    plain = lambda x: np.exp(np.sin(x)) + x**3 * np.log(1.0 + x * x)  # noqa: E731
    for k in range(11):
        assert derivative_by_taylor(_kernel, 0.4, k) == pytest.approx(derivative_by_taylor(plain, 0.4, k), rel=1e-14), k
    assert derivative_by_taylor(_kernel, 0.4, 0) == pytest.approx(_kernel(0.4), rel=1e-15)
    # at 0: exp(sin x) gives the Fraction series; x^3 log(1 + x^2) = x^5 - x^7/2 + x^9/3 - ...
    series = _compose_exp(_sin_series(10))
    extra = {5: Fraction(1), 7: Fraction(-1, 2), 9: Fraction(1, 3)}
    for k in range(11):
        expected = float(series[k] + extra.get(k, 0)) * math.factorial(k)
        assert derivative_by_taylor(_kernel, 0.0, k) == pytest.approx(expected, rel=1e-12, abs=1e-9), k


def test_derivative_refuses_bad_arguments():
    with pytest.raises(ValueError, match="non-negative"):
        derivative_by_taylor(np.sin, 0.0, -1)
    with pytest.raises(TypeError, match="order must be a non-negative integer"):
        derivative_by_taylor(np.sin, 0.0, 1.5)
    with pytest.raises(TypeError, match="scalar-to-scalar"):
        derivative_by_taylor(np.sin, np.zeros(2), 1)
    with pytest.raises(ValueError, match="one scalar"):
        derivative_by_taylor(lambda x: [x, x], 0.0, 1)


# --- the Tape API -------------------------------------------------------------------------
def test_shapes_replay_params_and_degree_zero():
    def f(x, p):
        return [np.exp(p[0] * x[0]) * x[1], np.sin(x[0] + x[1])]

    tape = ad.trace(f, np.array([0.1, 0.2]), params=np.array([1.0]))
    x, v, p = np.array([0.3, -0.5]), np.array([1.0, 2.0]), np.array([0.5])
    z = tape.taylor(x, v, 3, params=p)
    assert z.shape == (2, 4)
    np.testing.assert_array_equal(tape.taylor(x, v, 0, params=p), tape.eval(x, params=p)[:, None])
    np.testing.assert_allclose(z[:, 1], tape.jvp(x, v, params=p), rtol=1e-15)
    # sin(s) with s = 3t - 0.2: coefficients sin(-0.2), 3 cos(-0.2), -9 sin(-0.2) / 2, -27 cos(-0.2) / 6
    s0 = x[0] + x[1]
    np.testing.assert_allclose(
        z[1], [math.sin(s0), 3 * math.cos(s0), -4.5 * math.sin(s0), -4.5 * math.cos(s0)], rtol=1e-14
    )
    np.testing.assert_array_equal(tape.taylor(x, v, np.int64(3), params=p), z)  # NumPy integers too


def test_bad_degree_and_direction_are_refused():
    tape = ad.trace(lambda x: np.sin(x[0]) * x[1], np.array([1.0, 2.0]))
    x = np.array([1.0, 2.0])
    with pytest.raises(ValueError, match="degree must be a non-negative integer; got -1"):
        tape.taylor(x, x, -1)
    for bad in (2.0, True, "3", None):
        with pytest.raises(TypeError, match="degree must be a non-negative integer"):
            tape.taylor(x, x, bad)
    with pytest.raises(ValueError, match=r"v must have shape \(2,\), one direction; got shape \(2, 3\)"):
        tape.taylor(x, np.ones((2, 3)), 2)
    with pytest.raises(ad.BranchChangedError):
        ad.trace(lambda x: x[0] if x[0] > 0 else -x[0], np.ones(1)).taylor(-np.ones(1), np.ones(1), 2)


def test_degree_k_plus_one_is_the_derivative_of_degree_k():
    """Along v, d/ds c_k(x + s v) = (k + 1) c_(k+1)(x): a check of every composite recurrence
    against the one below it, by central differences."""

    def f(x):
        return (
            np.arctan2(np.hypot(x[0], 2.0), 1.0 + x[1] ** 2) * np.tanh(x[0] * x[1])
            + np.cbrt(2.0 + x[0]) ** np.cos(x[1])
            + np.arccosh(2.0 + x[0] ** 2) / np.exp2(x[1])
        )

    tape = ad.trace(f, np.array([0.2, 0.3]))
    x, v = np.array([0.4, -0.7]), np.array([0.8, 0.6])
    z = tape.taylor(x, v, 6)
    h = 1e-5
    dz = (tape.taylor(x + h * v, v, 5) - tape.taylor(x - h * v, v, 5)) / (2 * h)
    np.testing.assert_allclose(dz, z[1:] * np.arange(1, 7), rtol=1e-7, atol=1e-8)
    assert np.all(np.isfinite(z))
