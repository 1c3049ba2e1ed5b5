"""Layer 1, the op table: every operation a tape can hold, with its value and derivatives.

Everything above this layer (the tape's kernels, the tracer, the compiler, Dual numbers)
reads an op's properties and rules from here; nothing here imports another layer.
"""

from numba_ad.ops.table import (
    ARITY,
    COMPARISONS,
    FIRST_GUARD,
    FIRST_MATH,
    FIRST_UNARY,
    N_OPS,
    NONZERO_PARTIALS,
    SCALAR,
    TABLE,
    Op,
    OpSpec,
    partials,
    second_partials,
    taylor,
    value,
)

__all__ = [
    "ARITY",
    "COMPARISONS",
    "FIRST_GUARD",
    "FIRST_MATH",
    "FIRST_UNARY",
    "N_OPS",
    "NONZERO_PARTIALS",
    "SCALAR",
    "TABLE",
    "Op",
    "OpSpec",
    "partials",
    "second_partials",
    "taylor",
    "value",
]
