"""Batched replay: one tape at N points, a block of points per opcode dispatch.

Buffers are laid out [n_slots, L]: slot i's values at the L points of a block sit side by
side, so each op is decoded once per block and its lane loop runs over contiguous memory
(STYLE.md measured [n_slots, K] at 0.45 ns per op and lane against 1.01 for [K, n_slots]).
Blocks are independent and run in parallel (numba prange), each with its own buffers.

The sweeps mirror tape/sweeps.py lane by lane, with the same structural-zero rule; the adjoint
uses selects rather than branches so that its lane loop has no control flow. Nothing inside
a prange body raises (numba drops those exceptions, issues 2811 and 9673): each point's
first failing guard is written to ``failed`` instead, and the drivers check every shape
before the parallel loop.
"""

import numpy as np
from numba import njit, prange

from numba_ad._config import KERNEL_OPTIONS, kernel, kernel_inline
from numba_ad.ops._kernels import cheap_lanes
from numba_ad.ops.table import FIRST_MATH, Op, partials, value

# The sweeps are separate compiled functions called once per block, not inlined into the
# parallel drivers: inlined, numba's parfor passes over the big op switches took minutes.
parallel_kernel = njit(parallel=True, **KERNEL_OPTIONS)


@kernel_inline
def _structural_lanes(tape, X, P, start, L, i, o, W):
    """CONST, INPUT and PARAM slot i for the block's L points (P has one row, or one per point)."""
    if o == Op.CONST:
        for l in range(L):
            W[i, l] = tape.c[i]
    elif o == Op.INPUT:
        j = tape.a[i]
        for l in range(L):
            W[i, l] = X[start + l, j]
    else:
        j = tape.a[i]
        shared = P.shape[0] == 1
        for l in range(L):
            W[i, l] = P[0 if shared else start + l, j]


@kernel
def primal_lanes(tape, X, P, start, L, W):
    op, a, b, c = tape.op, tape.a, tape.b, tape.c
    for i in range(op.shape[0]):
        o = op[i]
        if o >= FIRST_MATH:
            ai, bi, ci = a[i], b[i], c[i]
            if not cheap_lanes(o, i, ai, bi, L, W, W, W, False):
                for l in range(L):
                    W[i, l] = value(o, W[ai, l], W[bi, l], ci)
        else:
            _structural_lanes(tape, X, P, start, L, i, o, W)


@kernel
def linearize_lanes(tape, X, P, start, L, W, DA, DB):
    op, a, b, c = tape.op, tape.a, tape.b, tape.c
    for i in range(op.shape[0]):
        o = op[i]
        if o >= FIRST_MATH:
            ai, bi, ci = a[i], b[i], c[i]
            if not cheap_lanes(o, i, ai, bi, L, W, DA, DB, True):
                for l in range(L):
                    x = W[ai, l]
                    y = W[bi, l]
                    v = value(o, x, y, ci)
                    W[i, l] = v
                    DA[i, l], DB[i, l] = partials(o, x, y, ci, v)
        else:
            _structural_lanes(tape, X, P, start, L, i, o, W)


@kernel
def adjoint_lanes(tape, DA, DB, WB, L):
    """Adjoints backward, lane by lane; a zero partial or adjoint contributes exactly 0."""
    op, a, b = tape.op, tape.a, tape.b
    for i in range(op.shape[0] - 1, -1, -1):
        if op[i] >= FIRST_MATH:
            ai, bi = a[i], b[i]
            for l in range(L):
                y_bar = WB[i, l]
                da = DA[i, l]
                db = DB[i, l]
                WB[ai, l] += da * y_bar if (da != 0.0 and y_bar != 0.0) else 0.0
                WB[bi, l] += db * y_bar if (db != 0.0 and y_bar != 0.0) else 0.0


@kernel
def tangent_lanes(tape, DA, DB, T, L):
    """Tangents forward, lane by lane (seeds already in the input rows)."""
    op, a, b = tape.op, tape.a, tape.b
    for i in range(op.shape[0]):
        o = op[i]
        if o >= FIRST_MATH:
            ai, bi = a[i], b[i]
            for l in range(L):
                ta = T[ai, l]
                tb = T[bi, l]
                da = DA[i, l]
                db = DB[i, l]
                T[i, l] = (da * ta if (da != 0.0 and ta != 0.0) else 0.0) + (
                    db * tb if (db != 0.0 and tb != 0.0) else 0.0
                )
        elif o != Op.INPUT:
            for l in range(L):
                T[i, l] = 0.0


