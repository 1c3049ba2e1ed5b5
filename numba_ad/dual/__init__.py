"""Layer 3, forward mode without a tape: Dual numbers in Python and in @njit code.

Imported in dependency order: ``rules`` (one small kernel per op), ``scalar`` (the Dual
class), ``array`` (DualArray), ``types`` (their numba types and boxing), ``overloads`` (the
operators and functions on both types inside @njit code), ``forward`` (gradient and jacobian
drivers over a generic kernel).
"""

from numba_ad.dual import (
    forward,  # noqa: F401
    overloads,  # noqa: F401  (operators and functions in @njit code)
    types,  # noqa: F401  (registers both types with numba)
)
from numba_ad.dual.array import DualArray
from numba_ad.dual.scalar import Dual, deriv_of, power, value_of

__all__ = ["Dual", "DualArray", "deriv_of", "forward", "power", "value_of"]
