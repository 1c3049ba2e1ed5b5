"""The function-level API: grad, value_and_grad, jacobian, hessian, hvp, jvp, vjp, Recorder.

grad, value_and_grad, jacobian, hessian and hvp are transformations served by
function.Function, which caches one tape per branch of f."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike

from numba_ad.api.function_cache import BranchPolicy, Function
from numba_ad.api.record import trace
from numba_ad.api.tape import Tape
from numba_ad.dual.scalar import PY_FUNCTIONS, Dual
from numba_ad.ops.table import DEFS, Op
from numba_ad.tracing.array import TracedArray, wrap
from numba_ad.tracing.scalar import Recording, Traced, _unary
from numba_ad.tracing.trace import output_slots


class Transformed:
    """A transformation of f (its gradient, value and gradient, Jacobian) served by an
    :class:`~numba_ad.Function`: the tapes are cached per branch and replayed.

    Called as ``g(x)`` or ``g(x, p)``. ``g.stats()`` and ``g.function`` show the cache.
    """

    def __init__(self, function: Function, method: str, args: tuple = (), pick: int | None = None) -> None:
        self.function = function
        self._method, self._args, self._pick = method, args, pick

    def __call__(self, x: ArrayLike, *params: ArrayLike) -> Any:
        result = self.function._run(self._method, x, params, *self._args)
        return result if self._pick is None else result[self._pick]

    def stats(self) -> dict[str, int]:
        """The cache's counts: see Function.stats."""
        return self.function.stats()

    tape = property(lambda self: self.function.tape, doc="the tape used last")
    n_traces = property(lambda self: self.function.n_traces, doc="times f was traced")


def grad(f: Callable, max_tapes: int = 64, on_branch_change: BranchPolicy = "retrace") -> Transformed:
    """A function x -> gradient (n,) of scalar f at x; tapes cached per branch (see function)."""
    return Transformed(Function(f, max_tapes, on_branch_change), "_value_and_gradient", pick=1)


def value_and_grad(f: Callable, max_tapes: int = 64, on_branch_change: BranchPolicy = "retrace") -> Transformed:
    """A function x -> (f(x), gradient (n,)); tapes cached per branch (see function)."""
    return Transformed(Function(f, max_tapes, on_branch_change), "_value_and_gradient")


def jacobian(
    f: Callable,
    mode: Literal["auto", "forward", "reverse"] = "auto",
    max_tapes: int = 64,
    on_branch_change: BranchPolicy = "retrace",
) -> Transformed:
    """A function x -> Jacobian (m, n) of f ((n,) for scalar f); tapes cached per branch."""
    if mode not in ("auto", "forward", "reverse"):
        raise ValueError(f"mode must be 'auto', 'forward' or 'reverse'; got {mode!r}")
    return Transformed(Function(f, max_tapes, on_branch_change), "_jacobian", (mode,))


class _Weighted(Transformed):
    """A second-order transformation: called as g(x, *params, weights=None), or with a
    direction, g(x, v, *params, weights=None)."""

    def __call__(self, x: ArrayLike, *args: ArrayLike, weights: ArrayLike | None = None) -> np.ndarray:
        if self._method == "_hvp":
            if not args:
                raise TypeError("hvp(f) is called as hvp(f)(x, v) or hvp(f)(x, v, params): v is missing")
            v, params = args[0], args[1:]
            return self.function._run("_hvp", x, params, v, weights)
        return self.function._run(self._method, x, args, weights)


def hessian(f: Callable, max_tapes: int = 64, on_branch_change: BranchPolicy = "retrace") -> Transformed:
    """A function x -> Hessian (n, n) of scalar f at x; tapes cached per branch.

    Called as ``h(x)``, ``h(x, params)``; for f with m outputs, ``h(x, weights=w)`` gives the
    Hessian of sum_i w_i f_i (w of shape (m,)), as for Tape.hessian.
    """
    return _Weighted(Function(f, max_tapes, on_branch_change), "_hessian")


