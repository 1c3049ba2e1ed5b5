"""Recording whole arrays of ops at once: ufuncs, reductions, matmul on slot arrays.

Pure NumPy on two parallel arrays per operand, never a Python loop over elements: an
``Operand`` holds the slots its elements live in (int32) and their values at the recording
point (float64). A constant operand (a number, a NumPy array) has ``slots=None`` until an op
needs it: then its values become CONST slots (``Recording.const_slots``, deduplicated).

Every function here appends blocks of ops to a ``Recording`` (``Recording.block``) and
returns the result as an Operand whose slots are a fresh contiguous range. The values come
from the sweeps' own ``value`` (ops/value_map.py), not from NumPy's ufuncs, whose exp, log,
tanh ... differ from it in the last bit: a replay at the recording point then reproduces every
value and guard. The ops are those scalar tracing records for the same
code, in a block order: a reduction is the chain ``s1 = v0 + v1, s2 = s1 + v2, ...``, as
NumPy's object-array reductions run it, so a replay of array code and of loop code gives the
same values to the bit (derivatives to rounding: adjoints add up in another order).
"""

from typing import NamedTuple

import numpy as np
from numpy.lib.array_utils import normalize_axis_index, normalize_axis_tuple

from numba_ad.ops.rules import POWER_ONE, POWER_SAME, power_op
from numba_ad.ops.table import Op
from numba_ad.ops.value_map import values_of
from numba_ad.tape.arrays import INDEX_DTYPE

_ADD, _SUB, _MUL, _DIV = int(Op.ADD), int(Op.SUB), int(Op.MUL), int(Op.DIV)
_POWI, _POWC = int(Op.POWI), int(Op.POWC)
_power_op = getattr(power_op, "py_func", power_op)  # the kernel's own Python code (NUMBA_DISABLE_JIT: itself)


class Operand(NamedTuple):
    """One argument of a bulk op: its slots (None for a constant) and its values."""

    slots: np.ndarray | None  # int32 slots, the shape of values; None: constant values
    values: np.ndarray  # float64 values at the recording point (0-d for a scalar)


def constant(values):
    return Operand(None, np.asarray(values, dtype=np.float64))


def slots_of(rec, x):
    """x's slots, recording its constants first when x is constant."""
    if x.slots is not None:
        return x.slots
    if x.values.ndim == 0:
        return np.asarray(rec.const(float(x.values)), dtype=INDEX_DTYPE)
    return rec.const_slots(x.values)


def broadcast_shape(what, *shapes):
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        raise ValueError(
            f"{what}: operands could not be broadcast together with shapes " + " ".join(str(tuple(s)) for s in shapes)
        ) from None


def _record(rec, op, a, b, c, values):
    """Append ops (a, b, c broadcast to values.shape); return them as an Operand."""
    start = rec.block(op, a, b, c, values.shape)
    return Operand(np.arange(start, start + values.size, dtype=INDEX_DTYPE).reshape(values.shape), values)


def unary(rec, op, x, c=0.0):
    shape = broadcast_shape("operation", x.values.shape, np.shape(c))
    values = values_of(op, x.values, 0.0, c, shape)
    return _record(rec, op, slots_of(rec, x), 0, c, values)


def binary(rec, op, x, y, what="operation", c=0.0):
    shape = broadcast_shape(what, x.values.shape, y.values.shape)
    values = values_of(op, x.values, y.values, c, shape)
    return _record(rec, op, slots_of(rec, x), slots_of(rec, y), c, values)


def copy(x):
    return Operand(None if x.slots is None else x.slots.copy(), x.values.copy())


# ---------------------------------------------------------------------------------------
# Powers: the op of x ** c is ops.rules.power_op's decision, element by element.
# ---------------------------------------------------------------------------------------
def power(rec, x, y):
    if y.slots is None:
        if y.values.ndim == 0:
            return _constant_power(rec, x, float(y.values))
        return _constant_powers(rec, x, y.values)
    if x.slots is None:
        return unary_c(rec, int(Op.CPOW), y, x.values)  # c ** y: the base is the op's constant
    return binary(rec, int(Op.POW), x, y, "power")


