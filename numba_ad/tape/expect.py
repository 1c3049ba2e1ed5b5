"""Checks of the types that reach numba_ad's kernels, made while numba compiles: free at run time.

``expect_array(arr, what, dtype, ndim, writable)`` and ``expect_validated_tape(tape, what)``
are called from @njit code (the nb kernels, the generated modules of compiled tapes) with
literal arguments; numba resolves them while typing the caller and compiles them to nothing,
or fails the compile with a KernelArgumentError (a TypeError) that names the argument. A kernel compiled for int64
``g`` would write truncated gradients, one for a 0-d ``x`` fail with an unclear typing error,
one for a read-only ``out`` would not compile at all: each is refused here instead.

A tape is accepted when all its arrays are read-only: validated() returns them so, and a
TapeArrays of freshly made (writable) arrays, which no check has seen, is refused. This is a
guard against mistakes, not against intent: arrays a user marks read-only themselves pass
(see docs/validation.md for the residual risk).
"""

import numpy as np
from numba import types
from numba.core import errors
from numba.extending import overload

from numba_ad.errors import KernelArgumentError
from numba_ad.tape.arrays import _DTYPES, TapeArrays


def expect_array(arr, what, dtype, ndim, writable):
    """From @njit code only: fail the compile unless `arr` is an array of `dtype` (a string),
    `ndim` dimensions and, when `writable`, not read-only. `what` names it in the message."""


def expect_validated_tape(tape, what):
    """From @njit code only: fail the compile unless `tape` is a TapeArrays of read-only arrays."""


def _literal(value, name):
    if not isinstance(value, types.Literal):
        raise errors.TypingError(f"numba_ad: {name} must be a literal constant")
    return value.literal_value


@overload(expect_array, prefer_literal=True, inline="always")
def _expect_array(arr, what, dtype, ndim, writable):
    name = what.literal_value if isinstance(what, types.Literal) else "numba_ad"
    dtype_name = _literal(dtype, "dtype")
    nd, must_write = _literal(ndim, "ndim"), _literal(writable, "writable")
    want = f"a {'writable ' if must_write else ''}{dtype_name} array of {nd} dimension{'s' if nd != 1 else ''}"
    if not isinstance(arr, types.Array) or str(arr.dtype) != dtype_name or arr.ndim != nd:
        raise KernelArgumentError(f"{name} must be {want}; got {arr}")
    if must_write and not arr.mutable:
        raise KernelArgumentError(f"{name} must be {want}; got a read-only array: pass a writable copy")
    return lambda arr, what, dtype, ndim, writable: None


@overload(expect_validated_tape, prefer_literal=True, inline="always")
def _expect_validated_tape(tape, what):
    name = what.literal_value if isinstance(what, types.Literal) else "numba_ad"
    if not isinstance(tape, types.BaseNamedTuple) or tape.instance_class is not TapeArrays:
        raise KernelArgumentError(f"{name}: tape must be a numba_ad TapeArrays (tape.arrays); got {tape}")
    for field, t in zip(TapeArrays._fields, tape.types, strict=True):
        dtype = np.dtype(_DTYPES[field]).name
        if not isinstance(t, types.Array) or t.ndim != 1 or str(t.dtype) != dtype:
            raise KernelArgumentError(f"{name}: tape.{field} must be a 1-D {dtype} array; got {t}")
        if t.mutable:
            raise KernelArgumentError(
                f"{name}: tape.{field} is writable, so it did not come from validation: pass the arrays "
                "of a numba_ad.Tape (tape.arrays of a traced tape, or numba_ad.Tape.from_arrays(arrays).arrays)"
            )
    return lambda tape, what: None
