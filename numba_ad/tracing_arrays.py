"""NumPy on traced values: the ufunc table, TracedArray, and what f may return.

``TracedArray`` wraps a NumPy object array whose elements are ``Traced`` scalars (or plain
numbers). Ufuncs apply elementwise through the table below, with NumPy's broadcasting;
other NumPy functions (sum, dot, cumsum, concatenate, ...) run NumPy's own object-array
code, whose Python arithmetic on the elements records the ops. np.max and np.min record
``maximum``/``minimum`` ops rather than comparisons, so they need no guard.
"""
import math

import numpy as np

from .njit_tracing import traceable
from .ops import Op
from .tracing import (Comparison, Condition, Recording, Traced, _binary, _floor_divide, _number, _power, _remainder,
                      _unary)


def _u(op):
    return lambda x: _unary(int(op), x)


def _b(op):
    return lambda x, y: _binary(int(op), x, y)


def _cmp(symbol):
    def compare(x, y):
        return Comparison(x, y, symbol)

    return compare


_DEG = math.pi / 180.0

UFUNCS = {
    np.add: _b(Op.ADD), np.subtract: _b(Op.SUB), np.multiply: _b(Op.MUL),
    np.true_divide: _b(Op.DIV), np.power: _power, np.float_power: _power,
    np.arctan2: _b(Op.ARCTAN2), np.hypot: _b(Op.HYPOT),
    np.minimum: _b(Op.MINIMUM), np.maximum: _b(Op.MAXIMUM),
    np.negative: _u(Op.NEG), np.positive: lambda x: x, np.absolute: _u(Op.ABS), np.fabs: _u(Op.ABS),
    np.sqrt: _u(Op.SQRT), np.cbrt: _u(Op.CBRT), np.exp: _u(Op.EXP), np.exp2: _u(Op.EXP2),
    np.expm1: _u(Op.EXPM1), np.log: _u(Op.LOG), np.log2: _u(Op.LOG2), np.log10: _u(Op.LOG10),
    np.log1p: _u(Op.LOG1P), np.sin: _u(Op.SIN), np.cos: _u(Op.COS), np.tan: _u(Op.TAN),
    np.arcsin: _u(Op.ARCSIN), np.arccos: _u(Op.ARCCOS), np.arctan: _u(Op.ARCTAN),
    np.sinh: _u(Op.SINH), np.cosh: _u(Op.COSH), np.tanh: _u(Op.TANH),
    np.arcsinh: _u(Op.ARCSINH), np.arccosh: _u(Op.ARCCOSH), np.arctanh: _u(Op.ARCTANH),
    np.square: _u(Op.SQUARE), np.reciprocal: _u(Op.RECIPROCAL),
    np.floor: _u(Op.FLOOR), np.ceil: _u(Op.CEIL), np.trunc: _u(Op.TRUNC), np.sign: _u(Op.SIGN),
    np.floor_divide: _floor_divide, np.remainder: _remainder,
    np.deg2rad: lambda x: x * _DEG, np.rad2deg: lambda x: x / _DEG,
    np.less: _cmp("<"), np.less_equal: _cmp("<="), np.greater: _cmp(">"),
    np.greater_equal: _cmp(">="), np.equal: _cmp("=="), np.not_equal: _cmp("!="),
    np.logical_and: lambda x, y: _condition(x) & _condition(y),
    np.logical_or: lambda x, y: _condition(x) | _condition(y),
    np.logical_xor: lambda x, y: _condition(x) ^ _condition(y),
    np.logical_not: lambda x: ~_condition(x),
    np.invert: lambda x: ~_boolean(x),  # & | ^ ~ as on NumPy booleans: logical, never bitwise
    np.bitwise_and: lambda x, y: _boolean(x) & _boolean(y),
    np.bitwise_or: lambda x, y: _boolean(x) | _boolean(y),
    np.bitwise_xor: lambda x, y: _boolean(x) ^ _boolean(y),
}


