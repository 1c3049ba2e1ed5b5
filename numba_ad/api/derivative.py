"""Derivatives of any order of scalar functions, by Taylor mode (Tape.taylor).

``derivative_by_taylor(f, x, order)`` records ``f`` once at x, as a one-input tape, and reads
the k-th derivative off the degree-k Taylor coefficient along v = 1: f^(k)(x) = k! c_k. The
coefficients come from each op's recurrence in ops.taylor, so the result is exact up to
rounding at any order (no step size, no nesting of k first-order passes).
"""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Callable

import numpy as np

from numba_ad.api.record import trace
from numba_ad.dual.forward import _first_derivative, _real_point
from numba_ad.tracing.njit import traceable as _traceable


def derivative_by_taylor(f: Callable, x: float, order: int = 1) -> float:
    """The `order`-th derivative of scalar-to-scalar f at x, a float.

    Parameters
    ----------
    f : callable
        ``f(x) -> scalar`` for a scalar x: a Python function or a numba @njit kernel, as
        :func:`numba_ad.trace` records them (NumPy ufuncs and ``math`` functions inside a
        kernel record; control flow on x records guards).
    x : float
        The point.
    order : int
        Derivative order, 0 (the value) or more.

    Notes
    -----
    f is recorded at x on each call (as ``ad.jvp`` does); the derivative is k! times the
    degree-k coefficient of t -> f(x + t), which :meth:`Tape.taylor` computes in one sweep.
    Where f is not analytic at x (sqrt at 0, a kink), the conventions of docs/conventions.md
    apply: order 1 follows the first-order ones, higher orders may be NaN or inf.
    """
    if isinstance(order, bool) or not isinstance(order, numbers.Integral):
        raise TypeError(f"order must be a non-negative integer; got {order!r} ({type(order).__name__})")
    if order < 0:
        raise ValueError(f"order must be a non-negative integer; got {order}")
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (numbers.Real, np.ndarray)) or np.ndim(x) != 0:
        raise TypeError(
            f"x must be a real number; got {type(x).__name__}"
            + (f" of shape {np.shape(x)} (derivative is for scalar-to-scalar f)" if np.ndim(x) else "")
        )
    if not callable(f):
        raise TypeError(f"f must be callable; got {type(f).__name__}")
    g = _traceable(f)
    x0 = np.array([float(x)])
    tape = trace(lambda xs: g(xs[0]), x0)
    if not tape.scalar_output:
        raise ValueError(f"f must return one scalar; it returned {tape.n_outputs} values")
    coefficients = tape.taylor(x0, np.ones(1), int(order))
    return float(coefficients[order]) * math.factorial(order)


def derivative(f: Callable, x: float, order: int = 1) -> float:
    """f'(x) as a float, for a scalar-to-scalar f, by one call f(Dual(x, 1.0)).

    Parameters
    ----------
    f : callable
        A Python function that accepts a Dual (use NumPy's functions on it, not math's) or
        an @njit kernel written for floats.
    x : float
        The point.
    order : int, optional
        1 (Dual numbers, no tape) or higher (f is traced and its Taylor coefficients computed).

    Returns
    -------
    float
    """
    if not callable(f):
        raise TypeError(f"derivative: f must be a function; got {type(f).__name__}")
    try:
        order = operator.index(order)
    except TypeError:
        raise TypeError(f"derivative: order must be an integer; got {type(order).__name__}") from None
    if order < 1:
        raise ValueError(f"derivative: order must be >= 1; got {order}")
    if order > 1:  # Taylor mode on a tape: the k-th coefficient times k!
        return derivative_by_taylor(f, x, order)
    return _first_derivative(f, _real_point(x))
