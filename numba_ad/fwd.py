"""Forward mode with Dual numbers, no tape: ``fwd.gradient(f, x)``, ``fwd.jacobian(f, x, m)``.

The drivers live in ``numba_ad/dual/forward.py`` (whose docstring is the guide); ``derivative``
in ``numba_ad/api/derivative.py``. This module is their public name.
"""

from numba_ad.api.derivative import derivative
from numba_ad.dual.forward import gradient, gradient_kernel, jacobian, value_and_gradient, value_and_jacobian

__all__ = ["derivative", "gradient", "gradient_kernel", "jacobian", "value_and_gradient", "value_and_jacobian"]
