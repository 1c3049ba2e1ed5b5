"""Branch-free selects on traced values: ``where`` and ``clip`` (also as np.where, np.clip).

``where(cond, a, b)`` records the condition as a mask and both branches, so one tape is
valid on both sides (no guard, no retrace). The branch not taken contributes nothing to the
value or to any derivative, even where its value or derivative is inf or NaN: the double-where
problem of JAX (issue 347), CppAD (CondExp) and CasADi (if_else) cannot arise. How: ops/table.py's
IF_TRUE/IF_FALSE give the branch not taken a zero partial, and the sweeps' structural-zero
rule drops a path with a zero factor whatever the other factors hold.

Pure Python, like the rest of tracing: registered into TracedArray's NumPy functions and
given to Traced and Condition as their ``__array_function__`` at import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from numba_ad.ops.table import Op
from numba_ad.tracing import array_ops as ao
from numba_ad.tracing.array import TracedArray, as_operand, recording_of, result, wrap
from numba_ad.tracing.array_conditions import ConditionArray, condition_mask
from numba_ad.tracing.numpy_protocol import FUNCTIONS, ONE_OP_FUNCTIONS, SELECT_UFUNCS
from numba_ad.tracing.object_code import OBJECT_CODE, refuse
from numba_ad.tracing.scalar import Condition, Traced, select

if TYPE_CHECKING:
    from typing import TypeAlias

    from numpy.typing import ArrayLike

    # What where and clip take and give: plain numbers and arrays, or traced ones.
    Operand: TypeAlias = ArrayLike | Traced | TracedArray
    Result: TypeAlias = float | np.ndarray | Traced | TracedArray

_ADD, _IF_TRUE, _IF_FALSE = int(Op.ADD), int(Op.IF_TRUE), int(Op.IF_FALSE)


def _is_traced(v):
    return type(v) is Traced or isinstance(v, Condition)


def _check_condition(cond):
    """cond as booleans, a condition (array), a traced number (array) or an object array of
    those; TypeError otherwise."""
    if type(cond) is TracedArray or isinstance(cond, ConditionArray):
        return cond
    if _is_traced(cond) or isinstance(cond, (bool, np.bool_)):
        return cond
    arr = np.asarray(cond) if not isinstance(cond, np.ndarray) else cond
    if arr.dtype == bool:
        return arr
    if arr.dtype == object:
        bad = [type(v).__name__ for v in arr.ravel() if not (_is_traced(v) or isinstance(v, (bool, np.bool_)))]
        if not bad:
            return arr
        got = f"an object array holding {bad[0]}"
    else:
        got = (
            f"{type(cond).__name__} of dtype {arr.dtype}" if isinstance(cond, np.ndarray) else f"{type(cond).__name__}"
        )
    raise TypeError(
        f"where: the condition must be booleans, comparisons of traced values (x > 0) or "
        f"traced values; got {got}. Compare explicitly, e.g. where(c != 0, a, b)."
    )


_elementwise_where = np.frompyfunc(select, 3, 1)


def _objects(v):
    if type(v) is TracedArray or isinstance(v, ConditionArray):
        return v.to_objects()
    return v


def _broadcast_objects(operands, name):
    """The operands as object arrays broadcast to one shape."""
    operands = [_objects(v) for v in operands]
    shape = ao.broadcast_shape(name, *[np.shape(v) for v in operands])
    return [np.broadcast_to(np.asarray(v, dtype=object) if np.ndim(v) else _box(v), shape) for v in operands]


def _shape(v):
    return (
        v.shape
        if isinstance(v, (TracedArray, ConditionArray, np.ndarray))
        else np.shape(v)
        if isinstance(v, (list, tuple))
        else ()
    )


def where(
    condition: Operand | Condition | ConditionArray, x: Operand | None = None, y: Operand | None = None
) -> Result:
    """x where `condition` holds, else y, elementwise with NumPy broadcasting.

    Returns a traced scalar or array when any argument is traced (a plain NumPy result
    otherwise). On traced conditions nothing is guarded: the tape holds both branches and
    stays valid on both sides, and derivatives flow only through the branch taken (never
    NaN or inf because of the other one). `condition` must be booleans, comparisons of traced
    values (``x > 0``, combined with ``&``, ``|``, ``~``) or traced numbers (true where
    nonzero); any other condition raises TypeError, mismatched shapes ValueError.
    """
    if x is None or y is None:
        raise TypeError(
            "where needs a condition and both branches: where(cond, x, y) "
            "(np.nonzero-style where(cond) is not supported on traced values)"
        )
    cond = _check_condition(condition)
    if all(not isinstance(v, (TracedArray, ConditionArray)) and np.ndim(v) == 0 for v in (cond, x, y)):
        return select(cond, x, y)
    ao.broadcast_shape("where", _shape(cond), _shape(x), _shape(y))
    rec = recording_of([cond, x, y])
    out = (
        NotImplemented
        if rec is None or (isinstance(cond, np.ndarray) and cond.dtype == object)
        else _bulk_where(rec, cond, x, y)
    )
    if out is not NotImplemented:
        return out
    out = _elementwise_where(*_broadcast_objects((cond, x, y), "where"))
    if not any(_is_traced(v) for v in np.ravel(out)):
        return np.asarray(out, dtype=np.float64)
    return wrap(out)


def _bulk_where(rec, cond, x, y):
    """where in blocks: IF_TRUE(m, x) + IF_FALSE(m, y), the ops select records per element."""
    a, b = as_operand(rec, x), as_operand(rec, y)
    if a is None or b is None:
        return NotImplemented
    if type(cond) is TracedArray:  # a number as a condition: true where it is not zero
        mask, inverted = ao.binary(rec, int(Op.EQ), as_operand(rec, cond), ao.constant(0.0), "where"), True
    else:
        mask, inverted = condition_mask(rec, cond)
    if mask.slots is None:  # plain booleans: pick slots, record nothing
        take = (mask.values != 0.0) != inverted
        return result(
            rec,
            ao.Operand(np.where(take, ao.slots_of(rec, a), ao.slots_of(rec, b)), np.where(take, a.values, b.values)),
        )
    if inverted:
        a, b = b, a
    taken = ao.binary(rec, _IF_TRUE, mask, a, "where")
    other = ao.binary(rec, _IF_FALSE, mask, b, "where")
    return result(rec, ao.binary(rec, _ADD, taken, other, "where"))


def _box(v):
    box = np.empty((), dtype=object)
    box[()] = v
    return box


def _scalar_clip(x, lo, hi):
    # np.clip(x, lo, hi) = minimum(maximum(x, lo), hi), NaN passing through. At x == lo or
    # x == hi, x is kept: d/dx = 1 on the closed interval [lo, hi], d/dlo = 1 only where x < lo.
    r = x
    if lo is not None:
        r = select(r < lo if _is_traced(r) or _is_traced(lo) else bool(r < lo), lo, r)
    if hi is not None:
        r = select(r > hi if _is_traced(r) or _is_traced(hi) else bool(r > hi), hi, r)
    return r


_elementwise_clip = np.frompyfunc(_scalar_clip, 3, 1)


def clip(x: Operand, lo: Operand | None = None, hi: Operand | None = None, **kwargs: Any) -> Result:
    """x limited to [lo, hi] elementwise (either bound may be None), recorded as selects.

    Derivative convention: inside the closed interval [lo, hi], bounds included, the result is
    x (d/dx = 1, d/dbound = 0); below lo it is lo (d/dx = 0, d/dlo = 1), above hi it is hi. No
    guard is recorded, so one tape serves every x.
    """
    lo = kwargs.pop("a_min", kwargs.pop("min", lo))
    hi = kwargs.pop("a_max", kwargs.pop("max", hi))
    if kwargs:
        raise TypeError(f"clip on traced values takes x, lo and hi only; got {sorted(kwargs)}")
    if lo is None and hi is None:
        raise ValueError("clip needs at least one of lo and hi")
    if all(type(v) is not TracedArray and np.ndim(v) == 0 for v in (x, lo, hi)):
        return _scalar_clip(x, lo, hi)
    ao.broadcast_shape("clip", _shape(x), _shape(lo), _shape(hi))
    if any(isinstance(v, np.ndarray) and v.dtype == object for v in (x, lo, hi)):  # arrays the user built
        return wrap(_elementwise_clip(*_broadcast_objects((x, lo, hi), "clip")))
    r = x
    if lo is not None:
        r = where(np.less(r, lo), lo, r)
    if hi is not None:
        r = where(np.greater(r, hi), hi, r)
    return r


def nan_to_num(
    x: Operand, copy: bool = True, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None
) -> Result:
    """np.nan_to_num as three selects, recorded as masks (the tape holds both branches of each):
    NumPy's own code on an object array returns it unchanged, so NaN stayed NaN on the tape."""
    if not copy:
        raise TypeError("np.nan_to_num(copy=False) of traced values is not supported: it cannot write into x")
    numbers = (float, int, np.integer, np.floating)
    if any(v is not None and (isinstance(v, bool) or not isinstance(v, numbers)) for v in (nan, posinf, neginf)):
        raise TypeError("np.nan_to_num of traced values takes plain numbers for nan=, posinf= and neginf=")
    big = float(np.finfo(np.float64).max)
    posinf = big if posinf is None else float(posinf)
    neginf = -big if neginf is None else float(neginf)
    r = where(np.not_equal(x, x), float(nan), x)
    r = where(np.equal(r, np.inf), posinf, r)
    return where(np.equal(r, -np.inf), neginf, r)