def _constant_power(rec, x, c):
    op = _power_op(c)
    if op == POWER_ONE:  # x**0 == 1 for every x, NaN included: a constant, no op
        return constant(np.ones(x.values.shape))
    if op == POWER_SAME:
        return copy(x)
    return unary(rec, op, x, c if op in (_POWI, _POWC) else 0.0)


def unary_c(rec, op, x, c):
    """A unary op whose constant operand c is an array broadcasting against x (CPOW's base)."""
    shape = broadcast_shape("power", x.values.shape, np.shape(c))
    return _record(rec, op, slots_of(rec, x), 0, c, values_of(op, x.values, 0.0, c, shape))


def _constant_powers(rec, x, c):
    """x ** c for an array of constant exponents: each element takes its own op."""
    shape = broadcast_shape("power", x.values.shape, c.shape)
    c = np.broadcast_to(c, shape)
    xs, xv = np.broadcast_to(slots_of(rec, x), shape), np.broadcast_to(x.values, shape)
    exponents, which = np.unique(c, return_inverse=True)
    codes = np.array([_power_op(float(e)) for e in exponents], dtype=np.int64)[which.reshape(c.shape)]
    one, keep = codes == POWER_ONE, codes == POWER_SAME
    ops = codes
    record = ~(one | keep)
    ops, base, exponent = ops[record], xv[record], c[record]
    consts = np.where((ops == _POWI) | (ops == _POWC), exponent, 0.0)
    values = np.empty(ops.shape)
    for op in np.unique(ops).tolist():
        sel = ops == op
        values[sel] = values_of(op, base[sel], 0.0, consts[sel], base[sel].shape)  # the c each op records
    recorded = _record(rec, ops, xs[record], 0, consts, values)
    slots, out = np.array(xs, dtype=INDEX_DTYPE), np.array(xv, dtype=np.float64)
    slots[one], out[one] = rec.const(1.0), 1.0
    slots[record], out[record] = recorded.slots, values
    return Operand(slots, out)


# ---------------------------------------------------------------------------------------
# Reductions: chains of a binary op along the last axis of an (rows, n) array.
# ---------------------------------------------------------------------------------------
_ACCUMULATE = {
    _ADD: np.add.accumulate,
    _MUL: np.multiply.accumulate,
    int(Op.MAXIMUM): np.maximum.accumulate,
    int(Op.MINIMUM): np.minimum.accumulate,
}
_IDENTITY = {_ADD: 0.0, _MUL: 1.0}


def _chains(rec, op, slots, values):
    """Chains r_k = op(r_{k-1}, v_{k+1}) (r_0 = v_0) along each row of (rows, n) arrays, all rows
    in one block, row after row; returns the running results, shape (rows, n)."""
    rows, n = slots.shape
    running_slots = np.empty((rows, n), dtype=INDEX_DTYPE)
    running_slots[:, 0] = slots[:, 0]
    with np.errstate(all="ignore"):
        running = _ACCUMULATE[op](values, axis=1)
    if n > 1:
        start = rec.next_slot()
        chain = start + np.arange(rows * (n - 1), dtype=INDEX_DTYPE).reshape(rows, n - 1)
        a = np.empty((rows, n - 1), dtype=INDEX_DTYPE)
        a[:, 0], a[:, 1:] = slots[:, 0], chain[:, :-1]
        recorded = _record(rec, op, a, slots[:, 1:], 0.0, running[:, 1:].copy())
        running_slots[:, 1:] = recorded.slots
    return running_slots, running


def _as_rows(x, axis):
    """(slots, values) with the reduced axes last, as (rows, n); and the kept shape."""
    ndim = x.values.ndim
    axes = tuple(range(ndim)) if axis is None else normalize_axis_tuple(axis, ndim)
    kept = [d for d in range(ndim) if d not in axes]
    order = kept + list(axes)
    kept_shape = tuple(x.values.shape[d] for d in kept)
    n = int(np.prod([x.values.shape[d] for d in axes], dtype=np.int64))
    rows = int(np.prod(kept_shape, dtype=np.int64))
    slots = np.transpose(x.slots, order).reshape(rows, n)
    values = np.transpose(x.values, order).reshape(rows, n)
    return slots, values, kept_shape, axes


