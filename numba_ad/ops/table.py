"""The op table: every operation numba_ad can record, defined once.

Each op appears, in enum order, in these places that sit side by side in this file:

* ``Op``: its opcode (a small int stored in the tape's ``op`` array);
* ``TABLE``: one row of properties (arity, a Python scalar evaluator for tracing, an
  independent NumPy reference for tests, a test domain and the name used in messages);
* ``value``: its value in the kernels;
* ``partials``: its two local partial derivatives in the kernels;
* ``second_partials``: its three second partials (d_aa, d_ab, d_bb), for Hessians;
* ``taylor``: the recurrence giving its Taylor coefficients of degree 2 and up from its
  operands' (Taylor mode); ``NONZERO_PARTIALS`` says which partials can be nonzero at all.

The sweeps never name a math op: they call ``value`` and ``partials`` and combine the
partials (tangent ``y_dot = d_a a_dot + d_b b_dot``; adjoint ``a_bar += d_a y_bar``). Adding an
op is one enum entry, one table row, one branch in each kernel function and one tracer method.

Arguments: ``x`` is the value at slot ``a``, ``y`` the value at slot ``b`` (unary ops point
``b`` at slot 0, the constant zero, and have ``d_b = 0``), ``c`` the op's constant operand,
``v`` the op's own value (partials reuse it: d/dx exp = exp).

Derivative conventions where the derivative is undefined (documented in docs/conventions.md):
abs'(0) = 0, sign/floor/ceil/trunc' = 0, maximum/minimum split 1/2-1/2 at a tie (as JAX),
sqrt'(0) = cbrt'(0) = +inf, hypot' = 0 at the origin, d/dy x**y = 0 where x**y = 0.
"""

import math
from collections.abc import Callable
from enum import IntEnum
from typing import NamedTuple

import numpy as np

from numba_ad._config import kernel, kernel_inline


class Op(IntEnum):
    # Structural ops: the sweeps handle them themselves (they have no partials).
    CONST = 0  # value c
    INPUT = 1  # value x[a]: a is the input's index, not a slot
    PARAM = 2  # value p[a]: a is the parameter's index
    # Binary ops.
    ADD = 3
    SUB = 4
    MUL = 5
    DIV = 6
    POW = 7  # x ** y, both recorded
    ARCTAN2 = 8
    HYPOT = 9
    MINIMUM = 10
    MAXIMUM = 11
    # Unary ops with a constant operand c.
    POWI = 12  # x ** c, c an integer
    POWC = 13  # x ** c, c real
    CPOW = 14  # c ** x
    # Unary ops.
    NEG = 15
    ABS = 16
    SQRT = 17
    CBRT = 18
    EXP = 19
    EXP2 = 20
    EXPM1 = 21
    LOG = 22
    LOG2 = 23
    LOG10 = 24
    LOG1P = 25
    SIN = 26
    COS = 27
    TAN = 28
    ARCSIN = 29
    ARCCOS = 30
    ARCTAN = 31
    SINH = 32
    COSH = 33
    TANH = 34
    ARCSINH = 35
    ARCCOSH = 36
    ARCTANH = 37
    ERF = 38
    ERFC = 39
    SQUARE = 40
    RECIPROCAL = 41
    FLOOR = 42
    CEIL = 43
    TRUNC = 44
    SIGN = 45
    # Comparisons: value 1.0 where x < y (<=, ==) holds, else 0.0; zero partials. A comparison
    # listed in the tape's `guards` is a guard: c holds the value seen while tracing, and a
    # replay whose value differs has left the recorded branch. An unlisted one is a mask,
    # the condition of a select.
    LT = 46
    LE = 47
    EQ = 48
    # Selects (x a mask, y the value): where(m, a, b) is IF_TRUE(m, a) + IF_FALSE(m, b). The
    # branch not taken contributes -0.0 with zero partials, whatever its value or derivative
    # (inf, NaN): the structural-zero rule of the sweeps then keeps it out of every derivative.
    # -0.0 rather than 0.0 so that the sum returns the taken value exactly, -0.0 included.
    IF_TRUE = 49  # y where x != 0, else -0.0
    IF_FALSE = 50  # y where x == 0, else -0.0


FIRST_MATH = int(Op.ADD)  # ops below this are structural
FIRST_UNARY = int(Op.POWI)  # ops from here on read only slot a
FIRST_GUARD = int(Op.LT)  # comparisons (the ops a guard may be) and selects: binary again
COMPARISONS = (Op.LT, Op.LE, Op.EQ)
N_OPS = len(Op)

LN2 = math.log(2.0)
LN10 = math.log(10.0)
TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


# ---------------------------------------------------------------------------------------
# Python scalar evaluators, used while tracing (values decide guards and fold constants).
# They use the C library through `math`, as numba's kernels do, so a traced value and a
# replayed one agree to the bit for the common ops; where `math` raises instead of
# returning inf or NaN, NumPy supplies the IEEE result.
# ---------------------------------------------------------------------------------------
def _ieee(math_fn, numpy_fn):
    def scalar(x, y, c):
        try:
            return float(math_fn(x))
        except (ValueError, OverflowError, ZeroDivisionError):
            with np.errstate(all="ignore"):
                return float(numpy_fn(x))

    return scalar


def _ieee2(fn, numpy_fn):
    def scalar(x, y, c):
        try:
            return float(fn(x, y))
        except (ValueError, OverflowError, ZeroDivisionError):
            with np.errstate(all="ignore"):
                return float(numpy_fn(np.float64(x), np.float64(y)))

    return scalar


def _py_min(x, y):
    if x != x or y != y:
        return math.nan
    return y if y < x else x


def _py_max(x, y):
    if x != x or y != y:
        return math.nan
    return y if y > x else x


def _py_cbrt(x):
    return np.cbrt(x)  # math.cbrt needs Python 3.11; one NumPy call is cheap enough here


def _py_sign(x):
    return np.sign(x)


def _erf_reference(x):
    try:
        from scipy.special import erf
    except ImportError:  # pragma: no cover - exercised only without SciPy
        return np.vectorize(math.erf, otypes=[float])(x)
    return erf(x)


