"""NumPy ufuncs on traced arrays, recorded in bulk: one block of ops per ufunc call.

``bulk_handler`` turns each scalar handler of numpy_protocol.UFUNCS into a function of
Operands (array_ops) recording the same ops in blocks: a one-op handler carries its op, the
few composite ones (powers, floor_divide, remainder, degrees) are written out here.
Comparisons give a lazy ``CompareArray`` and the logical ufuncs combine conditions lazily
(array_conditions).
"""

import math

import numpy as np

from numba_ad.ops.table import ARITY, TABLE, Op
from numba_ad.tracing import array_ops as ao
from numba_ad.tracing.array_conditions import CombinedArray, CompareArray, ConditionArray, NotArray
from numba_ad.tracing.scalar import Comparison, Condition, Traced

_DEG = math.pi / 180.0


def _floor_divide(rec, x, y):
    return ao.unary(rec, int(Op.FLOOR), ao.binary(rec, int(Op.DIV), x, y, "floor_divide"))


def _remainder(rec, x, y):
    # x - y * floor(x / y), as tracing._remainder records it
    product = ao.binary(rec, int(Op.MUL), y, _floor_divide(rec, x, y), "remainder")
    return ao.binary(rec, int(Op.SUB), x, product, "remainder")


# Ufuncs whose scalar handler is more than one op (numpy_protocol.UFUNCS), in bulk.
_COMPOSITE = {
    np.power: ao.power,
    np.float_power: ao.power,
    np.positive: lambda rec, x: ao.copy(x),
    np.floor_divide: _floor_divide,
    np.remainder: _remainder,
    np.deg2rad: lambda rec, x: ao.binary(rec, int(Op.MUL), x, ao.constant(_DEG)),
    np.radians: lambda rec, x: ao.binary(rec, int(Op.MUL), x, ao.constant(_DEG)),
    np.rad2deg: lambda rec, x: ao.binary(rec, int(Op.DIV), x, ao.constant(_DEG)),
    np.degrees: lambda rec, x: ao.binary(rec, int(Op.DIV), x, ao.constant(_DEG)),
    np.conjugate: lambda rec, x: ao.copy(x),
}


def bulk_handler(ufunc, scalar_handler):
    """The bulk twin of a scalar ufunc handler: f(rec, *Operands) -> Operand."""
    if ufunc in _COMPOSITE:
        return _COMPOSITE[ufunc]
    op = scalar_handler.op  # a one-op handler (numpy_protocol._u, _b)
    if ARITY[op] == 1:
        return lambda rec, x: ao.unary(rec, op, x)
    name = ufunc.__name__ if ufunc is not None else TABLE[Op(op)].name
    return lambda rec, x, y: ao.binary(rec, op, x, y, name)


COMPARISONS = {
    np.less: "<",
    np.less_equal: "<=",
    np.greater: ">",
    np.greater_equal: ">=",
    np.equal: "==",
    np.not_equal: "!=",
}
LOGICAL = {
    np.logical_and: "and",
    np.logical_or: "or",
    np.logical_xor: "xor",
    np.logical_not: "not",
    np.bitwise_and: "and",
    np.bitwise_or: "or",
    np.bitwise_xor: "xor",
    np.invert: "not",
}
REDUCTIONS = {np.add: int(Op.ADD), np.multiply: int(Op.MUL), np.maximum: int(Op.MAXIMUM), np.minimum: int(Op.MINIMUM)}


def condition_part(rec, v, bitwise, array_operand=None):
    """v as a part of a logical combination: a condition, a bool or booleans; None when only
    NumPy's object code can combine it. `array_operand` is v's Operand when v is a traced array."""
    if isinstance(v, (ConditionArray, Condition)):
        return v
    if type(v) is Traced or array_operand is not None:
        if bitwise:
            raise TypeError(
                "& | ^ ~ of traced numbers: they are bitwise on integers, and numba_ad traces real "
                "numbers. Use them on comparisons (x > 0) & (x < 1), or np.logical_and."
            )
        if type(v) is Traced:
            return Comparison(v, 0.0, "!=")
        return CompareArray(rec, array_operand, ao.constant(0.0), "!=")
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    arr = np.asarray(v)
    if arr.dtype == object:
        return None
    return arr if arr.dtype == bool else arr != 0


def logical(rec, kind, parts):
    """A lazy combination of condition parts (at least one of them an array)."""
    if kind == "not":
        inner = parts[0]
        return NotArray(inner) if isinstance(inner, ConditionArray) else ~inner
    return CombinedArray(kind, parts[0], parts[1], rec)
