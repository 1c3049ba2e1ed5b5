"""Drivers of compressed (coloured) Jacobians and Hessians: products along colour sums, then
a gather of each stored entry of the pattern into ``values`` (nnz,), in the pattern's order.

As in drivers.py each returns the index of the first failed guard (-1: on the branch), and
checks every index it reads by (a plan is an argument, so @njit callers can pass a wrong
one: it raises, it does not read outside an array). The plans come from
jacobian_sparsity.py and hessian_sparsity.py through api/sparse.py.
"""

from typing import NamedTuple

import numpy as np

from numba_ad._config import kernel
from numba_ad.tape.drivers import _check_point, hvp_into, linearize_into
from numba_ad.tape.sweeps import adjoint_sweep, first_failed_guard, linearize_tangent_sweep, tangent_sweep


class SparseJacobianPlan(NamedTuple):
    """What a compressed Jacobian evaluation reads (passable to @njit code: numba_ad.nb).

    Entry q of the pattern is J[rows[q], cols[q]]; entries are in CSR order (by row, columns
    increasing), so ``indptr`` with ``cols`` is the CSR structure. ``colors`` are the column
    colours (forward) or row colours (reverse), ``n_colors`` their number.
    """

    forward: bool
    colors: np.ndarray  # (n,) forward or (m,) reverse, int64
    n_colors: int
    rows: np.ndarray  # (nnz,) int64
    cols: np.ndarray  # (nnz,) int64
    indptr: np.ndarray  # (m + 1,) int64


class SparseHessianPlan(NamedTuple):
    """What a compressed Hessian evaluation reads (passable to @njit code: numba_ad.nb).

    Entry q is H[rows[q], cols[q]] (CSR order, both triangles stored), read from
    (H seeds)[src_row[q], src_col[q]]; seeds (n, C) sums the unit vectors of each colour.
    """

    colors: np.ndarray  # (n,) int64, a star colouring
    n_colors: int
    seeds: np.ndarray  # (n, max(C, 1)) float64
    src_row: np.ndarray  # (nnz,) int64
    src_col: np.ndarray  # (nnz,) int64
    rows: np.ndarray  # (nnz,) int64
    cols: np.ndarray  # (nnz,) int64
    indptr: np.ndarray  # (n + 1,) int64


@kernel
def _check_jacobian_plan(n, m, plan, values):
    forward, colors, n_colors, rows, cols = plan.forward, plan.colors, plan.n_colors, plan.rows, plan.cols
    if colors.shape[0] != (n if forward else m):
        raise ValueError("sparse jacobian: colors must have one entry per column (forward) or row (reverse)")
    if rows.shape[0] != cols.shape[0] or values.shape[0] != rows.shape[0]:
        raise ValueError("sparse jacobian: rows, cols and values must have length nnz")
    for k in range(colors.shape[0]):
        if colors[k] < 0 or colors[k] >= n_colors:
            raise ValueError("sparse jacobian: a colour is out of range")
    for q in range(rows.shape[0]):
        if rows[q] < 0 or rows[q] >= m or cols[q] < 0 or cols[q] >= n:
            raise ValueError("sparse jacobian: an entry's row or column is out of range")


