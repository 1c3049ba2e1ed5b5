"""numba_ad: automatic differentiation as a JIT-compiled tape executor.

Record f once (``trace``), then evaluate values, gradients, JVPs, VJPs and Jacobians at
new points with numba-compiled sweeps, without running f's Python again. ``function(f)``
keeps a tape per branch of f; ``where`` and ``clip`` record both branches in one tape.

The package is layered (docs/design.md, "Layout"): ``ops`` (the op table) < ``tape`` (arrays
and kernels) < ``tracing``, ``compile``, ``dual`` < ``api``; this module names the public surface.
"""

from numba_ad import fwd, nb, testing
from numba_ad._progress import set_progress
from numba_ad.api import (
    Function,
    Primitive,
    Recorder,
    Tape,
    Transformed,
    derivative,
    erf,
    erfc,
    erfinv,
    expit,
    function,
    gammaln,
    grad,
    hessian,
    hvp,
    jacfwd,
    jacobian,
    jacrev,
    jvp,
    load,
    log_softmax,
    logsumexp,
    primitive,
    softplus,
    trace,
    value_and_grad,
    vjp,
    vmap,
    xlogy,
)
from numba_ad.compile import CompiledTape, NotCompilable
from numba_ad.dual import Dual, DualArray
from numba_ad.errors import BranchChangedError, BranchChangedWarning, KernelArgumentError
from numba_ad.ops import Op
from numba_ad.tape import TapeArrays
from numba_ad.tracing import clip, where

TracedFunction = Function  # an earlier name of Function, kept for code that used it

__version__ = "0.1.0"

__all__ = [
    "BranchChangedError",
    "BranchChangedWarning",
    "KernelArgumentError",
    "CompiledTape",
    "Dual",
    "DualArray",
    "Function",
    "NotCompilable",
    "Op",
    "Primitive",
    "Recorder",
    "Tape",
    "TapeArrays",
    "TracedFunction",
    "Transformed",
    "clip",
    "derivative",
    "erf",
    "erfc",
    "erfinv",
    "expit",
    "function",
    "fwd",
    "gammaln",
    "grad",
    "hessian",
    "hvp",
    "jacfwd",
    "jacobian",
    "jacrev",
    "jvp",
    "log_softmax",
    "logsumexp",
    "load",
    "nb",
    "primitive",
    "set_progress",
    "softplus",
    "testing",
    "trace",
    "value_and_grad",
    "vjp",
    "vmap",
    "where",
    "xlogy",
]