def _condition(v):
    """v as a Condition (a number's truth is v != 0), combined lazily by & | ~."""
    if isinstance(v, Condition):
        return v
    if type(v) is Traced:
        return Comparison(v, 0.0, "!=")
    return bool(v)


def _boolean(v):
    if type(v) is Traced:
        raise TypeError("& | ^ ~ of a traced number: they are bitwise on integers, and numba_ad traces "
                        "real numbers. Use them on comparisons (x > 0) & (x < 1), or np.logical_and.")
    return _condition(v)

def _give_traced_numpy_methods():
    """Traced's NumPy protocol, attached here because arrays build on scalars, not the reverse.

    ``__array_ufunc__`` makes np.sin(traced) record; and since NumPy's object-dtype loops call
    a method named after the ufunc on each element (np.sin on an object array calls
    elem.sin()), Traced also gets those methods, so arrays users build themselves with
    np.array([x[0], x[1]]) record the same ops as TracedArray does."""
    Traced.__array_ufunc__ = lambda self, ufunc, method, *inputs, **kwargs: apply_ufunc(
        ufunc, method, inputs, kwargs)
    Condition.__array_ufunc__ = Traced.__array_ufunc__  # np.logical_and(x[0] > 0, x[1] > 0) stays lazy
    for ufunc, handler in UFUNCS.items():
        name = ufunc.__name__
        if ufunc.nin in (1, 2) and not hasattr(Traced, name):
            setattr(Traced, name, handler)

# SciPy's erf and erfc are ufuncs too: recognised by name, so SciPy stays optional.
_BY_NAME = {"erf": _u(Op.ERF), "erfc": _u(Op.ERFC)}


def _handler(ufunc):
    handler = UFUNCS.get(ufunc)
    if handler is None and type(ufunc) is np.ufunc and ufunc.__name__ in _BY_NAME:
        handler = _BY_NAME[ufunc.__name__] if ufunc is not getattr(np, ufunc.__name__, None) else None
    if handler is None:
        raise TypeError(f"np.{ufunc.__name__} is not supported on traced values; supported ufuncs: "
                        + ", ".join(sorted(u.__name__ for u in UFUNCS)) + ", scipy.special.erf/erfc")
    return handler


def apply_scalar(ufunc, args):
    """ufunc applied to scalars, recording an op when any of them is traced."""
    for v in args:
        if type(v) is Traced or isinstance(v, Condition):
            return _handler(ufunc)(*args)
    return ufunc(*args)  # constants only: folded by NumPy, nothing recorded


def _unwrap(v):
    """The object array behind a TracedArray; a Traced as a 0-d object array."""
    if type(v) is TracedArray:
        return v._data
    if type(v) is Traced:
        box = np.empty((), dtype=object)
        box[()] = v
        return box
    if isinstance(v, (list, tuple)):
        return type(v)(_unwrap(e) for e in v)
    return v


def _index(index):
    """An index into the object array; a traced index fails with Traced.__index__'s message."""
    if type(index) is Traced:
        index.__index__()
    return index._data if type(index) is TracedArray else index


def wrap(result):
    """TracedArray for object arrays, the element for 0-d ones, anything else unchanged."""
    if isinstance(result, np.ndarray) and result.dtype == object:
        return result[()] if result.ndim == 0 else TracedArray(result)
    if isinstance(result, tuple):
        return tuple(wrap(r) for r in result)
    return result