def _erfc_reference(x):
    try:
        from scipy.special import erfc
    except ImportError:  # pragma: no cover
        return np.vectorize(math.erfc, otypes=[float])(x)
    return erfc(x)


class OpSpec(NamedTuple):
    """One row of the op table."""

    name: str  # how messages and expression renderings name the op
    arity: int  # 0 structural, 1 unary (reads slot a), 2 binary (reads slots a and b)
    scalar: Callable  # scalar(x, y, c) -> float, evaluated while tracing
    reference: Callable  # reference(x, y, c) on NumPy arrays, for tests only
    domain: tuple  # ((lo, hi) for x, (lo, hi) for y) where the op is smooth, for tests
    test_c: float = 0.0  # the constant operand used in tests (POWI, POWC, CPOW)


_R = (-3.0, 3.0)
_POS = (0.1, 4.0)
_UNIT = (-0.9, 0.9)
_NOY = (0.0, 0.0)
_np1 = lambda f: lambda x, y, c: f(x)  # noqa: E731  NumPy reference of a unary op
_np2 = lambda f: lambda x, y, c: f(x, y)  # noqa: E731

TABLE = {
    Op.ADD: OpSpec("+", 2, lambda x, y, c: x + y, _np2(np.add), (_R, _R)),
    Op.SUB: OpSpec("-", 2, lambda x, y, c: x - y, _np2(np.subtract), (_R, _R)),
    Op.MUL: OpSpec("*", 2, lambda x, y, c: x * y, _np2(np.multiply), (_R, _R)),
    Op.DIV: OpSpec("/", 2, _ieee2(lambda x, y: x / y, np.divide), _np2(np.divide), (_R, (0.5, 3.0))),
    Op.POW: OpSpec("**", 2, _ieee2(math.pow, np.power), _np2(np.power), ((0.5, 3.0), (-2.0, 2.0))),
    Op.ARCTAN2: OpSpec("arctan2", 2, _ieee2(math.atan2, np.arctan2), _np2(np.arctan2), (_R, (0.5, 3.0))),
    Op.HYPOT: OpSpec("hypot", 2, _ieee2(math.hypot, np.hypot), _np2(np.hypot), (_R, (0.5, 3.0))),
    Op.MINIMUM: OpSpec("minimum", 2, lambda x, y, c: _py_min(x, y), _np2(np.minimum), (_R, _R)),
    Op.MAXIMUM: OpSpec("maximum", 2, lambda x, y, c: _py_max(x, y), _np2(np.maximum), (_R, _R)),
    Op.POWI: OpSpec(
        "powi",
        1,
        lambda x, y, c: _ieee2(math.pow, np.power)(x, c, 0.0),
        lambda x, y, c: np.power(x, c),
        (_R, _NOY),
        test_c=3.0,
    ),
    Op.POWC: OpSpec(
        "powc",
        1,
        lambda x, y, c: _ieee2(math.pow, np.power)(x, c, 0.0),
        lambda x, y, c: np.power(x, c),
        ((0.5, 3.0), _NOY),
        test_c=2.5,
    ),
    Op.CPOW: OpSpec(
        "cpow",
        1,
        lambda x, y, c: _ieee2(math.pow, np.power)(c, x, 0.0),
        lambda x, y, c: np.power(c, x),
        ((-2.0, 2.0), _NOY),
        test_c=1.7,
    ),
    Op.NEG: OpSpec("negative", 1, lambda x, y, c: -x, _np1(np.negative), (_R, _NOY)),
    Op.ABS: OpSpec("abs", 1, lambda x, y, c: abs(x), _np1(np.abs), (_R, _NOY)),
    Op.SQRT: OpSpec("sqrt", 1, _ieee(math.sqrt, np.sqrt), _np1(np.sqrt), (_POS, _NOY)),
    Op.CBRT: OpSpec("cbrt", 1, _ieee(_py_cbrt, np.cbrt), _np1(np.cbrt), ((0.2, 3.0), _NOY)),
    Op.EXP: OpSpec("exp", 1, _ieee(math.exp, np.exp), _np1(np.exp), (_R, _NOY)),
    Op.EXP2: OpSpec("exp2", 1, _ieee(lambda x: 2.0**x, np.exp2), _np1(np.exp2), (_R, _NOY)),
    Op.EXPM1: OpSpec("expm1", 1, _ieee(math.expm1, np.expm1), _np1(np.expm1), (_R, _NOY)),
    Op.LOG: OpSpec("log", 1, _ieee(math.log, np.log), _np1(np.log), (_POS, _NOY)),
    Op.LOG2: OpSpec("log2", 1, _ieee(math.log2, np.log2), _np1(np.log2), (_POS, _NOY)),
    Op.LOG10: OpSpec("log10", 1, _ieee(math.log10, np.log10), _np1(np.log10), (_POS, _NOY)),
    Op.LOG1P: OpSpec("log1p", 1, _ieee(math.log1p, np.log1p), _np1(np.log1p), ((-0.5, 3.0), _NOY)),
    Op.SIN: OpSpec("sin", 1, _ieee(math.sin, np.sin), _np1(np.sin), (_R, _NOY)),
    Op.COS: OpSpec("cos", 1, _ieee(math.cos, np.cos), _np1(np.cos), (_R, _NOY)),
    Op.TAN: OpSpec("tan", 1, _ieee(math.tan, np.tan), _np1(np.tan), ((-1.2, 1.2), _NOY)),
    Op.ARCSIN: OpSpec("arcsin", 1, _ieee(math.asin, np.arcsin), _np1(np.arcsin), (_UNIT, _NOY)),
    Op.ARCCOS: OpSpec("arccos", 1, _ieee(math.acos, np.arccos), _np1(np.arccos), (_UNIT, _NOY)),
    Op.ARCTAN: OpSpec("arctan", 1, _ieee(math.atan, np.arctan), _np1(np.arctan), (_R, _NOY)),
    Op.SINH: OpSpec("sinh", 1, _ieee(math.sinh, np.sinh), _np1(np.sinh), (_R, _NOY)),
    Op.COSH: OpSpec("cosh", 1, _ieee(math.cosh, np.cosh), _np1(np.cosh), (_R, _NOY)),
    Op.TANH: OpSpec("tanh", 1, _ieee(math.tanh, np.tanh), _np1(np.tanh), (_R, _NOY)),
    Op.ARCSINH: OpSpec("arcsinh", 1, _ieee(math.asinh, np.arcsinh), _np1(np.arcsinh), (_R, _NOY)),
    Op.ARCCOSH: OpSpec("arccosh", 1, _ieee(math.acosh, np.arccosh), _np1(np.arccosh), ((1.2, 4.0), _NOY)),
    Op.ARCTANH: OpSpec("arctanh", 1, _ieee(math.atanh, np.arctanh), _np1(np.arctanh), (_UNIT, _NOY)),
    Op.ERF: OpSpec("erf", 1, _ieee(math.erf, _erf_reference), _np1(_erf_reference), (_R, _NOY)),
    Op.ERFC: OpSpec("erfc", 1, _ieee(math.erfc, _erfc_reference), _np1(_erfc_reference), (_R, _NOY)),
    Op.SQUARE: OpSpec("square", 1, lambda x, y, c: x * x, _np1(np.square), (_R, _NOY)),
    Op.RECIPROCAL: OpSpec(
        "reciprocal", 1, _ieee(lambda x: 1.0 / x, np.reciprocal), _np1(np.reciprocal), ((0.5, 3.0), _NOY)
    ),
    Op.FLOOR: OpSpec("floor", 1, _ieee(math.floor, np.floor), _np1(np.floor), (_R, _NOY)),
    Op.CEIL: OpSpec("ceil", 1, _ieee(math.ceil, np.ceil), _np1(np.ceil), (_R, _NOY)),
    Op.TRUNC: OpSpec("trunc", 1, _ieee(math.trunc, np.trunc), _np1(np.trunc), (_R, _NOY)),
    Op.SIGN: OpSpec("sign", 1, lambda x, y, c: float(_py_sign(x)), _np1(np.sign), (_R, _NOY)),
    Op.LT: OpSpec("<", 2, lambda x, y, c: 1.0 if x < y else 0.0, lambda x, y, c: np.less(x, y) * 1.0, (_R, _R)),
    Op.LE: OpSpec("<=", 2, lambda x, y, c: 1.0 if x <= y else 0.0, lambda x, y, c: np.less_equal(x, y) * 1.0, (_R, _R)),
    Op.EQ: OpSpec("==", 2, lambda x, y, c: 1.0 if x == y else 0.0, lambda x, y, c: np.equal(x, y) * 1.0, (_R, _R)),
    Op.IF_TRUE: OpSpec(
        "if_true", 2, lambda x, y, c: y if x != 0.0 else -0.0, lambda x, y, c: np.where(x != 0.0, y, -0.0), (_R, _R)
    ),
    Op.IF_FALSE: OpSpec(
        "if_false", 2, lambda x, y, c: y if x == 0.0 else -0.0, lambda x, y, c: np.where(x == 0.0, y, -0.0), (_R, _R)
    ),
}

