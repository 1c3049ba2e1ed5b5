"""The function-level API: trace, grad, value_and_grad, jacobian, jvp, vjp, Recorder."""
import math

import numpy as np

from .api import Tape, as_real_array
from .errors import BranchChangedError
from .ops import Op
from .tracing import Recording, Traced, _unary
from .tracing_arrays import TracedArray, output_slots, trace_function, wrap


def _start_point(x0, name="x0"):
    x0 = as_real_array(x0, name)
    if x0.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array; got shape {x0.shape}"
                         + (" (use np.atleast_1d for a scalar)" if x0.ndim == 0 else ""))
    return x0


def trace(f, x0, params=None):
    """Record f once at x0 and return its :class:`Tape`.

    f is called as ``f(x)``, or ``f(x, p)`` when `params` is given, with x (and p) 1-D
    arrays of traced scalars. It must return a scalar or a list, tuple or 1-D array of
    scalars. Parameters are not differentiated and may change at every replay.
    """
    x0 = _start_point(x0)
    p0 = None if params is None else _start_point(params, "params")
    arrays, scalar, guard_info = trace_function(f, x0, p0)
    return Tape(arrays, scalar, guard_info)


class TracedFunction:
    """f with a tape recorded at the first call and replayed afterwards.

    When a call leaves the recorded branch (a BranchChangedError), f is traced again at
    the new point. Called as ``fn(x)`` or ``fn(x, p)`` for f(x, p) with parameters p.
    """

    def __init__(self, f):
        self.f = f
        self.tape = None
        self.n_traces = 0

    def _trace(self, x, p):
        self.tape = trace(self.f, x, params=p)
        self.n_traces += 1
        return self.tape

    def _replay(self, method, x, params, *args):
        if len(params) > 1:
            raise TypeError(f"expected fn(x) or fn(x, params); got {1 + len(params)} arguments")
        p = params[0] if params else None
        x = _start_point(x, "x")
        tape = self.tape
        if (tape is None or tape.n_inputs != x.shape[0] or (p is None) != (tape.n_params == 0)
                or (p is not None and np.shape(p) != (tape.n_params,))):
            tape = self._trace(x, p)
        try:
            return getattr(tape, method)(x, *args, params=p)
        except BranchChangedError:
            return getattr(self._trace(x, p), method)(x, *args, params=p)

    def __call__(self, x, *params):
        return self._replay("eval", x, params)


class _Gradient(TracedFunction):
    def __call__(self, x, *params):
        return self._replay("gradient", x, params)


class _ValueAndGradient(TracedFunction):
    def __call__(self, x, *params):
        return self._replay("value_and_gradient", x, params)


class _Jacobian(TracedFunction):
    def __init__(self, f, mode):
        super().__init__(f)
        self.mode = mode

    def __call__(self, x, *params):
        return self._replay("jacobian", x, params, self.mode)


def grad(f):
    """A function x -> gradient of scalar f at x (n,); records at the first call."""
    return _Gradient(f)


def value_and_grad(f):
    """A function x -> (f(x), gradient (n,)); records at the first call."""
    return _ValueAndGradient(f)


def jacobian(f, mode="auto"):
    """A function x -> Jacobian (m, n) of f ((n,) for scalar f); records at the first call."""
    return _Jacobian(f, mode)


def jvp(f, x, v, params=None):
    """(f(x), J(x) v), JAX style."""
    tape = trace(f, x, params)
    return tape.eval(x, params), tape.jvp(x, v, params)


def vjp(f, x, params=None):
    """(f(x), pullback) with pullback(w) = J(x)^T w, JAX style."""
    tape = trace(f, x, params)
    x = np.array(x, dtype=np.float64)  # the pullback keeps its own copy of the point

    def pullback(w):
        return tape.vjp(x, w, params)

    return tape.eval(x, params), pullback


class Recorder:
    """Imperative recording (a Wengert list): create variables, compute, ask for gradients.

    >>> rec = Recorder(); x = rec.variable(2.0); y = rec.variable(3.0)
    >>> rec.gradient(x * y + x ** 2)
    array([7., 2.])
    """

    def __init__(self):
        self._recording = Recording()
        self._x, self._p = [], []

    def variable(self, value):
        """A new differentiated input with the given value (inputs keep creation order)."""
        value = _real_scalar(value, "variable")
        self._x.append(value)
        return self._recording.input(value)

    def parameter(self, value):
        """A new parameter: recorded, replaceable at replay, not differentiated."""
        value = _real_scalar(value, "parameter")
        self._p.append(value)
        return self._recording.param(value)

    def to_tape(self, outputs):
        """A Tape with the given outputs: one value gives a scalar tape, a list a vector one."""
        slots, scalar = output_slots(self._recording, outputs)
        rec = self._recording
        return Tape(rec.arrays(slots), scalar, rec.guard_info)

    def gradient(self, z):
        """Gradient of the scalar z with respect to every variable, in creation order."""
        tape = self.to_tape(z)
        if not tape.scalar_output:
            raise ValueError("gradient takes one scalar; use to_tape(outputs).jacobian(...) for several")
        return tape.gradient(np.array(self._x), params=np.array(self._p) if self._p else None)


def _real_scalar(value, what):
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"a {what} needs a real number; got {type(value).__name__}") from None
    if isinstance(value, complex):
        raise TypeError(f"a {what} needs a real number; got a complex")
    return number


def _special(op, scalar_fn, name):
    def fn(x):
        if type(x) is Traced:
            return _unary(int(op), x)
        if type(x) is TracedArray:
            return wrap(np.frompyfunc(fn, 1, 1)(x._data))
        if np.ndim(x) == 0:
            return scalar_fn(float(x))
        return np.vectorize(scalar_fn, otypes=[np.float64])(x)

    fn.__name__ = name
    fn.__doc__ = (f"{name}(x): recorded as one op on traced values, math.{name} on numbers "
                  f"(elementwise on arrays). NumPy has no {name}; scipy.special.{name} records too.")
    return fn


erf = _special(Op.ERF, math.erf, "erf")
erfc = _special(Op.ERFC, math.erfc, "erfc")