def hvp(f: Callable, max_tapes: int = 64, on_branch_change: BranchPolicy = "retrace") -> Transformed:
    """A function (x, v) -> H(x) v ((n,) for v (n,), (n, K) for v (n, K)); tapes cached per branch.

    Called as ``hv(x, v)``, ``hv(x, v, params)``, with ``weights=w`` for f with m outputs.
    """
    return _Weighted(Function(f, max_tapes, on_branch_change), "_hvp")


def jvp(
    f: Callable, x: ArrayLike, v: ArrayLike, params: ArrayLike | None = None
) -> tuple[float | np.ndarray, float | np.ndarray]:
    """(f(x), J(x) v), JAX style."""
    tape = trace(f, x, params)
    return tape.eval(x, params), tape.jvp(x, v, params)


def vjp(
    f: Callable, x: ArrayLike, params: ArrayLike | None = None
) -> tuple[float | np.ndarray, Callable[[ArrayLike], np.ndarray]]:
    """(f(x), pullback) with pullback(w) = J(x)^T w, JAX style."""
    tape = trace(f, x, params)
    x = np.array(x, dtype=np.float64)  # the pullback keeps its own copy of the point

    def pullback(w: ArrayLike) -> np.ndarray:
        return tape.vjp(x, w, params)

    return tape.eval(x, params), pullback


class Recorder:
    """Imperative recording (a Wengert list): create variables, compute, ask for gradients.

    >>> rec = Recorder(); x = rec.variable(2.0); y = rec.variable(3.0)
    >>> rec.gradient(x * y + x ** 2)
    array([7., 2.])
    """

    def __init__(self) -> None:
        self._recording = Recording()
        self._x, self._p = [], []

    def variable(self, value: float) -> Traced:
        """A new differentiated input with the given value (inputs keep creation order)."""
        value = _real_scalar(value, "variable")
        self._x.append(value)
        return self._recording.input(value)

    def parameter(self, value: float) -> Traced:
        """A new parameter: recorded, replaceable at replay, not differentiated."""
        value = _real_scalar(value, "parameter")
        self._p.append(value)
        return self._recording.param(value)

    def to_tape(self, outputs: Traced | list[Traced] | tuple[Traced, ...] | TracedArray) -> Tape:
        """A Tape with the given outputs: one value gives a scalar tape, a list a vector one."""
        slots, scalar = output_slots(self._recording, outputs)
        rec = self._recording
        return Tape(rec.arrays(slots), scalar, rec.guard_info)

    def gradient(self, z: Traced) -> np.ndarray:
        """Gradient of the scalar z with respect to every variable, in creation order."""
        tape = self.to_tape(z)
        if not tape.scalar_output:
            raise ValueError("gradient takes one scalar; use to_tape(outputs).jacobian(...) for several")
        return tape.gradient(np.array(self._x), params=np.array(self._p) if self._p else None)


def _real_scalar(value: Any, what: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"a {what} needs a real number; got {type(value).__name__}") from None
    if isinstance(value, complex):
        raise TypeError(f"a {what} needs a real number; got a complex")
    return number


def _special(op):
    """The op's scipy.special function for users without SciPy (and for Duals): one op on traced
    values, the op's own scalar evaluator on numbers, elementwise on arrays."""
    d = DEFS[op]
    name, scalar = d.scipy[0], d.scalar

    def fn(x):
        if type(x) is Traced:
            return _unary(int(op), x)
        if type(x) is TracedArray:
            return wrap(np.frompyfunc(fn, 1, 1)(x._data))
        if type(x) is Dual:
            return PY_FUNCTIONS[d.dual](x)
        if np.ndim(x) == 0:
            return scalar(float(x), 0.0, 0.0)
        return np.vectorize(lambda v: scalar(v, 0.0, 0.0), otypes=[np.float64])(x)

    fn.__name__ = name
    fn.__doc__ = (
        f"{name}(x): recorded as one op on traced values, elementwise on arrays, its Dual rule on "
        f"Duals. NumPy has no {name}; scipy.special.{name} records the same op."
    )
    return fn


erf, erfc, expit, erfinv, gammaln = (_special(op) for op in (Op.ERF, Op.ERFC, Op.EXPIT, Op.ERFINV, Op.GAMMALN))
