"""NumPy functions on traced arrays, in bulk: reductions, products, and moves of elements.

Registered into ``numpy_protocol.FUNCTIONS`` at import. Each answers NotImplemented for
what it does not cover (``out=``, ``initial=``, more than 2-D for dot...), and NumPy's own
object-array code runs instead (``fallback``), recording element by element.

Functions that only move elements (concatenate, stack, flip, roll, tile, triu, diag, ...)
run twice, on the slots and on the values: the element at each position keeps its slot, so
they record nothing. The zeros that diag, triu and tril fill in are slot 0, the constant
0.0 of every tape, with value 0.0: exactly a constant zero.
"""

import numpy as np

from numba_ad.ops.table import Op
from numba_ad.tracing import array_ops as ao
from numba_ad.tracing.array import TracedArray, as_operand, recording_of, result
from numba_ad.tracing.array_conditions import ConditionArray
from numba_ad.tracing.numpy_protocol import FUNCTIONS
from numba_ad.tracing.scalar import Traced

_ADD, _MUL, _MAXIMUM, _MINIMUM = int(Op.ADD), int(Op.MUL), int(Op.MAXIMUM), int(Op.MINIMUM)


def _operand(a):
    return ao.Operand(a.slots, a.values)


def _reduction(op, name):
    def reduce(a, axis=None, dtype=None, out=None, keepdims=False, **kwargs):
        if type(a) is not TracedArray:
            return NotImplemented
        if out is not None or kwargs:
            if op in (_MAXIMUM, _MINIMUM):  # NumPy's object code would compare: guards, not max ops
                raise TypeError(
                    f"np.{name}.reduce (np.max, np.min) on traced values takes only axis and "
                    f"keepdims; got {sorted(kwargs) + (['out'] if out is not None else [])}"
                )
            return NotImplemented
        return result(a._rec, ao.reduce(a._rec, op, _operand(a), axis, bool(keepdims), name))

    return reduce


def _accumulation(op):
    def accumulate(a, axis=None, dtype=None, out=None):
        if type(a) is not TracedArray or out is not None:
            return NotImplemented
        return result(a._rec, ao.accumulate(a._rec, op, _operand(a), axis))

    return accumulate


def _mean(a, axis=None, dtype=None, out=None, keepdims=False, **kwargs):
    if type(a) is not TracedArray or out is not None or kwargs:
        return NotImplemented
    return result(a._rec, ao.mean(a._rec, _operand(a), axis, bool(keepdims)))


def _dot(a, b, out=None):
    if out is not None:
        return NotImplemented
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return np.multiply(a, b)
    if np.ndim(a) > 2 or np.ndim(b) > 2:
        return NotImplemented
    return np.matmul(a, b)


def _outer(a, b, out=None):
    if out is not None:
        return NotImplemented
    return np.multiply(np.reshape(a, (-1, 1)), np.reshape(b, (1, -1)))


def _pair(rec, v):
    """(slots, values) of a data argument, constants recorded; None if NumPy's object code must run."""
    operand = as_operand(rec, v)
    return None if operand is None else (ao.slots_of(rec, operand), operand.values)


def _pack(rec, slots, values):
    if isinstance(slots, np.ndarray):
        return TracedArray(rec, slots, values)
    if isinstance(slots, (list, tuple)):
        return type(slots)(_pack(rec, s, v) for s, v in zip(slots, values))
    return slots  # a shape, a count: the same for both runs


def _moves(func, data):
    """func run on slots and on values; `data`: positions of the array arguments, or "seq"
    when the first argument is a sequence of arrays, or "all"."""

    def move(*args, **kwargs):
        if "out" in kwargs or "dtype" in kwargs:
            return NotImplemented
        positions = range(len(args)) if data == "all" else (0,) if data == "seq" else data
        positions = [i for i in positions if i < len(args)]
        rec = recording_of([args[i] for i in positions])
        others = [v for i, v in enumerate(args) if i not in positions] + list(kwargs.values())
        if rec is None or recording_of(others) is not None:
            return NotImplemented
        slot_args, value_args = list(args), list(args)
        for i in positions:
            items = list(args[i]) if data == "seq" else [args[i]]
            pairs = [_pair(rec, v) for v in items]
            if any(p is None for p in pairs):
                return NotImplemented
            slot_args[i], value_args[i] = ([p[k] for p in pairs] if data == "seq" else pairs[0][k] for k in (0, 1))
        return _pack(rec, func(*slot_args, **kwargs), func(*value_args, **kwargs))

    return move


def _sized(a, answer):
    """np.shape, np.ndim, np.size of a traced array or condition array, without converting it."""
    return answer if isinstance(a, (TracedArray, ConditionArray)) else NotImplemented


