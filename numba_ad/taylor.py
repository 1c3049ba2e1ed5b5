"""Derivatives of any order of scalar functions, by Taylor mode (Tape.taylor).

``derivative_by_taylor(f, x, order)`` records ``f`` once at x, as a one-input tape, and reads
the k-th derivative off the degree-k Taylor coefficient along v = 1: f^(k)(x) = k! c_k. The
coefficients come from each op's recurrence in ops.taylor, so the result is exact up to
rounding at any order (no step size, no nesting of k first-order passes).
"""
import math
import numbers

import numpy as np

from .functions import trace

try:  # numba @njit kernels are traced through their Python source (njit_tracing.py)
    from .njit_tracing import traceable as _traceable
except ImportError:  # pragma: no cover - a numba_ad without kernel tracing
    def _traceable(f):
        return f


def derivative_by_taylor(f, x, order=1):
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
        raise TypeError(f"x must be a real number; got {type(x).__name__}"
                        + (f" of shape {np.shape(x)} (derivative is for scalar-to-scalar f)" if np.ndim(x) else ""))
    if not callable(f):
        raise TypeError(f"f must be callable; got {type(f).__name__}")
    g = _traceable(f)
    x0 = np.array([float(x)])
    tape = trace(lambda xs: g(xs[0]), x0)
    if not tape.scalar_output:
        raise ValueError(f"f must return one scalar; it returned {tape.n_outputs} values")
    coefficients = tape.taylor(x0, np.ones(1), int(order))
    return float(coefficients[order]) * math.factorial(order)
