"""The function-level API: grad, value_and_grad, jacobian, hessian, hvp, jvp, vjp, Recorder.

grad, value_and_grad, jacobian, hessian and hvp are transformations served by
function.Function, which caches one tape per branch of f."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike

from numba_ad.api.function_cache import BranchPolicy, Function
from numba_ad.api.record import trace
from numba_ad.api.requests import cotangents, main_weights
from numba_ad.api.structure import Output, derivative_tree, output_tree
from numba_ad.api.tape import Tape
from numba_ad.dual.scalar import PY_FUNCTIONS, Dual
from numba_ad.ops.table import DEFS, Op
from numba_ad.tracing.array import TracedArray, wrap
from numba_ad.tracing.scalar import Recording, Traced, _unary
from numba_ad.tracing.trace import output_slots


class Transformed:
    """A transformation of f (its gradient, value and gradient, Jacobian, Hessian) served by an
    :class:`~numba_ad.Function`: the tapes are cached per branch and replayed.

    Called with f's arguments, ``g(*args)``. ``g.stats()`` and ``g.function`` show the cache.
    """

    def __init__(self, function: Function, method: str, **options: Any) -> None:
        self.function = function
        self._method, self._options = method, options
        self._bound = getattr(function, method)  # the call path of optimisation loops: no lookups

    def __call__(self, *args: Any, **options: Any) -> Any:
        if options or self._options:
            return self._bound(*args, **self._options, **options)
        return self._bound(*args)

    def stats(self) -> dict[str, int]:
        """The cache's counts: see Function.stats."""
        return self.function.stats()

    tape = property(lambda self: self.function.tape, doc="the tape used last")
    n_traces = property(lambda self: self.function.n_traces, doc="times f was traced")


def _function(f, argnums, has_aux, max_tapes, on_branch_change) -> Function:
    return Function(f, max_tapes, on_branch_change, argnums=argnums, has_aux=has_aux)


def grad(
    f: Callable,
    argnums: int | Sequence[int] = 0,
    has_aux: bool = False,
    *,
    max_tapes: int = 64,
    on_branch_change: BranchPolicy = "retrace",
) -> Transformed:
    """A function ``*args -> gradient`` of scalar f, JAX's signature: the gradient is shaped like
    ``args[argnums]`` (a tuple of them for a tuple argnums); with ``has_aux``, f returns
    ``(value, aux)`` and the result is ``(gradient, aux)``. The other arguments' floating leaves
    are parameters (a new value replays), their other leaves static (a new value retraces).
    Tapes are cached per branch (see :func:`function`)."""
    return Transformed(_function(f, argnums, has_aux, max_tapes, on_branch_change), "gradient")


def value_and_grad(
    f: Callable,
    argnums: int | Sequence[int] = 0,
    has_aux: bool = False,
    *,
    max_tapes: int = 64,
    on_branch_change: BranchPolicy = "retrace",
) -> Transformed:
    """A function ``*args -> (f(*args), gradient)``, as :func:`grad`; ``((value, aux), gradient)``
    with has_aux, as JAX's value_and_grad."""
    return Transformed(_function(f, argnums, has_aux, max_tapes, on_branch_change), "value_and_gradient")


def jacobian(
    f: Callable,
    argnums: int | Sequence[int] = 0,
    has_aux: bool = False,
    *,
    mode: Literal["auto", "forward", "reverse"] = "auto",
    max_tapes: int = 64,
    on_branch_change: BranchPolicy = "retrace",
) -> Transformed:
    """A function ``*args -> Jacobian`` of f, nested as JAX's jacfwd/jacrev nest it: for each leaf
    of f's output, for each leaf of ``args[argnums]``, an array of shape out.shape + in.shape
    ((m, n) for a vector f of a vector x; (n,) for a scalar f). mode: "forward" (one tangent
    sweep per input), "reverse" (one adjoint sweep per output) or "auto" (fewer sweeps)."""
    if isinstance(argnums, str):  # the form before argnums: jacobian(f, "forward")
        warnings.warn(
            "ad.jacobian(f, mode) is deprecated: the second argument is argnums, as in JAX; "
            "write ad.jacobian(f, mode=...)",
            DeprecationWarning,
            stacklevel=2,
        )
        argnums, mode = 0, argnums
    if mode not in ("auto", "forward", "reverse"):
        raise ValueError(f"mode must be 'auto', 'forward' or 'reverse'; got {mode!r}")
    return Transformed(_function(f, argnums, has_aux, max_tapes, on_branch_change), "jacobian", mode=mode)


def jacfwd(f: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False, **options: Any) -> Transformed:
    """JAX's jacfwd: :func:`jacobian` with mode="forward"."""
    return jacobian(f, argnums, has_aux, mode="forward", **options)


def jacrev(f: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False, **options: Any) -> Transformed:
    """JAX's jacrev: :func:`jacobian` with mode="reverse"."""
    return jacobian(f, argnums, has_aux, mode="reverse", **options)