# Indexed by opcode, for the tracer's hot path (a list index is cheaper than an enum lookup).
SCALAR = [TABLE[Op(i)].scalar if Op(i) in TABLE else None for i in range(N_OPS)]
ARITY = np.array([TABLE[Op(i)].arity if Op(i) in TABLE else 0 for i in range(N_OPS)], dtype=np.int8)


# ---------------------------------------------------------------------------------------
# Kernels. One branch per op, in enum order: numba turns the chain into a jump table.
# ---------------------------------------------------------------------------------------
@kernel
def _minimum(x, y):
    if x < y:
        return x
    if y < x:
        return y
    if x == y:
        return x
    return x + y  # NaN in, NaN out (as np.minimum)


@kernel
def _maximum(x, y):
    if x > y:
        return x
    if y > x:
        return y
    if x == y:
        return x
    return x + y


@kernel_inline
def value(op, x, y, c):
    """Value of a non-structural op."""
    if op == Op.ADD:
        return x + y
    elif op == Op.SUB:
        return x - y
    elif op == Op.MUL:
        return x * y
    elif op == Op.DIV:
        return x / y
    elif op == Op.POW:
        return x**y
    elif op == Op.ARCTAN2:
        return math.atan2(x, y)
    elif op == Op.HYPOT:
        return math.hypot(x, y)
    elif op == Op.MINIMUM:
        return _minimum(x, y)
    elif op == Op.MAXIMUM:
        return _maximum(x, y)
    elif op == Op.POWI:
        return x**c
    elif op == Op.POWC:
        return x**c
    elif op == Op.CPOW:
        return c**x
    elif op == Op.NEG:
        return -x
    elif op == Op.ABS:
        return abs(x)
    elif op == Op.SQRT:
        return math.sqrt(x)
    elif op == Op.CBRT:
        return np.cbrt(x)
    elif op == Op.EXP:
        return math.exp(x)
    elif op == Op.EXP2:
        return 2.0**x
    elif op == Op.EXPM1:
        return math.expm1(x)
    elif op == Op.LOG:
        return math.log(x)
    elif op == Op.LOG2:
        return math.log2(x)
    elif op == Op.LOG10:
        return math.log10(x)
    elif op == Op.LOG1P:
        return math.log1p(x)
    elif op == Op.SIN:
        return math.sin(x)
    elif op == Op.COS:
        return math.cos(x)
    elif op == Op.TAN:
        return math.tan(x)
    elif op == Op.ARCSIN:
        return math.asin(x)
    elif op == Op.ARCCOS:
        return math.acos(x)
    elif op == Op.ARCTAN:
        return math.atan(x)
    elif op == Op.SINH:
        return math.sinh(x)
    elif op == Op.COSH:
        return math.cosh(x)
    elif op == Op.TANH:
        return math.tanh(x)
    elif op == Op.ARCSINH:
        return math.asinh(x)
    elif op == Op.ARCCOSH:
        return math.acosh(x)
    elif op == Op.ARCTANH:
        return math.atanh(x)
    elif op == Op.ERF:
        return math.erf(x)
    elif op == Op.ERFC:
        return math.erfc(x)
    elif op == Op.SQUARE:
        return x * x
    elif op == Op.RECIPROCAL:
        return 1.0 / x
    elif op == Op.FLOOR:
        return np.floor(x)
    elif op == Op.CEIL:
        return np.ceil(x)
    elif op == Op.TRUNC:
        return np.trunc(x)
    elif op == Op.SIGN:
        return np.sign(x)
    elif op == Op.LT:
        return 1.0 if x < y else 0.0
    elif op == Op.LE:
        return 1.0 if x <= y else 0.0
    elif op == Op.EQ:
        return 1.0 if x == y else 0.0
    elif op == Op.IF_TRUE:
        return y if x != 0.0 else -0.0
    elif op == Op.IF_FALSE:
        return y if x == 0.0 else -0.0
    return math.nan  # unreachable: Tape.from_arrays rejects unknown opcodes


