"""One-op tapes for the op-table tests (test_ops, test_second_order, test_taylor)."""

import numpy as np

import numba_ad as ad
from numba_ad.ops.table import COMPARISONS, TABLE, Op
from numba_ad.tape.arrays import TapeArrays


def one_op_tape(op, c, guard_comparisons=False):
    """slot 0: zero, 1: x[0], 2: x[1], 3: op(slot 1, slot 2 or 0), output slot 3.

    With guard_comparisons, a comparison op is listed as a guard (else it is a mask)."""
    binary = TABLE[op].arity == 2
    guarded = guard_comparisons and op in COMPARISONS
    return ad.Tape.from_arrays(
        TapeArrays(
            op=np.array([Op.CONST, Op.INPUT, Op.INPUT, op]),
            a=np.array([0, 0, 1, 1]),
            b=np.array([0, 0, 0, 2 if binary else 0]),
            c=np.array([0.0, 0.0, 0.0, c]),
            inputs=np.array([1, 2]),
            outputs=np.array([3]),
            params=np.array([], dtype=np.int32),
            guards=np.array([3] if guarded else [], dtype=np.int32),
        )
    )
