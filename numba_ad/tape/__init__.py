"""Layer 2, the tape: a struct of arrays and the op-agnostic @njit kernels that replay it.

``arrays`` (TapeArrays, validation), ``sweeps`` (primal, tangent, adjoint, second-order and
Taylor passes over the slots), ``drivers`` (the math: gradient, jvp, hvp ... as ``_into``
kernels), ``lanes`` (many points at once), ``format`` (the versioned .npz file of a tape),
``optimize`` (an equivalent, smaller tape), ``jacobian_sparsity`` and ``hessian_sparsity``
(patterns and colourings), ``sparse_drivers`` (compressed Jacobians and Hessians) and
``nb`` (the kernels users call from their own @njit code). Kernels see plain arrays only:
nothing here knows about tracing.
"""

from numba_ad.tape.arrays import INDEX_DTYPE, OP_DTYPE, GuardInfo, TapeArrays, render, validated
from numba_ad.tape.format import FORMAT_VERSION, load_arrays, save_arrays

__all__ = [
    "FORMAT_VERSION",
    "INDEX_DTYPE",
    "OP_DTYPE",
    "GuardInfo",
    "TapeArrays",
    "load_arrays",
    "render",
    "save_arrays",
    "validated",
]
