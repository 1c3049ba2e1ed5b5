"""Convenience functions that are compositions of ops, not ops: softplus, logsumexp, log_softmax, xlogy.

Each is written with NumPy functions and ``where``, so the same code runs on floats, NumPy
arrays and traced values (where it records its ops into the tape), and each is exact at its
edge cases: no overflow for large arguments, the limits SciPy gives at 0 and ±inf, and
derivatives that are the analytic ones wherever the function is differentiable.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from numba_ad.tracing.selects import where


def softplus(x: ArrayLike) -> ArrayLike:
    """log(1 + exp(x)), without overflow: ``logaddexp(x, 0)`` (one op), x for large x, exp(x) for very negative x."""
    return np.logaddexp(x, 0.0)


def logsumexp(a: ArrayLike, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> ArrayLike:
    """log(sum(exp(a), axis)), as scipy.special.logsumexp: shifted by the maximum so that nothing overflows.

    The shift m cancels in exact arithmetic, so the gradient is softmax(a) wherever the maximum
    is attained once or many times. All -inf gives -inf; a +inf entry gives +inf; NaN gives NaN.
    """
    m = np.max(a, axis=axis, keepdims=True)
    m = where(np.abs(m) < np.inf, m, 0.0)  # all -inf, an inf or NaN: no shift (exp gives 0, inf or NaN)
    out = np.log(np.sum(np.exp(a - m), axis=axis, keepdims=True)) + m
    if not keepdims:
        out = np.squeeze(out, axis=axis) if axis is not None else out.reshape(())
    return out


def log_softmax(x: ArrayLike, axis: int | tuple[int, ...] | None = -1) -> ArrayLike:
    """x - logsumexp(x, axis), as scipy.special.log_softmax."""
    return x - logsumexp(x, axis=axis, keepdims=True)


def xlogy(x: ArrayLike, y: ArrayLike) -> ArrayLike:
    """x * log(y), and 0 where x == 0 (unless y is NaN), as scipy.special.xlogy.

    Where x == 0 and y is positive and finite the value is x log y itself (+0.0), so the
    derivatives there are the analytic ones (d/dx = log y); only where y is 0, negative or inf
    is y replaced by 1, which makes the value 0 instead of NaN.
    """
    x = np.asarray(x) if isinstance(x, (list, tuple)) else x
    y = np.asarray(y) if isinstance(y, (list, tuple)) else y
    bad_y = np.logical_not(np.logical_and(y > 0.0, y < np.inf))
    safe_y = where(np.logical_and(x == 0.0, np.logical_and(bad_y, y == y)), 1.0, y)
    return x * np.log(safe_y) + 0.0  # + 0.0: 0 * log(y) with log(y) < 0 is -0.0; SciPy gives +0.0
