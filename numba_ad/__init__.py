"""numba_ad: automatic differentiation as a JIT-compiled tape executor.

Record f once (``trace``), then evaluate values, gradients, JVPs, VJPs and Jacobians at
new points with numba-compiled sweeps, without running f's Python again. ``function(f)``
keeps a tape per branch of f; ``where`` and ``clip`` record both branches in one tape.
"""
from .api import Tape
from .compile_plan import NotCompilable
from .compiled import CompiledTape
from .dual import Dual, DualArray
from .errors import BranchChangedError, BranchChangedWarning
from .functions import (Recorder, Transformed, erf, erfc, grad, hessian, hvp, jacobian, jvp, trace, value_and_grad,
                        vjp)
from .multitape import Function, function
from .ops import Op
from .selects import clip, where
from .tape import TapeArrays
from . import fwd, nb  # noqa: E402  forward mode without a tape; kernels for @njit code
from .fwd import derivative
from . import testing  # noqa: E402  numba_ad.testing.check_grads

TracedFunction = Function  # the name before version 0.2

__version__ = "0.1.0"

__all__ = ["BranchChangedError", "BranchChangedWarning", "CompiledTape", "Dual", "DualArray", "Function", "Op", "Recorder", "Tape",
           "TapeArrays", "Transformed", "clip", "derivative", "erf", "erfc", "function", "fwd", "grad", "hessian", "hvp",
           "jacobian", "jvp",
           "NotCompilable", "nb", "trace", "value_and_grad", "vjp", "where"]