@kernel_inline
def partials(op, x, y, c, v):
    """(d v / d x, d v / d y) of a non-structural op at x, y, with v its value there."""
    if op == Op.ADD:
        return 1.0, 1.0
    elif op == Op.SUB:
        return 1.0, -1.0
    elif op == Op.MUL:
        return y, x
    elif op == Op.DIV:
        return 1.0 / y, -v / y
    elif op == Op.POW:
        # d/dy x^y = x^y log x, taken as 0 where x^y = 0 (x = 0, y > 0) instead of 0 * -inf
        return y * x ** (y - 1.0), (v * math.log(x) if v != 0.0 else 0.0)
    elif op == Op.ARCTAN2:
        r2 = x * x + y * y
        return y / r2, -x / r2
    elif op == Op.HYPOT:
        if v == 0.0:
            return 0.0, 0.0  # the origin: the zero subgradient, as abs'(0)
        return x / v, y / v
    elif op == Op.MINIMUM:
        if x < y:
            return 1.0, 0.0
        elif y < x:
            return 0.0, 1.0
        elif x == y:
            return 0.5, 0.5  # a tie: split, as JAX
        return math.nan, math.nan  # a NaN operand
    elif op == Op.MAXIMUM:
        if x > y:
            return 1.0, 0.0
        elif y > x:
            return 0.0, 1.0
        elif x == y:
            return 0.5, 0.5  # a tie: split, as JAX
        return math.nan, math.nan  # a NaN operand
    elif op == Op.POWI:
        return c * x ** (c - 1.0), 0.0
    elif op == Op.POWC:
        return c * x ** (c - 1.0), 0.0
    elif op == Op.CPOW:
        # d/dx c^x = c^x log c, taken as 0 where c^x = 0
        return (v * math.log(c) if v != 0.0 else 0.0), 0.0
    elif op == Op.NEG:
        return -1.0, 0.0
    elif op == Op.ABS:
        return np.sign(x), 0.0
    elif op == Op.SQRT:
        return 0.5 / v, 0.0
    elif op == Op.CBRT:
        return 1.0 / (3.0 * v * v), 0.0
    elif op == Op.EXP:
        return v, 0.0
    elif op == Op.EXP2:
        return v * LN2, 0.0
    elif op == Op.EXPM1:
        return v + 1.0, 0.0
    elif op == Op.LOG:
        return 1.0 / x, 0.0
    elif op == Op.LOG2:
        return 1.0 / (x * LN2), 0.0
    elif op == Op.LOG10:
        return 1.0 / (x * LN10), 0.0
    elif op == Op.LOG1P:
        return 1.0 / (1.0 + x), 0.0
    elif op == Op.SIN:
        return math.cos(x), 0.0
    elif op == Op.COS:
        return -math.sin(x), 0.0
    elif op == Op.TAN:
        return 1.0 + v * v, 0.0
    elif op == Op.ARCSIN:
        return 1.0 / math.sqrt((1.0 - x) * (1.0 + x)), 0.0
    elif op == Op.ARCCOS:
        return -1.0 / math.sqrt((1.0 - x) * (1.0 + x)), 0.0
    elif op == Op.ARCTAN:
        return 1.0 / (1.0 + x * x), 0.0
    elif op == Op.SINH:
        return math.cosh(x), 0.0
    elif op == Op.COSH:
        return math.sinh(x), 0.0
    elif op == Op.TANH:
        return 1.0 - v * v, 0.0
    elif op == Op.ARCSINH:
        return 1.0 / math.hypot(x, 1.0), 0.0  # hypot: no overflow of x*x for large x
    elif op == Op.ARCCOSH:
        return 1.0 / (math.sqrt(x - 1.0) * math.sqrt(x + 1.0)), 0.0
    elif op == Op.ARCTANH:
        return 1.0 / ((1.0 - x) * (1.0 + x)), 0.0
    elif op == Op.ERF:
        return TWO_OVER_SQRT_PI * math.exp(-x * x), 0.0
    elif op == Op.ERFC:
        return -TWO_OVER_SQRT_PI * math.exp(-x * x), 0.0
    elif op == Op.SQUARE:
        return 2.0 * x, 0.0
    elif op == Op.RECIPROCAL:
        return -v * v, 0.0
    elif op == Op.IF_TRUE:
        return 0.0, 1.0 if x != 0.0 else 0.0  # the mask is piecewise constant
    elif op == Op.IF_FALSE:
        return 0.0, 1.0 if x == 0.0 else 0.0
    # FLOOR, CEIL, TRUNC, SIGN and the comparisons are piecewise constant: zero partials.
    return 0.0, 0.0


