"""NumPy on traced values: the ufunc table, TracedArray, and what f may return.

``TracedArray`` is slot-backed: an int32 array of the slots its elements live in and a
float64 array of their values at the recording point (same shape), on one Recording. A
ufunc on traced arrays broadcasts both with NumPy and records one block of ops
(ufuncs, array_ops); indexing, slicing, reshaping and stores are index manipulations
that record nothing. ``x[i]`` gives a ``Traced`` scalar, so loop-style code records op by op
as before (scalar ops on Traced go through the table below).

Measured (2-core machine, shared): array P1, ``np.sum(100 * (x[1:] - x[:-1]**2)**2 + (1 -
x[:-1])**2)``, traces 0.9 M ops in 2.3-5 ms at n = 1e5 and 9 M ops in 28-40 ms at n = 1e6
(about 200-380 M ops/s); its loop form takes 0.64 µs per op (n = 1000), 0.66 before
TracedArray was slot-backed.

NumPy functions with a bulk meaning are in ``FUNCTIONS`` (numpy_functions, selects); any
other function, and any ufunc call the bulk code cannot take (object arrays of conditions,
ufunc methods other than reduce/accumulate), runs NumPy's own object-array code on the
elements (``fallback``), which records element by element, and the result is packed back
into a TracedArray. np.max and np.min record ``maximum``/``minimum`` chains, not guards.
"""

import math

import numpy as np

from numba_ad.ops.table import DEFS
from numba_ad.tracing import array_ops as ao
from numba_ad.tracing.array import TracedArray, _objects, as_operand, fallback, recording_of, result, wrap
from numba_ad.tracing.array_conditions import CompareArray, ConditionArray
from numba_ad.tracing.object_code import OBJECT_CODE, refuse
from numba_ad.tracing.scalar import (
    Comparison,
    Condition,
    Traced,
    _binary,
    _floor_divide,
    _number,
    _power,
    _remainder,
    _unary,
)
from numba_ad.tracing.ufuncs import COMPARISONS, LOGICAL, REDUCTIONS, bulk_handler, condition_part, logical


def _u(op):
    handler = lambda x: _unary(int(op), x)  # noqa: E731
    handler.op = int(op)  # ufuncs records the same op in bulk
    return handler


def _b(op):
    handler = lambda x, y: _binary(int(op), x, y)  # noqa: E731
    handler.op = int(op)
    return handler


def _cmp(symbol):
    def compare(x, y):
        return Comparison(x, y, symbol)

    return compare


_DEG = math.pi / 180.0

# The ufuncs an op's row names record that op; the others are compositions or conditions.
UFUNCS = {getattr(np, name): (_u if d.arity == 1 else _b)(op) for op, d in DEFS.items() for name in d.numpy}
UFUNCS.update(
    {
        np.power: _power,
        np.float_power: _power,
        np.positive: lambda x: x,
        np.floor_divide: _floor_divide,
        np.remainder: _remainder,
        np.deg2rad: lambda x: x * _DEG,
        np.radians: lambda x: x * _DEG,
        np.rad2deg: lambda x: x / _DEG,
        np.degrees: lambda x: x / _DEG,
        np.conjugate: lambda x: x,  # traced values are real
        np.less: _cmp("<"),
        np.less_equal: _cmp("<="),
        np.greater: _cmp(">"),
        np.greater_equal: _cmp(">="),
        np.equal: _cmp("=="),
        np.not_equal: _cmp("!="),
        np.logical_and: lambda x, y: _condition(x) & _condition(y),
        np.logical_or: lambda x, y: _condition(x) | _condition(y),
        np.logical_xor: lambda x, y: _condition(x) ^ _condition(y),
        np.logical_not: lambda x: ~_condition(x),
        np.invert: lambda x: ~_boolean(x),  # & | ^ ~ as on NumPy booleans: logical, never bitwise
        np.bitwise_and: lambda x, y: _boolean(x) & _boolean(y),
        np.bitwise_or: lambda x, y: _boolean(x) | _boolean(y),
        np.bitwise_xor: lambda x, y: _boolean(x) ^ _boolean(y),
    }
)


def _condition(v):
    """v as a Condition (a number's truth is v != 0), combined lazily by & | ~."""
    if isinstance(v, Condition):
        return v
    if type(v) is Traced:
        return Comparison(v, 0.0, "!=")
    return bool(v)


def _boolean(v):
    if type(v) is Traced:
        raise TypeError(
            "& | ^ ~ of a traced number: they are bitwise on integers, and numba_ad traces "
            "real numbers. Use them on comparisons (x > 0) & (x < 1), or np.logical_and."
        )
    return _condition(v)


