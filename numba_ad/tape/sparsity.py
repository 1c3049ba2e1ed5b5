"""Hessian sparsity: which entries of a tape's Hessian can be nonzero, and a colouring of its
columns that gives the dense Hessian from fewer Hessian-vector products.

Most Hessians are sparse (P1, the chained Rosenbrock, is tridiagonal). Columns j and k that
share no row where both can be nonzero may share one HVP direction e_j + e_k; each entry
is then read off directly (Curtis, Powell and Reid; Gebremedhin, Manne and Pothen call it
a distance-2 colouring). P1 at n = 100 needs 3 directions instead of 100.

The pattern comes from the tape's structure, not from values (ADOL-C's ``hess_pat``): the
index domain of a slot (the inputs it depends on) flows forward through every partial that
``ops.NONZERO_PARTIALS`` says can be nonzero; an op with a nonzero second partial whose
result reaches an output couples the index domains of its operands. Domains are bitsets
[n_slots, ceil(n / 64)] of uint64.

Kernels here, policy (when compression pays) in :func:`hessian_plan`.
"""

import numpy as np

from numba_ad._config import kernel
from numba_ad.ops.table import FIRST_MATH, NONZERO_PARTIALS, Op

MAX_DOMAIN_BYTES = 128 * 2**20  # the bitsets: beyond this the Hessian is computed dense
MAX_COLORING_WORK = 50_000_000  # sum of squared column counts: beyond it, dense
# Compress when the colours number at most this fraction of n. Banded Hessians at n = 64
# measured 268 us compressed against 306 dense with 0.77 n colours, 323 against 346 with
# 0.89 n, 378 against 370 with 0.98 n (the recovery's cost then exceeds the lanes saved).
COMPRESS_BELOW = 0.9

_ONE = np.uint64(1)
_SIX = np.uint64(6)
_LOW6 = np.uint64(63)


@kernel
def _set_bit(bits, row, j):
    bits[row, j >> 6] |= _ONE << (np.uint64(j) & _LOW6)


@kernel
def index_domains(tape, nonzero, dom):
    """dom[i] = the inputs slot i depends on through partials that can be nonzero."""
    op, a, b = tape.op, tape.a, tape.b
    dom[:, :] = 0
    for i in range(op.shape[0]):
        o = op[i]
        if o == Op.INPUT:
            _set_bit(dom, i, a[i])
        elif o >= FIRST_MATH:
            if nonzero[o, 0]:
                dom[i, :] |= dom[a[i], :]
            if nonzero[o, 1]:
                dom[i, :] |= dom[b[i], :]


@kernel
def live_slots(tape, nonzero, live):
    """live[i] = 1 where slot i can reach an output through partials that can be nonzero."""
    op, a, b = tape.op, tape.a, tape.b
    live[:] = 0
    for j in range(tape.outputs.shape[0]):
        live[tape.outputs[j]] = 1
    for i in range(op.shape[0] - 1, -1, -1):
        o = op[i]
        if live[i] and o >= FIRST_MATH:
            if nonzero[o, 0]:
                live[a[i]] = 1
            if nonzero[o, 1]:
                live[b[i]] = 1


@kernel
def _couple(dom, r, s, P):
    """P[j] |= dom[s] for every input j in dom[r]."""
    W = dom.shape[1]
    for q in range(W):
        word = dom[r, q]
        if word == 0:
            continue
        for bit in range(64):
            if (word >> np.uint64(bit)) & _ONE:
                j = q * 64 + bit
                for t in range(W):
                    P[j, t] |= dom[s, t]


@kernel
def hessian_pattern(tape, nonzero, dom, live, P):
    """P[j] (a bitset over the inputs) = the rows of Hessian column j that can be nonzero."""
    index_domains(tape, nonzero, dom)
    live_slots(tape, nonzero, live)
    op, a, b = tape.op, tape.a, tape.b
    P[:, :] = 0
    for i in range(op.shape[0]):
        o = op[i]
        if o < FIRST_MATH or not live[i]:
            continue
        if nonzero[o, 2]:
            _couple(dom, a[i], a[i], P)
        if nonzero[o, 3]:
            _couple(dom, a[i], b[i], P)
            _couple(dom, b[i], a[i], P)
        if nonzero[o, 4]:
            _couple(dom, b[i], b[i], P)


@kernel
def pattern_csr(P, n, ptr, idx):
    """The bitsets P as CSR by column: rows idx[ptr[j]:ptr[j + 1]] of column j, sorted."""
    W = P.shape[1]
    q = 0
    ptr[0] = 0
    for j in range(n):
        for t in range(W):
            word = P[j, t]
            if word == 0:
                continue
            for bit in range(64):
                if (word >> np.uint64(bit)) & _ONE:
                    idx[q] = t * 64 + bit
                    q += 1
        ptr[j + 1] = q


@kernel
def count_bits(P, n, counts):
    for j in range(n):
        c = 0
        for t in range(P.shape[1]):
            word = P[j, t]
            while word != 0:
                word &= word - _ONE
                c += 1
        counts[j] = c


@kernel
def distance2_coloring(ptr, idx, colors):
    """Greedy colouring of the columns so that no row holds two columns of one colour that
    can both be nonzero there; columns with no nonzero entry get -1. Returns the number of
    colours. The pattern is symmetric, so the rows of column j are also its neighbours."""
    n = ptr.shape[0] - 1
    forbidden = np.full(n + 1, -1, dtype=np.int64)  # forbidden[c] == j: colour c is taken for j
    n_colors = 0
    for j in range(n):
        colors[j] = -1
    for j in range(n):
        if ptr[j + 1] == ptr[j]:
            continue
        for q in range(ptr[j], ptr[j + 1]):
            i = idx[q]
            for r in range(ptr[i], ptr[i + 1]):
                col = colors[idx[r]]
                if col >= 0:
                    forbidden[col] = j
        c = 0
        while forbidden[c] == j:
            c += 1
        colors[j] = c
        if c + 1 > n_colors:
            n_colors = c + 1
    return n_colors


def hessian_plan(arrays):
    """(seed (n, C), colors (n,), ptr (n + 1,), idx) for a compressed Hessian of the tape,
    or None where the dense Hessian is the better way (too little sparsity, or a pattern that
    would cost too much to find)."""
    n_slots, n = arrays.op.shape[0], arrays.inputs.shape[0]
    W = (n + 63) // 64
    if n < 2 or n_slots * W * 8 > MAX_DOMAIN_BYTES:
        return None
    dom = np.empty((n_slots, W), dtype=np.uint64)
    P = np.empty((n, W), dtype=np.uint64)
    hessian_pattern(arrays, NONZERO_PARTIALS, dom, np.empty(n_slots, dtype=np.uint8), P)
    counts = np.empty(n, dtype=np.int64)
    count_bits(P, n, counts)
    if counts.max() > COMPRESS_BELOW * n or int(np.sum(counts.astype(np.float64) ** 2)) > MAX_COLORING_WORK:
        return None  # at least counts.max() colours: no gain
    ptr = np.empty(n + 1, dtype=np.int32)
    idx = np.empty(max(int(counts.sum()), 1), dtype=np.int32)
    pattern_csr(P, n, ptr, idx)
    colors = np.empty(n, dtype=np.int32)
    n_colors = distance2_coloring(ptr, idx, colors)
    if n_colors > COMPRESS_BELOW * n:
        return None
    seed = np.zeros((n, n_colors))
    used = colors >= 0
    seed[np.flatnonzero(used), colors[used]] = 1.0
    return seed, colors, ptr, idx