def hessian(
    f: Callable,
    argnums: int | Sequence[int] = 0,
    has_aux: bool = False,
    *,
    max_tapes: int = 64,
    on_branch_change: BranchPolicy = "retrace",
) -> Transformed:
    """A function ``*args -> Hessian`` of scalar f, nested as JAX's hessian: for each leaf a of
    ``args[argnums]``, for each leaf b, shape a.shape + b.shape ((n, n) for a vector x). For f
    with m outputs, ``h(*args, weights=w)`` gives the Hessian of sum_i w_i f_i (w of shape (m,)),
    as for Tape.hessian. Tapes are cached per branch."""
    return Transformed(_function(f, argnums, has_aux, max_tapes, on_branch_change), "hessian")


def hvp(f: Callable, *, max_tapes: int = 64, on_branch_change: BranchPolicy = "retrace") -> Transformed:
    """A function ``(x, v, *rest) -> H(x) v``, shaped like x (or (n, K) for a vector x and v of
    shape (n, K)); ``weights=w`` for f with m outputs. Tapes are cached per branch."""
    return Transformed(Function(f, max_tapes, on_branch_change), "hvp")


def _legacy(name: str, form: str) -> None:
    warnings.warn(
        f"ad.{name}(f, x, ..., params=) and an array as primals are deprecated and will be removed in "
        f"the next release: write {form}, as in JAX",
        DeprecationWarning,
        stacklevel=3,
    )


def jvp(
    f: Callable,
    primals: Sequence[Any],
    tangents: Sequence[Any],
    params: ArrayLike | None = None,
    *,
    has_aux: bool = False,
) -> tuple:
    """JAX's jvp: ``(f(*primals), J tangents)``, each shaped like f's output; ``(out, tangent, aux)``
    with has_aux. primals and tangents are tuples (or lists) of f's arguments and of tangents
    of the same structure. f is recorded at primals on each call (use :func:`function` for
    repeated calls).

    Deprecated form: ``jvp(f, x, v, params=None)`` with x an array."""
    if isinstance(primals, np.ndarray) or params is not None:
        _legacy("jvp", "ad.jvp(f, (x, p), (v, zeros_like(p))) or ad.function(f).jvp(x, v, p)")
        tape = trace(f, primals, params=params)
        return tape.eval(primals, params), tape.jvp(primals, tangents, params)
    primals, tangents = _primals(primals, "primals"), _primals(tangents, "tangents")
    if len(tangents) != len(primals):
        raise ValueError(f"jvp got {len(primals)} primals and {len(tangents)} tangents; give one tangent per primal")
    fn = Function(f, argnums=tuple(range(len(primals))), has_aux=has_aux)
    tape, signature, x, p = fn._located(primals)
    output = tape.output
    v = signature.flatten_like(tuple(tangents), "tangents")
    out = output_tree(output, np.atleast_1d(tape.eval(x, p)), signature.value_dtype)
    t = np.atleast_1d(tape.jvp(x, v, p))[: output.n_main]
    tangent = output_tree(Output(output.main, None, output.n_main), t, signature.value_dtype)
    return (out[0], tangent, out[1]) if has_aux else (out, tangent)


def vjp(f: Callable, *primals: Any, params: ArrayLike | None = None, has_aux: bool = False) -> tuple:
    """JAX's vjp: ``(f(*primals), pullback)``; ``pullback(cotangent)`` returns a tuple with one
    cotangent per primal, each shaped like it, for a cotangent shaped like f's output;
    ``(out, pullback, aux)`` with has_aux. f is recorded at primals on each call.

    Deprecated form: ``vjp(f, x, params=p)``, whose pullback returns an array."""
    if params is not None:
        _legacy("vjp", "ad.vjp(f, x, p)")
        (x0,) = primals
        tape = trace(f, x0, params=params)
        x0 = np.array(x0, dtype=np.float64)

        def legacy_pullback(w: ArrayLike) -> np.ndarray:
            return tape.vjp(x0, w, params)

        return tape.eval(x0, params), legacy_pullback
    if not primals:
        raise TypeError("vjp(f, *primals) needs f's arguments; got none")
    fn = Function(f, argnums=tuple(range(len(primals))), has_aux=has_aux)
    tape, signature, x, p = fn._located(primals)
    x, p = x.copy(), None if p is None else p.copy()  # the pullback keeps the point as it is now
    output = tape.output
    out = output_tree(output, np.atleast_1d(tape.eval(x, p)), signature.value_dtype)

    def pullback(cotangent: Any) -> tuple:
        W, batched = cotangents(cotangent, output)
        if batched:
            raise ValueError("the pullback takes one cotangent shaped like f's output")
        if output.aux is not None:
            W = main_weights(np.atleast_1d(W), tape, output)  # zeros for the aux outputs
        g = tape.vjp(x, W, p)
        return derivative_tree(signature, np.atleast_1d(g))

    return (out[0], pullback, out[1]) if has_aux else (out, pullback)


def _primals(values: Any, name: str) -> tuple:
    if not isinstance(values, (tuple, list)):
        raise TypeError(
            f"{name} must be a tuple or list of f's arguments, as in JAX (ad.jvp(f, (x,), (v,))); "
            f"got a {type(values).__name__}"
        )
    return tuple(values)


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
