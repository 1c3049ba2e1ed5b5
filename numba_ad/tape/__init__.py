"""Layer 2, the tape: a struct of arrays and the op-agnostic @njit kernels that replay it.

``arrays`` (TapeArrays, validation), ``sweeps`` (primal, tangent, adjoint, second-order and
Taylor passes over the slots), ``drivers`` (the math: gradient, jvp, hvp ... as ``_into``
kernels), ``lanes`` (many points at once), ``optimize`` (an equivalent, smaller tape),
``sparsity`` (Hessian sparsity and colouring) and ``nb`` (the kernels users call from their
own @njit code). Kernels see plain arrays only: nothing here knows about tracing.
"""

from numba_ad.tape.arrays import INDEX_DTYPE, OP_DTYPE, GuardInfo, TapeArrays, render, validated

__all__ = ["INDEX_DTYPE", "OP_DTYPE", "GuardInfo", "TapeArrays", "render", "validated"]