@kernel_inline
def second_partials(op, x, y, c, v):
    """(d2v/dx2, d2v/dxdy, d2v/dy2) of a non-structural op at x, y, with v its value there.

    Unary ops return (d_aa, 0.0, 0.0): the second-order sweeps rely on it to leave slot 0 (their
    unused b) alone. Where partials() takes a convention, these follow it: zero where a first
    partial is taken as a constant (abs, maximum/minimum, hypot at the origin, the
    piecewise-constant ops, selects), zero where x**y or c**x is zero.
    """
    if op == Op.ADD:
        return 0.0, 0.0, 0.0
    elif op == Op.SUB:
        return 0.0, 0.0, 0.0
    elif op == Op.MUL:
        return 0.0, 1.0, 0.0
    elif op == Op.DIV:
        r = 1.0 / y
        return 0.0, -r * r, 2.0 * v * r * r  # d/dy 1/y = -1/y^2; d/dy -x/y^2 = 2x/y^3
    elif op == Op.POW:
        # y (y-1) x^(y-2); d/dx (x^y log x) = x^(y-1) (1 + y log x); x^y log^2 x. The log
        # terms are taken as 0 where their power factor is 0, as d_b is in partials().
        yy = y * (y - 1.0)
        t = x ** (y - 1.0)
        lg = math.log(x)
        d_ab = t + (y * t * lg if t != 0.0 and y != 0.0 else 0.0)
        return (yy * x ** (y - 2.0) if yy != 0.0 else 0.0), d_ab, (v * lg * lg if v != 0.0 else 0.0)
    elif op == Op.ARCTAN2:
        r2 = x * x + y * y
        q = 1.0 / (r2 * r2)
        return -2.0 * x * y * q, (x * x - y * y) * q, 2.0 * x * y * q
    elif op == Op.HYPOT:
        if v == 0.0:
            return 0.0, 0.0, 0.0  # the origin: zero, as the first partials there
        u = x / v
        s = y / v
        return s * s / v, -u * s / v, u * u / v  # y^2/v^3, -xy/v^3, x^2/v^3 without overflow
    elif op == Op.MINIMUM:
        return 0.0, 0.0, 0.0
    elif op == Op.MAXIMUM:
        return 0.0, 0.0, 0.0
    elif op == Op.POWI:
        cc = c * (c - 1.0)
        return (cc * x ** (c - 2.0) if cc != 0.0 else 0.0), 0.0, 0.0
    elif op == Op.POWC:
        cc = c * (c - 1.0)
        return (cc * x ** (c - 2.0) if cc != 0.0 else 0.0), 0.0, 0.0
    elif op == Op.CPOW:
        lc = math.log(c)
        return (v * lc * lc if v != 0.0 else 0.0), 0.0, 0.0
    elif op == Op.NEG:
        return 0.0, 0.0, 0.0
    elif op == Op.ABS:
        return 0.0, 0.0, 0.0  # abs''(0) = 0 with abs'(0) = 0
    elif op == Op.SQRT:
        return -0.25 / (x * v), 0.0, 0.0  # -1/(4 x^(3/2))
    elif op == Op.CBRT:
        return -2.0 / (9.0 * x * v * v), 0.0, 0.0  # -2/(9 x^(5/3))
    elif op == Op.EXP:
        return v, 0.0, 0.0
    elif op == Op.EXP2:
        return v * (LN2 * LN2), 0.0, 0.0
    elif op == Op.EXPM1:
        return v + 1.0, 0.0, 0.0
    elif op == Op.LOG:
        return -1.0 / (x * x), 0.0, 0.0
    elif op == Op.LOG2:
        return -1.0 / (x * x * LN2), 0.0, 0.0
    elif op == Op.LOG10:
        return -1.0 / (x * x * LN10), 0.0, 0.0
    elif op == Op.LOG1P:
        u = 1.0 + x
        return -1.0 / (u * u), 0.0, 0.0
    elif op == Op.SIN:
        return -v, 0.0, 0.0
    elif op == Op.COS:
        return -v, 0.0, 0.0
    elif op == Op.TAN:
        return 2.0 * v * (1.0 + v * v), 0.0, 0.0
    elif op == Op.ARCSIN:
        q = (1.0 - x) * (1.0 + x)
        return x / (q * math.sqrt(q)), 0.0, 0.0  # x (1 - x^2)^(-3/2)
    elif op == Op.ARCCOS:
        q = (1.0 - x) * (1.0 + x)
        return -x / (q * math.sqrt(q)), 0.0, 0.0
    elif op == Op.ARCTAN:
        q = 1.0 + x * x
        return -2.0 * x / (q * q), 0.0, 0.0
    elif op == Op.SINH:
        return v, 0.0, 0.0
    elif op == Op.COSH:
        return v, 0.0, 0.0
    elif op == Op.TANH:
        return -2.0 * v * (1.0 - v * v), 0.0, 0.0
    elif op == Op.ARCSINH:
        h = math.hypot(x, 1.0)
        return -x / (h * h * h), 0.0, 0.0  # -x (1 + x^2)^(-3/2)
    elif op == Op.ARCCOSH:
        s = math.sqrt(x - 1.0) * math.sqrt(x + 1.0)
        return -x / (s * s * s), 0.0, 0.0  # -x (x^2 - 1)^(-3/2)
    elif op == Op.ARCTANH:
        q = (1.0 - x) * (1.0 + x)
        return 2.0 * x / (q * q), 0.0, 0.0
    elif op == Op.ERF:
        return -2.0 * x * TWO_OVER_SQRT_PI * math.exp(-x * x), 0.0, 0.0
    elif op == Op.ERFC:
        return 2.0 * x * TWO_OVER_SQRT_PI * math.exp(-x * x), 0.0, 0.0
    elif op == Op.SQUARE:
        return 2.0, 0.0, 0.0
    elif op == Op.RECIPROCAL:
        return 2.0 * v * v * v, 0.0, 0.0  # 2/x^3
    # FLOOR, CEIL, TRUNC, SIGN, the comparisons and the selects (linear in y, with a
    # piecewise-constant mask): zero.
    return 0.0, 0.0, 0.0


# Which local partials can be nonzero at some point, per opcode: the columns are d_a, d_b,
# d_aa, d_ab, d_bb. The Hessian's sparsity pattern is built from this table (a superset of
# where partials()/second_partials() return nonzero is all it needs; tests check that).
# Defaults: every partial an op's arity allows; the exceptions are listed.
_LINEAR = (Op.ADD, Op.SUB, Op.MINIMUM, Op.MAXIMUM, Op.NEG, Op.ABS, Op.IF_TRUE, Op.IF_FALSE)
_CONSTANT = (Op.FLOOR, Op.CEIL, Op.TRUNC, Op.SIGN, Op.LT, Op.LE, Op.EQ)