def _give_traced_numpy_methods():
    """Traced's NumPy protocol, attached here because arrays build on scalars, not the reverse.

    ``__array_ufunc__`` makes np.sin(traced) record; and since NumPy's object-dtype loops call
    a method named after the ufunc on each element (np.sin on an object array calls
    elem.sin()), Traced also gets those methods, so arrays users build themselves with
    np.array([x[0], x[1]]) record the same ops as TracedArray does."""
    Traced.__array_ufunc__ = lambda self, ufunc, method, *inputs, **kwargs: apply_ufunc(ufunc, method, inputs, kwargs)
    Condition.__array_ufunc__ = Traced.__array_ufunc__  # np.logical_and(x[0] > 0, x[1] > 0) stays lazy
    for cls in (TracedArray, ConditionArray):
        cls.__array_ufunc__ = Traced.__array_ufunc__
        cls.__array_function__ = lambda self, func, types, args, kwargs: array_function(func, args, kwargs)
    for ufunc, handler in UFUNCS.items():
        name = ufunc.__name__
        if ufunc.nin in (1, 2) and not hasattr(Traced, name):
            setattr(Traced, name, handler)


# SciPy's special functions are ufuncs too: recognised by name (the rows' scipy spellings), so
# SciPy stays optional.
_BY_NAME = {name: (_u if d.arity == 1 else _b)(op) for op, d in DEFS.items() for name in d.scipy}
_SCIPY_NAMES = ", ".join(f"scipy.special.{n}" for n in sorted(_BY_NAME))

# The same ufuncs on traced arrays: each records its scalar handler's ops, one block per op.
_BULK = {
    ufunc: bulk_handler(ufunc, handler)
    for ufunc, handler in UFUNCS.items()
    if ufunc not in COMPARISONS and ufunc not in LOGICAL
}
_BULK_BY_NAME = {name: bulk_handler(None, handler) for name, handler in _BY_NAME.items()}


# Ufuncs recorded as selects (np.fmax, np.heaviside): tracing.selects fills it, on scalars and
# arrays alike, since a select of arrays is recorded in bulk by where.
SELECT_UFUNCS = {}


def _handler(ufunc):
    handler = UFUNCS.get(ufunc)
    if handler is None and type(ufunc) is np.ufunc and ufunc.__name__ in _BY_NAME:
        handler = _BY_NAME[ufunc.__name__] if ufunc is not getattr(np, ufunc.__name__, None) else None
    if handler is None:
        raise TypeError(
            f"np.{ufunc.__name__} is not supported on traced values; supported ufuncs: "
            + ", ".join(sorted(u.__name__ for u in (*UFUNCS, *SELECT_UFUNCS)))
            + ", "
            + _SCIPY_NAMES
        )
    return handler


def apply_scalar(ufunc, args):
    """ufunc applied to scalars, recording an op when any of them is traced."""
    if ufunc not in LOGICAL and any(isinstance(v, Condition) for v in args):
        # A condition used as a number is its truth, with a guard: as (x[0] > 0) * 2.0 in Python.
        args = tuple(int(v) if isinstance(v, Condition) else v for v in args)
    for v in args:
        if type(v) is Traced or isinstance(v, Condition):
            return _handler(ufunc)(*args)
    return ufunc(*args)  # constants only: folded by NumPy, nothing recorded


# ---------------------------------------------------------------------------------------
# Dispatch of ufuncs and NumPy functions.
# ---------------------------------------------------------------------------------------
def _scalar_like(v):
    return type(v) is Traced or isinstance(v, Condition) or _number(v) is not None


# np.sin(x[i]) in loop-style code: a unary ufunc that is one op, on one traced scalar, records
# it without the general dispatch below (the ufuncs of the op table with arity 1)
_UNARY_OPS = {
    getattr(np, name): int(op)
    for op, d in DEFS.items()
    if d.arity == 1
    for name in d.numpy
    if getattr(UFUNCS.get(getattr(np, name)), "op", None) == int(op)  # still _u(op)'s handler
}


