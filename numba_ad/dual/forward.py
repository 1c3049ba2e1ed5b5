"""Forward-mode derivatives with Dual numbers, no tape: run a generic kernel on Duals.

``gradient(f, x)`` and ``jacobian(f, x, m)`` call a kernel ``f`` that was written once for
float arrays (loops, ``x[i]``, ``x.shape[0]``, ``+ - * / **``, math and NumPy functions) with a
``DualArray`` whose values are x and whose derivatives are the unit vector e_i: one pass of f
per input, each giving column i of the Jacobian. The passes run in a compiled driver loop
(when f is an @njit function), so Python is entered once per call, not once per pass. The
cost is n evaluations of f on Duals, each about twice a float evaluation: forward mode pays
off for few inputs (or many outputs); for one output and many inputs, ``numba_ad.trace``
and the tape's reverse sweep cost a small multiple of one evaluation.

``derivative(f, x)`` differentiates a scalar-to-scalar f (a Python function on Duals or an
@njit kernel) with one call ``f(Dual(x, 1.0))``.

f must not write into x (every pass reads the same x). A plain Python f works too (the
drivers then run as Python, one Dual operation costing about a microsecond).
"""

import inspect
import numbers
import operator
from collections.abc import Callable
from typing import Any

import numpy as np
from numba import literal_unroll, njit, types
from numba.core.dispatcher import Dispatcher
from numba.core.errors import TypingError
from numba.extending import overload
from numpy.typing import ArrayLike

from numba_ad._inputs import as_real_array
from numba_ad.dual.array import DualArray
from numba_ad.dual.scalar import Dual, _constant, deriv_of, value_of
from numba_ad.dual.types import DualArrayType, DualType

# The drivers take the user's kernel as an argument and are compiled without numba's cache:
# numba keys a dispatcher argument by the function object, so every process missed the cache
# and appended one more entry to the index (measured). The price: the first fwd.gradient of P1
# in a process took 0.6 s with f itself loaded from the cache, against 1.3 s fully cold.
_DRIVER_OPTIONS = dict(error_model="numpy", nogil=True)
_REAL = (types.Integer, types.Float)
_GENERIC_HINT = (
    "Write f once for floats so that it also runs on Duals: index x (x[i], x.shape[0], "
    "len(x)), use + - * / ** and math or NumPy functions on elements, start sums with "
    "0.0; do not convert elements with float() or store them into float arrays."
)


# ---------------------------------------------------------------------------------------
# What f returned: one scalar (gradient), or m outputs (jacobian). Each helper is plain
# Python with an @njit overload, so the drivers run in both worlds.
# ---------------------------------------------------------------------------------------
def _scalar(r):
    if type(r) is not Dual and _constant(r) is None:
        raise TypeError(f"f must return one scalar (a Dual or a real number); got {type(r).__name__}")
    return r


@overload(_scalar)
def _scalar_ov(r):
    if isinstance(r, (DualType,) + _REAL):
        return lambda r: r
    raise TypingError(f"f must return one scalar (a Dual or a real number); it returns {r}")


def _store_outputs(r, jac, values, i, n):
    """Write f's outputs' values into values and derivatives into jac[:, i] (when i < n);
    return their number, writing nothing when it differs from jac.shape[0]."""
    outputs = r if isinstance(r, (tuple, list, DualArray)) else (_scalar(r),)
    if len(outputs) != jac.shape[0]:
        return len(outputs)
    for j, rj in enumerate(outputs):
        values[j] = value_of(_scalar(rj))
        if i < n:
            jac[j, i] = deriv_of(rj)
    return len(outputs)


@overload(_store_outputs)
def _store_outputs_ov(r, jac, values, i, n):
    if isinstance(r, types.BaseTuple):
        count = len(r)

        def impl(r, jac, values, i, n):
            if count != jac.shape[0]:
                return count
            j = 0
            for rj in literal_unroll(r):  # the outputs may differ in type: Dual, float, int
                values[j] = value_of(_scalar(rj))
                if i < n:
                    jac[j, i] = deriv_of(rj)
                j += 1
            return count

        return impl
    if isinstance(r, DualArrayType):

        def impl(r, jac, values, i, n):
            count = r.value.shape[0]
            if count != jac.shape[0]:
                return count
            for j in range(count):
                values[j] = r.value[j]
                if i < n:
                    jac[j, i] = r.deriv[j]
            return count

        return impl
    if isinstance(r, (DualType,) + _REAL):

        def impl(r, jac, values, i, n):
            if jac.shape[0] != 1:
                return 1
            values[0] = value_of(r)
            if i < n:
                jac[0, i] = deriv_of(r)
            return 1

        return impl
    raise TypingError(
        f"f must return a tuple of its m outputs (Duals or real numbers), a DualArray or one scalar; it returns {r}"
    )


