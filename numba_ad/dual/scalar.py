"""Dual numbers: forward-mode derivatives with no tape, in Python and inside @njit code.

A ``Dual(value, deriv)`` carries a value and its derivative along one direction. Arithmetic
(``+ - * / ** // %``, with float, int or Dual operands), comparisons (on the value only) and
the math and NumPy functions of numba_ad's op table propagate both, with the derivative
conventions of ``ops/table.py`` (abs'(0) = 0, floor/ceil/trunc/sign' = 0, maximum/minimum split
1/2-1/2 at a tie, hypot' = 0 at the origin, d/dy x**y = 0 where x**y = 0) and the tape's
structural zeros (a zero tangent times an infinite partial is 0, not NaN). Write a kernel once
for floats and it runs unchanged on Duals::

    @njit
    def f(x):                          # x: a float64 array or a DualArray
        s = 0.0                        # becomes Dual(0, 0) where it meets a Dual
        for i in range(x.shape[0] - 1):
            s += np.sin(x[i]) * x[i + 1] ** 2
        return s

Arrays of Duals are ``DualArray(value, deriv)``: a pair of 1-D float64 arrays of one shape,
a struct of arrays, not an array of structs. ``a[i]`` reads ``Dual(value[i], deriv[i])``,
``a[i] = d`` writes both (a float writes a zero derivative), ``a[i:j]`` is a DualArray view,
and ``len(a)``, ``a.shape``, ``a.size``, ``a.ndim`` and ``np.sum(a)`` work as on arrays. Why
this layout: a generic kernel indexes it exactly as a float array; the value array can be the
caller's ``x`` itself and the derivative array a seed that the forward drivers (``dual/forward.py``)
flip one entry of per pass, with no copy, no record dtype and no unpacking of structs; and the
two arrays box and unbox as plain NumPy arrays. It holds the arrays it is given (no copy when
they are float64), so writes through it are seen by their owner.

Inside @njit code both types are numba extension types (``dual/types.py``: a two-float struct
model and a two-array struct model; ``dual/overloads.py``: operators and functions), so they
cache with ``@njit(cache=True)`` and a Dual multiply in a loop costs about two float
multiplies. The values and partials of every operation are in ``dual/rules.py``. ``Dual(v, d)``,
``Dual(v)``, ``Dual.variable(x)``, ``Dual.constant(c)`` and ``DualArray(value, deriv)`` work
in both worlds. In plain Python, use NumPy's functions (``np.sin(d)``; SciPy's ``erf``,
``erfc`` too): ``math.sin`` converts its argument to float, which a Dual refuses rather than
drop its derivative. Inside @njit code ``math`` and NumPy functions both work.

Not supported: DualArrays of more than one dimension, iterating over a DualArray in @njit
code (index it), and several derivative lanes per Dual (``dual/forward.py`` makes one pass per input).
"""

import math
import numbers

import numpy as np

from numba_ad.dual import rules
from numba_ad.dual.rules import BINARY, UNARY
from numba_ad.ops.table import DEFS

_chain = getattr(rules.chain, "py_func", rules.chain)  # the kernels' own Python code
_chain2 = getattr(rules.chain2, "py_func", rules.chain2)


DEG = math.pi / 180.0


def _real(x, what):
    if type(x) is float:
        return x
    if isinstance(x, numbers.Real):
        return float(x)
    hint = " (a Dual cannot hold Duals: use .value)" if isinstance(x, Dual) else ""
    raise TypeError(f"a Dual's {what} must be a real number; got {type(x).__name__}{hint}")


class _DualMeta(type):
    """Metaclass of Dual: numba types the class itself as a type reference, which makes
    ``Dual(v, d)``, ``Dual.variable`` and ``Dual.constant`` compile in @njit code."""


