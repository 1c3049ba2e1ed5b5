"""TracedArray: an array of traced values held as two parallel NumPy arrays.

``slots`` (int32) says which tape slot each element lives in, ``values`` (float64) its value
at the recording point; both have the array's shape and live on one Recording. Everything
that only moves elements around (indexing, slicing, reshape, transpose, stores) works on both
arrays with NumPy and records nothing; arithmetic goes through NumPy's ufunc and function
protocols, which numpy_protocol attaches (``__array_ufunc__``, ``__array_function__``) and
which record blocks of ops (ufuncs, array_ops).

Reading one element (``x[i]``, iteration) gives a ``Traced`` scalar: loop-style code records
scalar ops as before. Converting to a NumPy object array of Traced (``to_objects``) is the
fallback for NumPy code with no bulk version.
"""

import sys

import numpy as np

from numba_ad.tape.arrays import INDEX_DTYPE
from numba_ad.tracing import array_ops as ao
from numba_ad.tracing.array_conditions import ConditionArray
from numba_ad.tracing.scalar import STORE_MESSAGE, Condition, Traced, _array_store_at, _number, traced_operands


def recording_of(values):
    """The Recording of the first traced value in `values` (lists, tuples and object arrays
    searched too), or None."""
    for v in values:
        t = type(v)
        if t is Traced or t is TracedArray or isinstance(v, ConditionArray):
            return v._rec
        if isinstance(v, Condition):
            operands = traced_operands(v)
            if operands:
                return operands[0]._rec
        elif t is list or t is tuple or (t is np.ndarray and v.dtype == object):
            rec = recording_of(v.flat if t is np.ndarray else v)
            if rec is not None:
                return rec
    return None


def _same(rec, v):
    if v._rec is not rec:
        raise ValueError("cannot combine traced values from two different recordings")


def as_operand(rec, v):
    """v as an Operand of an op recorded on `rec`; None when only NumPy's object code can
    take it (an array holding conditions); TypeError for what is not a number at all."""
    t = type(v)
    if t is TracedArray:
        _same(rec, v)
        return ao.Operand(v.slots, v.values)
    if t is Traced:
        _same(rec, v)
        return ao.Operand(np.asarray(v.slot, dtype=INDEX_DTYPE), np.asarray(v.value))
    number = _number(v)
    if number is not None:
        return ao.constant(number)
    if isinstance(v, (Condition, ConditionArray)):
        return None
    if t is list or t is tuple:
        v = np.asarray(v) if recording_of(v) is None else _object_array(v)
    if isinstance(v, np.ndarray):
        if v.dtype.kind in "fiub":
            return ao.constant(v.astype(np.float64))
        if v.dtype == object:
            return _object_operand(rec, v)
    raise TypeError(
        f"cannot record an operation on a {type(v).__name__}"
        + (f" of dtype {v.dtype}" if isinstance(v, np.ndarray) else "")
        + "; expected numbers, arrays of numbers or traced values"
    )


def _object_array(items):
    """np.array(items) with traced arrays inside as objects."""
    return np.array(
        [
            i.to_objects() if type(i) is TracedArray else _object_array(i) if type(i) in (list, tuple) else i
            for i in items
        ],
        dtype=object,
    )


def _object_operand(rec, arr):
    """An object array of Traced and numbers as an Operand with slots; None if it holds anything else."""
    slots, values = [], []
    for e in arr.ravel().tolist():
        if type(e) is Traced:
            _same(rec, e)
            slots.append(e.slot)
            values.append(e.value)
        else:
            number = _number(e)
            if number is None:
                return None
            slots.append(rec.const(number))
            values.append(number)
    return ao.Operand(
        np.array(slots, dtype=INDEX_DTYPE).reshape(arr.shape), np.array(values, dtype=np.float64).reshape(arr.shape)
    )


def result(rec, operand):
    """An Operand as what NumPy would return: a Traced for 0-d, a TracedArray otherwise."""
    slots = ao.slots_of(rec, operand)
    if operand.values.ndim == 0:
        return Traced(rec, int(slots), float(operand.values))
    return TracedArray(rec, slots, operand.values)


def wrap(result):
    """A result of NumPy's object code: object arrays of traced values become TracedArrays
    (of numbers only, float arrays), 0-d ones their element; anything else is unchanged."""
    if isinstance(result, np.ndarray) and result.dtype == object:
        if result.ndim == 0:
            return result[()]
        rec = recording_of([result])
        if rec is None:
            return result.astype(np.float64) if all(_number(v) is not None for v in result.flat) else result
        operand = _object_operand(rec, result)
        return result if operand is None else TracedArray(rec, operand.slots, operand.values)
    if isinstance(result, tuple):
        return tuple(wrap(r) for r in result)
    if isinstance(result, list):
        return [wrap(r) for r in result]
    return result


