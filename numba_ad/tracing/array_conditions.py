"""Arrays of conditions: ``x > 0`` on a traced array, decided only when used.

The array counterpart of tracing's ``Comparison``: comparing traced arrays records nothing.
``where``/``clip`` turn a condition array into a 0/1 mask recorded in one block (the same
comparison op, no guard, that the scalar ``mask_of`` records per element); ``&``, ``|``,
``^``, ``~`` combine lazily as on scalars. Asking for the truth of one element (``bool`` of a
one-element array, ``cond[i]``, iteration, any NumPy code run on the object form) gives
that element's scalar ``Comparison``, which records a guard as today. ``bool()`` of several
elements raises as NumPy does.
"""

import numpy as np

from numba_ad.ops.table import Op
from numba_ad.tracing.array_ops import Operand, binary, broadcast_shape, constant
from numba_ad.tracing.array_ops import operator as _operator
from numba_ad.tracing.scalar import _GUARDS, Comparison, Condition, Traced, _Combined, _Not, _user_location, mask_of

_SUB, _MUL, _MAXIMUM = int(Op.SUB), int(Op.MUL), int(Op.MAXIMUM)


def _scalar_operand(v):
    """A Traced scalar or a 0/1 number as an Operand (what mask_of returns)."""
    if type(v) is Traced:
        return Operand(np.asarray(v.slot, dtype=np.int32), np.asarray(v.value, dtype=np.float64))
    return constant(v)


class ConditionArray:
    """A lazy array of truth values (the base of comparison, not, and/or/xor arrays)."""

    __slots__ = ("_rec", "shape", "_mask")
    __array_priority__ = 1000
    _is_condition_array = True  # scalar Conditions leave & | ^ with one to its reflected operator

    ndim = property(lambda self: len(self.shape))
    size = property(lambda self: int(np.prod(self.shape, dtype=np.int64)))
    dtype = property(lambda self: np.dtype(bool))

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of unsized object")
        return self.shape[0]

    def element(self, index):
        """The scalar Condition (or bool) at a full integer index tuple."""
        raise NotImplementedError

    def take(self, index):
        """self[index] for a basic or advanced index giving an array."""
        raise NotImplementedError

    def __getitem__(self, index):
        full = _integer_index(index, self.shape)
        return self.element(full) if full is not None else self.take(index)

    def __iter__(self):
        if not self.shape:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(self.shape[0]))

    def to_objects(self):
        """The object array of element conditions (NumPy's object code runs on it)."""
        out = np.empty(self.shape, dtype=object)
        for index in np.ndindex(*self.shape):
            out[index] = self.element(index)
        return out

    def __array__(self, dtype=None, copy=None):
        if dtype is not None and np.dtype(dtype) != object:
            raise TypeError(
                "a condition on traced values has no truth value until it is used: use "
                "ad.where(cond, 1.0, 0.0) for a number, or bool() of one element for a guard"
            )
        return self.to_objects()

    def __bool__(self):
        if self.size != 1:
            raise ValueError(
                "The truth value of an array with more than one element is ambiguous. Use "
                "a.any() or a.all() (each element records a guard), or ad.where(cond, a, b) "
                "(no guard)"
            )
        return bool(self.element((0,) * self.ndim))

    def __int__(self):
        return int(bool(self))

    __index__ = __int__

    def __float__(self):
        return float(bool(self))

    def mask(self, rec):
        """(Operand, inverted): a 0/1 mask recorded without a guard whose truth, flipped when
        inverted, is the condition's; recorded once per condition."""
        if self._mask is None:
            self._mask = self._record_mask(rec)
        return self._mask

    def __repr__(self):
        return f"{type(self).__name__}(shape={self.shape})"

    def any(self, *args, **kwargs):
        return np.any(self.to_objects(), *args, **kwargs)

    def all(self, *args, **kwargs):
        return np.all(self.to_objects(), *args, **kwargs)

    __and__, __rand__ = _operator(np.bitwise_and), _operator(np.bitwise_and, True)
    __or__, __ror__ = _operator(np.bitwise_or), _operator(np.bitwise_or, True)
    __xor__, __rxor__ = _operator(np.bitwise_xor), _operator(np.bitwise_xor, True)
    __add__, __radd__ = _operator(np.add), _operator(np.add, True)
    __sub__, __rsub__ = _operator(np.subtract), _operator(np.subtract, True)
    __mul__, __rmul__ = _operator(np.multiply), _operator(np.multiply, True)

    def __invert__(self):
        return NotArray(self)

    # == and != elementwise, as NumPy's on bool arrays, lazily (not xor, xor): object's identity
    # == answered False for two condition arrays at any x, and their hash decided dict lookups.
    def __eq__(self, other):
        different = self.__xor__(other)
        return different if different is NotImplemented else ~different

    def __ne__(self, other):
        return self.__xor__(other)

    __hash__ = None


def _integer_index(index, shape):
    """The index as a tuple of non-negative ints when it picks one element; None otherwise."""
    index = index if isinstance(index, tuple) else (index,)
    if len(index) != len(shape) or not all(isinstance(i, (int, np.integer)) and not isinstance(i, bool) for i in index):
        return None
    for i, n in zip(index, shape):
        if not -n <= i < n:
            raise IndexError(f"index {i} is out of bounds for axis with size {n}")
    return tuple(int(i) % n for i, n in zip(index, shape))