class Dual(metaclass=_DualMeta):
    """A value with its derivative along one direction, immutable.

    Parameters
    ----------
    value : float
        The value.
    deriv : float, optional
        Its derivative (tangent); 0 makes a constant.

    Notes
    -----
    Comparisons compare values only: ``Dual(1, 2) == 1.0`` is True and a Dual hashes as its
    value. ``float(d)`` raises TypeError: use ``d.value``.
    """

    __slots__ = ("value", "deriv")

    def __init__(self, value, deriv=0.0):
        _set_value(self, _real(value, "value"))
        _set_deriv(self, _real(deriv, "deriv"))

    @classmethod
    def variable(cls, x):
        """Dual(x, 1.0): the variable that derivatives are taken with respect to."""
        return _new(_real(x, "value"), 1.0)

    @classmethod
    def constant(cls, c):
        """Dual(c, 0.0): a constant."""
        return _new(_real(c, "value"), 0.0)

    def __setattr__(self, name, value):
        raise AttributeError("Dual is immutable: make a new one, Dual(value, deriv)")

    def __delattr__(self, name):
        raise AttributeError("Dual is immutable")

    def __reduce__(self):
        return (Dual, (self.value, self.deriv))

    def __repr__(self):
        return f"Dual({self.value!r}, {self.deriv!r})"

    def __float__(self):
        raise TypeError(
            "converting a Dual to a Python number would drop its derivative: use "
            "d.value. The math module converts to float: in Python use NumPy's "
            "functions (np.sin(d)); inside @njit code math.sin takes Duals."
        )

    __int__ = __index__ = __complex__ = __float__

    def __hash__(self):
        return hash(self.value)

    def __bool__(self):
        return self.value != 0.0

    # -- arithmetic: + - * in Python floats (IEEE, never raise); the rest through the rule
    # kernels, which return inf and NaN where Python would raise.
    def __add__(self, other):
        if type(other) is Dual:
            return _new(self.value + other.value, self.deriv + other.deriv)
        c = _constant(other)
        return NotImplemented if c is None else _new(self.value + c, self.deriv)

    __radd__ = __add__

    def __sub__(self, other):
        if type(other) is Dual:
            return _new(self.value - other.value, self.deriv - other.deriv)
        c = _constant(other)
        return NotImplemented if c is None else _new(self.value - c, self.deriv)

    def __rsub__(self, other):
        c = _constant(other)
        return NotImplemented if c is None else _new(c - self.value, -self.deriv)

    def __mul__(self, other):
        x, dx = self.value, self.deriv
        if type(other) is Dual:
            return _new(x * other.value, _chain2(other.value, dx, x, other.deriv))
        c = _constant(other)
        return NotImplemented if c is None else _new(x * c, _chain(c, dx))

    __rmul__ = __mul__

    def __neg__(self):
        return _new(-self.value, -self.deriv)

    def __pos__(self):
        return self

    def __pow__(self, other, modulo=None):
        if modulo is not None:
            return NotImplemented
        return power(self, other)

    def __rpow__(self, other):
        return power(other, self)

    def __abs__(self):
        return _unary_py(rules.absolute, self)

    def __floor__(self):
        return _unary_py(rules.floor, self)

    def __ceil__(self):
        return _unary_py(rules.ceil, self)

    def __trunc__(self):
        return _unary_py(rules.trunc, self)

    # -- comparisons, on the values
    def __lt__(self, other):
        c = _value_or_none(other)
        return NotImplemented if c is None else self.value < c

    def __le__(self, other):
        c = _value_or_none(other)
        return NotImplemented if c is None else self.value <= c

    def __gt__(self, other):
        c = _value_or_none(other)
        return NotImplemented if c is None else self.value > c

    def __ge__(self, other):
        c = _value_or_none(other)
        return NotImplemented if c is None else self.value >= c

    def __eq__(self, other):
        c = _value_or_none(other)
        return NotImplemented if c is None else self.value == c

    def __ne__(self, other):
        c = _value_or_none(other)
        return NotImplemented if c is None else self.value != c

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        fn = PY_FUNCTIONS.get(ufunc.__name__)
        if fn is None or method != "__call__" or kwargs:
            return NotImplemented
        if any(isinstance(a, np.ndarray) and a.ndim > 0 for a in inputs):
            # Elementwise over object arrays; a Dual operand is wrapped as a 0-d object array
            # so that NumPy does not hand the vectorized ufunc back to this method.
            objects = [np.asarray(a, dtype=object) if type(a) is Dual else a for a in inputs]
            return np.frompyfunc(fn, ufunc.nin, 1)(*objects)
        return fn(*inputs)

    def __array_function__(self, func, types, args, kwargs):
        # NumPy functions that are one op but not ufuncs (np.sinc) take the op's rule; the
        # others run NumPy's own code, as they would without this method.
        name = _ONE_OP_FUNCTIONS.get(func)
        if name is not None and not kwargs and all(type(a) is Dual or _constant(a) is not None for a in args):
            return PY_FUNCTIONS[name](*args)
        return func._implementation(*args, **kwargs)


_ONE_OP_FUNCTIONS = {getattr(np, n): d.dual for d in DEFS.values() for n in d.numpy_function}
_set_value = Dual.value.__set__
_set_deriv = Dual.deriv.__set__


def _new(value, deriv):
    d = object.__new__(Dual)
    _set_value(d, value)
    _set_deriv(d, deriv)
    return d


def _constant(x):
    """x as a float when it is a real number (not a Dual), else None."""
    if type(x) is float:
        return x
    if isinstance(x, numbers.Real) and not isinstance(x, Dual):
        return float(x)
    return None


def _value_or_none(x):
    return x.value if type(x) is Dual else _constant(x)


# ---------------------------------------------------------------------------------------
# Python functions on Duals (and plain numbers): what __array_ufunc__ and object arrays call.
# ---------------------------------------------------------------------------------------
def _unary_py(rule, x):
    v, p = rule(x.value)
    return _new(v, _chain(p, x.deriv))


