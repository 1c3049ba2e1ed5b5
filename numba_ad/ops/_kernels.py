"""The op kernels of the sweeps: value, first and second partials of every non-structural op.

Generated from numba_ad/ops/defs.py by ``python -m numba_ad.ops.generate``: do not edit.
"""

import math

import numpy as np

from numba_ad._config import kernel_inline
from numba_ad.ops import special, user  # noqa: F401
from numba_ad.ops.constants import LN2, LN10, SQRT_PI_OVER_2, TWO_OVER_SQRT_PI  # noqa: F401
from numba_ad.ops.rules import (  # noqa: F401
    maximum_value,
    minimum_value,
    partials_arctan2,
    partials_hypot,
    partials_logaddexp,
    partials_logaddexp2,
    partials_maximum,
    partials_minimum,
    partials_pow,
    second_arccos,
    second_arccosh,
    second_arcsin,
    second_arcsinh,
    second_arctan,
    second_arctan2,
    second_arctanh,
    second_cpow,
    second_div,
    second_hypot,
    second_logaddexp,
    second_logaddexp2,
    second_pow,
    second_powc,
)


@kernel_inline
def value(op, x, y, c):
    """Value of a non-structural op."""
    if op == 3:  # ADD
        return x + y
    elif op == 4:  # SUB
        return x - y
    elif op == 5:  # MUL
        return x * y
    elif op == 6:  # DIV
        return x / y
    elif op == 7:  # POW
        return x**y
    elif op == 8:  # ARCTAN2
        return math.atan2(x, y)
    elif op == 9:  # HYPOT
        return math.hypot(x, y)
    elif op == 10:  # MINIMUM
        return minimum_value(x, y)
    elif op == 11:  # MAXIMUM
        return maximum_value(x, y)
    elif op == 12:  # POWI
        return x**c
    elif op == 13:  # POWC
        return x**c
    elif op == 14:  # CPOW
        return c**x
    elif op == 15:  # NEG
        return -x
    elif op == 16:  # ABS
        return abs(x)
    elif op == 17:  # SQRT
        return math.sqrt(x)
    elif op == 18:  # CBRT
        return np.cbrt(x)
    elif op == 19:  # EXP
        return math.exp(x)
    elif op == 20:  # EXP2
        return 2.0**x
    elif op == 21:  # EXPM1
        return math.expm1(x)
    elif op == 22:  # LOG
        return math.log(x)
    elif op == 23:  # LOG2
        return math.log2(x)
    elif op == 24:  # LOG10
        return math.log10(x)
    elif op == 25:  # LOG1P
        return math.log1p(x)
    elif op == 26:  # SIN
        return math.sin(x)
    elif op == 27:  # COS
        return math.cos(x)
    elif op == 28:  # TAN
        return math.tan(x)
    elif op == 29:  # ARCSIN
        return math.asin(x)
    elif op == 30:  # ARCCOS
        return math.acos(x)
    elif op == 31:  # ARCTAN
        return math.atan(x)
    elif op == 32:  # SINH
        return math.sinh(x)
    elif op == 33:  # COSH
        return math.cosh(x)
    elif op == 34:  # TANH
        return math.tanh(x)
    elif op == 35:  # ARCSINH
        return math.asinh(x)
    elif op == 36:  # ARCCOSH
        return math.acosh(x)
    elif op == 37:  # ARCTANH
        return math.atanh(x)
    elif op == 38:  # ERF
        return math.erf(x)
    elif op == 39:  # ERFC
        return math.erfc(x)
    elif op == 40:  # SQUARE
        return x * x
    elif op == 41:  # RECIPROCAL
        return 1.0 / x
    elif op == 42:  # FLOOR
        return np.floor(x)
    elif op == 43:  # CEIL
        return np.ceil(x)
    elif op == 44:  # TRUNC
        return np.trunc(x)
    elif op == 45:  # SIGN
        return np.sign(x)
    elif op == 46:  # LT
        return 1.0 if x < y else 0.0
    elif op == 47:  # LE
        return 1.0 if x <= y else 0.0
    elif op == 48:  # EQ
        return 1.0 if x == y else 0.0
    elif op == 49:  # IF_TRUE
        return y if x != 0.0 else -0.0
    elif op == 50:  # IF_FALSE
        return y if x == 0.0 else -0.0
    elif op == 51:  # LOGADDEXP
        return special.logaddexp(x, y)
    elif op == 52:  # LOGADDEXP2
        return special.logaddexp2(x, y)
    elif op == 53:  # EXPIT
        return special.expit(x)
    elif op == 54:  # ERFINV
        return special.erfinv(x)
    elif op == 55:  # GAMMALN
        return math.lgamma(x)
    elif op == 56:  # SINC
        return special.sinc(x)
    elif op == 57:  # USER1
        return user.rule(c, 0.0, x, 0.0, 1.0)
    elif op == 58:  # USER2
        return user.rule(c, 0.0, x, y, 2.0)
    return math.nan  # unreachable: tapes are validated against the op table


