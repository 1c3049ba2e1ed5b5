"""Tracing numba kernels: run an @njit function's Python source on traced values.

Calling a numba ``Dispatcher`` with traced arguments would compile it for Python objects,
and ``math.sin(traced)`` cannot work (a ``Traced`` refuses ``__float__``). So a dispatcher
is traced through a *Python version* of it: a new function with the same code, defaults
and closure as ``dispatcher.py_func``, but whose globals are a copy of the module's in
which the names the code uses are rebound:

* the ``math`` module (under any name) becomes ``MATH``, a shim whose functions record
  the matching op for traced arguments and call the real ``math`` function otherwise, and
  ``from math import sin`` style names become the shim's functions;
* ``numpy``'s float64 allocators (``np.empty``, ``np.zeros``, ``np.full``, ``*_like``...)
  return traced arrays of constants (``TracedArray``), so a kernel may store traced values
  into an ``out`` array it allocated; every other NumPy name is NumPy's own (ufuncs already
  record through ``__array_ufunc__``);
* every @njit helper becomes its own Python version, recursively (memoised per
  dispatcher, so repeated helpers, recursion and mutual recursion work), also when reached
  through a closure cell, a tuple of functions or a module attribute (``helpers.f``).

The kernel's source is never edited, so it stays valid numba: the dispatcher itself still
compiles and runs on float arrays. Control flow on traced values records guards as in any
traced function. Python versions are cached on the dispatcher (a WeakKeyDictionary), so
``ad.grad(kernel)`` retraces without rebuilding them. Globals are snapshotted when the
Python version is first built, as numba freezes them when it compiles.

This module imports numba only to recognise its objects; tracing never runs a kernel.
"""

import contextvars
import math
import types
import weakref

import numpy as np
from numba.core.dispatcher import Dispatcher

from numba_ad.ops.table import DEFS, SCALAR, Op
from numba_ad.tracing.array import TracedArray, recording_of, wrap
from numba_ad.tracing.scalar import Comparison, Traced, _binary, _power, _unary


def _ln(v):
    return _unary(int(Op.LOG), v) if type(v) is Traced else math.log(v)


def _log(x, base=None):
    # math.log(x, b) is log(x) / log(b), as CPython computes it
    return _ln(x) if base is None else _ln(x) / _ln(base)


def _hypot(*args):
    # Python 3.8+ takes any number of coordinates; numba takes two. Folded pairwise.
    result = args[0] if len(args) > 1 else abs(args[0])
    for v in args[1:]:
        traced = type(result) is Traced or type(v) is Traced
        result = _binary(int(Op.HYPOT), result, v) if traced else math.hypot(result, v)
    return result


def _copysign(x, y):
    # The sign bit of y: 1/y < 0 is true for y < 0 and for -0.0 (1/-0.0 = -inf), so the
    # guard this records reproduces math.copysign for every y but NaN's sign bit.
    negative = (1.0 / y < 0.0) if type(y) is Traced else math.copysign(1.0, y) < 0.0
    return -abs(x) if negative else abs(x)


# math name -> the op a call with a traced argument records (or a function recording it).
# Without a traced argument the real math function runs, so constants fold as in Python;
# where it raises on a domain error or overflow (math.log(0.0)), a one-op entry gives the
# IEEE result instead, as numba's compiled math does.
# isnan/isinf/isfinite answer branch decisions: they return a lazy Comparison whose truth
# records an exact guard (NaN is the only x with x != x; |x| == inf; |x| < inf), as x < 0 does.
# floor/ceil/trunc return ints in Python and numba; on traced values they return the
# traced float (a FLOOR/CEIL/TRUNC op), which works as a number but not as an index.
_MATH = {name: op for op, d in DEFS.items() if d.arity == 1 for name in d.math}  # the rows' math spellings
_MATH.update(
    {
        "log": _log,
        "pow": _power,
        "atan2": lambda y, x: _binary(int(Op.ARCTAN2), y, x),
        "hypot": _hypot,
        "copysign": _copysign,
        "degrees": lambda x: x * (180.0 / math.pi),
        "radians": lambda x: x * (math.pi / 180.0),
        "isnan": lambda x: Comparison(x, x, "!="),
        "isinf": lambda x: Comparison(abs(x), math.inf, "=="),
        "isfinite": lambda x: Comparison(abs(x), math.inf, "<"),
    }
)

