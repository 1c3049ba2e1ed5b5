"""The op table as source text, for the tape compiler (compile/ writes numba code from it).

One row per op: (value, d_a, d_b), format strings over the names of the operands ``{x}``,
``{y}``, the constant operand ``{c}`` and the op's own value ``{v}``, taken from the op rows
(ops/defs.py), which the kernels ``ops.value`` and ``ops.partials`` are generated from too;
``tests/compile/test_compiled.py::test_op_source_matches_the_op_table`` still holds every row
to those kernels bit for bit on each op's test domain and at the awkward points (0, inf, NaN).

A partial is a string, or ``ZERO`` (structurally zero: the compiled adjoint emits nothing),
``ONE``/``MINUS_ONE`` (the adjoint adds y_bar or -y_bar: exact, and no multiply). Ops whose
partials branch (rows with a ``partials_fn``) use ``CALL``: the generated code calls
:func:`partials_of`, the op table's own kernel, so their conventions live in one place.

Why templates rather than calls to ``ops.value`` with a constant opcode: each call site
inlines the whole op switch at numba IR level, which measured 5-20 s of cold compile per
copy; a template is one expression.
"""

from numba_ad._config import kernel
from numba_ad.ops import defs
from numba_ad.ops.table import Op, partials

ZERO, ONE, MINUS_ONE = defs.ZERO, defs.ONE, defs.MINUS_ONE
CALL = "call"

ROWS = {
    Op(d.code): (d.value, CALL, CALL) if d.partials_fn else (d.value, d.d_a, d.d_b)
    for d in defs.OPS
    if d.kind != defs.STRUCTURAL
}

# Partials that are the value of another op on the same operand: where the tape also records
# that op (P2 has sin(x[:-1]) and cos(x[1:])), the loop compiler reads its value instead of
# computing a second transcendental. op -> (the partner op, d_a with the partner's value as {y}).
PARTNERS = {Op(d.code): (Op[d.partner[0]], d.partner[1]) for d in defs.OPS if d.partner}

# Ops whose value costs more than reading it back: the compiled forward pass stores them and
# the adjoint pass loads them; every other op is recomputed there from its operands.
CHEAP = frozenset(Op(d.code) for d in defs.OPS if d.cheap)

# What a generated module imports: the names the rows use.
PRELUDE = """import math

import numpy as np
from numba import njit, prange

from numba_ad.errors import OffBranchSignal
from numba_ad.ops import special, user
from numba_ad.ops.constants import LN2, LN10, SQRT_PI_OVER_2, TWO_OVER_SQRT_PI
from numba_ad.ops.rules import maximum_value, minimum_value
from numba_ad.ops.source import partials_of, times
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