def _objects(v):
    """v with traced arrays and condition arrays as NumPy object arrays (for NumPy's own code)."""
    if type(v) is TracedArray or isinstance(v, ConditionArray):
        return v.to_objects()
    if type(v) is Traced:
        box = np.empty((), dtype=object)
        box[()] = v
        return box
    if isinstance(v, (list, tuple)):
        return type(v)(_objects(e) for e in v)
    return v


def fallback(func, args, kwargs):
    """func run by NumPy on object arrays of traced scalars (recording element by element)."""
    return wrap(func(*_objects(args), **{k: _objects(v) for k, v in kwargs.items()}))


def _check_index(index):
    """Refuse indices that depend on x (NumPy would fail less clearly, or guard)."""
    for i in index if type(index) is tuple else (index,):
        if type(i) is Traced:
            i.__index__()  # raises, saying to index with plain integers
        if (
            type(i) is TracedArray
            or isinstance(i, ConditionArray)
            or ((type(i) is list or type(i) is np.ndarray and i.dtype == object) and recording_of(i) is not None)
        ):
            raise TypeError(
                "Using traced values as an index: indices must not depend on x. Index with plain "
                "integers, slices or integer/boolean NumPy arrays; for a choice that depends on x "
                "use ad.where(cond, a, b)"
            )


