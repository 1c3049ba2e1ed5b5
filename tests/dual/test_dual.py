"""Dual numbers (numba_ad.dual) and forward mode without a tape (numba_ad.fwd), against the tape.

Every function a Dual supports is checked against numba_ad's tape (recorded at one point,
replayed at others) and against central differences, in Python and inside @njit code; then
the forward drivers on generic kernels against tape gradients and Jacobians, the derivative
conventions at kinks, bad input, and the on-disk cache across processes.
"""

import json
import math
import operator
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from numba import njit

import numba_ad as ad
from numba_ad import fwd
from numba_ad.dual import Dual, DualArray
from numba_ad.ops.table import TABLE, Op
from tests._support.corpus import CASES as CORPUS

H = 1e-6  # central-difference step
RTOL_TAPE = 1e-14  # Dual against the tape: the same formulas, so equal up to rounding


def _erf(v):  # SciPy's erf on a Dual needs SciPy; Dual.erf and ad.erf need nothing
    return v.erf() if type(v) is Dual else ad.erf(v)


def _erfc(v):
    return v.erfc() if type(v) is Dual else ad.erfc(v)


# name: (the op whose domain and tape it mirrors, Python/tracer spelling, @njit spellings)
UNARY = {
    "abs": (Op.ABS, abs, (abs, np.abs, np.fabs, math.fabs)),
    "negative": (Op.NEG, operator.neg, (operator.neg, np.negative)),
    "sqrt": (Op.SQRT, np.sqrt, (math.sqrt, np.sqrt)),
    "cbrt": (Op.CBRT, np.cbrt, (np.cbrt,)),
    "exp": (Op.EXP, np.exp, (math.exp, np.exp)),
    "exp2": (Op.EXP2, np.exp2, (np.exp2,)),
    "expm1": (Op.EXPM1, np.expm1, (math.expm1, np.expm1)),
    "log": (Op.LOG, np.log, (math.log, np.log)),
    "log2": (Op.LOG2, np.log2, (math.log2, np.log2)),
    "log10": (Op.LOG10, np.log10, (math.log10, np.log10)),
    "log1p": (Op.LOG1P, np.log1p, (math.log1p, np.log1p)),
    "sin": (Op.SIN, np.sin, (math.sin, np.sin)),
    "cos": (Op.COS, np.cos, (math.cos, np.cos)),
    "tan": (Op.TAN, np.tan, (math.tan, np.tan)),
    "arcsin": (Op.ARCSIN, np.arcsin, (math.asin, np.arcsin)),
    "arccos": (Op.ARCCOS, np.arccos, (math.acos, np.arccos)),
    "arctan": (Op.ARCTAN, np.arctan, (math.atan, np.arctan)),
    "sinh": (Op.SINH, np.sinh, (math.sinh, np.sinh)),
    "cosh": (Op.COSH, np.cosh, (math.cosh, np.cosh)),
    "tanh": (Op.TANH, np.tanh, (math.tanh, np.tanh)),
    "arcsinh": (Op.ARCSINH, np.arcsinh, (math.asinh, np.arcsinh)),
    "arccosh": (Op.ARCCOSH, np.arccosh, (math.acosh, np.arccosh)),
    "arctanh": (Op.ARCTANH, np.arctanh, (math.atanh, np.arctanh)),
    "erf": (Op.ERF, _erf, (math.erf,)),
    "erfc": (Op.ERFC, _erfc, (math.erfc,)),
    "square": (Op.SQUARE, np.square, (np.square,)),
    "reciprocal": (Op.RECIPROCAL, np.reciprocal, (np.reciprocal,)),
    "floor": (Op.FLOOR, np.floor, (math.floor, np.floor)),
    "ceil": (Op.CEIL, np.ceil, (math.ceil, np.ceil)),
    "trunc": (Op.TRUNC, np.trunc, (math.trunc, np.trunc)),
    "sign": (Op.SIGN, np.sign, (np.sign,)),
    "sinc": (Op.SINC, np.sinc, (np.sinc,)),
    "gammaln": (Op.GAMMALN, ad.gammaln, (math.lgamma,)),
    "expit": (Op.EXPIT, ad.expit, ()),  # scipy.special has no @njit spelling
    "erfinv": (Op.ERFINV, ad.erfinv, ()),
}
BINARY = {
    "add": (Op.ADD, operator.add, (operator.add, np.add)),
    "sub": (Op.SUB, operator.sub, (operator.sub, np.subtract)),
    "mul": (Op.MUL, operator.mul, (operator.mul, np.multiply)),
    "div": (Op.DIV, operator.truediv, (operator.truediv, np.divide)),
    "pow": (Op.POW, operator.pow, (operator.pow, np.power, math.pow)),
    "arctan2": (Op.ARCTAN2, np.arctan2, (math.atan2, np.arctan2)),
    "hypot": (Op.HYPOT, np.hypot, (math.hypot, np.hypot)),
    "minimum": (Op.MINIMUM, np.minimum, (np.minimum,)),
    "maximum": (Op.MAXIMUM, np.maximum, (np.maximum,)),
    "logaddexp": (Op.LOGADDEXP, np.logaddexp, (np.logaddexp,)),
    "logaddexp2": (Op.LOGADDEXP2, np.logaddexp2, (np.logaddexp2,)),
}


