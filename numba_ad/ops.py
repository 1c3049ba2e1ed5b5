"""The op table: every operation numba_ad can record, defined once.

Each op appears, in enum order, in four places that sit side by side in this file:

* ``Op``: its opcode (a small int stored in the tape's ``op`` array);
* ``TABLE``: one row of properties (arity, a Python scalar evaluator for tracing, an
  independent NumPy reference for tests, a test domain and the name used in messages);
* ``value``: its value in the kernels;
* ``partials``: its two local partial derivatives in the kernels.

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
from enum import IntEnum
from typing import Callable, NamedTuple

import numpy as np

from ._config import kernel, kernel_inline


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
_np1 = lambda f: (lambda x, y, c: f(x))  # noqa: E731  NumPy reference of a unary op
_np2 = lambda f: (lambda x, y, c: f(x, y))  # noqa: E731

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
        "powi", 1, lambda x, y, c: _ieee2(math.pow, np.power)(x, c, 0.0),
        lambda x, y, c: np.power(x, c), (_R, _NOY), test_c=3.0,
    ),
    Op.POWC: OpSpec(
        "powc", 1, lambda x, y, c: _ieee2(math.pow, np.power)(x, c, 0.0),
        lambda x, y, c: np.power(x, c), ((0.5, 3.0), _NOY), test_c=2.5,
    ),
    Op.CPOW: OpSpec(
        "cpow", 1, lambda x, y, c: _ieee2(math.pow, np.power)(c, x, 0.0),
        lambda x, y, c: np.power(c, x), ((-2.0, 2.0), _NOY), test_c=1.7,
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
    Op.IF_TRUE: OpSpec("if_true", 2, lambda x, y, c: y if x != 0.0 else -0.0,
                       lambda x, y, c: np.where(x != 0.0, y, -0.0), (_R, _R)),
    Op.IF_FALSE: OpSpec("if_false", 2, lambda x, y, c: y if x == 0.0 else -0.0,
                        lambda x, y, c: np.where(x == 0.0, y, -0.0), (_R, _R)),
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
