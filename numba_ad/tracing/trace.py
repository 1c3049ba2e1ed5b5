"""Running the user's f on traced values: the entry point of the tracing layer."""

import numpy as np

from numba_ad._progress import Task
from numba_ad.tape.arrays import INDEX_DTYPE
from numba_ad.tracing.array import TracedArray
from numba_ad.tracing.array_conditions import ConditionArray
from numba_ad.tracing.njit import traceable
from numba_ad.tracing.scalar import Condition, Recording, Traced, _number


def _scalar_output(rec, v, where):
    if type(v) is Traced:
        if v._rec is not rec:
            raise ValueError("f returned a traced value from another recording")
        return v.slot
    if isinstance(v, (Condition, ConditionArray)):
        raise TypeError(
            f"f returned a comparison{where}; return numbers (ad.where(cond, 1.0, 0.0) gives a condition as a number)"
        )
    number = _number(v)
    if number is None:
        raise TypeError(f"f must return real numbers; got a {type(v).__name__}{where}")
    return rec.const(number)  # an output that does not depend on x: zero derivatives


def output_slots(rec, result):
    """Slots of what f returned, and whether it was a scalar: a traced scalar or number is a
    scalar; a list, tuple or 1-D array of them a vector (m >= 1)."""
    if type(result) is TracedArray:
        if result._rec is not rec:
            raise ValueError("f returned a traced value from another recording")
        if result.ndim == 0:
            return [int(result.slots)], True
        if result.ndim == 1 and result.size:
            return result.slots.astype(INDEX_DTYPE), False
        result = result.values  # the shape and size errors below
    if isinstance(result, np.ndarray):
        if result.ndim == 0:
            return [_scalar_output(rec, result[()], "")], True
        if result.ndim != 1:
            raise ValueError(
                f"f must return a scalar or a 1-D sequence of scalars; got an array of "
                f"shape {result.shape} (flatten it with .ravel())"
            )
        result = list(result)
    if isinstance(result, (list, tuple)):
        if len(result) == 0:
            raise ValueError("f returned an empty sequence; a tape needs at least one output")
        return [_scalar_output(rec, v, f" at position {i}") for i, v in enumerate(result)], False
    return [_scalar_output(rec, result, "")], True


def trace_function(f, x0, p0=None):
    """Run f on traced copies of x0 (and p0); return (TapeArrays, scalar_output, guard_info)."""
    name = getattr(f, "__name__", type(f).__name__)
    f = traceable(f)  # an @njit kernel runs as its Python source (tracing/njit.py)
    rec = Recording()
    # a trace that runs for seconds says how many ops it has recorded (read by the watcher thread)
    with Task(f"tracing {name}", unit="ops", count=rec.next_slot):
        x0 = np.array(x0, dtype=np.float64)
        x = TracedArray(rec, rec.input_block(x0), x0)
        if p0 is None:
            result = f(x)
        else:
            p0 = np.array(p0, dtype=np.float64)
            result = f(x, TracedArray(rec, rec.input_block(p0, param=True), p0))
        outputs, scalar = output_slots(rec, result)
        return rec.arrays(outputs), scalar, tuple(rec.guard_info)