def apply_ufunc(ufunc, method, inputs, kwargs):
    """The __array_ufunc__ of Traced and TracedArray."""
    if "out" in kwargs or "where" in kwargs:
        raise TypeError(f"np.{ufunc.__name__} with out= or where= is not supported on traced values")
    if ufunc is np.matmul:
        return wrap(np.matmul(*[_unwrap(v) for v in inputs]))  # object matmul: Python * and +
    scalar = method == "__call__" and all(type(v) is Traced or isinstance(v, Condition) or _number(v) is not None
                                          for v in inputs)
    if scalar:
        return apply_scalar(ufunc, inputs)
    if ufunc.nout != 1:
        raise TypeError(f"np.{ufunc.__name__} is not supported on traced values")
    _handler(ufunc)  # fail early, naming the ufunc
    elementwise = np.frompyfunc(lambda *args: apply_scalar(ufunc, args), ufunc.nin, 1)
    kwargs.pop("dtype", None)
    return wrap(getattr(elementwise, method)(*[_unwrap(v) for v in inputs], **kwargs))


def _extreme(ufunc):
    def reduce(a, axis=None, keepdims=False, **kwargs):
        if kwargs:
            raise TypeError(f"np.{ufunc.__name__}.reduce on traced values takes only axis and keepdims")
        data = _unwrap(a)
        if axis is None:
            data, axis = data.ravel(), 0
        return apply_ufunc(ufunc, "reduce", (data,), dict(axis=axis, keepdims=keepdims))

    return reduce


# NumPy functions given their own meaning on traced arrays; the rest run NumPy's object code.
FUNCTIONS = {np.max: _extreme(np.maximum), np.amax: _extreme(np.maximum),
             np.min: _extreme(np.minimum), np.amin: _extreme(np.minimum)}