@kernel_inline
def partials(op, x, y, c, v):
    """(d v / d x, d v / d y) of a non-structural op at x, y, with v its value there."""
    if op == 3:  # ADD
        return 1.0, 1.0
    elif op == 4:  # SUB
        return 1.0, -1.0
    elif op == 5:  # MUL
        return y, x
    elif op == 6:  # DIV
        return 1.0 / y, -v / y
    elif op == 7:  # POW
        return partials_pow(x, y, c, v)
    elif op == 8:  # ARCTAN2
        return partials_arctan2(x, y, c, v)
    elif op == 9:  # HYPOT
        return partials_hypot(x, y, c, v)
    elif op == 10:  # MINIMUM
        return partials_minimum(x, y, c, v)
    elif op == 11:  # MAXIMUM
        return partials_maximum(x, y, c, v)
    elif op == 12:  # POWI
        return c * x ** (c - 1.0), 0.0
    elif op == 13:  # POWC
        return c * x ** (c - 1.0), 0.0
    elif op == 14:  # CPOW
        return (v * math.log(c) if v != 0.0 else 0.0), 0.0
    elif op == 15:  # NEG
        return -1.0, 0.0
    elif op == 16:  # ABS
        return np.sign(x), 0.0
    elif op == 17:  # SQRT
        return 0.5 / v, 0.0
    elif op == 18:  # CBRT
        return 1.0 / (3.0 * v * v), 0.0
    elif op == 19:  # EXP
        return v, 0.0
    elif op == 20:  # EXP2
        return v * LN2, 0.0
    elif op == 21:  # EXPM1
        return v + 1.0, 0.0
    elif op == 22:  # LOG
        return 1.0 / x, 0.0
    elif op == 23:  # LOG2
        return 1.0 / (x * LN2), 0.0
    elif op == 24:  # LOG10
        return 1.0 / (x * LN10), 0.0
    elif op == 25:  # LOG1P
        return 1.0 / (1.0 + x), 0.0
    elif op == 26:  # SIN
        return math.cos(x), 0.0
    elif op == 27:  # COS
        return -math.sin(x), 0.0
    elif op == 28:  # TAN
        return 1.0 + v * v, 0.0
    elif op == 29:  # ARCSIN
        return 1.0 / math.sqrt((1.0 - x) * (1.0 + x)), 0.0
    elif op == 30:  # ARCCOS
        return -1.0 / math.sqrt((1.0 - x) * (1.0 + x)), 0.0
    elif op == 31:  # ARCTAN
        return 1.0 / (1.0 + x * x), 0.0
    elif op == 32:  # SINH
        return math.cosh(x), 0.0
    elif op == 33:  # COSH
        return math.sinh(x), 0.0
    elif op == 34:  # TANH
        return 1.0 - v * v, 0.0
    elif op == 35:  # ARCSINH
        return 1.0 / math.hypot(x, 1.0), 0.0
    elif op == 36:  # ARCCOSH
        return 1.0 / (math.sqrt(x - 1.0) * math.sqrt(x + 1.0)), 0.0
    elif op == 37:  # ARCTANH
        return 1.0 / ((1.0 - x) * (1.0 + x)), 0.0
    elif op == 38:  # ERF
        return TWO_OVER_SQRT_PI * math.exp(-x * x), 0.0
    elif op == 39:  # ERFC
        return -TWO_OVER_SQRT_PI * math.exp(-x * x), 0.0
    elif op == 40:  # SQUARE
        return 2.0 * x, 0.0
    elif op == 41:  # RECIPROCAL
        return -v * v, 0.0
    elif op == 49:  # IF_TRUE
        return 0.0, (1.0 if x != 0.0 else 0.0)
    elif op == 50:  # IF_FALSE
        return 0.0, (1.0 if x == 0.0 else 0.0)
    elif op == 51:  # LOGADDEXP
        return partials_logaddexp(x, y, c, v)
    elif op == 52:  # LOGADDEXP2
        return partials_logaddexp2(x, y, c, v)
    elif op == 53:  # EXPIT
        return special.d_expit(x, v), 0.0
    elif op == 54:  # ERFINV
        return special.d_erfinv(x, v), 0.0
    elif op == 55:  # GAMMALN
        return special.d_gammaln(x, v), 0.0
    elif op == 56:  # SINC
        return special.d_sinc(x, v), 0.0
    elif op == 57:  # USER1
        return user.rule(c, 1.0, x, 0.0, 1.0), 0.0
    elif op == 58:  # USER2
        return user.rule(c, 1.0, x, y, 2.0), user.rule(c, 2.0, x, y, 2.0)
    return 0.0, 0.0  # piecewise-constant ops: zero partials