def _like(fill):
    def like(a, *args, dtype=None, shape=None, **kwargs):
        if fill is None:  # full_like(a, fill_value, ...)
            value, args = (args[0], args[1:]) if args else (kwargs.pop("fill_value"), args)
        else:
            value = fill
        if args and dtype is None:
            dtype, args = args[0], args[1:]
        shape = np.shape(a) if shape is None else shape
        if dtype is not None and np.dtype(dtype) != np.float64:
            return np.full(shape, np.nan if type(value) is Traced else value, dtype=dtype)
        rec = recording_of([a, value])
        slots, values = _pair(rec, value)
        return TracedArray(rec, np.array(np.broadcast_to(slots, shape)), np.array(np.broadcast_to(values, shape)))

    return like


def _lerp(a, b, t):
    """NumPy's linear interpolation for quantiles (numpy/lib/_function_base_impl.py, _lerp): from
    the nearer end, so that t = 1 gives b exactly."""
    diff = b - a
    return b - diff * (1.0 - t) if t >= 0.5 else a + diff * t


def _quantile_of(a, q, axis, out, method, keepdims, weights, what):
    """np.quantile(a, q) over all elements, method "linear": the sort records the order of the
    elements as guards (a replay where it differs raises), the interpolation records ops."""
    if axis is not None or out is not None or method != "linear" or keepdims or weights is not None:
        raise TypeError(
            f"np.{what} of traced values supports axis=None, method='linear' and no out=, keepdims= or "
            "weights=; reshape the input or compute the order statistic with np.sort"
        )
    flat = np.sort(np.ravel(a))  # object code on the elements: each comparison a guard
    n = len(flat)
    if n == 0:
        raise ValueError(f"np.{what} of an empty traced array")
    qs = np.asarray(q, dtype=np.float64)
    if np.any((qs < 0.0) | (qs > 1.0)) or np.any(np.isnan(qs)):
        raise ValueError(f"np.{what}: quantiles must be in the range [0, 1] (percentiles in [0, 100])")
    results = []
    for level in qs.ravel().tolist():
        position = level * (n - 1)
        below = min(int(np.floor(position)), n - 1)
        above = min(below + 1, n - 1)
        results.append(_lerp(flat[below], flat[above], position - below))
    if qs.ndim == 0:
        return results[0]
    values = np.empty(len(results), dtype=object)
    values[:] = results
    return values.reshape(qs.shape)


def _quantile(a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False, *, weights=None):
    return _quantile_of(a, q, axis, out, method, keepdims, weights, "quantile")


def _percentile(a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False, *, weights=None):
    return _quantile_of(a, np.asarray(q, dtype=np.float64) / 100.0, axis, out, method, keepdims, weights, "percentile")


FUNCTIONS.update(
    {
        np.sum: _reduction(_ADD, "add"),
        np.prod: _reduction(_MUL, "multiply"),
        np.max: _reduction(_MAXIMUM, "maximum"),
        np.amax: _reduction(_MAXIMUM, "maximum"),
        np.min: _reduction(_MINIMUM, "minimum"),
        np.amin: _reduction(_MINIMUM, "minimum"),
        np.cumsum: _accumulation(_ADD),
        np.cumprod: _accumulation(_MUL),
        np.mean: _mean,
        np.quantile: _quantile,
        np.percentile: _percentile,
        np.dot: _dot,
        np.outer: _outer,
        np.zeros_like: _like(0.0),
        np.ones_like: _like(1.0),
        np.empty_like: _like(0.0),
        np.full_like: _like(None),
        np.shape: lambda a: _sized(a, a.shape),
        np.ndim: lambda a: _sized(a, a.ndim),
        np.size: lambda a, axis=None: _sized(a, a.size if axis is None else a.shape[axis]),
    }
)
FUNCTIONS.update(
    {
        func: _moves(func, (0,))
        for func in (
            np.reshape,
            np.ravel,
            np.transpose,
            np.swapaxes,
            np.moveaxis,
            np.squeeze,
            np.expand_dims,
            np.broadcast_to,
            np.flip,
            np.fliplr,
            np.flipud,
            np.roll,
            np.rot90,
            np.repeat,
            np.tile,
            np.take,
            np.diag,
            np.diagonal,
            np.triu,
            np.tril,
            np.copy,
            np.resize,
            np.delete,
            np.split,
            np.array_split,
            np.hsplit,
            np.vsplit,
        )
    }
)
FUNCTIONS.update(
    {func: _moves(func, "seq") for func in (np.concatenate, np.stack, np.hstack, np.vstack, np.dstack, np.column_stack)}
)
FUNCTIONS.update(
    {
        np.append: _moves(np.append, (0, 1)),
        np.insert: _moves(np.insert, (0, 2)),
        np.atleast_1d: _moves(np.atleast_1d, "all"),
        np.atleast_2d: _moves(np.atleast_2d, "all"),
        np.atleast_3d: _moves(np.atleast_3d, "all"),
    }
)