class TracedArray:
    """An array of traced scalars that behaves like a NumPy float64 array while f is traced."""

    __slots__ = ("_rec", "slots", "values")
    __array_priority__ = 1000

    def __init__(self, rec, slots, values):
        self._rec, self.slots, self.values = rec, slots, values

    @classmethod
    def from_scalars(cls, scalars):
        """A 1-D TracedArray of Traced scalars (and numbers) of one recording."""
        data = np.empty(len(scalars), dtype=object)
        data[:] = scalars
        rec = recording_of(data)
        operand = _object_operand(rec, data)
        return cls(rec, operand.slots, operand.values)

    shape = property(lambda self: self.values.shape)
    ndim = property(lambda self: self.values.ndim)
    size = property(lambda self: self.values.size)
    dtype = property(lambda self: np.dtype(np.float64))  # what the traced values stand for
    T = property(lambda self: TracedArray(self._rec, self.slots.T, self.values.T))
    _data = property(lambda self: self.to_objects())  # the object array of older versions

    def to_objects(self):
        """A NumPy object array of the elements as Traced scalars."""
        rec, out = self._rec, np.empty(self.shape, dtype=object)
        scalars = [Traced(rec, s, v) for s, v in zip(self.slots.ravel().tolist(), self.values.ravel().tolist())]
        if out.ndim == 0:
            out[()] = scalars[0]
        else:
            out.reshape(-1)[:] = scalars
        return out

    def __len__(self):
        return len(self.values)

    def __iter__(self):
        if self.values.ndim == 1:
            rec = self._rec
            return (Traced(rec, s, v) for s, v in zip(self.slots.tolist(), self.values.tolist()))
        if self.values.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(len(self)))

    def __getitem__(self, index):
        if type(index) is int and self.values.ndim == 1:
            # x[i] in loops, the hot path: .item() gives Python numbers in one call; loop-style P1
            # (n = 1000) traces at 0.64 µs per op this way, 0.66 from the object array of Traced before
            return Traced(self._rec, self.slots.item(index), self.values.item(index))
        _check_index(index)
        slots = self.slots[index]
        if not isinstance(slots, np.ndarray):  # one element
            return Traced(self._rec, int(slots), float(self.values[index]))
        return TracedArray(self._rec, slots, self.values[index])

    def __setitem__(self, index, value):
        _check_index(index)
        if type(value) is Traced:  # out[i] = ... in kernels: the hot path
            if value._rec is not self._rec:
                raise ValueError("cannot store a traced value from another recording")
            self.slots[index], self.values[index] = value.slot, value.value
            return
        if isinstance(value, Condition):
            value = float(value)  # a guard, and 1.0 or 0.0 stored, as numba stores a bool
        elif isinstance(value, ConditionArray):
            value = np.array([float(c) for c in value.to_objects().flat]).reshape(value.shape)
        operand = as_operand(self._rec, value)
        if operand is None:
            raise TypeError(f"cannot store {type(value).__name__} values in a traced array")
        self.slots[index], self.values[index] = ao.slots_of(self._rec, operand), operand.values

    def __repr__(self):
        return f"TracedArray(shape={self.shape})"

    def __array__(self, dtype=None, copy=None):
        if dtype is not None and np.dtype(dtype) != object:
            store = _array_store_at(sys._getframe(1))
            if store is not None:  # g[1:] = traced into a float array
                raise TypeError(STORE_MESSAGE.format(store=store))
            raise TypeError(
                f"cannot convert traced values to {np.dtype(dtype)} while tracing; keep "
                "them in NumPy operations, which record ops"
            )
        return self.to_objects()

    def _one(self, truth=False):
        """The only element, as a Traced scalar; ValueError (NumPy's) for other sizes."""
        if self.size != 1:
            raise ValueError(
                "The truth value of an array with more than one element is ambiguous. Use "
                "a.any() or a.all() (each element records a guard), or ad.where(cond, a, b)"
                if truth
                else "only one-element arrays can be converted to Python scalars"
            )
        return Traced(self._rec, int(self.slots.reshape(-1)[0]), float(self.values.reshape(-1)[0]))

    def __bool__(self):
        return bool(self._one(truth=True))

    def __float__(self):
        return float(self._one())

    def __int__(self):
        return int(self._one())

    def __index__(self):
        return self._one().__index__()

    def item(self, *args):
        return self[args] if args else self._one()

    def _method(name):  # noqa: N805 - builds methods from NumPy functions at class creation
        fn = getattr(np, name)
        return lambda self, *args, **kwargs: fn(self, *args, **kwargs)

    sum, prod, mean, dot = _method("sum"), _method("prod"), _method("mean"), _method("dot")
    cumsum, cumprod, max, min = _method("cumsum"), _method("cumprod"), _method("max"), _method("min")
    ravel, squeeze, swapaxes, repeat = _method("ravel"), _method("squeeze"), _method("swapaxes"), _method("repeat")
    take, diagonal, trace = _method("take"), _method("diagonal"), _method("trace")
    any, all, argmax, argmin = _method("any"), _method("all"), _method("argmax"), _method("argmin")
    std, var = _method("std"), _method("var")
    del _method

    def reshape(self, *shape, order="C"):
        """As ndarray.reshape: x.reshape(2, 3) and x.reshape((2, 3)) both work."""
        shape = shape[0] if len(shape) == 1 else shape
        return TracedArray(self._rec, self.slots.reshape(shape, order=order), self.values.reshape(shape, order=order))

    def transpose(self, *axes):
        """As ndarray.transpose: X.transpose(1, 0), X.transpose((1, 0)) and X.transpose()."""
        axes = (axes[0] if len(axes) == 1 else axes) or None
        return TracedArray(self._rec, self.slots.transpose(axes), self.values.transpose(axes))

    def copy(self):
        return TracedArray(self._rec, self.slots.copy(), self.values.copy())

    def flatten(self):
        return TracedArray(self._rec, self.slots.flatten(), self.values.flatten())

    def astype(self, dtype, copy=True):
        if np.dtype(dtype) == object:
            return self.to_objects()
        if np.dtype(dtype) != np.float64:
            raise TypeError(f"cannot convert traced values to {np.dtype(dtype)} while tracing")
        return self.copy() if copy else self

    def tolist(self):
        return self.to_objects().tolist()

    __add__, __radd__ = ao.operator(np.add), ao.operator(np.add, True)
    __sub__, __rsub__ = ao.operator(np.subtract), ao.operator(np.subtract, True)
    __mul__, __rmul__ = ao.operator(np.multiply), ao.operator(np.multiply, True)
    __truediv__, __rtruediv__ = ao.operator(np.true_divide), ao.operator(np.true_divide, True)
    __pow__, __rpow__ = ao.operator(np.power), ao.operator(np.power, True)
    __floordiv__, __rfloordiv__ = ao.operator(np.floor_divide), ao.operator(np.floor_divide, True)
    __mod__, __rmod__ = ao.operator(np.remainder), ao.operator(np.remainder, True)
    __matmul__, __rmatmul__ = ao.operator(np.matmul), ao.operator(np.matmul, True)
    __lt__, __le__ = ao.operator(np.less), ao.operator(np.less_equal)
    __gt__, __ge__ = ao.operator(np.greater), ao.operator(np.greater_equal)
    __eq__, __ne__ = ao.operator(np.equal), ao.operator(np.not_equal)
    __and__, __rand__ = ao.operator(np.bitwise_and), ao.operator(np.bitwise_and, True)
    __or__, __ror__ = ao.operator(np.bitwise_or), ao.operator(np.bitwise_or, True)
    __xor__, __rxor__ = ao.operator(np.bitwise_xor), ao.operator(np.bitwise_xor, True)
    __hash__ = None

    def _in_place(ufunc):  # noqa: N805 - y += x writes into y (and the array y is a view of), as NumPy
        def operator(self, other):
            self[...] = ufunc(self, other)
            return self

        return operator

    __iadd__, __isub__, __imul__ = _in_place(np.add), _in_place(np.subtract), _in_place(np.multiply)
    __itruediv__, __ipow__ = _in_place(np.true_divide), _in_place(np.power)
    __ifloordiv__, __imod__ = _in_place(np.floor_divide), _in_place(np.remainder)
    del _in_place

    def __neg__(self):
        return np.negative(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return np.absolute(self)

    def __invert__(self):
        return np.invert(self)