def _points(op, size=4, seed=0):
    rng = np.random.default_rng([seed, int(op)])
    (xlo, xhi), (ylo, yhi) = TABLE[op].domain
    return rng.uniform(xlo, xhi, size), rng.uniform(ylo, yhi, size)


def _jit1(fn):
    return njit(lambda d: fn(d))


def _close(actual, expected, rtol=RTOL_TAPE, atol=0.0):
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)


def _tape1(fn, x0):
    return ad.trace(lambda v: fn(v[0]), np.array([x0]))


# ---------------------------------------------------------------------------------------
# Every function, in Python and in @njit code, against the tape and central differences
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(UNARY))
def test_unary_python_matches_tape_and_differences(name):
    op, fn, _ = UNARY[name]
    xs, _ = _points(op)
    tape = _tape1(fn, xs[0])  # recorded at xs[0], replayed at the others
    for x in xs[1:]:
        d = fn(Dual(x, 1.0))
        _close(d.value, tape.eval(np.array([x])))
        _close(d.deriv, tape.gradient(np.array([x]))[0])
        _close(d.deriv, (fn(x + H) - fn(x - H)) / (2 * H), rtol=1e-6, atol=1e-7)
        _close(fn(Dual(x, -2.5)).deriv, -2.5 * d.deriv)  # the chain rule scales the tangent
        assert fn(Dual(x, 0.0)).deriv == 0.0  # a constant stays constant


@pytest.mark.parametrize("name", list(UNARY))
def test_unary_njit_matches_python(name):
    op, fn, spellings = UNARY[name]
    xs, _ = _points(op, seed=1)
    for spelling in spellings:
        kernel = _jit1(spelling)
        for x in xs:
            expected = fn(Dual(x, 0.75))
            got = kernel(Dual(x, 0.75))
            assert type(got) is Dual, spelling
            _close([got.value, got.deriv], [expected.value, expected.deriv], rtol=1e-15)


def _binary_combos(fn, x, y):
    """fn on (Dual, Dual), (Dual, float), (float, Dual), (Dual, int), (int, Dual)."""
    return (
        fn(Dual(x, 0.5), Dual(y, -1.5)),
        fn(Dual(x, 1.0), y),
        fn(x, Dual(y, 1.0)),
        fn(Dual(x, 1.0), 2),
        fn(2, Dual(y, 1.0)),
    )


@pytest.mark.parametrize("name", list(BINARY))
def test_binary_python_matches_tape_and_differences(name):
    op, fn, _ = BINARY[name]
    xs, ys = _points(op, size=5)
    tape = ad.trace(lambda v: fn(v[0], v[1]), np.array([xs[0], ys[0]]))
    with_int = (ad.trace(lambda v: fn(v[0], 2), np.array([xs[0]])), ad.trace(lambda v: fn(2, v[0]), np.array([ys[0]])))
    for x, y in zip(xs[1:], ys[1:]):
        gx, gy = tape.gradient(np.array([x, y]))
        both, left, right, left_int, right_int = _binary_combos(fn, x, y)
        for d in (both, left, right):
            _close(d.value, tape.eval(np.array([x, y])))
        _close(both.deriv, 0.5 * gx - 1.5 * gy)
        _close(left.deriv, gx)
        _close(right.deriv, gy)
        _close(left.deriv, (fn(x + H, y) - fn(x - H, y)) / (2 * H), rtol=1e-6, atol=1e-7)
        _close(right.deriv, (fn(x, y + H) - fn(x, y - H)) / (2 * H), rtol=1e-6, atol=1e-7)
        for d, t, z in ((left_int, with_int[0], x), (right_int, with_int[1], y)):
            _close([d.value, d.deriv], [t.eval(np.array([z])), t.gradient(np.array([z]))[0]])


@pytest.mark.parametrize("name", list(BINARY))
def test_binary_njit_matches_python(name):
    op, fn, spellings = BINARY[name]
    xs, ys = _points(op, size=3, seed=1)
    for spelling in spellings:
        kernel = njit(lambda a, b, x, y, spelling=spelling: _binary_combos_njit(spelling, a, b, x, y))
        for x, y in zip(xs, ys):
            got = kernel(Dual(x, 0.5), Dual(y, -1.5), x, y)
            for g, e in zip(got, _binary_combos(fn, x, y)):
                assert type(g) is Dual
                _close([g.value, g.deriv], [e.value, e.deriv], rtol=1e-15)


@njit
def _binary_combos_njit(fn, a, b, x, y):
    return (
        fn(a, b),
        fn(Dual.variable(x), y),
        fn(x, Dual.variable(y)),
        fn(Dual.variable(x), 2),
        fn(2, Dual.variable(y)),
    )


EXPONENTS = [-3, -1, 0, 1, 2, 3, 5, -3.0, 0.0, 2.0, 0.5, -1.5, 2.5]