# NumPy's IEEE results where math raises on constants (math.log(0.0), math.pow(-8.0, 0.5)),
# as numba's compiled math returns them; the ops' own evaluators cover the one-op entries.
_IEEE = {"log": lambda x, base=None: np.log(x) if base is None else np.log(x) / np.log(base), "pow": np.power}

# What to write instead of a math function numba_ad cannot record (default: _NO_OP_HINT).
_MATH_HINTS = {
    "fsum": "use sum(values) or np.sum(values), which record additions",
    "fmod": "write x - y * math.trunc(x / y), which records ops (it may differ from fmod in the last bits)",
    "remainder": "write x - y * math.floor(x / y + 0.5), which records ops (ties round up, not to even)",
    "ldexp": "use x * 2.0 ** k",
    "modf": "use t = math.trunc(x) and x - t",
    "isclose": "write abs(a - b) <= tol, which records a guard",
    "dist": "use math.hypot of the coordinate differences",
}
_NO_OP_HINT = (
    "numba_ad has no op for it; apply it only to values that do not depend on x "
    "(constants, integers), or write it with the math functions numba_ad records"
)


def _recording_in(args):
    """The Recording of the first traced value among args (in lists and tuples too), or None."""
    return recording_of(args)


def _any_traced(args):
    return _recording_in(args) is not None


def _recording(name, record):
    """math.`name` that records `record` (an Op or a function) when an argument is traced."""
    real = getattr(math, name)
    if isinstance(record, Op):
        op = int(record)

        def fn(x):
            if type(x) is Traced:
                return _unary(op, x)
            try:
                return real(x)
            except (ValueError, OverflowError):
                return SCALAR[op](float(x), 0.0, 0.0)
    else:

        def fn(*args):
            for v in args:
                if type(v) is Traced:
                    return record(*args)
            try:
                return real(*args)
            except (ValueError, OverflowError):
                if name not in _IEEE:
                    raise
                with np.errstate(all="ignore"):
                    return float(_IEEE[name](*(np.float64(v) for v in args)))

    fn.__name__, fn.__qualname__ = name, f"math.{name}"
    fn.__doc__ = f"math.{name}, recording an op when an argument is traced (numba_ad)."
    return fn


class _Refused(TypeError):
    """A function numba_ad cannot record was called on traced values (its message says why)."""


def _refusing(real, what, hint):
    """`real`, raising a TypeError naming `what` when called with traced values."""

    def fn(*args, **kwargs):
        if _any_traced(args) or _any_traced(kwargs.values()):
            raise _Refused(f"{what} cannot be applied to traced values while tracing a numba kernel: {hint}")
        return real(*args, **kwargs)

    fn.__name__ = getattr(real, "__name__", "function")
    fn.__wrapped__ = real
    return fn


class _MathShim(types.ModuleType):
    """The math module as traced kernels see it: recording functions, the same constants."""

    def __getattr__(self, name):  # names outside _MATH: constants, and refused functions
        real = getattr(math, name)
        if callable(real):
            supported = ", ".join(sorted(n for n in _MATH if hasattr(math, n)))
            hint = _MATH_HINTS.get(name, _NO_OP_HINT)
            real = _refusing(real, f"math.{name}", f"{hint}. math functions recorded: {supported}")
        setattr(self, name, real)
        return real


MATH = _MathShim("math", "The math module seen by traced numba kernels (numba_ad.tracing.njit).")
for _name, _record in _MATH.items():
    if hasattr(math, _name):  # exp2 and cbrt are new in Python 3.11
        setattr(MATH, _name, _recording(_name, _record))


