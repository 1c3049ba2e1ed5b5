"""Dual rules: (value, d/dx[, d/dy]) of each op, one small kernel per op, from the op rows.

Generated from numba_ad/ops/defs.py by ``python -m numba_ad.ops.generate``: do not edit.
"""

import math

import numpy as np

from numba_ad._config import kernel
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


@kernel
def add(x, y):
    v = x + y
    return v, 1.0, 1.0


@kernel
def subtract(x, y):
    v = x - y
    return v, 1.0, -1.0


@kernel
def multiply(x, y):
    v = x * y
    return v, y, x


@kernel
def divide(x, y):
    v = x / y
    return v, 1.0 / y, -v / y


@kernel
def pow_(x, y):
    v = x**y
    d_a, d_b = partials_pow(x, y, 0.0, v)
    return v, d_a, d_b


@kernel
def arctan2(x, y):
    v = math.atan2(x, y)
    d_a, d_b = partials_arctan2(x, y, 0.0, v)
    return v, d_a, d_b


@kernel
def hypot(x, y):
    v = math.hypot(x, y)
    d_a, d_b = partials_hypot(x, y, 0.0, v)
    return v, d_a, d_b


@kernel
def minimum(x, y):
    v = minimum_value(x, y)
    d_a, d_b = partials_minimum(x, y, 0.0, v)
    return v, d_a, d_b


@kernel
def maximum(x, y):
    v = maximum_value(x, y)
    d_a, d_b = partials_maximum(x, y, 0.0, v)
    return v, d_a, d_b


@kernel
def powc(x, c):
    v = x**c
    return v, c * x ** (c - 1.0)


@kernel
def cpow(x, c):
    v = c**x
    return v, (v * math.log(c) if v != 0.0 else 0.0)


@kernel
def absolute(x):
    v = abs(x)
    return v, np.sign(x)


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
    v = math.log(x)
    return v, 1.0 / x


@kernel
def log2(x):
    v = math.log2(x)
    return v, 1.0 / (x * LN2)


@kernel
def log10(x):
    v = math.log10(x)
    return v, 1.0 / (x * LN10)


@kernel
def log1p(x):
    v = math.log1p(x)
    return v, 1.0 / (1.0 + x)


@kernel
def sin(x):
    v = math.sin(x)
    return v, math.cos(x)


@kernel
def cos(x):
    v = math.cos(x)
    return v, -math.sin(x)


@kernel
def tan(x):
    v = math.tan(x)
    return v, 1.0 + v * v


@kernel
def arcsin(x):
    v = math.asin(x)
    return v, 1.0 / math.sqrt((1.0 - x) * (1.0 + x))


@kernel
def arccos(x):
    v = math.acos(x)
    return v, -1.0 / math.sqrt((1.0 - x) * (1.0 + x))


@kernel
def arctan(x):
    v = math.atan(x)
    return v, 1.0 / (1.0 + x * x)


@kernel
def sinh(x):
    v = math.sinh(x)
    return v, math.cosh(x)


@kernel
def cosh(x):
    v = math.cosh(x)
    return v, math.sinh(x)


@kernel
def tanh(x):
    v = math.tanh(x)
    return v, 1.0 - v * v


@kernel
def arcsinh(x):
    v = math.asinh(x)
    return v, 1.0 / math.hypot(x, 1.0)


@kernel
def arccosh(x):
    v = math.acosh(x)
    return v, 1.0 / (math.sqrt(x - 1.0) * math.sqrt(x + 1.0))


@kernel
def arctanh(x):
    v = math.atanh(x)
    return v, 1.0 / ((1.0 - x) * (1.0 + x))


@kernel
def erf(x):
    v = math.erf(x)
    return v, TWO_OVER_SQRT_PI * math.exp(-x * x)


@kernel
def erfc(x):
    v = math.erfc(x)
    return v, -TWO_OVER_SQRT_PI * math.exp(-x * x)


@kernel
def square(x):
    v = x * x
    return v, 2.0 * x


@kernel
def reciprocal(x):
    v = 1.0 / x
    return v, -v * v


@kernel
def floor(x):
    v = np.floor(x)
    return v, 0.0


@kernel
def ceil(x):
    v = np.ceil(x)
    return v, 0.0


@kernel
def trunc(x):
    v = np.trunc(x)
    return v, 0.0


@kernel
def sign(x):
    v = np.sign(x)
    return v, 0.0


@kernel
def logaddexp(x, y):
    v = special.logaddexp(x, y)
    d_a, d_b = partials_logaddexp(x, y, 0.0, v)
    return v, d_a, d_b


@kernel
def logaddexp2(x, y):
    v = special.logaddexp2(x, y)
    d_a, d_b = partials_logaddexp2(x, y, 0.0, v)
    return v, d_a, d_b


@kernel
def expit(x):
    v = special.expit(x)
    return v, special.d_expit(x, v)


@kernel
def erfinv(x):
    v = special.erfinv(x)
    return v, special.d_erfinv(x, v)


@kernel
def gammaln(x):
    v = math.lgamma(x)
    return v, special.d_gammaln(x, v)


@kernel
def sinc(x):
    v = special.sinc(x)
    return v, special.d_sinc(x, v)


# NumPy's name -> rule, for the functions the Python Dual and the numba overloads register alike.
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
    "expit": expit,
    "erfinv": erfinv,
    "gammaln": gammaln,
    "sinc": sinc,
}

BINARY = {
    "add": add,
    "subtract": subtract,
    "multiply": multiply,
    "divide": divide,
    "arctan2": arctan2,
    "hypot": hypot,
    "minimum": minimum,
    "maximum": maximum,
    "logaddexp": logaddexp,
    "logaddexp2": logaddexp2,
}