@kernel_inline
def second_partials(op, x, y, c, v):
    """(d2v/dx2, d2v/dxdy, d2v/dy2) of a non-structural op at x, y, with v its value there.

    Unary ops return (d_aa, 0.0, 0.0): the second-order sweeps rely on it to leave slot 0 (their
    unused b) alone. Where partials() takes a convention, these follow it.
    """
    if op == 5:  # MUL
        return 0.0, 1.0, 0.0
    elif op == 6:  # DIV
        return second_div(x, y, c, v)
    elif op == 7:  # POW
        return second_pow(x, y, c, v)
    elif op == 8:  # ARCTAN2
        return second_arctan2(x, y, c, v)
    elif op == 9:  # HYPOT
        return second_hypot(x, y, c, v)
    elif op == 12:  # POWI
        return second_powc(x, y, c, v)
    elif op == 13:  # POWC
        return second_powc(x, y, c, v)
    elif op == 14:  # CPOW
        return second_cpow(x, y, c, v)
    elif op == 17:  # SQRT
        return -0.25 / (x * v), 0.0, 0.0
    elif op == 18:  # CBRT
        return -2.0 / (9.0 * x * v * v), 0.0, 0.0
    elif op == 19:  # EXP
        return v, 0.0, 0.0
    elif op == 20:  # EXP2
        return v * (LN2 * LN2), 0.0, 0.0
    elif op == 21:  # EXPM1
        return v + 1.0, 0.0, 0.0
    elif op == 22:  # LOG
        return -1.0 / (x * x), 0.0, 0.0
    elif op == 23:  # LOG2
        return -1.0 / (x * x * LN2), 0.0, 0.0
    elif op == 24:  # LOG10
        return -1.0 / (x * x * LN10), 0.0, 0.0
    elif op == 25:  # LOG1P
        return -1.0 / ((1.0 + x) * (1.0 + x)), 0.0, 0.0
    elif op == 26:  # SIN
        return -v, 0.0, 0.0
    elif op == 27:  # COS
        return -v, 0.0, 0.0
    elif op == 28:  # TAN
        return 2.0 * v * (1.0 + v * v), 0.0, 0.0
    elif op == 29:  # ARCSIN
        return second_arcsin(x, y, c, v)
    elif op == 30:  # ARCCOS
        return second_arccos(x, y, c, v)
    elif op == 31:  # ARCTAN
        return second_arctan(x, y, c, v)
    elif op == 32:  # SINH
        return v, 0.0, 0.0
    elif op == 33:  # COSH
        return v, 0.0, 0.0
    elif op == 34:  # TANH
        return -2.0 * v * (1.0 - v * v), 0.0, 0.0
    elif op == 35:  # ARCSINH
        return second_arcsinh(x, y, c, v)
    elif op == 36:  # ARCCOSH
        return second_arccosh(x, y, c, v)
    elif op == 37:  # ARCTANH
        return second_arctanh(x, y, c, v)
    elif op == 38:  # ERF
        return -2.0 * x * TWO_OVER_SQRT_PI * math.exp(-x * x), 0.0, 0.0
    elif op == 39:  # ERFC
        return 2.0 * x * TWO_OVER_SQRT_PI * math.exp(-x * x), 0.0, 0.0
    elif op == 40:  # SQUARE
        return 2.0, 0.0, 0.0
    elif op == 41:  # RECIPROCAL
        return 2.0 * v * v * v, 0.0, 0.0
    elif op == 51:  # LOGADDEXP
        return second_logaddexp(x, y, c, v)
    elif op == 52:  # LOGADDEXP2
        return second_logaddexp2(x, y, c, v)
    elif op == 53:  # EXPIT
        return special.d2_expit(x, v), 0.0, 0.0
    elif op == 54:  # ERFINV
        return special.d2_erfinv(x, v), 0.0, 0.0
    elif op == 55:  # GAMMALN
        return special.d2_gammaln(x, v), 0.0, 0.0
    elif op == 56:  # SINC
        return special.d2_sinc(x, v), 0.0, 0.0
    elif op == 57:  # USER1
        return user.rule(c, 3.0, x, 0.0, 1.0), 0.0, 0.0
    elif op == 58:  # USER2
        return user.rule(c, 3.0, x, y, 2.0), user.rule(c, 4.0, x, y, 2.0), user.rule(c, 5.0, x, y, 2.0)
    return 0.0, 0.0, 0.0  # linear or piecewise-constant ops


@kernel_inline
def cheap_lanes(o, i, ai, bi, L, W, DA, DB, with_partials):
    """Lanes 0..L-1 of slot i for the ops written out here; False for the other ops."""
    if o == 3:  # ADD
        for l in range(L):
            W[i, l] = W[ai, l] + W[bi, l]
        if with_partials:
            for l in range(L):
                DA[i, l] = 1.0
                DB[i, l] = 1.0
    elif o == 4:  # SUB
        for l in range(L):
            W[i, l] = W[ai, l] - W[bi, l]
        if with_partials:
            for l in range(L):
                DA[i, l] = 1.0
                DB[i, l] = -1.0
    elif o == 5:  # MUL
        for l in range(L):
            W[i, l] = W[ai, l] * W[bi, l]
        if with_partials:
            for l in range(L):
                DA[i, l] = W[bi, l]
                DB[i, l] = W[ai, l]
    elif o == 40:  # SQUARE
        for l in range(L):
            W[i, l] = W[ai, l] * W[ai, l]
        if with_partials:
            for l in range(L):
                DA[i, l] = 2.0 * W[ai, l]
                DB[i, l] = 0.0
    else:
        return False
    return True