class TracedArray:
    """An array of traced scalars that behaves like a NumPy array while f is traced."""

    __slots__ = ("_data",)
    __array_priority__ = 1000

    def __init__(self, data):
        self._data = data

    @classmethod
    def from_scalars(cls, scalars):
        data = np.empty(len(scalars), dtype=object)
        data[:] = scalars
        return cls(data)

    shape = property(lambda self: self._data.shape)
    ndim = property(lambda self: self._data.ndim)
    size = property(lambda self: self._data.size)
    dtype = property(lambda self: np.dtype(np.float64))  # what the traced values stand for
    T = property(lambda self: TracedArray(self._data.T))

    def __len__(self):
        return len(self._data)

    def __iter__(self):
        return (wrap(v) if isinstance(v, np.ndarray) else v for v in self._data)

    def __getitem__(self, index):
        return wrap(self._data[_index(index)])

    def __setitem__(self, index, value):
        value = value._data if type(value) is TracedArray else value
        self._data[_index(index)] = value

    def __repr__(self):
        return f"TracedArray(shape={self.shape})"

    def __array__(self, dtype=None, copy=None):
        if dtype is not None and np.dtype(dtype) != object:
            raise TypeError(f"cannot convert traced values to {np.dtype(dtype)} while tracing; keep "
                            "them in NumPy operations, which record ops")
        return self._data

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return apply_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        if func in FUNCTIONS:
            return FUNCTIONS[func](*args, **kwargs)
        return wrap(func(*_unwrap(args), **{k: _unwrap(v) for k, v in kwargs.items()}))

    def _method(name):  # noqa: N805 - builds methods from NumPy functions at class creation
        fn = getattr(np, name)
        return lambda self, *args, **kwargs: fn(self, *args, **kwargs)

    sum, prod, mean, dot = _method("sum"), _method("prod"), _method("mean"), _method("dot")
    cumsum, cumprod, max, min = _method("cumsum"), _method("cumprod"), _method("max"), _method("min")
    ravel = _method("ravel")
    del _method

    def reshape(self, *shape, order="C"):
        """As ndarray.reshape: x.reshape(2, 3) and x.reshape((2, 3)) both work."""
        return np.reshape(self, shape[0] if len(shape) == 1 else shape, order=order)

    def transpose(self, *axes):
        """As ndarray.transpose: X.transpose(1, 0), X.transpose((1, 0)) and X.transpose()."""
        return np.transpose(self, (axes[0] if len(axes) == 1 else axes) or None)

    def copy(self):
        return TracedArray(self._data.copy())

    def tolist(self):
        return self._data.tolist()

    def _binary_operator(ufunc, reflected=False):  # noqa: N805
        if reflected:
            return lambda self, other: ufunc(other, self)
        return lambda self, other: ufunc(self, other)

    __add__, __radd__ = _binary_operator(np.add), _binary_operator(np.add, True)
    __sub__, __rsub__ = _binary_operator(np.subtract), _binary_operator(np.subtract, True)
    __mul__, __rmul__ = _binary_operator(np.multiply), _binary_operator(np.multiply, True)
    __truediv__, __rtruediv__ = _binary_operator(np.true_divide), _binary_operator(np.true_divide, True)
    __pow__, __rpow__ = _binary_operator(np.power), _binary_operator(np.power, True)
    __floordiv__, __rfloordiv__ = _binary_operator(np.floor_divide), _binary_operator(np.floor_divide, True)
    __mod__, __rmod__ = _binary_operator(np.remainder), _binary_operator(np.remainder, True)
    __matmul__, __rmatmul__ = _binary_operator(np.matmul), _binary_operator(np.matmul, True)
    __lt__, __le__ = _binary_operator(np.less), _binary_operator(np.less_equal)
    __gt__, __ge__ = _binary_operator(np.greater), _binary_operator(np.greater_equal)
    __eq__, __ne__ = _binary_operator(np.equal), _binary_operator(np.not_equal)
    __and__, __rand__ = _binary_operator(np.bitwise_and), _binary_operator(np.bitwise_and, True)
    __or__, __ror__ = _binary_operator(np.bitwise_or), _binary_operator(np.bitwise_or, True)
    __xor__, __rxor__ = _binary_operator(np.bitwise_xor), _binary_operator(np.bitwise_xor, True)
    __hash__ = None
    del _binary_operator

    def __neg__(self):
        return np.negative(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return np.absolute(self)

    def __invert__(self):
        return np.invert(self)


def _scalar_output(rec, v, where):
    if type(v) is Traced:
        if v._rec is not rec:
            raise ValueError("f returned a traced value from another recording")
        return v.slot
    if isinstance(v, Condition):
        raise TypeError(f"f returned a comparison{where}; return numbers (ad.where(cond, 1.0, 0.0) "
                        "gives a condition as a number)")
    number = _number(v)
    if number is None:
        raise TypeError(f"f must return real numbers; got a {type(v).__name__}{where}")
    return rec.const(number)  # an output that does not depend on x: zero derivatives


def output_slots(rec, result):
    """Slots of what f returned, and whether it was a scalar: a traced scalar or number is a
    scalar; a list, tuple or 1-D array of them a vector (m >= 1)."""
    if isinstance(result, TracedArray):
        result = result._data
    if isinstance(result, np.ndarray):
        if result.ndim == 0:
            return [_scalar_output(rec, result[()], "")], True
        if result.ndim != 1:
            raise ValueError(f"f must return a scalar or a 1-D sequence of scalars; got an array of "
                             f"shape {result.shape} (flatten it with .ravel())")
        result = list(result)
    if isinstance(result, (list, tuple)):
        if len(result) == 0:
            raise ValueError("f returned an empty sequence; a tape needs at least one output")
        return [_scalar_output(rec, v, f" at position {i}") for i, v in enumerate(result)], False
    return [_scalar_output(rec, result, "")], True


_give_traced_numpy_methods()


def trace_function(f, x0, p0=None):
    """Run f on traced copies of x0 (and p0); return (TapeArrays, scalar_output, guard_info)."""
    f = traceable(f)  # an @njit kernel runs as its Python source (njit_tracing.py)
    rec = Recording()
    x = TracedArray.from_scalars([rec.input(v) for v in x0])
    if p0 is None:
        result = f(x)
    else:
        result = f(x, TracedArray.from_scalars([rec.param(v) for v in p0]))
    outputs, scalar = output_slots(rec, result)
    return rec.arrays(outputs), scalar, tuple(rec.guard_info)
