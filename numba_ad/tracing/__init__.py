"""Layer 3, tracing: running the user's f on traced values and recording a tape (pure Python).

The modules are imported here in the order that fills the NumPy protocol's tables:
``numpy_protocol`` holds the ufunc table and the ``FUNCTIONS`` registry of
``__array_function__`` handlers, which ``numpy_functions`` and ``selects`` fill.
``trace.trace_function`` is the layer's entry point.
"""

from numba_ad.tracing import (
    numpy_functions,  # noqa: F401  (registers np.sum, np.dot, ...)
    numpy_protocol,  # noqa: F401  (first: the registries)
)
from numba_ad.tracing.array import TracedArray
from numba_ad.tracing.njit import traceable
from numba_ad.tracing.scalar import Recording, Traced
from numba_ad.tracing.selects import clip, where
from numba_ad.tracing.trace import output_slots, trace_function

__all__ = ["Recording", "Traced", "TracedArray", "clip", "output_slots", "trace_function", "traceable", "where"]
