"""Jacobian sparsity: which entries of a tape's Jacobian can be nonzero, and colourings of its
columns and rows that give the Jacobian from few JVPs or VJPs.

The pattern is structural (from the tape, not from values), exact for the recorded branch
up to the selects (both branches of ``where`` count): entry (r, j) can be nonzero when a path
from input j to output r runs through partials that ``ops.NONZERO_PARTIALS`` says can be
nonzero. It is found backward: each slot's set of the outputs it reaches is the union of its
readers' sets, computed once per slot in reverse order (every reader of a slot comes after
it). Unlike forward index domains (ADOL-C's ``jac_pat``; the Hessian's bitsets in
sparsity.py), a long reduction costs nothing here (each partial sum reaches one output), and a
slot with a single reader shares that reader's set instead of copying it, so time and memory
follow the tape and the number of nonzeros, never n x m.

Colourings are greedy distance-1 colourings of the column (row) intersection graph, columns in
order (Gebremedhin, Manne and Pothen, "What color is your Jacobian?", 2005): columns of one
colour share no row, so one JVP along the sum of their unit vectors gives each of their
entries directly (Curtis, Powell and Reid). A banded Jacobian of bandwidth w takes w colours.
"""

import heapq

import numpy as np

from numba_ad._config import kernel
from numba_ad.ops.table import FIRST_MATH, NONZERO_PARTIALS

INDEX = np.int64
MAX_DSATUR_BYTES = 64 * 2**20


@kernel
def _readers(tape, nonzero):
    """CSR (ptr, idx) of each slot's readers: the ops with a possibly nonzero partial in it."""
    op, a, b = tape.op, tape.a, tape.b
    n = op.shape[0]
    count = np.zeros(n + 1, dtype=np.int64)
    for i in range(n):
        o = op[i]
        if o >= FIRST_MATH:
            if nonzero[o, 0]:
                count[a[i] + 1] += 1
            if nonzero[o, 1] and not (nonzero[o, 0] and b[i] == a[i]):
                count[b[i] + 1] += 1
    ptr = np.cumsum(count)
    fill = ptr[:-1].copy()
    idx = np.empty(ptr[n], dtype=np.int64)
    for i in range(n):
        o = op[i]
        if o >= FIRST_MATH:
            if nonzero[o, 0]:
                idx[fill[a[i]]] = i
                fill[a[i]] += 1
            if nonzero[o, 1] and not (nonzero[o, 0] and b[i] == a[i]):
                idx[fill[b[i]]] = i
                fill[b[i]] += 1
    return ptr, idx


@kernel
def output_sets(tape, nonzero):
    """For every slot, the sorted outputs it reaches: (start, length, buffer), the set of slot
    i being buffer[start[i] : start[i] + length[i]] (slots with one reader share its range)."""
    op, outputs = tape.op, tape.outputs
    n = op.shape[0]
    ptr, readers = _readers(tape, nonzero)
    out_ptr = np.zeros(n + 1, dtype=np.int64)  # outputs living in each slot, CSR
    for k in range(outputs.shape[0]):
        out_ptr[outputs[k] + 1] += 1
    out_ptr = np.cumsum(out_ptr)
    out_idx = np.empty(outputs.shape[0], dtype=np.int64)
    fill = out_ptr[:-1].copy()
    for k in range(outputs.shape[0]):
        out_idx[fill[outputs[k]]] = k
        fill[outputs[k]] += 1
    start = np.zeros(n, dtype=np.int64)
    length = np.zeros(n, dtype=np.int64)
    buffer = np.empty(max(16, 2 * n), dtype=np.int64)
    used = 0
    for i in range(n - 1, -1, -1):
        r0, r1 = ptr[i], ptr[i + 1]
        own = out_ptr[i + 1] - out_ptr[i]
        if own == 0 and r1 - r0 == 1:  # one reader: its set, shared
            r = readers[r0]
            start[i] = start[r]
            length[i] = length[r]
            continue
        total = own
        for q in range(r0, r1):
            total += length[readers[q]]
        if total == 0:
            continue
        if used + total > buffer.shape[0]:
            bigger = np.empty(max(2 * buffer.shape[0], used + total), dtype=np.int64)
            bigger[:used] = buffer[:used]
            buffer = bigger
        tmp = buffer[used : used + total]
        t = 0
        for q in range(out_ptr[i], out_ptr[i + 1]):
            tmp[t] = out_idx[q]
            t += 1
        for q in range(r0, r1):
            r = readers[q]
            for s in range(start[r], start[r] + length[r]):
                tmp[t] = buffer[s]
                t += 1
        tmp.sort()
        k = 0
        for s in range(total):  # unique, in place
            if k == 0 or tmp[s] != tmp[k - 1]:
                tmp[k] = tmp[s]
                k += 1
        start[i] = used
        length[i] = k
        used += k
    return start, length, buffer