def test_powers_with_constant_exponents_match_the_tape():
    """x ** c picks square, reciprocal, powi, powc as the tracer does; c ** x is cpow."""
    kernel = njit(lambda d, c: (d**c, c**d))
    for c in EXPONENTS:
        bases = [0.7, 1.9] + ([-1.3] if float(c).is_integer() else [])
        tape = _tape1(lambda v: v**c, bases[0])
        for x in bases:
            d = Dual(x, 1.0) ** c
            _close([d.value, d.deriv], [tape.eval(np.array([x])), tape.gradient(np.array([x]))[0]])
            if c > 0:
                cp = _tape1(lambda v: c**v, x)
                e = c ** Dual(x, 1.0)
                _close([e.value, e.deriv], [cp.eval(np.array([x])), cp.gradient(np.array([x]))[0]])
            got = kernel(Dual(x, 1.0), c)
            _close([got[0].value, got[0].deriv], [d.value, d.deriv], rtol=1e-15)
            if c > 0:
                _close([got[1].value, got[1].deriv], [e.value, e.deriv], rtol=1e-15)
    assert (Dual(-2.0, 1.0) ** 3).deriv == 12.0  # exact for negative bases, as powi
    assert (Dual(math.nan, 1.0) ** 0).value == 1.0 and (Dual(math.nan, 1.0) ** 0).deriv == 0.0


