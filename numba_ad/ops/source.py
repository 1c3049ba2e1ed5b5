"""The op table as source text, for the tape compiler (compile/compiled.py writes numba code from it).

One row per op: (value, d_a, d_b), format strings over the names of the operands ``{x}``,
``{y}``, the constant operand ``{c}`` and the op's own value ``{v}``. They are the
expressions of ``ops.value`` and ``ops.partials`` written out, and
``tests/compile/test_compiled.py::test_op_source_matches_the_op_table`` holds every row to those
kernels bit for bit on each op's test domain and at the awkward points (0, inf, NaN).

A partial is a string, or ``ZERO`` (structurally zero: the compiled adjoint emits nothing),
``ONE``/``MINUS_ONE`` (the adjoint adds y_bar or -y_bar: exact, and no multiply). Ops whose
partials branch (POW, ARCTAN2, HYPOT, MINIMUM, MAXIMUM) use ``CALL``: the generated code
calls :func:`partials_of`, the op table's own kernel, so their conventions live in one place.

Why templates rather than calls to ``ops.value`` with a constant opcode: each call site
inlines the whole op switch at numba IR level, which measured 5-20 s of cold compile per
copy (issue 6); a template is one expression.
"""

from numba_ad._config import kernel
from numba_ad.ops.table import Op, partials

ZERO, ONE, MINUS_ONE, CALL = "0", "1", "-1", "call"

ROWS = {
    Op.ADD: ("{x} + {y}", ONE, ONE),
    Op.SUB: ("{x} - {y}", ONE, MINUS_ONE),
    Op.MUL: ("{x} * {y}", "{y}", "{x}"),
    Op.DIV: ("{x} / {y}", "1.0 / {y}", "-{v} / {y}"),
    Op.POW: ("{x} ** {y}", CALL, CALL),
    Op.ARCTAN2: ("math.atan2({x}, {y})", CALL, CALL),
    Op.HYPOT: ("math.hypot({x}, {y})", CALL, CALL),
    Op.MINIMUM: ("_minimum({x}, {y})", CALL, CALL),
    Op.MAXIMUM: ("_maximum({x}, {y})", CALL, CALL),
    Op.POWI: ("{x} ** {c}", "{c} * {x} ** ({c} - 1.0)", ZERO),
    Op.POWC: ("{x} ** {c}", "{c} * {x} ** ({c} - 1.0)", ZERO),
    Op.CPOW: ("{c} ** {x}", "({v} * math.log({c}) if {v} != 0.0 else 0.0)", ZERO),
    Op.NEG: ("-{x}", MINUS_ONE, ZERO),
    Op.ABS: ("abs({x})", "np.sign({x})", ZERO),
    Op.SQRT: ("math.sqrt({x})", "0.5 / {v}", ZERO),
    Op.CBRT: ("np.cbrt({x})", "1.0 / (3.0 * {v} * {v})", ZERO),
    Op.EXP: ("math.exp({x})", "{v}", ZERO),
    Op.EXP2: ("2.0 ** {x}", "{v} * LN2", ZERO),
    Op.EXPM1: ("math.expm1({x})", "{v} + 1.0", ZERO),
    Op.LOG: ("math.log({x})", "1.0 / {x}", ZERO),
    Op.LOG2: ("math.log2({x})", "1.0 / ({x} * LN2)", ZERO),
    Op.LOG10: ("math.log10({x})", "1.0 / ({x} * LN10)", ZERO),
    Op.LOG1P: ("math.log1p({x})", "1.0 / (1.0 + {x})", ZERO),
    Op.SIN: ("math.sin({x})", "math.cos({x})", ZERO),
    Op.COS: ("math.cos({x})", "-math.sin({x})", ZERO),
    Op.TAN: ("math.tan({x})", "1.0 + {v} * {v}", ZERO),
    Op.ARCSIN: ("math.asin({x})", "1.0 / math.sqrt((1.0 - {x}) * (1.0 + {x}))", ZERO),
    Op.ARCCOS: ("math.acos({x})", "-1.0 / math.sqrt((1.0 - {x}) * (1.0 + {x}))", ZERO),
    Op.ARCTAN: ("math.atan({x})", "1.0 / (1.0 + {x} * {x})", ZERO),
    Op.SINH: ("math.sinh({x})", "math.cosh({x})", ZERO),
    Op.COSH: ("math.cosh({x})", "math.sinh({x})", ZERO),
    Op.TANH: ("math.tanh({x})", "1.0 - {v} * {v}", ZERO),
    Op.ARCSINH: ("math.asinh({x})", "1.0 / math.hypot({x}, 1.0)", ZERO),
    Op.ARCCOSH: ("math.acosh({x})", "1.0 / (math.sqrt({x} - 1.0) * math.sqrt({x} + 1.0))", ZERO),
    Op.ARCTANH: ("math.atanh({x})", "1.0 / ((1.0 - {x}) * (1.0 + {x}))", ZERO),
    Op.ERF: ("math.erf({x})", "TWO_OVER_SQRT_PI * math.exp(-{x} * {x})", ZERO),
    Op.ERFC: ("math.erfc({x})", "-TWO_OVER_SQRT_PI * math.exp(-{x} * {x})", ZERO),
    Op.SQUARE: ("{x} * {x}", "2.0 * {x}", ZERO),
    Op.RECIPROCAL: ("1.0 / {x}", "-{v} * {v}", ZERO),
    Op.FLOOR: ("np.floor({x})", ZERO, ZERO),
    Op.CEIL: ("np.ceil({x})", ZERO, ZERO),
    Op.TRUNC: ("np.trunc({x})", ZERO, ZERO),
    Op.SIGN: ("np.sign({x})", ZERO, ZERO),
    Op.LT: ("(1.0 if {x} < {y} else 0.0)", ZERO, ZERO),
    Op.LE: ("(1.0 if {x} <= {y} else 0.0)", ZERO, ZERO),
    Op.EQ: ("(1.0 if {x} == {y} else 0.0)", ZERO, ZERO),
    Op.IF_TRUE: ("({y} if {x} != 0.0 else -0.0)", ZERO, "(1.0 if {x} != 0.0 else 0.0)"),
    Op.IF_FALSE: ("({y} if {x} == 0.0 else -0.0)", ZERO, "(1.0 if {x} == 0.0 else 0.0)"),
}