def fmax(x: Operand, y: Operand) -> Result:
    """np.fmax: np.maximum where neither is NaN, else the one that is not (NaN when both are),
    the NaN tests recorded as masks; derivatives as np.maximum's where neither is NaN."""
    return where(np.not_equal(y, y), x, where(np.not_equal(x, x), y, np.maximum(x, y)))


def fmin(x: Operand, y: Operand) -> Result:
    """np.fmin: np.minimum ignoring a NaN operand, as fmax."""
    return where(np.not_equal(y, y), x, where(np.not_equal(x, x), y, np.minimum(x, y)))


def heaviside(x: Operand, h0: Operand) -> Result:
    """np.heaviside: 0 below zero, 1 above, h0 at zero, NaN at NaN; d/dx = 0, d/dh0 = 1 at zero."""
    step = where(np.less(x, 0.0), 0.0, where(np.greater(x, 0.0), 1.0, h0))
    return where(np.not_equal(x, x), x, step)


SELECT_UFUNCS.update({np.fmax: fmax, np.fmin: fmin, np.heaviside: heaviside})


def _rint(x: Operand) -> Result:
    """NumPy's rint (round half to even) from floor and masks, bit for bit: d = x - floor(x) is
    exact, so the halves are found exactly (floor(x + 0.5) rounds 0.49999999999999994 up);
    NaN and inf pass through floor; a zero result takes x's sign, as rint's does."""
    r = np.floor(x)
    d = x - r
    odd = r - 2.0 * np.floor(r * 0.5)  # 1.0 for odd r, exactly (r is an integer)
    rounded = r + where(np.greater(d, 0.5), 1.0, where(np.equal(d, 0.5), odd, 0.0))
    return where(np.equal(rounded, 0.0), x * 0.0, rounded)


