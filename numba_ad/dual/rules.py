"""Value and local partial derivatives of every operation a Dual supports.

The Dual counterpart of ``ops.value`` / ``ops.partials``: one small kernel per op, in the
order of ``ops.Op``, returning the value and the partial(s) with the formulas of ``ops/table.py``
(so the conventions agree: abs'(0) = 0, floor/ceil/trunc/sign' = 0, maximum/minimum split
1/2-1/2 at a tie, hypot' = 0 at the origin, d/dy x**y = 0 where x**y = 0). ``chain`` and
``chain2`` then apply the tangent rule with the tape's structural zeros.

Both worlds call these kernels: the numba overloads in ``dual/types.py`` (where LLVM inlines
them) and the Python ``Dual`` class (one compiled call per operation, about 0.2 µs, so that
Python and @njit code give the same IEEE results: no ZeroDivisionError, log(0) = -inf).

Why not call ``ops.value``/``ops.partials`` with a constant opcode instead of repeating the
formulas: their 48-branch bodies are inlined at numba IR level, and each Dual function then
took 1.2 s to compile against 0.08 s for these small kernels (measured with sin, cos, exp,
log). ``tests/dual/test_dual.py`` checks every rule against the tape instead.
"""

import math

import numpy as np

from numba_ad._config import kernel, kernel_inline
from numba_ad.ops.table import LN2, LN10, TWO_OVER_SQRT_PI


# ---------------------------------------------------------------------------------------
# The tangent rule. A product with a zero factor is zero even when the other factor is inf
# or NaN, as in the tape's sweeps (sqrt(x0) + x1 at x0 = 0 has gradient [inf, 1], not NaN).
# The plain product is computed first and repaired only when it is NaN: a select on every
# term measured 1.64 ns per P1-like term against 0.76 for this form (0.61 with no zero rule).
# ---------------------------------------------------------------------------------------
@kernel_inline
def chain(p, t):
    """p * t, with 0 where p or t is 0 (the tangent of a unary op: partial p, tangent t)."""
    d = p * t
    if d != d and (p == 0.0 or t == 0.0):
        return 0.0
    return d


@kernel_inline
def chain2(pa, ta, pb, tb):
    """pa * ta + pb * tb, each product 0 where one of its factors is 0."""
    d = pa * ta + pb * tb
    if d != d:
        d = chain(pa, ta) + chain(pb, tb)
    return d


# ---------------------------------------------------------------------------------------
# Binary ops: (value, d/dx, d/dy).
# ---------------------------------------------------------------------------------------
@kernel
def add(x, y):
    return x + y, 1.0, 1.0


@kernel
def sub(x, y):
    return x - y, 1.0, -1.0


@kernel
def mul(x, y):
    return x * y, y, x


@kernel
def div(x, y):
    v = x / y
    return v, 1.0 / y, -v / y


@kernel
def pow_(x, y):
    v = x**y
    # d/dy x^y = x^y log x, taken as 0 where x^y = 0 (x = 0, y > 0) instead of 0 * -inf
    return v, y * x ** (y - 1.0), (v * math.log(x) if v != 0.0 else 0.0)


@kernel
def floor_divide(x, y):
    return np.floor(x / y), 0.0, 0.0  # recorded as floor(x / y): zero partials


@kernel
def remainder(x, y):
    f = np.floor(x / y)
    return x - y * f, 1.0, -f  # recorded as x - y * floor(x / y), Python's and NumPy's modulo


@kernel
def arctan2(x, y):
    r2 = x * x + y * y
    return math.atan2(x, y), y / r2, -x / r2


@kernel
def hypot(x, y):
    v = math.hypot(x, y)
    if v == 0.0:
        return v, 0.0, 0.0  # the origin: the zero subgradient, as abs'(0)
    return v, x / v, y / v


@kernel
def minimum(x, y):
    if x < y:
        return x, 1.0, 0.0
    if y < x:
        return y, 0.0, 1.0
    if x == y:
        return x, 0.5, 0.5  # a tie: split, as JAX
    return x + y, math.nan, math.nan  # a NaN operand: NaN value and partials, as np.minimum


@kernel
def maximum(x, y):
    if x > y:
        return x, 1.0, 0.0
    if y > x:
        return y, 0.0, 1.0
    if x == y:
        return x, 0.5, 0.5
    return x + y, math.nan, math.nan


# ---------------------------------------------------------------------------------------
# Powers with a constant operand c: (value, d/dx). power_const picks the op the tracer
# records for x ** c (ops/table.py's docs/conventions.md "Powers" table), at run time.
# ---------------------------------------------------------------------------------------
@kernel
def power_const(x, c):
    if math.isfinite(c) and c == math.floor(c):
        if c == 0.0:
            return 1.0, 0.0  # x**0 == 1 for every x, NaN included; constant
        if c == 1.0:
            return x, 1.0
        if c == 2.0:
            return x * x, 2.0 * x  # SQUARE
        if c == -1.0:
            v = 1.0 / x
            return v, -v * v  # RECIPROCAL
    return x**c, c * x ** (c - 1.0)  # POWI, POWC


