"""Kernels for users' own @njit code: ``nb.value_and_gradient_into(tape, work, x, g)`` and the rest.

The kernels live in the tape layer (``numba_ad/tape/nb.py``, whose docstring is the guide);
this module is their public name.
"""

from numba_ad.tape.nb import *  # noqa: F403
from numba_ad.tape.nb import __all__  # noqa: F401