@kernel
def input_columns(tape, start, length, buffer):
    """CSC of the pattern: (ptr, rows), column j being the outputs input j reaches."""
    inputs = tape.inputs
    n = inputs.shape[0]
    ptr = np.zeros(n + 1, dtype=np.int64)
    for j in range(n):
        ptr[j + 1] = ptr[j] + length[inputs[j]]
    rows = np.empty(ptr[n], dtype=np.int64)
    for j in range(n):
        s = start[inputs[j]]
        for q in range(length[inputs[j]]):
            rows[ptr[j] + q] = buffer[s + q]
    return ptr, rows


@kernel
def greedy_coloring(ptr, idx, t_ptr, t_idx):
    """Colours of the columns of the pattern whose CSC is (ptr, idx) and CSR (t_ptr, t_idx), so
    that columns of one colour share no row; greedy in column order. (Swap the two for rows.)"""
    n = ptr.shape[0] - 1
    colors = np.full(n, -1, dtype=np.int64)
    forbidden = np.full(n + 1, -1, dtype=np.int64)
    for j in range(n):
        for q in range(ptr[j], ptr[j + 1]):
            r = idx[q]
            for s in range(t_ptr[r], t_ptr[r + 1]):
                k = t_idx[s]
                if colors[k] >= 0:
                    forbidden[colors[k]] = j
        c = 0
        while forbidden[c] == j:
            c += 1
        colors[j] = c
    return colors


@kernel
def dsatur_coloring(ptr, idx, t_ptr, t_idx, max_colors):
    """Colours as greedy_coloring's, choosing next the column whose neighbours already use the
    most distinct colours (DSATUR, Brelaz 1979; ties: more neighbours, then lower index). The
    5-point stencil's Jacobian takes the optimal 5 colours, where column order takes 7.
    max_colors bounds the colours (a column's neighbour count + 1): seen is n x max_colors."""
    n = ptr.shape[0] - 1
    colors = np.full(n, -1, dtype=np.int64)
    seen = np.zeros((n, max_colors), dtype=np.uint8)
    saturation = np.zeros(n, dtype=np.int64)
    degree = np.zeros(n, dtype=np.int64)  # with repeats: neighbours through each shared row
    for j in range(n):
        for q in range(ptr[j], ptr[j + 1]):
            r = idx[q]
            degree[j] += t_ptr[r + 1] - t_ptr[r] - 1
    heap = [(np.int64(0), -degree[j], np.int64(j)) for j in range(n)]
    heapq.heapify(heap)
    while len(heap) > 0:
        s, _, j = heapq.heappop(heap)
        if colors[j] >= 0 or -s != saturation[j]:
            continue  # coloured already, or an entry left behind by a later push
        c = 0
        while seen[j, c]:
            c += 1
        colors[j] = c
        for q in range(ptr[j], ptr[j + 1]):
            r = idx[q]
            for t in range(t_ptr[r], t_ptr[r + 1]):
                k = t_idx[t]
                if colors[k] < 0 and not seen[k, c]:
                    seen[k, c] = 1
                    saturation[k] += 1
                    heapq.heappush(heap, (-saturation[k], -degree[k], k))
    return colors


def best_coloring(ptr, idx, t_ptr, t_idx) -> np.ndarray:
    """The column colouring with fewer colours of greedy_coloring (column order) and
    dsatur_coloring; DSATUR only while its n x (max neighbours + 1) table fits in
    MAX_DSATUR_BYTES."""
    colors = greedy_coloring(ptr, idx, t_ptr, t_idx)
    n = ptr.shape[0] - 1
    if n == 0:
        return colors
    row_len = np.diff(t_ptr)
    neighbours = np.add.reduceat(np.append(row_len[idx] - 1, 0), ptr[:-1]) if idx.shape[0] else np.zeros(n)
    neighbours = np.where(np.diff(ptr) > 0, neighbours, 0)
    bound = int(min(neighbours.max(initial=0), n - 1)) + 1
    if n * bound > MAX_DSATUR_BYTES:
        return colors
    other = dsatur_coloring(ptr, idx, t_ptr, t_idx, bound)
    return other if other.max(initial=-1) < colors.max(initial=-1) else colors


def pattern_of(arrays) -> tuple[np.ndarray, np.ndarray]:
    """(ptr, rows): the CSC (by input column, rows sorted) of the tape's Jacobian pattern."""
    start, length, buffer = output_sets(arrays, NONZERO_PARTIALS)
    return input_columns(arrays, start, length, buffer)