def reduce(rec, op, x, axis=None, keepdims=False, name="reduction"):
    """x reduced by a chain of `op` over `axis` (None: all axes), as NumPy's object reduce."""
    slots, values, kept_shape, axes = _as_rows(x, axis)
    out_shape = tuple(1 if d in axes else s for d, s in enumerate(x.values.shape)) if keepdims else kept_shape
    if slots.shape[1] == 0:
        if op not in _IDENTITY:
            raise ValueError(f"zero-size array to reduction operation {name} which has no identity")
        return constant(np.full(out_shape, _IDENTITY[op]))
    running_slots, running = _chains(rec, op, slots, values)
    return Operand(running_slots[:, -1].reshape(out_shape), running[:, -1].reshape(out_shape))


def accumulate(rec, op, x, axis=None):
    """Running chains along `axis` (None: the flattened array), as np.cumsum on objects."""
    if axis is None:
        x, axis = Operand(x.slots.reshape(-1), x.values.reshape(-1)), 0
    axis = normalize_axis_index(axis, x.values.ndim)
    slots, values, kept_shape, _ = _as_rows(x, axis)
    if slots.shape[1] == 0:
        return Operand(x.slots.copy(), x.values.copy())
    running_slots, running = _chains(rec, op, slots, values)
    moved = kept_shape + (slots.shape[1],)
    back = lambda a: np.ascontiguousarray(np.moveaxis(a.reshape(moved), -1, axis))  # noqa: E731
    return Operand(back(running_slots), back(running))


def mean(rec, x, axis=None, keepdims=False):
    """Sum chain, then one division by the count, as np.mean on objects."""
    total = reduce(rec, _ADD, x, axis, keepdims, "add")
    count = x.values.size // max(total.values.size, 1) if x.values.size else 0
    return binary(rec, _DIV, total, constant(float(count)), "mean")


# ---------------------------------------------------------------------------------------
# Products of matrices: all products in one block, then the sum chains in one block.
# ---------------------------------------------------------------------------------------
def matmul(rec, x, y):
    """x @ y for 1-D and 2-D operands, as NumPy's object matmul: each entry is the chain
    p_0 + p_1 + ... of its products p_k = x[i, k] * y[k, j]."""
    xv, yv = x.values, y.values
    if xv.ndim not in (1, 2) or yv.ndim not in (1, 2):
        raise NotImplementedError("matmul beyond 2-D")
    xs, ys = slots_of(rec, x), slots_of(rec, y)
    x2 = (xs.reshape(1, -1), xv.reshape(1, -1)) if xv.ndim == 1 else (xs, xv)
    y2 = (ys.reshape(-1, 1), yv.reshape(-1, 1)) if yv.ndim == 1 else (ys, yv)
    (m, k), (k2, p) = x2[0].shape, y2[0].shape
    if k != k2:
        raise ValueError(
            f"matmul: shapes {xv.shape} and {yv.shape} are not aligned: {k} (dim {xv.ndim - 1}) != {k2} (dim 0)"
        )
    out_shape = ((m,) if xv.ndim == 2 else ()) + ((p,) if yv.ndim == 2 else ())
    if k == 0:
        return constant(np.zeros(out_shape))
    a = x2[0][:, None, :]  # (m, 1, k)
    b = y2[0].T[None, :, :]  # (1, p, k)
    products = binary(rec, _MUL, Operand(a, x2[1][:, None, :]), Operand(b, y2[1].T[None, :, :]), "matmul")
    rows = Operand(products.slots.reshape(m * p, k), products.values.reshape(m * p, k))
    running_slots, running = _chains(rec, _ADD, rows.slots, rows.values)
    return Operand(running_slots[:, -1].reshape(out_shape), running[:, -1].reshape(out_shape))


def operator(ufunc, reflected=False):
    """The method `self <op> other` (or `other <op> self`) as the ufunc, for array classes."""
    if reflected:
        return lambda self, other: ufunc(other, self)
    return lambda self, other: ufunc(self, other)