@kernel
def sparse_jacobian_into(tape, x, p, w, d_a, d_b, lanes, plan, values):
    """values[q] = J[plan.rows[q], plan.cols[q]] at x from plan.n_colors tangent sweeps
    (forward: columns of one colour share no row) or adjoint sweeps (reverse: rows of one
    colour share no column), lanes.shape[1] colours a sweep, on one linearisation."""
    inputs, outputs = tape.inputs, tape.outputs
    n, m, L = inputs.shape[0], outputs.shape[0], lanes.shape[1]
    _check_jacobian_plan(n, m, plan, values)
    forward, colors, n_colors, rows, cols = plan.forward, plan.colors, plan.n_colors, plan.rows, plan.cols
    if lanes.shape[0] != w.shape[0] or L == 0:
        raise ValueError("sparse jacobian: the lane buffer has the wrong shape for this tape")
    if forward and n_colors <= L:  # one block: values, partials and tangents in one pass
        _check_point(tape, x, p, w)
        for j in range(n):
            for k in range(n_colors):
                lanes[inputs[j], k] = 1.0 if colors[j] == k else 0.0
        linearize_tangent_sweep(tape, x, p, w, lanes, n_colors)
        for q in range(rows.shape[0]):
            values[q] = lanes[outputs[rows[q]], colors[cols[q]]]
        return first_failed_guard(tape, w)
    failed = linearize_into(tape, x, p, w, d_a, d_b)
    for c0 in range(0, n_colors, L):
        n_lanes = min(L, n_colors - c0)
        if forward:
            for j in range(n):
                for k in range(n_lanes):
                    lanes[inputs[j], k] = 1.0 if colors[j] == c0 + k else 0.0
            tangent_sweep(tape, d_a, d_b, lanes, n_lanes)
            for q in range(rows.shape[0]):
                k = colors[cols[q]] - c0
                if 0 <= k < n_lanes:
                    values[q] = lanes[outputs[rows[q]], k]
        else:
            lanes[:, :n_lanes] = 0.0
            for i in range(m):
                k = colors[i] - c0
                if 0 <= k < n_lanes:
                    lanes[outputs[i], k] += 1.0  # += : two outputs may be the same slot
            adjoint_sweep(tape, d_a, d_b, lanes, n_lanes)
            for q in range(rows.shape[0]):
                k = colors[rows[q]] - c0
                if 0 <= k < n_lanes:
                    values[q] = lanes[inputs[cols[q]], k]
    return failed


@kernel
def sparse_jacobian_many_into(tape, X, P, w, d_a, d_b, lanes, plan, values, failed):
    """sparse_jacobian_into at each row of X into the rows of values (N, nnz); failed (N,)
    gets each point's first failed guard. P is (1, n_params), shared, or (N, n_params)."""
    N = X.shape[0]
    if values.shape[0] != N or failed.shape[0] != N or (P.shape[0] != 1 and P.shape[0] != N):
        raise ValueError("sparse jacobian many: X, P, values and failed must agree on N")
    for i in range(N):
        p = P[0 if P.shape[0] == 1 else i]
        failed[i] = sparse_jacobian_into(tape, X[i], p, w, d_a, d_b, lanes, plan, values[i])


@kernel
def sparse_hessian_into(tape, x, p, weights, plan, work, lanes_dot, lanes_bar, compressed, values):
    """values[q] = compressed[plan.src_row[q], plan.src_col[q]] after compressed = H plan.seeds
    (n, C), the Hessian-vector products along the colour sums (star colouring:
    hessian_sparsity.py)."""
    seeds, src_row, src_col = plan.seeds, plan.src_row, plan.src_col
    n, C = seeds.shape[0], seeds.shape[1]
    if compressed.shape[0] != n or compressed.shape[1] != C:
        raise ValueError("sparse hessian: compressed must have the shape of seeds (n, C)")
    if src_row.shape[0] != values.shape[0] or src_col.shape[0] != values.shape[0]:
        raise ValueError("sparse hessian: src_row, src_col and values must have length nnz")
    for q in range(values.shape[0]):
        if src_row[q] < 0 or src_row[q] >= n or src_col[q] < 0 or src_col[q] >= C:
            raise ValueError("sparse hessian: a source index is out of range")
    failed = hvp_into(tape, x, p, seeds, weights, work, lanes_dot, lanes_bar, compressed)
    for q in range(values.shape[0]):
        values[q] = compressed[src_row[q], src_col[q]]
    return failed


@kernel
def sparse_hessian_many_into(tape, X, P, weights, plan, work, lanes_dot, lanes_bar, compressed, values, failed):
    """sparse_hessian_into at each row of X into the rows of values (N, nnz); failed (N,)
    gets each point's first failed guard. P is (1, n_params), shared, or (N, n_params)."""
    N = X.shape[0]
    if values.shape[0] != N or failed.shape[0] != N or (P.shape[0] != 1 and P.shape[0] != N):
        raise ValueError("sparse hessian many: X, P, values and failed must agree on N")
    for i in range(N):
        p = P[0 if P.shape[0] == 1 else i]
        failed[i] = sparse_hessian_into(tape, X[i], p, weights, plan, work, lanes_dot, lanes_bar, compressed, values[i])
