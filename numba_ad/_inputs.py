"""What every layer that takes user arrays does first: check they are real and make them float64."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def as_real_array(value: ArrayLike, name: str) -> np.ndarray:
    """`value` as a C-contiguous float64 array; TypeError for non-real input."""
    try:
        arr = np.asarray(value)
    except Exception as exc:  # e.g. ragged sequences
        raise TypeError(f"{name} must be an array of real numbers; got {type(value).__name__}") from exc
    if arr.dtype.kind not in "fiu":
        raise TypeError(
            f"{name} must be an array of real numbers; got dtype {arr.dtype}"
            + (" (complex numbers are not supported)" if arr.dtype.kind == "c" else "")
        )
    return np.asarray(arr, dtype=np.float64, order="C")  # ascontiguousarray would make 0-d 1-d


def _vector(value: ArrayLike, n: int, name: str) -> np.ndarray:
    arr = as_real_array(value, name)
    if arr.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},); got shape {arr.shape}")
    return arr