def _nonzero_table():
    table = np.zeros((N_OPS, 5), dtype=np.uint8)
    for op in Op:
        if op < FIRST_MATH:
            continue
        binary = TABLE[op].arity == 2
        table[op] = (1, binary, 1, binary, binary)
    for op in _LINEAR:
        table[op, 2:] = 0
    for op in _CONSTANT:
        table[op] = 0
    table[Op.IF_TRUE, 0] = table[Op.IF_FALSE, 0] = 0  # the mask's partial
    table[Op.MUL, 2:] = (0, 1, 0)
    table[Op.DIV, 2:] = (0, 1, 1)
    return table


NONZERO_PARTIALS = _nonzero_table()


# ---------------------------------------------------------------------------------------
# Taylor mode: the recurrences of each op.
#
# A series is a row of a 2-D array, named by the array and the row: (X, i) holds in X[i, k]
# the coefficient of t^k of slot i along t -> x + t v. A product of two factors is a term
# only where neither factor is zero (the sweeps' structural-zero rule), so a zero
# coefficient times an inf or NaN one contributes 0. The helpers solve the ODE each op
# satisfies (exp: z' = z x'; log: x z' = x'; ...) coefficient by coefficient (Griewank and
# Walther, Evaluating Derivatives, ch. 13).
#
# Rows rather than 1-D views (a view costs a reference count), and the small helpers inlined:
# P2 (n = 1000) at degree 10 measured 228 ns/op with views passed to compiled helpers, 132
# with the recurrence helpers inlined, 85 with rows (4.7 s to compile `taylor`); inlining
# the per-op helpers too gave 78 ns/op for 8.8 s of compiling, and `taylor` itself 40 s.
# ---------------------------------------------------------------------------------------
@kernel_inline
def _conv(P, p, Q, q, k, lo, hi):
    """sum_{j=lo..hi} P[p, j] Q[q, k - j]: coefficient k of a product of series."""
    s = 0.0
    for j in range(lo, hi + 1):
        u = P[p, j]
        w = Q[q, k - j]
        if u != 0.0 and w != 0.0:
            s += u * w
    return s


@kernel_inline
def _wconv(P, p, Q, q, k, lo, hi):
    """sum_{j=lo..hi} j P[p, j] Q[q, k - j]: the same with P differentiated (j P_j)."""
    s = 0.0
    for j in range(lo, hi + 1):
        u = P[p, j]
        w = Q[q, k - j]
        if u != 0.0 and w != 0.0:
            s += j * u * w
    return s


@kernel_inline
def _exp_rec(U, u, W, w, k):
    """Coefficient k >= 1 of z with z' = u' w: (1/k) sum_{j=1..k} j u_j w_{k-j}."""
    return _wconv(U, u, W, w, k, 1, k) / k


@kernel_inline
def _log_rec(s, U, u, Q, q, q0, Z, z, k):
    """Coefficient k >= 1 of z with q z' = s u', where q's coefficient 0 is q0 (the others
    are Q[q, 1..]): z_k = (s u_k - (1/k) sum_{j=1..k-1} j z_j q_{k-j}) / q0."""
    return (s * U[u, k] - _wconv(Z, z, Q, q, k, 1, k - 1) / k) / q0


@kernel_inline
def _sqrt_rec(Q, q, Z, z, k):
    """Coefficient k >= 1 of z = sqrt(q): (q_k - sum_{j=1..k-1} z_j z_{k-j}) / (2 z_0)."""
    return (Q[q, k] - _conv(Z, z, Z, z, k, 1, k - 1)) / (2.0 * Z[z, 0])


@kernel_inline
def _power_rec(U, u, Z, z, r, k):
    """Coefficient k >= 1 of z = u^r, u_0 != 0: from u z' = r u' z,
    z_k = sum_{j=1..k} (j (r + 1) - k) u_j z_{k-j} / (k u_0). No logarithm: exact for a
    negative base with an integer r."""
    s = 0.0
    for j in range(1, k + 1):
        uj = U[u, j]
        zj = Z[z, k - j]
        if uj != 0.0 and zj != 0.0:
            s += (j * (r + 1.0) - k) * uj * zj
    return s / (k * U[u, 0])


@kernel_inline
def _fill(Z, z, k0, value):
    for k in range(k0, Z.shape[1]):
        Z[z, k] = value


@kernel_inline
def _taylor_linear(X, ia, ib, i, d_a, d_b):
    """z = d_a x + d_b y coefficient-wise: the ops whose partials are locally constant."""
    for k in range(2, X.shape[1]):
        xk = X[ia, k]
        yk = X[ib, k]
        X[i, k] = (d_a * xk if d_a != 0.0 and xk != 0.0 else 0.0) + (d_b * yk if d_b != 0.0 and yk != 0.0 else 0.0)


@kernel
def _taylor_power(X, ia, i, r, S):
    """z = x^r. At x_0 = 0 the series exists when r is a non-negative integer: with x = t^m u,
    u_0 != 0, x^r = t^(m r) u^r (TaylorSeries.jl does the same); otherwise it is NaN."""
    D = X.shape[1] - 1
    if X[ia, 0] != 0.0:
        for k in range(2, D + 1):
            X[i, k] = _power_rec(X, ia, X, i, r, k)
        return
    if not (r >= 0.0 and r == math.floor(r)):
        _fill(X, i, 2, math.nan)
        return
    _fill(X, i, 2, 0.0)
    m = 1
    while m <= D and X[ia, m] == 0.0:
        m += 1
    if m > D or r == 0.0 or m * r > D:  # x constant (callers rule it out), x^0, or t^(m r) beyond degree D
        return
    e = int(m * r)
    for j in range(D - m + 1):  # u = x / t^m in S[0], u^r in S[1]
        S[0, j] = X[ia, m + j]
    S[1, 0] = S[0, 0] ** r
    for j in range(1, D - e + 1):
        S[1, j] = _power_rec(S, 0, S, 1, r, j)
    for k in range(max(e, 2), D + 1):
        X[i, k] = S[1, k - e]