# The Recording of the traced arguments while a kernel's Python version runs on traced
# values (set by traceable's entry); None otherwise.
_TRACING = contextvars.ContextVar("numba_ad_njit_tracing", default=None)


def _allocator(name):
    """np.`name` returning a TracedArray where NumPy would return float64: numba kernels
    allocate `out = np.empty(m)` and store traced values into it, which float64 cannot hold."""
    real = getattr(np, name)

    def allocate(*args, **kwargs):
        result = real(*args, **kwargs)
        rec = _TRACING.get()
        if rec is None or type(result) is TracedArray:  # numbers, or np.*_like of a traced array
            return result
        if isinstance(result, np.ndarray) and result.dtype == object:
            return wrap(result)  # np.full(n, traced)
        if not isinstance(result, np.ndarray) or result.dtype != np.float64:
            return result  # int, bool, float32...: a real array, as numba's
        if name.startswith("empty"):
            result.fill(0.0)  # numba leaves it uninitialised; zeros make traces reproducible
        return TracedArray(rec, rec.const_slots(result), result)

    allocate.__name__, allocate.__qualname__ = name, f"numpy.{name}"
    allocate.__doc__ = f"np.{name} for traced numba kernels: float64 arrays hold traced values."
    return allocate


class _NumpyShim(types.ModuleType):
    """numpy as traced kernels see it: NumPy itself but for the float64 allocators."""

    def __getattr__(self, name):
        value = getattr(np, name)
        setattr(self, name, value)  # the next lookup is a plain attribute
        return value


NUMPY = _NumpyShim("numpy", "numpy seen by traced numba kernels (numba_ad.tracing.njit).")
_ALLOCATORS = ("empty", "zeros", "ones", "full", "empty_like", "zeros_like", "ones_like", "full_like")
for _name in _ALLOCATORS:
    setattr(NUMPY, _name, _allocator(_name))

# id(real object) -> (real, replacement) for names imported by `from math import sin`.
_SUBSTITUTES = {id(getattr(np, n)): (getattr(np, n), getattr(NUMPY, n)) for n in _ALLOCATORS}
_SUBSTITUTES.update(
    (id(f), (f, getattr(MATH, n))) for n, f in vars(math).items() if callable(f) and not n.startswith("_")
)
del _name, _record


class _ModuleProxy(types.ModuleType):
    """A user module seen by traced kernels: `helpers.f` gives f's Python version."""

    def __init__(self, module):
        super().__init__(module.__name__, module.__doc__)
        self._module = module

    def __getattr__(self, name):
        return _rebind(getattr(self._module, name))


_MODULE_PROXIES = {}

# numba objects that run compiled code only: refused with what to do instead.
_NUMBA_REFUSED = {
    "numba.np.ufunc": "numba.vectorize/guvectorize functions cannot be traced: trace an @njit "
    "function of scalars (a loop over the array) instead",
    "numba.core.ccallback": "numba.cfunc functions cannot be traced: trace an @njit version of "
    "the same Python function instead",
}


def _numba_refusal(value):
    module = type(value).__module__
    for prefix, message in _NUMBA_REFUSED.items():
        if module.startswith(prefix):
            return message
    return None


def _rebind(value):
    """What a global (or closure cell) holding `value` becomes in a Python version."""
    if isinstance(value, Dispatcher):
        return python_version(value)
    if isinstance(value, types.ModuleType):
        if value is math:
            return MATH
        if value is np:
            return NUMPY
        if isinstance(value, (_MathShim, _NumpyShim, _ModuleProxy)):
            return value
        proxy = _MODULE_PROXIES.get(value.__name__)
        if proxy is None or proxy._module is not value:
            proxy = _MODULE_PROXIES[value.__name__] = _ModuleProxy(value)
        return proxy
    hit = _SUBSTITUTES.get(id(value))
    if hit is not None and hit[0] is value:
        return hit[1]
    if type(value) is tuple:  # a tuple of first-class functions
        rebound = tuple(_rebind(v) for v in value)
        return value if all(a is b for a, b in zip(rebound, value)) else rebound
    refusal = _numba_refusal(value)
    if refusal is not None:
        return _refusing(value, f"{type(value).__name__} {getattr(value, '__name__', '')}", refusal)
    return value