def apply_ufunc(ufunc, method, inputs, kwargs):
    """The __array_ufunc__ of Traced, Condition, TracedArray and ConditionArray."""
    if len(inputs) == 1 and not kwargs and type(inputs[0]) is Traced and method == "__call__":
        op = _UNARY_OPS.get(ufunc)
        if op is not None:
            return _unary(op, inputs[0])
    if "out" in kwargs or "where" in kwargs:
        raise TypeError(f"np.{ufunc.__name__} with out= or where= is not supported on traced values")
    if ufunc is np.matmul:
        return (
            _matmul(*inputs)
            if method == "__call__" and not kwargs
            else fallback(getattr(ufunc, method), inputs, kwargs)
        )
    if method == "__call__" and ufunc in SELECT_UFUNCS and not kwargs:
        return SELECT_UFUNCS[ufunc](*inputs)
    if method == "__call__" and all(_scalar_like(v) for v in inputs):
        return apply_scalar(ufunc, inputs)
    if ufunc.nout != 1:
        raise TypeError(f"np.{ufunc.__name__} is not supported on traced values")
    _handler(ufunc)  # fail early, naming the ufunc
    kwargs.pop("dtype", None)
    out = _bulk_ufunc(ufunc, method, inputs, kwargs)
    if out is not NotImplemented:
        return out
    elementwise = np.frompyfunc(lambda *args: apply_scalar(ufunc, args), ufunc.nin, 1)
    objects = [_objects(v) for v in inputs]
    out = getattr(elementwise, method)(*objects, **kwargs)
    if method == "at" and type(inputs[0]) is TracedArray:  # np.add.at(a, i, v) works in place
        inputs[0][...] = objects[0]
    return wrap(out)


def _bulk_ufunc(ufunc, method, inputs, kwargs):
    rec = recording_of(inputs)
    if rec is None or method not in ("__call__", "reduce", "accumulate"):
        return NotImplemented
    if method == "__call__" and ufunc in LOGICAL:
        bitwise = ufunc in (np.bitwise_and, np.bitwise_or, np.bitwise_xor, np.invert)
        parts = [
            condition_part(rec, v, bitwise, as_operand(rec, v) if type(v) is TracedArray else None) for v in inputs
        ]
        return NotImplemented if any(p is None for p in parts) else logical(rec, LOGICAL[ufunc], parts)
    operands = [as_operand(rec, v) for v in inputs]
    if any(x is None for x in operands):
        return NotImplemented
    if method == "__call__":
        if ufunc in COMPARISONS:
            return CompareArray(rec, *operands, COMPARISONS[ufunc])
        bulk = _BULK.get(ufunc) or _BULK_BY_NAME[ufunc.__name__]
        return result(rec, bulk(rec, *operands))
    x = operands[0]
    if ufunc not in REDUCTIONS or x.slots is None or not set(kwargs) <= {"axis", "keepdims"}:
        return NotImplemented
    if method == "reduce":
        return result(
            rec,
            ao.reduce(rec, REDUCTIONS[ufunc], x, kwargs.get("axis", 0), kwargs.get("keepdims", False), ufunc.__name__),
        )
    if method == "accumulate" and "keepdims" not in kwargs:
        return result(rec, ao.accumulate(rec, REDUCTIONS[ufunc], x, kwargs.get("axis", 0)))
    return NotImplemented


def _matmul(a, b):
    rec = recording_of((a, b))
    x, y = as_operand(rec, a), as_operand(rec, b)
    if x is None or y is None or x.values.ndim not in (1, 2) or y.values.ndim not in (1, 2):
        return fallback(np.matmul, (a, b), {})
    return result(rec, ao.matmul(rec, x, y))


# NumPy functions given their own meaning on traced arrays (numpy_functions, selects); the
# rest run NumPy's object code. A function may answer NotImplemented: the fallback runs then.
FUNCTIONS = {}


def _one_op_function(op):
    """A NumPy function that is one op elementwise but not a ufunc (np.sinc), recorded as one."""
    scalar = (_u if DEFS[op].arity == 1 else _b)(op)
    bulk = bulk_handler(None, scalar)

    def record(*args, **kwargs):
        if kwargs or len(args) != DEFS[op].arity:
            return NotImplemented
        rec = recording_of(args)
        if rec is None:
            return NotImplemented
        if all(type(v) is not TracedArray for v in args):
            return scalar(*args)
        operands = [as_operand(rec, v) for v in args]
        if any(x is None for x in operands):
            return NotImplemented
        return result(rec, bulk(rec, *operands))

    return record


ONE_OP_FUNCTIONS = {getattr(np, name): _one_op_function(op) for op, d in DEFS.items() for name in d.numpy_function}
FUNCTIONS.update(ONE_OP_FUNCTIONS)


def array_function(func, args, kwargs):
    implementation = FUNCTIONS.get(func)
    if implementation is not None:
        out = implementation(*args, **kwargs)
        if out is not NotImplemented:
            return out
    elif func not in OBJECT_CODE:
        raise refuse(func)
    return fallback(func, args, kwargs)


_give_traced_numpy_methods()