@kernel
def _taylor_sin_cos(X, ia, i, aux0, s_z, s_aux, S):
    """The pairs sin/cos and sinh/cosh: z' = s_z aux x' and aux' = s_aux z x', with the
    other function of the pair carried in S[0] (aux0 its value)."""
    S[0, 0] = aux0
    for k in range(1, X.shape[1]):
        if k >= 2:
            X[i, k] = s_z * _exp_rec(X, ia, S, 0, k)
        S[0, k] = s_aux * _exp_rec(X, ia, X, i, k)


@kernel
def _taylor_tan(X, ia, i, sign, S):
    """z = tan x (sign = 1) or tanh x (sign = -1): z' = q x' with q = 1 + sign z^2 in S[0]."""
    S[0, 0] = 1.0 + sign * X[i, 0] * X[i, 0]
    for k in range(1, X.shape[1]):
        if k >= 2:
            X[i, k] = _exp_rec(X, ia, S, 0, k)
        S[0, k] = sign * _conv(X, i, X, i, k, 0, k)


@kernel
def _quadratic(X, ia, S, q, sign, q0):
    """S[q] = q0 + sign (x^2 - x_0^2): the series of sign x^2 + const with value q0 (given, as
    the caller computes it accurately: (1 - x_0)(1 + x_0) rather than 1 - x_0^2)."""
    S[q, 0] = q0
    for k in range(1, X.shape[1]):
        S[q, k] = sign * _conv(X, ia, X, ia, k, 0, k)


@kernel
def _taylor_inverse_sqrt(X, ia, i, s, r0, S):
    """z' = s x' / r with r = sqrt(q) in S[0] (r0 its value) and q in S[1]: arcsin, arccos
    (q = 1 - x^2), arcsinh (1 + x^2), arccosh (x^2 - 1)."""
    S[0, 0] = r0
    for k in range(1, X.shape[1]):
        if k >= 2:
            X[i, k] = _log_rec(s, X, ia, S, 0, r0, X, i, k)
        S[0, k] = _sqrt_rec(S, 1, S, 0, k)


@kernel
def _taylor_erf(X, ia, i, s, S):
    """z' = s (2/sqrt(pi)) e x' with e = exp(-x^2) in S[1] (S[0] holds -x^2)."""
    x0 = X[ia, 0]
    _quadratic(X, ia, S, 0, -1.0, -x0 * x0)
    S[1, 0] = math.exp(-x0 * x0)
    for k in range(1, X.shape[1]):
        if k >= 2:
            X[i, k] = s * TWO_OVER_SQRT_PI * _exp_rec(X, ia, S, 1, k)
        S[1, k] = _exp_rec(S, 0, S, 1, k)