# Partials that are the value of another op on the same operand: where the tape also records
# that op (P2 has sin(x[:-1]) and cos(x[1:])), the loop compiler reads its value instead of
# computing a second transcendental. op -> (the partner op, d_a with the partner's value as {y}).
PARTNERS = {
    Op.SIN: (Op.COS, "{y}"),
    Op.COS: (Op.SIN, "-{y}"),
    Op.SINH: (Op.COSH, "{y}"),
    Op.COSH: (Op.SINH, "{y}"),
}

# Ops whose value costs more than reading it back: the compiled forward pass stores them and
# the adjoint pass loads them; every other op is recomputed there from its operands.
CHEAP = frozenset(
    {
        Op.ADD,
        Op.SUB,
        Op.MUL,
        Op.DIV,
        Op.MINIMUM,
        Op.MAXIMUM,
        Op.NEG,
        Op.ABS,
        Op.SQUARE,
        Op.RECIPROCAL,
        Op.FLOOR,
        Op.CEIL,
        Op.TRUNC,
        Op.SIGN,
        Op.LT,
        Op.LE,
        Op.EQ,
        Op.IF_TRUE,
        Op.IF_FALSE,
    }
)

# What a generated module imports: the names the rows use.
PRELUDE = """import math

import numpy as np
from numba import njit, prange

from numba_ad.errors import OffBranchSignal
from numba_ad.ops.source import partials_of, times
from numba_ad.ops.table import LN2, LN10, TWO_OVER_SQRT_PI, _maximum, _minimum
"""


@kernel
def partials_of(op, x, y, c, v):
    """ops.partials for one op, not inlined: what generated code calls for the CALL rows."""
    return partials(op, x, y, c, v)


@kernel
def times(d, y_bar):
    """d * y_bar under the sweeps' structural-zero rule: 0 where either factor is 0, even
    when the other is inf or NaN (tape/sweeps.py's module docstring says why).

    Called, not inlined: generated code uses it only in the pass that reruns when a NaN
    reached g, and inlining each copy at numba IR level cost compile time (tests'
    softplus_layers at n = 60 compiled to loops: 4.5 against 3.1 s)."""
    t = d * y_bar
    if t != t and (d == 0.0 or y_bar == 0.0):  # only 0 * inf and 0 * NaN reach the test
        t = 0.0
    return t