def _make_unary(name, rule):
    ufunc = getattr(np, name, None)

    def fn(x):
        if type(x) is Dual:
            return _unary_py(rule, x)
        if _constant(x) is not None:
            return rule(float(x))[0]
        raise TypeError(f"{name} expects a Dual or a real number; got {type(x).__name__}")

    fn.__name__ = name
    fn.__doc__ = f"{name}(x) of a Dual, or of a real number" + (f" (as np.{name})" if ufunc else "")
    return fn


def _make_binary(name, rule):
    def fn(x, y):
        if type(x) is Dual:
            if type(y) is Dual:
                v, pa, pb = rule(x.value, y.value)
                return _new(v, _chain2(pa, x.deriv, pb, y.deriv))
            c = _checked_constant(y, name)
            v, pa, _ = rule(x.value, c)
            return _new(v, _chain(pa, x.deriv))
        c = _checked_constant(x, name)
        if type(y) is Dual:
            v, _, pb = rule(c, y.value)
            return _new(v, _chain(pb, y.deriv))
        return rule(c, _checked_constant(y, name))[0]

    fn.__name__ = name
    fn.__doc__ = f"{name}(x, y) of Duals and real numbers"
    return fn


def _checked_constant(x, name):
    c = _constant(x)
    if c is None:
        raise TypeError(f"{name} expects Duals or real numbers; got {type(x).__name__}")
    return c


def power(x, y):
    """x ** y for Duals and real numbers, choosing the op the tracer would record."""
    if type(x) is Dual:
        if type(y) is Dual:
            v, pa, pb = rules.pow_(x.value, y.value)
            return _new(v, _chain2(pa, x.deriv, pb, y.deriv))
        c = _constant(y)
        if c is None:
            return NotImplemented
        v, p = rules.power_const(x.value, c)
        return _new(v, _chain(p, x.deriv))
    c = _constant(x)
    if c is None or type(y) is not Dual:
        return NotImplemented
    v, p = rules.cpow(y.value, c)
    return _new(v, _chain(p, y.deriv))


def _compare(symbol):
    import operator

    op = {
        "<": operator.lt,
        "<=": operator.le,
        ">": operator.gt,
        ">=": operator.ge,
        "==": operator.eq,
        "!=": operator.ne,
    }[symbol]
    return lambda x, y: op(_value_of_checked(x), _value_of_checked(y))


def _value_of_checked(x):
    c = _value_or_none(x)
    if c is None:
        raise TypeError(f"expected a Dual or a real number; got {type(x).__name__}")
    return c


def _predicate(np_fn):
    return lambda x: bool(np_fn(_value_of_checked(x)))


PY_FUNCTIONS = {name: _make_unary(name, rule) for name, rule in UNARY.items()}
PY_FUNCTIONS.update({name: _make_binary(name, rule) for name, rule in BINARY.items()})
PY_FUNCTIONS.update(
    fabs=PY_FUNCTIONS["absolute"],
    power=power,
    float_power=power,
    negative=lambda x: -x,
    positive=lambda x: +x,
    less=_compare("<"),
    less_equal=_compare("<="),
    greater=_compare(">"),
    greater_equal=_compare(">="),
    equal=_compare("=="),
    not_equal=_compare("!="),
    isnan=_predicate(np.isnan),
    isinf=_predicate(np.isinf),
    isfinite=_predicate(np.isfinite),
    # as the tracer records them: a multiply or a divide by the constant pi / 180
    deg2rad=lambda x: x * DEG,
    radians=lambda x: x * DEG,
    rad2deg=lambda x: x / DEG,
    degrees=lambda x: x / DEG,
)
# NumPy's object loops call a method of the element's own name (np.sin(objects) -> x.sin()).
for _name in list(UNARY) + ["arctan2", "hypot"]:
    setattr(Dual, _name, PY_FUNCTIONS[_name])


def _operator(name, reflected):
    fn = PY_FUNCTIONS[name]

    def method(self, other):
        if type(other) is not Dual and _constant(other) is None:
            return NotImplemented  # e.g. an ndarray: its operator runs, and calls the ufunc
        return fn(other, self) if reflected else fn(self, other)

    return method


Dual.__truediv__, Dual.__rtruediv__ = _operator("divide", False), _operator("divide", True)
Dual.__floordiv__, Dual.__rfloordiv__ = _operator("floor_divide", False), _operator("floor_divide", True)
Dual.__mod__, Dual.__rmod__ = _operator("remainder", False), _operator("remainder", True)


def value_of(x):
    """The value of a Dual, or x itself for a real number (in Python and in @njit code)."""
    if type(x) is Dual:
        return x.value
    if _constant(x) is None:
        raise TypeError(f"expected a Dual or a real number; got {type(x).__name__}")
    return x


def deriv_of(x):
    """The derivative of a Dual, or 0.0 for a real number (a constant), in both worlds."""
    if type(x) is Dual:
        return x.deriv
    if _constant(x) is None:
        raise TypeError(f"expected a Dual or a real number; got {type(x).__name__}")
    return 0.0


__all__ = ["Dual", "deriv_of", "power", "value_of"]