@kernel
def taylor(op, X, ia, ib, i, c, d_a, d_b, S):
    """Taylor coefficients 2..D of slot i of X ([n_slots, D + 1]), a non-structural op, from
    the complete series of its operands in rows ia (x) and ib (y).

    The caller has written X[i, 0] (the value) and X[i, 1] (d_a x_1 + d_b y_1, the tangent,
    so that degree 1 follows the first-order conventions); d_a, d_b are the op's first
    partials. S is scratch [2, D + 1] for the auxiliary series some recurrences carry (cos
    for sin, 1 + tan^2 for tan, sqrt(1 - x^2) for arcsin, ...). Where an op has no series
    (sqrt, cbrt, x**c at 0, a pole) coefficients 2.. are NaN or inf, except that an integer
    power at 0 gives its exact polynomial coefficients.
    """
    D = X.shape[1] - 1
    if op == Op.ADD:
        _taylor_linear(X, ia, ib, i, 1.0, 1.0)
    elif op == Op.SUB:
        _taylor_linear(X, ia, ib, i, 1.0, -1.0)
    elif op == Op.MUL:
        for k in range(2, D + 1):
            X[i, k] = _conv(X, ia, X, ib, k, 0, k)
    elif op == Op.DIV:
        for k in range(2, D + 1):  # z y = x: z_k = (x_k - sum_{j<k} z_j y_{k-j}) / y_0
            X[i, k] = (X[ia, k] - _conv(X, i, X, ib, k, 0, k - 1)) / X[ib, 0]
    elif op == Op.POW:
        y_constant = True
        for k in range(1, D + 1):
            if X[ib, k] != 0.0:
                y_constant = False
        if y_constant:  # x^(y_0): the power recurrence (negative bases, x = 0 included)
            _taylor_power(X, ia, i, X[ib, 0], S)
        elif X[ia, 0] == 0.0:
            _fill(X, i, 2, math.nan)
        else:  # exp(w) with w = y log x: S[0] = log x, S[1] = w
            S[0, 0] = math.log(X[ia, 0])
            for k in range(1, D + 1):
                S[0, k] = _log_rec(1.0, X, ia, X, ia, X[ia, 0], S, 0, k)
            for k in range(D + 1):
                S[1, k] = _conv(X, ib, S, 0, k, 0, k)
            for k in range(2, D + 1):
                X[i, k] = _exp_rec(S, 1, X, i, k)
    elif op == Op.ARCTAN2:
        for k in range(D):  # q z' = y x' - x y' with q = x^2 + y^2 in S[0]
            S[0, k] = _conv(X, ia, X, ia, k, 0, k) + _conv(X, ib, X, ib, k, 0, k)
        for k in range(2, D + 1):
            num = _wconv(X, ia, X, ib, k, 1, k) - _wconv(X, ib, X, ia, k, 1, k) - _wconv(X, i, S, 0, k, 1, k - 1)
            X[i, k] = num / (k * S[0, 0])
    elif op == Op.HYPOT:
        for k in range(D + 1):  # z = sqrt(q), q = x^2 + y^2 in S[0]
            S[0, k] = _conv(X, ia, X, ia, k, 0, k) + _conv(X, ib, X, ib, k, 0, k)
        if X[i, 0] == 0.0:
            _fill(X, i, 2, math.nan)  # |t| at the origin: no series
        else:
            for k in range(2, D + 1):
                X[i, k] = _sqrt_rec(S, 0, X, i, k)
    elif op == Op.MINIMUM:
        _taylor_linear(X, ia, ib, i, d_a, d_b)  # the selected series; at a tie their mean
    elif op == Op.MAXIMUM:
        _taylor_linear(X, ia, ib, i, d_a, d_b)
    elif op == Op.POWI:
        _taylor_power(X, ia, i, c, S)
    elif op == Op.POWC:
        _taylor_power(X, ia, i, c, S)
    elif op == Op.CPOW:
        if X[i, 0] == 0.0:
            _fill(X, i, 2, 0.0)  # as partials(): zero where c^x is zero
        else:
            lc = math.log(c)  # c^x = exp(x log c)
            for k in range(2, D + 1):
                X[i, k] = lc * _exp_rec(X, ia, X, i, k)
    elif op == Op.NEG:
        _taylor_linear(X, ia, ib, i, -1.0, 0.0)
    elif op == Op.ABS:
        _taylor_linear(X, ia, ib, i, d_a, 0.0)  # sign(x_0) x; zeros at x_0 = 0, as abs'(0) = 0
    elif op == Op.SQRT:
        if X[i, 0] == 0.0:
            _fill(X, i, 2, math.nan)
        else:
            for k in range(2, D + 1):
                X[i, k] = _sqrt_rec(X, ia, X, i, k)
    elif op == Op.CBRT:
        _taylor_power(X, ia, i, 1.0 / 3.0, S)
    elif op == Op.EXP:
        for k in range(2, D + 1):
            X[i, k] = _exp_rec(X, ia, X, i, k)
    elif op == Op.EXP2:
        for k in range(2, D + 1):
            X[i, k] = LN2 * _exp_rec(X, ia, X, i, k)
    elif op == Op.EXPM1:
        for k in range(2, D + 1):
            X[i, k] = _exp_rec(X, ia, X, i, k) + X[ia, k]  # z' = (z + 1) x'
    elif op == Op.LOG:
        for k in range(2, D + 1):
            X[i, k] = _log_rec(1.0, X, ia, X, ia, X[ia, 0], X, i, k)
    elif op == Op.LOG2:
        for k in range(2, D + 1):
            X[i, k] = _log_rec(1.0 / LN2, X, ia, X, ia, X[ia, 0], X, i, k)
    elif op == Op.LOG10:
        for k in range(2, D + 1):
            X[i, k] = _log_rec(1.0 / LN10, X, ia, X, ia, X[ia, 0], X, i, k)
    elif op == Op.LOG1P:
        for k in range(2, D + 1):
            X[i, k] = _log_rec(1.0, X, ia, X, ia, 1.0 + X[ia, 0], X, i, k)
    elif op == Op.SIN:
        _taylor_sin_cos(X, ia, i, math.cos(X[ia, 0]), 1.0, -1.0, S)
    elif op == Op.COS:
        _taylor_sin_cos(X, ia, i, math.sin(X[ia, 0]), -1.0, 1.0, S)
    elif op == Op.TAN:
        _taylor_tan(X, ia, i, 1.0, S)
    elif op == Op.ARCSIN:
        q0 = (1.0 - X[ia, 0]) * (1.0 + X[ia, 0])
        _quadratic(X, ia, S, 1, -1.0, q0)
        _taylor_inverse_sqrt(X, ia, i, 1.0, math.sqrt(q0), S)
    elif op == Op.ARCCOS:
        q0 = (1.0 - X[ia, 0]) * (1.0 + X[ia, 0])
        _quadratic(X, ia, S, 1, -1.0, q0)
        _taylor_inverse_sqrt(X, ia, i, -1.0, math.sqrt(q0), S)
    elif op == Op.ARCTAN:
        _quadratic(X, ia, S, 0, 1.0, 1.0 + X[ia, 0] * X[ia, 0])
        for k in range(2, D + 1):
            X[i, k] = _log_rec(1.0, X, ia, S, 0, S[0, 0], X, i, k)
    elif op == Op.SINH:
        _taylor_sin_cos(X, ia, i, math.cosh(X[ia, 0]), 1.0, 1.0, S)
    elif op == Op.COSH:
        _taylor_sin_cos(X, ia, i, math.sinh(X[ia, 0]), 1.0, 1.0, S)
    elif op == Op.TANH:
        _taylor_tan(X, ia, i, -1.0, S)
    elif op == Op.ARCSINH:
        _quadratic(X, ia, S, 1, 1.0, 1.0 + X[ia, 0] * X[ia, 0])
        _taylor_inverse_sqrt(X, ia, i, 1.0, math.hypot(X[ia, 0], 1.0), S)
    elif op == Op.ARCCOSH:
        x0 = X[ia, 0]
        _quadratic(X, ia, S, 1, 1.0, (x0 - 1.0) * (x0 + 1.0))
        _taylor_inverse_sqrt(X, ia, i, 1.0, math.sqrt(x0 - 1.0) * math.sqrt(x0 + 1.0), S)
    elif op == Op.ARCTANH:
        _quadratic(X, ia, S, 0, -1.0, (1.0 - X[ia, 0]) * (1.0 + X[ia, 0]))
        for k in range(2, D + 1):
            X[i, k] = _log_rec(1.0, X, ia, S, 0, S[0, 0], X, i, k)
    elif op == Op.ERF:
        _taylor_erf(X, ia, i, 1.0, S)
    elif op == Op.ERFC:
        _taylor_erf(X, ia, i, -1.0, S)
    elif op == Op.SQUARE:
        for k in range(2, D + 1):
            X[i, k] = _conv(X, ia, X, ia, k, 0, k)
    elif op == Op.RECIPROCAL:
        for k in range(2, D + 1):  # z x = 1: z_k = -sum_{j<k} z_j x_{k-j} / x_0
            X[i, k] = -_conv(X, i, X, ia, k, 0, k - 1) / X[ia, 0]
    elif op == Op.IF_TRUE:
        _taylor_linear(X, ia, ib, i, 0.0, d_b)  # y's series where the mask holds, else zeros
    elif op == Op.IF_FALSE:
        _taylor_linear(X, ia, ib, i, 0.0, d_b)
    else:
        _fill(X, i, 2, 0.0)  # FLOOR, CEIL, TRUNC, SIGN and the comparisons: piecewise constant