def test_floor_divide_and_remainder_match_the_tape():
    tape = ad.trace(lambda v: v[0] // v[1] + v[0] % v[1] + 3.5 % v[1] + v[0] % 2.0, np.array([7.3, 2.1]))
    kernel = njit(lambda a, b: a // b + a % b + 3.5 % b + a % 2.0)
    for x, y in ((7.3, 2.1), (-5.2, 1.7), (4.4, -1.3)):
        for i in range(2):
            seeds = (1.0, 0.0) if i == 0 else (0.0, 1.0)
            d = (
                Dual(x, seeds[0]) // Dual(y, seeds[1])
                + Dual(x, seeds[0]) % Dual(y, seeds[1])
                + 3.5 % Dual(y, seeds[1])
                + Dual(x, seeds[0]) % 2.0
            )
            _close(d.value, tape.eval(np.array([x, y])))
            _close(d.deriv, tape.gradient(np.array([x, y]))[i])
            got = kernel(Dual(x, seeds[0]), Dual(y, seeds[1]))
            _close([got.value, got.deriv], [d.value, d.deriv], rtol=1e-15)


def test_angle_conversions_and_predicates():
    d = Dual(30.0, 2.0)
    _close([np.deg2rad(d).value, np.deg2rad(d).deriv], [math.pi / 6, 2 * math.pi / 180])
    _close(np.rad2deg(np.deg2rad(d)).deriv, 2.0)
    kernel = njit(lambda d: (math.radians(d), np.degrees(d), math.isnan(d), np.isfinite(d), math.isinf(d)))
    got = kernel(d)
    _close([got[0].value, got[0].deriv, got[1].deriv], [math.pi / 6, 2 * math.pi / 180, 2 * 180 / math.pi])
    assert got[2:] == (False, True, False)
    assert np.isnan(Dual(math.nan, 1.0)) and not np.isinf(d)


# ---------------------------------------------------------------------------------------
# The tape's test corpus (tests/_support/corpus.py), run by Python on object arrays of Duals
# ---------------------------------------------------------------------------------------
def _dual_jacobian(f, x, p):
    """(values, Jacobian) by one pass of f per input on an object array of Duals."""
    n = x.shape[0]
    columns = []
    for i in range(n):
        xd = np.empty(n, dtype=object)
        for j in range(n):
            xd[j] = Dual(x[j], 1.0 if i == j else 0.0)
        out = np.atleast_1d(np.asarray(f(xd) if p is None else f(xd, p), dtype=object)).ravel()
        columns.append([o.deriv if type(o) is Dual else 0.0 for o in out])
        values = [o.value if type(o) is Dual else float(o) for o in out]
    return np.array(values), np.array(columns).T


@pytest.mark.parametrize("case", [c for c in CORPUS if c.name != "special"], ids=lambda c: c.name)
def test_corpus_in_python_matches_the_tape(case):
    """ "special" is left out: SciPy's erf ufuncs have no loop for object arrays."""
    rng = np.random.default_rng(5)
    lo, hi = np.broadcast_to(case.lo, (case.n,)), np.broadcast_to(case.hi, (case.n,))
    x0, x1 = rng.uniform(lo, hi), rng.uniform(lo, hi)
    p = None if case.p0 is None else np.array(case.p0, dtype=float)
    tape = ad.trace(case.f, x0, params=p)
    values, jac = _dual_jacobian(case.f, x1, p)
    _close(values, np.atleast_1d(tape.eval(x1, params=p)), rtol=1e-12, atol=1e-13)
    _close(jac, np.atleast_2d(tape.jacobian(x1, params=p)).reshape(jac.shape), rtol=1e-12, atol=1e-13)


# ---------------------------------------------------------------------------------------
# Conventions where the derivative is undefined, and the tape's structural zeros
# ---------------------------------------------------------------------------------------
def _kinks():
    """(computed, expected derivative) pairs; the same source runs in Python and in @njit."""
    nan, dual = math.nan, Dual
    sqrt, hypot, maximum, minimum, floor, sign = np.sqrt, np.hypot, np.maximum, np.minimum, np.floor, np.sign
    return (
        (abs(dual(0.0, 1.0)), 0.0),  # abs'(0) = 0
        (floor(dual(2.0, 1.0)), 0.0),
        (floor(dual(2.5, nan)), 0.0),  # zero even for a NaN tangent
        (sign(dual(0.0, 1.0)), 0.0),
        (maximum(dual(1.0, 1.0), dual(1.0, 0.0)), 0.5),
        (minimum(dual(1.0, 0.0), dual(1.0, 1.0)), 0.5),
        (maximum(dual(1.0, 1.0), 1.0), 0.5),
        (maximum(dual(1.0, 1.0), dual(1.0, 1.0)), 1.0),
        (hypot(dual(0.0, 1.0), dual(0.0, 1.0)), 0.0),  # the origin: the zero subgradient
        (dual(0.0, 0.0) ** dual(2.0, 1.0), 0.0),  # d/dy x**y = 0 where x**y = 0
        (0.0 ** dual(2.0, 1.0), 0.0),
        (sqrt(dual(0.0, 1.0)), math.inf),
        (sqrt(dual(0.0, 0.0)), 0.0),  # a zero tangent stays 0
        (dual(0.0, 1.0) * sqrt(dual(0.0, 0.0)), 0.0),
        (dual(0.0, 0.0) * sqrt(dual(0.0, 1.0)), 0.0),
        (dual(1.0, 0.0) / dual(0.0, 0.0), 0.0),
    )


def test_conventions_at_kinks_python_and_njit():
    python, jitted = _kinks(), njit(_kinks)()
    for k, ((p, expected), (j, _)) in enumerate(zip(python, jitted)):
        assert p.deriv == expected, (k, p)
        assert j.deriv == expected, (k, j)
        assert j.value == p.value or (math.isnan(j.value) and math.isnan(p.value)), (k, j, p)


def test_nan_operand_of_maximum_gives_nan_value_and_derivative():
    for d in (
        np.maximum(Dual(math.nan, 1.0), Dual(1.0, 1.0)),
        njit(lambda a, b: np.minimum(a, b))(Dual(1.0, 1.0), Dual(math.nan, 1.0)),
    ):
        assert math.isnan(d.value) and math.isnan(d.deriv)


@pytest.mark.parametrize(
    "f,x,expected",
    [
        (lambda x: np.sqrt(x[0]) + x[1], [0.0, 2.0], [math.inf, 1.0]),
        (lambda x: x[1] * np.sqrt(x[0]), [0.0, 0.0], [0.0, 0.0]),
        (lambda x: np.sqrt(x[0] * x[1]), [0.0, 0.0], [0.0, 0.0]),
        (lambda x: np.maximum(x[0], x[1]) + abs(x[0]), [0.0, 0.0], [0.5, 0.5]),
        (lambda x: np.hypot(x[0], x[1] - 2.0) + x[0] ** x[1], [0.0, 2.0], [0.0, 0.0]),
    ],
    ids=["sqrt-plus", "times-sqrt", "sqrt-of-product", "max-abs", "hypot-pow"],
)
def test_forward_gradient_at_kinks_equals_the_tape(f, x, expected):
    x = np.array(x)
    tape_g = ad.trace(f, x).gradient(x)
    np.testing.assert_array_equal(tape_g, expected)
    np.testing.assert_array_equal(fwd.gradient(njit(f), x), tape_g)
    np.testing.assert_array_equal(fwd.gradient(f, x), tape_g)  # Python f: the same loop in Python


# ---------------------------------------------------------------------------------------
# Operators, comparisons and the types in both worlds
# ---------------------------------------------------------------------------------------
OPERAND_KINDS = [Dual(1.5, 2.0), 1.5, 2, np.float64(1.5), np.int64(2)]


def test_operators_on_every_operand_type_in_python():
    for a in OPERAND_KINDS:
        for b in OPERAND_KINDS:
            if type(a) is not Dual and type(b) is not Dual:
                continue
            for op in (operator.add, operator.sub, operator.mul, operator.truediv, operator.pow):
                r = op(a, b)
                assert type(r) is Dual, (op, a, b)
                _close(r.value, op(_value(a), _value(b)), rtol=1e-15)
                t = ad.trace(
                    lambda v: op(v[0] if type(a) is Dual else a, v[1] if type(b) is Dual else b),
                    np.array([_value(a), _value(b)]),
                )
                g = t.gradient(np.array([_value(a), _value(b)]))
                expected = (2.0 * g[0] if type(a) is Dual else 0.0) + (2.0 * g[1] if type(b) is Dual else 0.0)
                _close(r.deriv, expected)
    d = Dual(1.5, 2.0)
    assert (-d).deriv == -2.0 and (+d) is d and abs(Dual(-1.5, 2.0)).deriv == -2.0


def _value(x):
    return x.value if type(x) is Dual else float(x)


@njit
def _all_operators(a, b):
    return (a + b, a - b, a * b, a / b, a**b, a // b, a % b)


def test_operators_on_every_operand_type_in_njit():
    for a, b in (
        (Dual(1.5, 2.0), Dual(0.7, -1.0)),
        (Dual(1.5, 2.0), 0.7),
        (1.5, Dual(0.7, -1.0)),
        (Dual(1.5, 2.0), 3),
        (3, Dual(0.7, -1.0)),
    ):
        for got, expected in zip(_all_operators(a, b), _all_operators.py_func(a, b)):
            _close([got.value, got.deriv], [expected.value, expected.deriv], rtol=1e-15)


@njit
def _compare_all(a, b):
    return (a < b, a <= b, a > b, a >= b, a == b, a != b)


def test_comparisons_use_values_only():
    pairs = [
        (Dual(1.0, 5.0), Dual(1.0, -3.0)),
        (Dual(1.0, 0.0), Dual(2.0, 0.0)),
        (Dual(2.0, 1.0), 1.0),
        (1.0, Dual(2.0, 1.0)),
        (Dual(2.0, 1.0), 2),
        (3, Dual(2.0, 1.0)),
        (Dual(math.nan, 0.0), 1.0),
    ]
    for a, b in pairs:
        expected = _compare_all.py_func(_value(a), _value(b))
        assert _compare_all.py_func(a, b) == expected, (a, b)
        assert _compare_all(a, b) == expected, (a, b)
    assert Dual(1.0, 5.0) == 1.0 and hash(Dual(1.0, 5.0)) == hash(1.0)
    assert (Dual(1.0, 0.0) == "1") is False  # not a number: not equal, no error


def test_construction_and_attributes_in_njit():
    @njit
    def build(v, i):
        a = Dual(v, 2.0)
        b = Dual(i)  # derivative 0
        c = Dual.variable(i)
        d = Dual.constant(v)
        return a, b, c, d, a.value + b.value, c.deriv

    a, b, c, d, s, dc = build(1.5, 3)
    assert (a.value, a.deriv, b.value, b.deriv) == (1.5, 2.0, 3.0, 0.0)
    assert (c.value, c.deriv, d.value, d.deriv) == (3.0, 1.0, 1.5, 0.0)
    assert (s, dc) == (4.5, 1.0)
    assert (Dual.variable(2).deriv, Dual.constant(2).deriv, Dual(2).deriv) == (1.0, 0.0, 0.0)


def test_floats_and_ints_meet_duals_as_constants_in_njit():
    @njit
    def accumulate(x, start):
        s = start  # an int or a float until it meets a Dual
        for i in range(3):
            s += x * (i + 1)
        if x:  # truth is the value's
            s = s + 0
        return s, max(x, 0.5), min(x, 2), max(0.5, x)

    s, hi, lo, hi2 = accumulate(Dual(2.0, 1.0), 0)
    assert (s.value, s.deriv) == (12.0, 6.0)
    assert (hi.value, hi.deriv, lo.value, lo.deriv, hi2.deriv) == (2.0, 1.0, 2.0, 1.0, 1.0)
    assert accumulate(Dual(2.0, 1.0), 0.0)[0].value == 12.0
    assert accumulate(2.0, 0.0)[0] == 12.0  # the same source on floats


def test_dual_array_in_python_and_njit():
    value, deriv = np.array([1.0, 2.0, 3.0, 4.0]), np.array([0.5, 0.0, -1.0, 2.0])

    @njit
    def use(a):
        b = a[1:3]
        a[0] = Dual(10.0, 20.0)
        a[-1] = 7  # a number: derivative 0
        return a[1], a[-2], b, len(a), a.shape, a.size, a.ndim, np.sum(a), DualArray(a.value[:2], a.deriv[:2])

    for run in (use.py_func, use):
        a = DualArray(value.copy(), deriv.copy())
        first, last, b, n, shape, size, ndim, total, head = run(a)
        assert (first.value, first.deriv, last.value, last.deriv) == (2.0, 0.0, 3.0, -1.0)
        assert isinstance(b, DualArray) and list(b.value) == [2.0, 3.0] and list(b.deriv) == [0.0, -1.0]
        assert (n, tuple(shape), size, ndim) == (4, (4,), 4, 1)
        np.testing.assert_array_equal(a.value, [10.0, 2.0, 3.0, 7.0])
        np.testing.assert_array_equal(a.deriv, [20.0, 0.0, -1.0, 0.0])
        assert (total.value, total.deriv) == (22.0, 19.0)
        np.testing.assert_array_equal(head.deriv, [20.0, 0.0])
    # The arrays are held, not copied: writes in @njit code reach the caller's arrays.
    v, d = value.copy(), deriv.copy()
    a = DualArray(v, d)
    assert a.value is v and use(a)[2].value.base is not None and v[0] == 10.0 and d[0] == 20.0
    # Strided views type as layout "A" and still index correctly.
    big_v, big_d = np.arange(8.0), np.arange(8.0) * 10
    strided = njit(lambda a: (a[1], len(a)))(DualArray(big_v[::2], big_d[::2]))
    assert (strided[0].value, strided[0].deriv, strided[1]) == (2.0, 20.0, 4)
    assert njit(lambda v: DualArray(v))(np.ones(3)).deriv.tolist() == [0.0, 0.0, 0.0]


def test_python_dual_protocols():
    d = Dual(0.5, 2.0)
    assert repr(d) == "Dual(0.5, 2.0)"
    objects = np.array([Dual(0.1, 1.0), Dual(0.2, 0.0)], dtype=object)
    sines = np.sin(objects)  # NumPy's object loop calls Dual.sin
    assert sines[0].deriv == pytest.approx(math.cos(0.1), rel=1e-15)
    arr = np.array([1.0, 2.0]) * d  # an ndarray operand: elementwise, an object array of Duals
    assert arr.dtype == object and arr[1].deriv == 4.0
    assert (np.float64(2.0) * d).deriv == 4.0 and (d * np.int64(3)).deriv == 6.0
    for f in (math.floor, math.ceil, math.trunc):
        assert type(f(Dual(1.5, 1.0))) is Dual and f(Dual(1.5, 1.0)).deriv == 0.0
    import pickle

    e = pickle.loads(pickle.dumps(d))
    assert (e.value, e.deriv) == (0.5, 2.0)


def test_scipy_erf_takes_duals():
    special = pytest.importorskip("scipy.special")
    d = special.erf(Dual(0.3, 1.0))
    assert d.value == pytest.approx(math.erf(0.3), rel=1e-15)
    assert d.deriv == pytest.approx(2 / math.sqrt(math.pi) * math.exp(-0.09), rel=1e-15)


# ---------------------------------------------------------------------------------------
# fwd: gradients and Jacobians of generic kernels, against the tape
# ---------------------------------------------------------------------------------------
@njit
def rosenbrock(x):
    s = 0.0
    for i in range(x.shape[0] - 1):
        xi = x[i]
        t = x[i + 1] - xi * xi
        u = 1.0 - xi
        s += 100.0 * (t * t) + u * u
    return s


@njit
def transcendental(x):
    s = 0.0
    for i in range(len(x) - 1):
        q = 1.0 + x[i] ** 2
        s += np.sin(x[i]) * np.exp(np.cos(x[i + 1])) / q + np.log(q) + np.arctan2(x[i], 2.0) * np.tanh(x[i + 1])
    return s


@njit
def branchy(x):
    s = 0.0
    for i in range(x.shape[0]):
        if x[i] > 0:
            s += x[i] ** 3 * np.sqrt(x[i])
        else:
            s -= np.sin(x[i]) * x[(i + 1) % x.shape[0]]
    return s


def _same_signs(x, rng):
    return x * rng.uniform(0.5, 1.5, x.shape[0])


@pytest.mark.parametrize("kernel", [rosenbrock, transcendental, branchy], ids=lambda k: k.__name__)
def test_gradient_matches_the_tape(kernel):
    rng = np.random.default_rng(3)
    x0 = rng.uniform(-1.0, 1.0, 7)
    x1 = _same_signs(x0, rng)  # the recorded branch: the tape replays
    tape = ad.trace(kernel.py_func, x0)
    for x in (x0, x1):
        g_tape = tape.gradient(x)
        for _ in range(2):  # twice: no state left behind
            value, g = fwd.value_and_gradient(kernel, x)
            _close(g, g_tape, rtol=1e-12, atol=1e-14)
            _close(value, tape.eval(x), rtol=1e-13)
        np.testing.assert_array_equal(fwd.gradient(kernel.py_func, x), g)  # the Python loop
        into = np.empty(7)
        assert fwd.gradient_kernel(kernel)(x, into) == value
        np.testing.assert_array_equal(into, g)
    x2 = -x1  # other signs: branchy takes other branches, ad.grad records again
    _close(fwd.gradient(kernel, x2), ad.grad(kernel.py_func)(x2), rtol=1e-12, atol=1e-14)
    v = rng.standard_normal(7)
    fd = (kernel(x1 + H * v) - kernel(x1 - H * v)) / (2 * H)
    assert fwd.gradient(kernel, x1) @ v == pytest.approx(fd, rel=1e-6, abs=1e-7)


@njit
def vector_tuple(x):
    return x[0] * x[1], np.sin(x[0]) + x[2] ** 2, np.exp(x[1]) * x[2] / (1.0 + x[0] ** 2), 3.0, x[2]


@njit
def vector_out(x, out):
    out[0] = x[0] * x[1]
    out[1] = np.sin(x[0]) + x[2] ** 2
    out[2] = np.exp(x[1]) * x[2] / (1.0 + x[0] ** 2)
    out[3] = 3.0
    out[4] = x[2]


@njit
def tail(x):
    return x[1:]


def test_jacobian_both_styles_match_the_tape():
    rng = np.random.default_rng(4)
    x0, x1 = rng.uniform(-1, 1, 3), rng.uniform(-1, 1, 3)
    tape = ad.trace(lambda x: list(vector_tuple.py_func(x)), x0)
    for x in (x0, x1):
        expected = tape.jacobian(x)
        for kernel in (vector_tuple, vector_out, vector_tuple.py_func, vector_out.py_func):
            for _ in range(2):
                values, jac = fwd.value_and_jacobian(kernel, x, 5)
                assert jac.shape == (5, 3)
                _close(jac, expected, rtol=1e-13, atol=1e-15)
                _close(values, tape.eval(x), rtol=1e-14)
    np.testing.assert_array_equal(fwd.jacobian(tail, x1, 2), [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    np.testing.assert_array_equal(fwd.jacobian(rosenbrock, x1, 1), [fwd.gradient(rosenbrock, x1)])


def test_jacobian_style_detection_and_override():
    @njit
    def scaled(x, scale=2.0):  # one required parameter: returns its outputs
        return scale * x[0], x[1]

    np.testing.assert_array_equal(fwd.jacobian(scaled, [1.0, 2.0], 2), [[2.0, 0.0], [0.0, 1.0]])

    @njit
    def writer(x, out=None):  # out has a default: the style must be said
        out[0] = x[0] * x[1]

    np.testing.assert_array_equal(fwd.jacobian(writer, [3.0, 2.0], 1, out_arg=True), [[2.0, 3.0]])


def test_empty_input():
    @njit
    def const(x):
        return 4.0

    value, g = fwd.value_and_gradient(const, np.empty(0))
    assert value == 4.0 and g.shape == (0,)
    values, jac = fwd.value_and_jacobian(njit(lambda x: (1.0, 2.0)), [], 2)
    assert list(values) == [1.0, 2.0] and jac.shape == (2, 0)


def test_derivative_python_and_njit_against_the_tape():
    def f(x):
        return np.sin(x) * np.exp(x) / (1.0 + x**2) + np.arctan2(x, 2.0)

    jf = njit(lambda x: math.sin(x) * math.exp(x) / (1.0 + x**2) + math.atan2(x, 2.0))
    tape = _tape1(f, 0.1)
    for x in (0.3, -1.2, 2.0, np.float64(0.5), 1):
        expected = tape.gradient(np.array([float(x)]))[0]
        _close(fwd.derivative(f, x), expected, rtol=1e-13)
        _close(fwd.derivative(jf, x), expected, rtol=1e-13)
    assert fwd.derivative(lambda x: 3.0, 1.0) == 0.0  # f ignores x
    assert fwd.derivative(njit(lambda x: x**3), 2.0, order=1) == 12.0


# ---------------------------------------------------------------------------------------
# Bad input: clear errors
# ---------------------------------------------------------------------------------------
def test_bad_points_raise():
    with pytest.raises(ValueError, match="1-D"):
        fwd.gradient(rosenbrock, [[1.0, 2.0]])
    with pytest.raises(ValueError, match="atleast_1d"):
        fwd.gradient(rosenbrock, 1.0)
    for bad in ("abc", [1 + 2j, 1.0], [object(), 1.0]):
        with pytest.raises(TypeError, match="real numbers"):
            fwd.gradient(rosenbrock, bad)
    with pytest.raises(TypeError, match="must be a function"):
        fwd.gradient(42, [1.0])
    for bad in ([1.0, 2.0], "x", Dual(1.0, 1.0), 1j):
        with pytest.raises(TypeError, match="real number"):
            fwd.derivative(np.sin, bad)


def test_bad_kernels_raise():
    with pytest.raises(TypeError, match="one scalar"):
        fwd.gradient(vector_tuple, [1.0, 2.0, 3.0])

    @njit
    def not_generic(x):
        y = np.empty(2)
        y[0] = x[0]  # a Dual cannot be stored into a float array: it would drop its derivative
        return y[0]

    with pytest.raises(TypeError, match="generically|Duals"):
        fwd.gradient(not_generic, [1.0, 2.0])
    with pytest.raises(TypeError, match="one scalar"):
        fwd.derivative(lambda x: (x, x), 1.0)
    with pytest.raises(TypeError, match="compiled for a Dual"):
        fwd.derivative(njit(lambda x: float(x)), 1.0)


def test_bad_jacobian_arguments_raise():
    with pytest.raises(ValueError, match="returned 5 outputs but m = 3"):
        fwd.jacobian(vector_tuple, [1.0, 2.0, 3.0], 3)
    with pytest.raises(ValueError, match="returned 5 outputs but m = 3"):
        fwd.jacobian(vector_tuple.py_func, [1.0, 2.0, 3.0], 3)
    with pytest.raises(TypeError, match="integer"):
        fwd.jacobian(vector_tuple, [1.0, 2.0, 3.0], 2.5)
    with pytest.raises(ValueError, match=">= 0"):
        fwd.jacobian(vector_tuple, [1.0, 2.0, 3.0], -1)


def test_derivative_order():
    # order > 1 comes from Taylor mode on a tape (tests/ops/test_taylor.py); here the dispatch
    for k in range(2, 6):
        assert fwd.derivative(np.sin, 1.0, order=k) == pytest.approx(np.sin(1.0 + k * np.pi / 2), rel=1e-13)
        assert fwd.derivative(njit(lambda t: math.exp(2.0 * t)), 0.5, order=k) == pytest.approx(
            2.0**k * math.exp(1.0), rel=1e-13
        )
    with pytest.raises(ValueError, match=">= 1"):
        fwd.derivative(np.sin, 1.0, order=0)
    with pytest.raises(TypeError, match="integer"):
        fwd.derivative(np.sin, 1.0, order=1.5)


def test_bad_duals_raise():
    for args in (("a",), (1.0, None), (Dual(1.0),), (1 + 2j,)):
        with pytest.raises(TypeError, match="real number"):
            Dual(*args)
    d = Dual(1.0, 2.0)
    with pytest.raises(AttributeError, match="immutable"):
        d.value = 3.0
    for convert in (float, int, math.sin, math.exp):
        with pytest.raises(TypeError, match="d.value"):
            convert(d)
    with pytest.raises(TypeError):
        d + "a"
    with pytest.raises(TypeError):
        d < "a"
    with pytest.raises(ValueError, match="1-D"):
        DualArray([[1.0]])
    with pytest.raises(ValueError, match="one shape"):
        DualArray([1.0, 2.0], [1.0])
    with pytest.raises(TypeError, match="real numbers"):
        DualArray(["a"])
    a = DualArray([1.0, 2.0])
    with pytest.raises(TypeError, match="integer or a slice"):
        a[1.5]
    with pytest.raises(TypeError, match="stores Duals and real numbers"):
        a[0] = "x"


# ---------------------------------------------------------------------------------------
# The on-disk cache: a cached kernel that uses both types is reused by the next process
# ---------------------------------------------------------------------------------------
CACHED_MODULE = """
import math
import numpy as np
from numba import njit
from numba_ad.dual import Dual, DualArray


@njit(cache=True)
def kernel(a, d):
    s = 0.0
    for i in range(a.shape[0]):
        s += math.sin(a[i]) * d + np.exp(a[i]) ** 2 / Dual.variable(2.0)
    a[0] = s
    return s, DualArray(a.value, a.deriv), Dual(1.0, 2.0) * d
"""

RUN = """
import json, sys
import numpy as np
sys.path.insert(0, sys.argv[1])
from cached_dual_kernel import kernel
from numba_ad.dual import Dual, DualArray
s, arr, p = kernel(DualArray(np.array([0.1, 0.2]), np.array([1.0, 0.0])), Dual(0.5, 1.0))
print(json.dumps(dict(hits=sum(kernel.stats.cache_hits.values()), misses=sum(kernel.stats.cache_misses.values()),
                      s=[s.value, s.deriv], p=[p.value, p.deriv], a0=[arr.value[0], arr.deriv[0]])))
"""


def test_njit_cache_is_reused_by_a_second_process(tmp_path):
    (tmp_path / "cached_dual_kernel.py").write_text(textwrap.dedent(CACHED_MODULE))
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    runs = []
    for _ in range(2):
        out = subprocess.run(
            [sys.executable, "-c", RUN, str(tmp_path)], env=env, capture_output=True, text=True, timeout=300
        )
        assert out.returncode == 0, out.stderr
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    first, second = runs
    assert (first["hits"], first["misses"]) == (0, 1)
    assert (second["hits"], second["misses"]) == (1, 0), "the second process compiled again"
    assert first["s"] == second["s"] and first["p"] == second["p"] and first["a0"] == first["s"]
    # the value itself, from Python Duals
    s = Dual(0.0)
    for a in (Dual(0.1, 1.0), Dual(0.2, 0.0)):
        s = s + np.sin(a) * Dual(0.5, 1.0) + np.exp(a) ** 2 / Dual.variable(2.0)
    _close(first["s"], [s.value, s.deriv], rtol=1e-15)


# ---------------------------------------------------------------------------------------
# The special-function ops in the forward drivers: a generic @njit kernel on DualArrays
# ---------------------------------------------------------------------------------------
@njit
def _special_kernel(x):
    return np.logaddexp(x[0], x[1]) + np.logaddexp2(x[1], x[2]) + np.sinc(x[2]) + math.lgamma(x[0] + 2.0)


def test_special_ops_in_fwd_gradient_match_the_tape():
    x0, x1 = np.array([0.3, -0.4, 0.8]), np.array([-0.2, 0.6, 1.7])
    tape = ad.trace(_special_kernel, x0)  # a kernel traces through its source, math.lgamma included
    for _ in range(2):
        np.testing.assert_allclose(ad.fwd.gradient(_special_kernel, x1), tape.gradient(x1), rtol=1e-14)