def round_(x: Operand, decimals: int = 0, out: Any = None) -> Result:
    """np.round / np.around as NumPy computes it (x * 10**decimals rounded half to even, divided
    back; negative decimals divide first), from floor and masks: derivative zero, and a replay
    that crosses a rounding boundary recomputes the choice (masks, not guards)."""
    if out is not None:
        raise TypeError("np.round(out=) of traced values is not supported: it cannot write into an array")
    if isinstance(decimals, bool) or not isinstance(decimals, (int, np.integer)):
        raise TypeError(f"np.round of traced values takes an integer decimals; got {decimals!r}")
    decimals = int(decimals)
    if decimals == 0:
        return _rint(x)
    if decimals > 0:
        f = 10.0**decimals
        return _rint(x * f) / f
    f = 10.0**-decimals
    return _rint(x / f) * f


def angle(z: Operand, deg: bool = False) -> Result:
    """np.angle of real input, as NumPy computes it: arctan2(0, z) (pi below zero and at -0.0, 0
    above, NaN at NaN), times 180/pi for deg=True; complex input never reaches a trace."""
    a = np.arctan2(0.0, z)
    return a * (180 / np.pi) if deg else a


# NumPy functions on traced scalars and conditions: np.where and np.clip become selects, the
# functions that are one op (np.sinc) record it, the rest run NumPy's own code as before (no
# other function changes meaning).
def _scalar_spread(func):
    """np.var / np.std of one traced scalar, as NumPy computes them for one number (the mean is
    the value, the deviation x - x: 0, NaN at inf), with derivative zero; std as |x - x|, whose
    derivative is 0 where sqrt's at 0 would make it NaN. Other forms: NotImplemented."""

    def spread(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, **kwargs):
        if type(a) is not Traced or kwargs or axis is not None or dtype is not None or out is not None or keepdims:
            return NotImplemented
        deviation = a - a
        if ddof >= 1:
            return deviation * np.nan  # n - ddof <= 0: NumPy's 0 / 0
        return abs(deviation) if func is np.std else deviation * deviation

    return spread


_SELECTS = {np.where: where, np.clip: clip, np.nan_to_num: nan_to_num, np.round: round_, np.angle: angle}
if hasattr(np, "around"):
    _SELECTS[np.around] = round_
FUNCTIONS.update(_SELECTS)
_SCALAR_FUNCTIONS = {**_SELECTS, **ONE_OP_FUNCTIONS, np.var: _scalar_spread(np.var), np.std: _scalar_spread(np.std)}


def _scalar_array_function(self, func, types, args, kwargs):
    if func in _SCALAR_FUNCTIONS:
        out = _SCALAR_FUNCTIONS[func](*args, **kwargs)
        if out is not NotImplemented:
            return out
    if all(issubclass(t, (Traced, Condition)) for t in types):
        if func not in FUNCTIONS and func not in OBJECT_CODE:
            raise refuse(func)  # the allow-list of arrays holds for scalars too
        return func._implementation(*args, **kwargs)
    return NotImplemented  # let a TracedArray among the arguments handle it


Traced.__array_function__ = _scalar_array_function
Condition.__array_function__ = _scalar_array_function


def _condition_astype(self, dtype, copy=True):
    """ConditionArray.astype, as NumPy's: bool keeps the conditions; a float dtype gives 0/1
    recorded as a select (a mask: the tape holds both values, no guard); others are refused."""
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return self
    if dtype.kind == "f":
        return where(self, 1.0, 0.0)
    raise TypeError(
        f"astype({dtype}) of a condition on traced values: only bool and float (0/1, recorded as a "
        "select) are supported; use .astype(float)"
    )


ConditionArray.astype = _condition_astype
TracedArray.clip = lambda self, lo=None, hi=None, **kwargs: clip(self, lo, hi, **kwargs)
TracedArray.round = lambda self, decimals=0, out=None: round_(self, decimals, out)