@kernel
def _first_failed_lanes(tape, W, start, L, failed):
    guards, c = tape.guards, tape.c
    for l in range(L):
        failed[start + l] = -1
        for k in range(guards.shape[0]):
            if W[guards[k], l] != c[guards[k]]:
                failed[start + l] = k
                break


@njit(**KERNEL_OPTIONS)
def _check_batch(tape, X, P, block, failed):
    """The shapes every batched driver relies on (raised here, outside any prange body)."""
    if X.shape[1] != tape.inputs.shape[0]:
        raise ValueError("X must be (N, n_inputs)")
    if P.shape[1] != tape.params.shape[0] or (P.shape[0] != 1 and P.shape[0] != X.shape[0]):
        raise ValueError("P must be (1, n_params) or (N, n_params)")
    if block < 1 or failed.shape[0] != X.shape[0]:
        raise ValueError("block must be >= 1 and failed (N,)")


@parallel_kernel
def eval_many_into(tape, X, P, block, out, failed):
    """f at the N points X (N, n) into out (N, m); per point the failed guard (or -1)."""
    _check_batch(tape, X, P, block, failed)
    N = X.shape[0]
    outputs = tape.outputs
    if out.shape[0] != N or out.shape[1] != outputs.shape[0]:
        raise ValueError("out must be (N, n_outputs)")
    for blk in prange((N + block - 1) // block):
        start = blk * block
        L = min(block, N - start)
        W = np.empty((tape.op.shape[0], block))
        primal_lanes(tape, X, P, start, L, W)
        for l in range(L):
            for j in range(outputs.shape[0]):
                out[start + l, j] = W[outputs[j], l]
        _first_failed_lanes(tape, W, start, L, failed)


@parallel_kernel
def value_and_gradient_many_into(tape, X, P, block, values, G, failed):
    """Values (N,) and gradients G (N, n) of a scalar tape at the points X (N, n)."""
    _check_batch(tape, X, P, block, failed)
    N = X.shape[0]
    inputs = tape.inputs
    if values.shape[0] != N or G.shape[0] != N or G.shape[1] != inputs.shape[0]:
        raise ValueError("values must be (N,) and G (N, n_inputs)")
    out = tape.outputs[0]
    n_slots = tape.op.shape[0]
    for blk in prange((N + block - 1) // block):
        start = blk * block
        L = min(block, N - start)
        W = np.empty((n_slots, block))
        DA = np.empty((n_slots, block))
        DB = np.empty((n_slots, block))
        WB = np.zeros((n_slots, block))
        linearize_lanes(tape, X, P, start, L, W, DA, DB)
        for l in range(L):
            WB[out, l] = 1.0
        adjoint_lanes(tape, DA, DB, WB, L)
        for l in range(L):
            values[start + l] = W[out, l]
            for j in range(inputs.shape[0]):
                G[start + l, j] = WB[inputs[j], l]
        _first_failed_lanes(tape, W, start, L, failed)


@parallel_kernel
def jacobian_many_into(tape, X, P, block, forward, J, failed):
    """Jacobians J (N, m, n) at the points X (N, n): n tangent sweeps per block when
    `forward`, m adjoint sweeps otherwise, all on one linearisation."""
    _check_batch(tape, X, P, block, failed)
    N = X.shape[0]
    inputs, outputs = tape.inputs, tape.outputs
    n, m = inputs.shape[0], outputs.shape[0]
    if J.shape[0] != N or J.shape[1] != m or J.shape[2] != n:
        raise ValueError("J must be (N, n_outputs, n_inputs)")
    n_slots = tape.op.shape[0]
    for blk in prange((N + block - 1) // block):
        start = blk * block
        L = min(block, N - start)
        W = np.empty((n_slots, block))
        DA = np.empty((n_slots, block))
        DB = np.empty((n_slots, block))
        S = np.empty((n_slots, block))  # tangents or adjoints of one seed
        linearize_lanes(tape, X, P, start, L, W, DA, DB)
        if forward:
            for jj in range(n):
                for j in range(n):
                    for l in range(L):
                        S[inputs[j], l] = 1.0 if j == jj else 0.0
                tangent_lanes(tape, DA, DB, S, L)
                for k in range(m):
                    for l in range(L):
                        J[start + l, k, jj] = S[outputs[k], l]
        else:
            for k in range(m):
                S[:, :L] = 0.0
                for l in range(L):
                    S[outputs[k], l] += 1.0
                adjoint_lanes(tape, DA, DB, S, L)
                for j in range(n):
                    for l in range(L):
                        J[start + l, k, j] = S[inputs[j], l]
        _first_failed_lanes(tape, W, start, L, failed)