# ---------------------------------------------------------------------------------------
# Drivers: one pass of f per input, seeding d with e_i; one pass even for n = 0, for the value.
# ---------------------------------------------------------------------------------------
@njit(**_DRIVER_OPTIONS)
def _gradient_passes(f, x, d, g):
    n = x.shape[0]
    xd = DualArray(x, d)
    value = 0.0
    for i in range(max(n, 1)):
        if i < n:
            d[i] = 1.0
        r = _scalar(f(xd))
        value = value_of(r)
        if i < n:
            d[i] = 0.0
            g[i] = deriv_of(r)
    return value


@njit(**_DRIVER_OPTIONS)
def _jacobian_passes(f, x, d, jac, values):
    n = x.shape[0]
    xd = DualArray(x, d)
    for i in range(max(n, 1)):
        if i < n:
            d[i] = 1.0
        count = _store_outputs(f(xd), jac, values, i, n)
        if i < n:
            d[i] = 0.0
        if count != jac.shape[0]:
            return count
    return jac.shape[0]


@njit(**_DRIVER_OPTIONS)
def _jacobian_out_passes(f, x, d, jac, values, out_deriv):
    n = x.shape[0]
    m = values.shape[0]
    xd = DualArray(x, d)
    out = DualArray(values, out_deriv)
    for i in range(max(n, 1)):
        if i < n:
            d[i] = 1.0
        for j in range(m):  # out starts at zero in every pass
            values[j] = 0.0
            out_deriv[j] = 0.0
        f(xd, out)
        if i < n:
            d[i] = 0.0
            for j in range(m):
                jac[j, i] = out_deriv[j]
    return m


# Calling a driver from Python with f as an argument costs about 4 µs (numba types a dispatcher
# argument on a slow path); a driver bound to f once, with f as a global, costs 0.35 µs for P1 at
# n = 10, passes included. The bound drivers are stored on f itself, so they live as long as f.
_ATTRIBUTE = "_numba_ad_fwd_drivers"


def _bind_gradient(f, passes):
    def gradient_into(x, g):
        return passes(f, x, np.zeros(x.shape[0]), g)

    return gradient_into


def _bind_jacobian(f, passes):
    def jacobian_into(x, jac, values):
        return passes(f, x, np.zeros(x.shape[0]), jac, values)

    return jacobian_into


def _bind_jacobian_out(f, passes):
    def jacobian_out_into(x, jac, values):
        return passes(f, x, np.zeros(x.shape[0]), jac, values, np.empty(values.shape[0]))

    return jacobian_out_into


_BINDERS = {
    "gradient": (_bind_gradient, _gradient_passes),
    "jacobian": (_bind_jacobian, _jacobian_passes),
    "jacobian_out": (_bind_jacobian_out, _jacobian_out_passes),
}


def _bind(f, kind):
    binder, passes = _BINDERS[kind]
    if isinstance(f, Dispatcher):
        return njit(**_DRIVER_OPTIONS)(binder(f, passes))
    if not callable(f):
        raise TypeError(f"f must be a function (an @njit kernel or Python); got {type(f).__name__}")
    # A Python f (or NUMBA_DISABLE_JIT=1): the same loops, run by Python.
    return binder(f, getattr(passes, "py_func", passes))


def _bound(f, kind):
    if not isinstance(f, Dispatcher):
        return _bind(f, kind)  # binding a Python function costs nothing
    drivers = f.__dict__.setdefault(_ATTRIBUTE, {})
    if kind not in drivers:
        drivers[kind] = _bind(f, kind)
    return drivers[kind]


def _run(f, kind, args, what):
    bound = _bound(f, kind)
    try:
        return bound(*args)
    except TypingError as exc:
        raise TypeError(
            f"{what}: f could not be compiled with a DualArray argument. {_GENERIC_HINT}\n\nnumba's message:\n{exc}"
        ) from exc


def gradient_kernel(f: Callable) -> Callable[[np.ndarray, np.ndarray], float]:
    """An @njit function ``(x, g) -> f(x)`` that writes the gradient of f at x into g.

    For repeated gradients with no Python in the way: it takes a 1-D float64 array x and a
    float64 array g of the same length, checks nothing, and can be called from Python or from
    other @njit code. It is compiled at its first call and kept with f.
    """
    return _bound(f, "gradient")


