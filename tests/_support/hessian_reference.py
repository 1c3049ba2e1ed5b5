"""A reference Hessian sparsity pattern by forward index domains as Python sets (ADOL-C's
``hess_pat``): every slot's set of inputs, every live op's couplings. Quadratic and slow, and
written without anything of numba_ad/tape/hessian_sparsity.py (no demand-driven domains, no
sharing), so the two can check each other on small tapes."""

import numpy as np

from numba_ad.ops.table import FIRST_MATH, NONZERO_PARTIALS, Op


def hessian_pattern(arrays, output_mask=None) -> np.ndarray:
    """Boolean (n, n): the entries of the Hessian of sum_k w_k F_k (k with output_mask[k])
    that can be nonzero."""
    op, a, b = (np.asarray(v) for v in (arrays.op, arrays.a, arrays.b))
    n_slots, n = op.shape[0], arrays.inputs.shape[0]
    outputs = np.asarray(arrays.outputs)
    mask = np.ones(outputs.shape[0], dtype=bool) if output_mask is None else np.asarray(output_mask, dtype=bool)
    dom = [set() for _ in range(n_slots)]
    for i in range(n_slots):
        o = op[i]
        if o == Op.INPUT:
            dom[i] = {int(a[i])}
        elif o >= FIRST_MATH:
            if NONZERO_PARTIALS[o, 0]:
                dom[i] |= dom[a[i]]
            if NONZERO_PARTIALS[o, 1]:
                dom[i] |= dom[b[i]]
    live = np.zeros(n_slots, dtype=bool)
    live[outputs[mask]] = True
    for i in range(n_slots - 1, -1, -1):
        o = op[i]
        if live[i] and o >= FIRST_MATH:
            if NONZERO_PARTIALS[o, 0]:
                live[a[i]] = True
            if NONZERO_PARTIALS[o, 1]:
                live[b[i]] = True
    P = np.zeros((n, n), dtype=bool)
    for i in range(n_slots):
        o = op[i]
        if o < FIRST_MATH or not live[i]:
            continue
        for flag, r, s in ((2, a[i], a[i]), (3, a[i], b[i]), (4, b[i], b[i])):
            if NONZERO_PARTIALS[o, flag]:
                for j in dom[r]:
                    for k in dom[s]:
                        P[j, k] = P[k, j] = True
    return P