@kernel
def cpow(c, x):
    v = c**x
    # d/dx c^x = c^x log c, taken as 0 where c^x = 0
    return v, (v * math.log(c) if v != 0.0 else 0.0)


# ---------------------------------------------------------------------------------------
# Unary ops: (value, d/dx), the partial reusing the value where ops.partials does.
# ---------------------------------------------------------------------------------------
@kernel
def absolute(x):
    return abs(x), np.sign(x)  # abs'(0) = 0


@kernel
def sqrt(x):
    v = math.sqrt(x)
    return v, 0.5 / v


@kernel
def cbrt(x):
    v = np.cbrt(x)
    return v, 1.0 / (3.0 * v * v)


@kernel
def exp(x):
    v = math.exp(x)
    return v, v


@kernel
def exp2(x):
    v = 2.0**x
    return v, v * LN2


@kernel
def expm1(x):
    v = math.expm1(x)
    return v, v + 1.0


@kernel
def log(x):
    return math.log(x), 1.0 / x


@kernel
def log2(x):
    return math.log2(x), 1.0 / (x * LN2)


@kernel
def log10(x):
    return math.log10(x), 1.0 / (x * LN10)


@kernel
def log1p(x):
    return math.log1p(x), 1.0 / (1.0 + x)


@kernel
def sin(x):
    return math.sin(x), math.cos(x)


@kernel
def cos(x):
    return math.cos(x), -math.sin(x)


@kernel
def tan(x):
    v = math.tan(x)
    return v, 1.0 + v * v


@kernel
def arcsin(x):
    return math.asin(x), 1.0 / math.sqrt((1.0 - x) * (1.0 + x))


@kernel
def arccos(x):
    return math.acos(x), -1.0 / math.sqrt((1.0 - x) * (1.0 + x))


@kernel
def arctan(x):
    return math.atan(x), 1.0 / (1.0 + x * x)


@kernel
def sinh(x):
    return math.sinh(x), math.cosh(x)


@kernel
def cosh(x):
    return math.cosh(x), math.sinh(x)


@kernel
def tanh(x):
    v = math.tanh(x)
    return v, 1.0 - v * v


@kernel
def arcsinh(x):
    return math.asinh(x), 1.0 / math.hypot(x, 1.0)  # hypot: no overflow of x*x for large x


@kernel
def arccosh(x):
    return math.acosh(x), 1.0 / (math.sqrt(x - 1.0) * math.sqrt(x + 1.0))


@kernel
def arctanh(x):
    return math.atanh(x), 1.0 / ((1.0 - x) * (1.0 + x))


@kernel
def erf(x):
    return math.erf(x), TWO_OVER_SQRT_PI * math.exp(-x * x)


@kernel
def erfc(x):
    return math.erfc(x), -TWO_OVER_SQRT_PI * math.exp(-x * x)


@kernel
def square(x):
    return x * x, 2.0 * x


@kernel
def reciprocal(x):
    v = 1.0 / x
    return v, -v * v


# Piecewise constant: zero partials, at the jumps too.
@kernel
def floor(x):
    return np.floor(x), 0.0


@kernel
def ceil(x):
    return np.ceil(x), 0.0


@kernel
def trunc(x):
    return np.trunc(x), 0.0


@kernel
def sign(x):
    return np.sign(x), 0.0


# NumPy's name -> rule, for the functions both worlds register alike. The powers are not here:
# x ** y picks pow_, power_const or cpow from which operands are Duals.
UNARY = {
    "absolute": absolute,
    "sqrt": sqrt,
    "cbrt": cbrt,
    "exp": exp,
    "exp2": exp2,
    "expm1": expm1,
    "log": log,
    "log2": log2,
    "log10": log10,
    "log1p": log1p,
    "sin": sin,
    "cos": cos,
    "tan": tan,
    "arcsin": arcsin,
    "arccos": arccos,
    "arctan": arctan,
    "sinh": sinh,
    "cosh": cosh,
    "tanh": tanh,
    "arcsinh": arcsinh,
    "arccosh": arccosh,
    "arctanh": arctanh,
    "erf": erf,
    "erfc": erfc,
    "square": square,
    "reciprocal": reciprocal,
    "floor": floor,
    "ceil": ceil,
    "trunc": trunc,
    "sign": sign,
}
BINARY = {
    "add": add,
    "subtract": sub,
    "multiply": mul,
    "divide": div,
    "floor_divide": floor_divide,
    "remainder": remainder,
    "arctan2": arctan2,
    "hypot": hypot,
    "minimum": minimum,
    "maximum": maximum,
}