class CompareArray(ConditionArray):
    """lhs symbol rhs, elementwise (operands broadcast to one shape)."""

    __slots__ = ("lhs", "rhs", "symbol", "location")

    def __init__(self, rec, lhs, rhs, symbol, location=None):
        self._rec, self._mask, self.symbol = rec, None, symbol
        self.shape = broadcast_shape(f"comparison {symbol}", lhs.values.shape, rhs.values.shape)
        self.lhs, self.rhs = (_broadcast(v, self.shape) for v in (lhs, rhs))
        self.location = location or _user_location()

    def _scalar(self, operand, index):
        value = float(operand.values[index])
        return value if operand.slots is None else Traced(self._rec, int(operand.slots[index]), value)

    def element(self, index):
        comparison = Comparison(self._scalar(self.lhs, index), self._scalar(self.rhs, index), self.symbol)
        comparison.location = self.location  # where the array comparison was written
        return comparison

    def take(self, index):
        return CompareArray(self._rec, _index(self.lhs, index), _index(self.rhs, index), self.symbol, self.location)

    def _record_mask(self, rec):
        op, swapped, inverted = _GUARDS[self.symbol]
        a, b = (self.rhs, self.lhs) if swapped else (self.lhs, self.rhs)
        return binary(rec, int(op), a, b, f"comparison {self.symbol}"), inverted


def _broadcast(x, shape):
    slots = None if x.slots is None else np.broadcast_to(x.slots, shape)
    return Operand(slots, np.broadcast_to(x.values, shape))


def _index(x, index):
    return Operand(None if x.slots is None else np.asarray(x.slots[index]), np.asarray(x.values[index]))


class NotArray(ConditionArray):
    __slots__ = ("inner",)

    def __init__(self, inner):
        self._rec, self._mask, self.shape, self.inner = inner._rec, None, inner.shape, inner

    def element(self, index):
        return _Not(self.inner.element(index))

    def take(self, index):
        return NotArray(self.inner.take(index))

    def _record_mask(self, rec):
        mask, inverted = self.inner.mask(rec)
        return mask, not inverted


def _part_shape(part):
    return part.shape if isinstance(part, (ConditionArray, np.ndarray)) else ()


class CombinedArray(ConditionArray):
    """left and/or/xor right; a part is a ConditionArray, a scalar Condition or booleans."""

    __slots__ = ("kind", "left", "right")

    def __init__(self, kind, left, right, rec):
        self._rec, self._mask, self.kind = rec, None, kind
        self.shape = broadcast_shape(f"logical {kind}", _part_shape(left), _part_shape(right))
        self.left, self.right = left, right

    def _part(self, part, index):
        if isinstance(part, ConditionArray):
            return part.element(_right_aligned(index, part.shape))
        if isinstance(part, np.ndarray):
            return bool(part[_right_aligned(index, part.shape)])
        return part

    def element(self, index):
        return _Combined(self.kind, self._part(self.left, index), self._part(self.right, index))

    def _take_part(self, part, index):
        if isinstance(part, ConditionArray):
            return _broadcast_condition(part, self.shape).take(index)
        if isinstance(part, np.ndarray):
            return np.broadcast_to(part, self.shape)[index]
        return part

    def take(self, index):
        return CombinedArray(
            self.kind, self._take_part(self.left, index), self._take_part(self.right, index), self._rec
        )

    def _record_mask(self, rec):
        left, right = true_mask(rec, self.left), true_mask(rec, self.right)
        both_constant = left.slots is None and right.slots is None
        if self.kind == "and":
            return (constant(left.values * right.values) if both_constant else binary(rec, _MUL, left, right)), False
        if self.kind == "or":
            return (
                constant(np.maximum(left.values, right.values)) if both_constant else binary(rec, _MAXIMUM, left, right)
            ), False
        if both_constant:
            return constant((left.values - right.values) ** 2), False
        # xor of 0/1 values as the scalar code writes it: (l - r) * (l - r), two SUBs and a MUL
        return binary(rec, _MUL, binary(rec, _SUB, left, right), binary(rec, _SUB, left, right)), False


def _right_aligned(index, shape):
    """The part of a full index that addresses an operand of `shape` (NumPy broadcasting)."""
    index = index[len(index) - len(shape) :] if shape else ()
    return tuple(0 if n == 1 else i for i, n in zip(index, shape))


def _broadcast_condition(cond, shape):
    if cond.shape == shape:
        return cond
    if isinstance(cond, CompareArray):
        return CompareArray(
            cond._rec, _broadcast(cond.lhs, shape), _broadcast(cond.rhs, shape), cond.symbol, cond.location
        )
    if isinstance(cond, NotArray):
        return NotArray(_broadcast_condition(cond.inner, shape))
    return CombinedArray(
        cond.kind,
        cond.left if not isinstance(cond.left, ConditionArray) else _broadcast_condition(cond.left, shape),
        cond.right if not isinstance(cond.right, ConditionArray) else _broadcast_condition(cond.right, shape),
        cond._rec,
    )


def condition_mask(rec, cond):
    """(Operand, inverted) for a ConditionArray, a scalar Condition or Traced, or booleans."""
    if isinstance(cond, ConditionArray):
        return cond.mask(rec)
    if isinstance(cond, (Condition, Traced)):
        mask, inverted = mask_of(rec, cond)
        return _scalar_operand(mask), inverted
    return constant(np.asarray(cond, dtype=np.float64)), False


def true_mask(rec, cond):
    mask, inverted = condition_mask(rec, cond)
    if not inverted:
        return mask
    if mask.slots is None:
        return constant(1.0 - mask.values)
    return binary(rec, _SUB, constant(1.0), mask)
