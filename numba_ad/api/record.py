"""``trace(f, x0)``: record f once into a Tape (the API side of the tracing layer)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from numba_ad._inputs import as_real_array
from numba_ad.api.tape import Tape
from numba_ad.tracing.trace import trace_function


def _start_point(x0: ArrayLike, name: str = "x0") -> np.ndarray:
    x0 = as_real_array(x0, name)
    if x0.ndim != 1:
        raise ValueError(
            f"{name} must be a 1-D array; got shape {x0.shape}"
            + (" (use np.atleast_1d for a scalar)" if x0.ndim == 0 else "")
        )
    return x0


def trace(f: Callable, x0: ArrayLike, params: ArrayLike | None = None) -> Tape:
    """Record f once at x0 and return its :class:`Tape`.

    f is called as ``f(x)``, or ``f(x, p)`` when `params` is given, with x (and p) 1-D
    arrays of traced scalars. It must return a scalar or a list, tuple or 1-D array of
    scalars. Parameters are not differentiated and may change at every replay.
    """
    x0 = _start_point(x0)
    p0 = None if params is None else _start_point(params, "params")
    arrays, scalar, guard_info = trace_function(f, x0, p0)
    return Tape(arrays, scalar, guard_info)