def _point(x: ArrayLike) -> np.ndarray:
    x = as_real_array(x, "x")
    if x.ndim != 1:
        raise ValueError(
            f"x must be a 1-D array; got shape {x.shape}" + (" (use np.atleast_1d for a scalar)" if x.ndim == 0 else "")
        )
    return x.copy()  # f must not write into x; if it does, the caller's array is safe


# ---------------------------------------------------------------------------------------
# API
# ---------------------------------------------------------------------------------------
def value_and_gradient(f: Callable, x: ArrayLike) -> tuple[float, np.ndarray]:
    """f(x) and its gradient (n,), by n forward passes of f on Duals.

    Parameters
    ----------
    f : callable
        ``f(x) -> scalar``, an @njit kernel written generically (it runs on a float64 array
        and on a DualArray); a plain Python function works too, slowly.
    x : array_like
        1-D point.

    Returns
    -------
    value : float
    gradient : ndarray of float64, shape (n,)
    """
    x = _point(x)
    g = np.empty(x.shape[0])
    value = _run(f, "gradient", (x, g), "fwd.gradient")
    return float(value), g


def gradient(f: Callable, x: ArrayLike) -> np.ndarray:
    """The gradient (n,) of a scalar generic kernel f at x, by forward passes on Duals.

    See :func:`value_and_gradient`.
    """
    return value_and_gradient(f, x)[1]


def _takes_out(f, out_arg):
    if out_arg is not None:
        return bool(out_arg)
    try:
        params = inspect.signature(getattr(f, "py_func", f)).parameters.values()
    except (TypeError, ValueError):
        return False
    required = [p for p in params if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(required) >= 2


def value_and_jacobian(f: Callable, x: ArrayLike, m: int, out_arg: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
    """f(x) (m,) and its Jacobian (m, n), by n forward passes of f on Duals.

    Parameters
    ----------
    f : callable
        A generic kernel in one of two styles: ``f(x)`` returning its m outputs (a tuple, a
        DualArray, or one scalar when m = 1), or ``f(x, out)`` writing them into ``out``
        (a float64 array of length m, or a DualArray when differentiating; ``out`` is zeroed
        before every pass and f's return value is ignored).
    x : array_like
        1-D point.
    m : int
        The number of outputs.
    out_arg : bool, optional
        Which style f has. By default, f has the ``out`` style when it has two or more
        parameters without defaults.

    Returns
    -------
    values : ndarray of float64, shape (m,)
    jacobian : ndarray of float64, shape (m, n)

    Raises
    ------
    ValueError
        When f returns a number of outputs other than m.
    """
    x = _point(x)
    try:
        m = operator.index(m)
    except TypeError:
        raise TypeError(f"m (the number of outputs) must be an integer; got {type(m).__name__}") from None
    if m < 0:
        raise ValueError(f"m (the number of outputs) must be >= 0; got {m}")
    n = x.shape[0]
    jac, values = np.empty((m, n)), np.empty(m)
    if _takes_out(f, out_arg):
        _run(f, "jacobian_out", (x, jac, values), "fwd.jacobian")
    else:
        count = _run(f, "jacobian", (x, jac, values), "fwd.jacobian")
        if count != m:
            raise ValueError(f"fwd.jacobian: f returned {count} outputs but m = {m}")
    return values, jac


def jacobian(f: Callable, x: ArrayLike, m: int, out_arg: bool | None = None) -> np.ndarray:
    """The Jacobian (m, n) of a generic kernel f with m outputs at x, by forward passes.

    See :func:`value_and_jacobian` for f's two styles.
    """
    return value_and_jacobian(f, x, m, out_arg)[1]


def _real_point(x: Any) -> float:
    if isinstance(x, numbers.Real) and type(x) is not Dual:
        return float(x)
    if isinstance(x, np.ndarray) and x.ndim == 0 and x.dtype.kind in "fiu":
        return float(x)
    raise TypeError(
        f"derivative: x must be a real number; got {type(x).__name__}"
        + (" (use fwd.gradient or fwd.jacobian for arrays)" if np.ndim(x) > 0 else "")
    )


def _first_derivative(f: Callable, x: float) -> float:
    """f'(x) by forward mode with one Dual."""
    try:
        r = f(Dual(x, 1.0))
    except TypingError as exc:
        raise TypeError(
            f"derivative: f could not be compiled for a Dual argument. Write f for floats "
            f"so that it also runs on Duals.\n\nnumba's message:\n{exc}"
        ) from exc
    if type(r) is Dual:
        return r.deriv
    if _constant(r) is not None:
        return 0.0  # f returned a number that does not depend on x
    raise TypeError(f"derivative: f must return one scalar; got {type(r).__name__}")
