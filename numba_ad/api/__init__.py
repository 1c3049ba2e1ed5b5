"""Layer 4, the API: NumPy in, NumPy out; validation, buffers and policy over the layers below.

``tape`` (the Tape class and ``load``), ``batch`` (its many-point methods), ``record`` (``trace``),
``function_cache`` (``Function``: a cache of tapes per branch of f), ``transforms`` (grad, jacobian, hessian ...
and Recorder) and ``derivative`` (derivatives of any order of scalar functions).
"""

from numba_ad.api.compositions import log_softmax, logsumexp, softplus, xlogy
from numba_ad.api.derivative import derivative, derivative_by_taylor
from numba_ad.api.function_cache import Function, function
from numba_ad.api.primitive import Primitive, primitive
from numba_ad.api.record import trace
from numba_ad.api.tape import Tape, load
from numba_ad.api.transforms import (
    Recorder,
    Transformed,
    erf,
    erfc,
    erfinv,
    expit,
    gammaln,
    grad,
    hessian,
    hvp,
    jacfwd,
    jacobian,
    jacrev,
    jvp,
    value_and_grad,
    vjp,
)
from numba_ad.api.vmap import vmap

__all__ = [
    "Function",
    "Primitive",
    "Recorder",
    "Tape",
    "Transformed",
    "derivative",
    "derivative_by_taylor",
    "erf",
    "erfc",
    "erfinv",
    "expit",
    "function",
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
    "softplus",
    "load",
    "primitive",
    "trace",
    "value_and_grad",
    "vjp",
    "vmap",
    "xlogy",
]