def _global_names(code):
    """Names the code (and the functions and comprehensions nested in it) looks up."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


_PYTHON_VERSIONS = weakref.WeakKeyDictionary()  # dispatcher -> its Python version


def python_version(dispatcher):
    """The Python function a traced call of `dispatcher` runs (built once per dispatcher).

    Same code, defaults and closure as ``dispatcher.py_func``; globals and closure cells
    rebound as described in the module docstring.
    """
    fn = _PYTHON_VERSIONS.get(dispatcher)
    if fn is not None:
        return fn
    py_func = dispatcher.py_func
    scope = dict(py_func.__globals__)
    cells = tuple(types.CellType() for _ in py_func.__closure__ or ())
    fn = types.FunctionType(py_func.__code__, scope, py_func.__name__, py_func.__defaults__, cells or None)
    fn.__kwdefaults__ = dict(py_func.__kwdefaults__) if py_func.__kwdefaults__ else None
    fn.__qualname__, fn.__doc__ = py_func.__qualname__, py_func.__doc__
    # Registered before rebinding, so that recursion and mutual recursion find it.
    _PYTHON_VERSIONS[dispatcher] = fn
    try:
        for name in _global_names(py_func.__code__) & scope.keys():
            scope[name] = _rebind(scope[name])
        for old, new in zip(py_func.__closure__ or (), cells):
            try:
                new.cell_contents = _rebind(old.cell_contents)
            except ValueError:  # an empty cell: a name the enclosing function never bound
                pass
    except BaseException:
        del _PYTHON_VERSIONS[dispatcher]
        raise
    return fn


_KERNEL_NOTE = (
    "numba_ad traced the @njit kernel {name} ({where}) by running its Python source "
    "with math.* and @njit helpers recorded. Traced values cannot go through float(), "
    "int(), np.float64() or into int/float32 arrays: drop float() around values that "
    "are floats already, and return outputs as a tuple, a list or an array from "
    "np.empty/np.zeros (float64)."
)
_ENTRIES = weakref.WeakKeyDictionary()  # dispatcher -> traceable(dispatcher)


def traceable(f):
    """The function to trace in place of `f`: f itself, or the Python version of a kernel.

    Parameters
    ----------
    f : callable
        A Python function, or a numba @njit function (a ``Dispatcher``).

    Returns
    -------
    callable
        `f` unchanged unless it is a Dispatcher; for a Dispatcher, a Python function
        running ``f.py_func``'s code with ``math`` functions and @njit helpers replaced by
        recording versions (see :func:`python_version`). TypeErrors raised inside it get a
        note naming the kernel.

    Raises
    ------
    TypeError
        For numba.vectorize, guvectorize and cfunc objects, which run compiled code only.
    """
    if not isinstance(f, Dispatcher):
        refusal = _numba_refusal(f)
        if refusal is not None:
            raise TypeError(f"cannot trace {type(f).__name__} {getattr(f, '__name__', '')}: {refusal}")
        return f
    entry = _ENTRIES.get(f)
    if entry is None:
        fn = python_version(f)
        code = f.py_func.__code__
        note = _KERNEL_NOTE.format(name=code.co_name, where=f"{code.co_filename}:{code.co_firstlineno}")

        def entry(*args, **kwargs):
            token = _TRACING.set(_recording_in(args) or _recording_in(list(kwargs.values())))
            try:
                return fn(*args, **kwargs)
            except TypeError as exc:
                if not isinstance(exc, _Refused) and note not in getattr(exc, "__notes__", ()):
                    exc.add_note(note)
                raise
            finally:
                _TRACING.reset(token)

        entry.__name__, entry.__qualname__, entry.__doc__ = fn.__name__, fn.__qualname__, fn.__doc__
        entry.__wrapped__ = fn
        _ENTRIES[f] = entry
    return entry
