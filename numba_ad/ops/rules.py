"""Hand-written rules the op rows name (``partials_fn``, ``second_fn``, value helpers).

Each is the rule of one op where a one-line template would not do: partials that branch
(conventions where a derivative is undefined) and second partials that need temporaries.
Signatures: value helpers ``(x, y)``; partials ``(x, y, c, v) -> (d_a, d_b)``; second
partials ``(x, y, c, v) -> (d_aa, d_ab, d_bb)``, with v the op's value. All are inlined into
the generated kernels, so they cost what the same code written in the kernel would.

Conventions (docs/conventions.md): maximum/minimum split 1/2-1/2 at a tie (as JAX),
hypot' = 0 at the origin, d/dy x**y = 0 where x**y = 0, and second partials are zero where
a first partial is taken as a constant.
"""

import math

from numba_ad._config import kernel, kernel_inline
from numba_ad.ops import special
from numba_ad.ops.codes import Op

# -- which op x ** c records -----------------------------------------------------------------
POWER_ONE, POWER_SAME = -1, -2  # x ** 0 is the constant 1 (NaN included); x ** 1 is x itself
_SQUARE, _RECIPROCAL, _POWI, _POWC = int(Op.SQUARE), int(Op.RECIPROCAL), int(Op.POWI), int(Op.POWC)


@kernel_inline
def power_op(c):
    """The opcode x ** c records for a constant exponent c, or POWER_ONE / POWER_SAME: the one
    decision the scalar tracer, the array tracer and the Dual numbers all take from here
    (docs/conventions.md, "Powers"). Integers are exact special cases, then POWI (negative
    bases work); any other exponent is POWC."""
    if math.isfinite(c) and c == math.floor(c):
        if c == 0.0:
            return POWER_ONE
        if c == 1.0:
            return POWER_SAME
        if c == 2.0:
            return _SQUARE
        if c == -1.0:
            return _RECIPROCAL
        return _POWI
    return _POWC


# -- values --------------------------------------------------------------------------------
@kernel
def minimum_value(x, y):
    if x < y:
        return x
    if y < x:
        return y
    if x == y:
        return x
    return x + y  # NaN in, NaN out (as np.minimum)


@kernel
def maximum_value(x, y):
    if x > y:
        return x
    if y > x:
        return y
    if x == y:
        return x
    return x + y


# -- first partials ------------------------------------------------------------------------
@kernel_inline
def partials_pow(x, y, c, v):
    # d/dy x^y = x^y log x, taken as 0 where x^y = 0 (x = 0, y > 0) instead of 0 * -inf
    return y * x ** (y - 1.0), (v * math.log(x) if v != 0.0 else 0.0)


@kernel_inline
def partials_arctan2(x, y, c, v):
    r2 = x * x + y * y
    return y / r2, -x / r2


@kernel_inline
def partials_hypot(x, y, c, v):
    if v == 0.0:
        return 0.0, 0.0  # the origin: the zero subgradient, as abs'(0)
    return x / v, y / v


@kernel_inline
def partials_minimum(x, y, c, v):
    if x < y:
        return 1.0, 0.0
    elif y < x:
        return 0.0, 1.0
    elif x == y:
        return 0.5, 0.5  # a tie: split, as JAX
    return math.nan, math.nan  # a NaN operand


@kernel_inline
def partials_maximum(x, y, c, v):
    if x > y:
        return 1.0, 0.0
    elif y > x:
        return 0.0, 1.0
    elif x == y:
        return 0.5, 0.5  # a tie: split, as JAX
    return math.nan, math.nan  # a NaN operand


# -- second partials -----------------------------------------------------------------------
@kernel_inline
def second_div(x, y, c, v):
    r = 1.0 / y
    return 0.0, -r * r, 2.0 * v * r * r  # d/dy 1/y = -1/y^2; d/dy -x/y^2 = 2x/y^3


@kernel_inline
def second_pow(x, y, c, v):
    # y (y-1) x^(y-2); d/dx (x^y log x) = x^(y-1) (1 + y log x); x^y log^2 x. The log
    # terms are taken as 0 where their power factor is 0, as d_b is in partials().
    yy = y * (y - 1.0)
    t = x ** (y - 1.0)
    lg = math.log(x)
    d_ab = t + (y * t * lg if t != 0.0 and y != 0.0 else 0.0)
    return (yy * x ** (y - 2.0) if yy != 0.0 else 0.0), d_ab, (v * lg * lg if v != 0.0 else 0.0)


@kernel_inline
def second_arctan2(x, y, c, v):
    r2 = x * x + y * y
    q = 1.0 / (r2 * r2)
    return -2.0 * x * y * q, (x * x - y * y) * q, 2.0 * x * y * q


@kernel_inline
def second_hypot(x, y, c, v):
    if v == 0.0:
        return 0.0, 0.0, 0.0  # the origin: zero, as the first partials there
    u = x / v
    s = y / v
    return s * s / v, -u * s / v, u * u / v  # y^2/v^3, -xy/v^3, x^2/v^3 without overflow


@kernel_inline
def second_powc(x, y, c, v):
    cc = c * (c - 1.0)
    return (cc * x ** (c - 2.0) if cc != 0.0 else 0.0), 0.0, 0.0


@kernel_inline
def second_cpow(x, y, c, v):
    lc = math.log(c)
    return (v * lc * lc if v != 0.0 else 0.0), 0.0, 0.0


@kernel_inline
def second_arcsin(x, y, c, v):
    q = (1.0 - x) * (1.0 + x)
    return x / (q * math.sqrt(q)), 0.0, 0.0  # x (1 - x^2)^(-3/2)


@kernel_inline
def second_arccos(x, y, c, v):
    q = (1.0 - x) * (1.0 + x)
    return -x / (q * math.sqrt(q)), 0.0, 0.0


@kernel_inline
def second_arctan(x, y, c, v):
    q = 1.0 + x * x
    return -2.0 * x / (q * q), 0.0, 0.0


@kernel_inline
def second_arcsinh(x, y, c, v):
    h = math.hypot(x, 1.0)
    return -x / (h * h * h), 0.0, 0.0  # -x (1 + x^2)^(-3/2)


@kernel_inline
def second_arccosh(x, y, c, v):
    s = math.sqrt(x - 1.0) * math.sqrt(x + 1.0)
    return -x / (s * s * s), 0.0, 0.0  # -x (x^2 - 1)^(-3/2)


@kernel_inline
def second_arctanh(x, y, c, v):
    q = (1.0 - x) * (1.0 + x)
    return 2.0 * x / (q * q), 0.0, 0.0


# -- the special-function ops (their kernels: ops/special.py) -------------------------------
@kernel_inline
def partials_logaddexp(x, y, c, v):
    return special.d_logaddexp(x, y, v)


@kernel_inline
def second_logaddexp(x, y, c, v):
    return special.d2_logaddexp(x, y, v)


@kernel_inline
def partials_logaddexp2(x, y, c, v):
    return special.d_logaddexp2(x, y, v)


@kernel_inline
def second_logaddexp2(x, y, c, v):
    return special.d2_logaddexp2(x, y, v)
