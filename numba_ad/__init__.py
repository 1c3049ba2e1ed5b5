"""numba_ad: automatic differentiation as a JIT-compiled tape executor.

Record f once (``trace``), then evaluate values, gradients, JVPs, VJPs and Jacobians at
new points with numba-compiled sweeps, without running f's Python again.
"""
from .api import Tape
from .errors import BranchChangedError
from .functions import Recorder, TracedFunction, erf, erfc, grad, jacobian, jvp, trace, value_and_grad, vjp
from .ops import Op
from .tape import TapeArrays
from . import testing  # noqa: E402  numba_ad.testing.check_grads

__version__ = "0.1.0"

__all__ = ["BranchChangedError", "Op", "Recorder", "Tape", "TapeArrays", "TracedFunction", "erf",
           "erfc", "grad", "jacobian", "jvp", "trace", "value_and_grad", "vjp"]
