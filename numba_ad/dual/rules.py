"""Value and local partial derivatives of every operation a Dual supports.

The Dual counterpart of ``ops.value`` / ``ops.partials``: one small kernel per op returning
the value and the partial(s). They are generated from the op rows into ``dual/_rules.py``
(so the formulas and conventions are the op table's own: abs'(0) = 0, floor/ceil/trunc/sign'
= 0, maximum/minimum split 1/2-1/2 at a tie, hypot' = 0 at the origin, d/dy x**y = 0 where
x**y = 0); this module adds what is not one op: ``chain`` and ``chain2`` (the tangent rule
with the tape's structural zeros), ``power_const`` (the op x ** c records depends on c),
``floor_divide`` and ``remainder`` (recorded as compositions).

Both worlds call these kernels: the numba overloads in ``dual/types.py`` (where LLVM inlines
them) and the Python ``Dual`` class (one compiled call per operation, about 0.2 µs, so that
Python and @njit code give the same IEEE results: no ZeroDivisionError, log(0) = -inf).

Why generated kernels rather than calls to ``ops.value``/``ops.partials`` with a constant
opcode: their 48-branch bodies are inlined at numba IR level, and each Dual function then
took 1.2 s to compile against 0.08 s for these small kernels (measured with sin, cos, exp,
log). ``tests/dual/test_dual.py`` checks every rule against the tape instead.
"""

import numpy as np

from numba_ad._config import kernel, kernel_inline
from numba_ad.dual import _rules
from numba_ad.dual._rules import *  # noqa: F403  (one kernel per op)
from numba_ad.ops.rules import _RECIPROCAL, _SQUARE, POWER_ONE, POWER_SAME, power_op


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
# What is not one op.
# ---------------------------------------------------------------------------------------
@kernel
def floor_divide(x, y):
    return np.floor(x / y), 0.0, 0.0  # recorded as floor(x / y): zero partials


@kernel
def remainder(x, y):
    f = np.floor(x / y)
    return x - y * f, 1.0, -f  # recorded as x - y * floor(x / y), Python's and NumPy's modulo


@kernel
def power_const(x, c):
    """(x ** c, d/dx) with the op the tracer records for x ** c (ops.rules.power_op)."""
    code = power_op(c)
    if code == POWER_ONE:
        return 1.0, 0.0  # x**0 == 1 for every x, NaN included; constant
    if code == POWER_SAME:
        return x, 1.0
    if code == _SQUARE:
        return _rules.square(x)
    if code == _RECIPROCAL:
        return _rules.reciprocal(x)
    return _rules.powc(x, c)  # POWI, POWC


UNARY = dict(_rules.UNARY)
BINARY = dict(_rules.BINARY, floor_divide=floor_divide, remainder=remainder)
