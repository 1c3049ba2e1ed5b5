"""The NumPy functions whose own code may run on traced arrays (as arrays of Python objects).

A NumPy function numba_ad does not implement (tracing.numpy_functions, tracing.selects) would
run NumPy's implementation on an object array of traced scalars, recording element by
element. That is right only when the implementation does on objects what it does on floats:
np.nan_to_num did not (it skips its NaN test for object arrays and returned NaN unchanged, with
no error). So the fallback is an allow-list: the functions below, each checked by
tests/tracing/test_object_code.py against NumPy (value and gradient at a point other than the
recording one, and a replay across each data-dependent decision raising BranchChangedError or
answering as NumPy does, NaN and inf included). Any other function is refused with a TypeError
that names it: add a function here only with its test.
"""

from __future__ import annotations

import numpy as np

OBJECT_CODE = frozenset(
    {
        # decisions on the elements: truth values and comparisons, recorded as guards
        np.all, np.any, np.array_equal, np.array_equiv, np.count_nonzero, np.flatnonzero,
        np.sort, np.argsort, np.argmax, np.argmin, np.median, np.ptp, np.unique, np.searchsorted,
        np.nansum, np.nanmean, np.nanmax, np.nanmin,
        # arithmetic on the elements
        np.diff, np.ediff1d, np.linalg.norm, np.std, np.var, np.average, np.einsum, np.polyval,
        np.trapezoid, np.cross, np.convolve, np.kron, np.inner, np.vdot, np.tensordot, np.trace,
        np.vander, np.linalg.multi_dot, np.fix,
        # moves of elements
        np.pad, np.real, np.imag, np.meshgrid, np.block, np.broadcast_arrays,
    }
)  # fmt: skip

# what to write instead, for the refused functions users reach for most
_HINTS = {
    "interp": "a piecewise-linear interpolant written with ad.where or np.where on the traced values",
    "isclose": "compare with np.abs(a - b) <= tol (a traced comparison, recorded as a guard)",
    "allclose": "compare with np.all(np.abs(a - b) <= tol) (traced comparisons, recorded as guards)",
    "gradient": "differences of slices, (x[2:] - x[:-2]) / 2, with the edges concatenated",
}


def refuse(func) -> TypeError:
    """The error for a NumPy function that is neither implemented nor in OBJECT_CODE."""
    module = getattr(func, "__module__", "numpy") or "numpy"
    name = f"{module.replace('numpy', 'np', 1)}.{getattr(func, '__name__', func)}"
    hint = _HINTS.get(getattr(func, "__name__", ""))
    return TypeError(
        f"{name} is not supported on traced values: numba_ad would run NumPy's own code for it on an "
        "array of Python objects, where it may not compute what it does on floats"
        + (f"; use {hint}" if hint else "")
        + ". numba_ad.tracing.object_code lists the NumPy functions whose own code is checked on traced arrays."
    )
