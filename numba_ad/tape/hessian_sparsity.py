"""Hessian sparsity from sparse index sets, and a star colouring for compressed Hessians.

The pattern is structural, like the Jacobian's (jacobian_sparsity.py): H[j, k] can be nonzero
when some op with a possibly nonzero second partial, on a path to a weighted output, has an
operand depending on input j and one depending on input k (ADOL-C's ``hess_pat``, by index
domains). sparsity.py does this with dense bitsets, n_slots x n / 64 words: 12 GB for P1 at
n = 100000. Here the index domains are sorted lists, and only the slots whose domain is read
get one: the operands of the second-order ops and, backward through the first partials,
what they depend on. A long sum that only reaches the output (P1's objective) is never given
a domain, so time and memory follow the tape and the Hessian's nonzeros, not n^2. A slot fed
by one operand shares that operand's list instead of copying it.

Colouring: a greedy star colouring (Gebremedhin, Manne and Pothen, "What color is your
Jacobian?", SIAM Review 2005, section 6): distance-1 proper, and every path on four vertices
uses three colours. Then each H[i, j] is read directly from one Hessian-vector product along
the colour sums: from row i of colour(j)'s product when j is the only neighbour of i with that
colour, else from row j of colour(i)'s (the star property says one of the two holds). A
banded Hessian of half-bandwidth k needs at most 2k + 1 colours (tridiagonal: 3), an
arrowhead 2 where a distance-2 colouring (what sparsity.py does, and what CPR needs) needs n.
Vertices are coloured largest degree first (ties in index order), which puts an arrowhead's
hub first; the greedy's cost is the sum over vertices v of the degrees at distance two
through each coloured neighbour, so a hub of degree d costs d^2 in all.
"""

import numpy as np

from numba_ad._config import kernel
from numba_ad.ops.table import FIRST_MATH, NONZERO_PARTIALS, Op

INDEX = np.int64
# Coupled pairs beyond this many times the n (n + 1) / 2 of a dense triangle (repeats: one
# long sum read by many nonlinear ops): the pattern is taken as dense, bounding the memory.
DENSE_AFTER = 4
SMALL_PAIRS = 1 << 22  # below this many pairs (64 MiB) the exact pattern is always found


@kernel
def _depends(tape, nonzero):
    """dep[i] = 1 where slot i depends on some input through partials that can be nonzero."""
    op, a, b = tape.op, tape.a, tape.b
    dep = np.zeros(op.shape[0], dtype=np.uint8)
    for i in range(op.shape[0]):
        o = op[i]
        if o == Op.INPUT:
            dep[i] = 1
        elif o >= FIRST_MATH:
            if (nonzero[o, 0] and dep[a[i]]) or (nonzero[o, 1] and dep[b[i]]):
                dep[i] = 1
    return dep


@kernel
def _live_and_needed(tape, nonzero, output_mask, dep):
    """live[i]: slot i reaches an output with output_mask set through nonzero partials;
    needed[i]: slot i's index domain is read (an operand of a live second-order op, or what
    one depends on). One reverse pass: every reader of a slot comes after it."""
    op, a, b, outputs = tape.op, tape.a, tape.b, tape.outputs
    n = op.shape[0]
    live = np.zeros(n, dtype=np.uint8)
    needed = np.zeros(n, dtype=np.uint8)
    for k in range(outputs.shape[0]):
        if output_mask[k]:
            live[outputs[k]] = 1
    for i in range(n - 1, -1, -1):
        o = op[i]
        if o < FIRST_MATH:
            continue
        ai, bi = a[i], b[i]
        if live[i]:
            if nonzero[o, 0]:
                live[ai] = 1
            if nonzero[o, 1]:
                live[bi] = 1
            if nonzero[o, 2] and dep[ai]:
                needed[ai] = 1
            if nonzero[o, 3] and dep[ai] and dep[bi]:
                needed[ai] = 1
                needed[bi] = 1
            if nonzero[o, 4] and dep[bi]:
                needed[bi] = 1
        if needed[i]:
            if nonzero[o, 0] and dep[ai]:
                needed[ai] = 1
            if nonzero[o, 1] and dep[bi]:
                needed[bi] = 1
    return live, needed


@kernel
def _grow(buffer, used, extra):
    if used + extra <= buffer.shape[0]:
        return buffer
    bigger = np.empty(max(2 * buffer.shape[0], used + extra), dtype=buffer.dtype)
    bigger[:used] = buffer[:used]
    return bigger


@kernel
def _index_domains(tape, nonzero, dep, needed):
    """The sorted inputs each needed slot depends on: slot i's are
    buffer[start[i] : start[i] + length[i]] (shared with its operand where it has one)."""
    op, a, b = tape.op, tape.a, tape.b
    n = op.shape[0]
    start = np.zeros(n, dtype=INDEX)
    length = np.zeros(n, dtype=INDEX)
    buffer = np.empty(max(16, n), dtype=INDEX)
    used = 0
    for i in range(n):
        if not needed[i]:
            continue
        o = op[i]
        if o == Op.INPUT:
            buffer = _grow(buffer, used, 1)
            buffer[used] = a[i]
            start[i] = used
            length[i] = 1
            used += 1
            continue
        if o < FIRST_MATH:
            continue
        ai, bi = a[i], b[i]
        use_a = nonzero[o, 0] and dep[ai]
        use_b = nonzero[o, 1] and dep[bi] and bi != ai
        if use_a and not use_b:
            start[i], length[i] = start[ai], length[ai]
        elif use_b and not use_a:
            start[i], length[i] = start[bi], length[bi]
        elif use_a and use_b:  # merge two sorted lists, dropping repeats
            la, lb = length[ai], length[bi]
            buffer = _grow(buffer, used, la + lb)
            p, q, sa, sb, k = 0, 0, start[ai], start[bi], used
            while p < la or q < lb:
                if q == lb or (p < la and buffer[sa + p] < buffer[sb + q]):
                    v = buffer[sa + p]
                    p += 1
                elif p == la or buffer[sb + q] < buffer[sa + p]:
                    v = buffer[sb + q]
                    q += 1
                else:
                    v = buffer[sa + p]
                    p += 1
                    q += 1
                buffer[k] = v
                k += 1
            start[i] = used
            length[i] = k - used
            used = k
    return start, length, buffer


@kernel
def _coupling_count(tape, nonzero, dep, live, length):
    """How many pairs _couplings will emit (repeats included)."""
    op, a, b = tape.op, tape.a, tape.b
    total = 0
    for i in range(op.shape[0]):
        o = op[i]
        if o < FIRST_MATH or not live[i]:
            continue
        for which in range(3):  # d_aa, d_ab, d_bb
            r = a[i] if which < 2 else b[i]
            s = b[i] if which > 0 else a[i]
            if nonzero[o, 2 + which] and dep[r] and dep[s]:
                total += length[r] * (length[r] + 1) // 2 if r == s else length[r] * length[s]
    return total


@kernel
def _couplings(tape, nonzero, dep, live, start, length, buffer, total):
    """The `total` pairs (j, k), j <= k, of inputs that some live second-order op couples
    (with repeats)."""
    op, a, b = tape.op, tape.a, tape.b
    rows = np.empty(total, dtype=INDEX)
    cols = np.empty(total, dtype=INDEX)
    used = 0
    for i in range(op.shape[0]):
        o = op[i]
        if o < FIRST_MATH or not live[i]:
            continue
        for which in range(3):  # d_aa, d_ab, d_bb
            r = a[i] if which < 2 else b[i]
            s = b[i] if which > 0 else a[i]
            if not (nonzero[o, 2 + which] and dep[r] and dep[s]):
                continue
            lr, ls, sr, ss = length[r], length[s], start[r], start[s]
            for p in range(lr):
                j = buffer[sr + p]
                for q in range(p if r == s else 0, ls):
                    k = buffer[ss + q]
                    rows[used] = min(j, k)
                    cols[used] = max(j, k)
                    used += 1
    return rows, cols


def pattern_of(arrays, output_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(indptr, indices): the CSR of the symmetric Hessian pattern (n, n) of sum_k w_k F_k over
    the outputs k with output_mask[k] set, columns sorted within each row. Dense (every
    entry) when the ops couple more than DENSE_AFTER dense triangles' worth of pairs."""
    n = int(arrays.inputs.shape[0])
    dep = _depends(arrays, NONZERO_PARTIALS)
    live, needed = _live_and_needed(arrays, NONZERO_PARTIALS, output_mask.astype(np.uint8), dep)
    start, length, buffer = _index_domains(arrays, NONZERO_PARTIALS, dep, needed)
    total = _coupling_count(arrays, NONZERO_PARTIALS, dep, live, length)
    if total > max(DENSE_AFTER * (n * (n + 1) // 2), SMALL_PAIRS):  # mostly repeats of a dense pattern
        indptr = np.arange(0, n * n + 1, n, dtype=INDEX)
        return indptr, np.tile(np.arange(n, dtype=INDEX), n)
    rows, cols = _couplings(arrays, NONZERO_PARTIALS, dep, live, start, length, buffer, total)
    upper = np.unique(rows * n + cols)  # sorted: row-major order
    r, c = np.divmod(upper, n)
    off = r != c
    key = np.concatenate([upper, c[off] * n + r[off]])
    key.sort()
    r, c = np.divmod(key, n)
    indptr = np.zeros(n + 1, dtype=INDEX)
    np.cumsum(np.bincount(r, minlength=n), out=indptr[1:])
    return indptr, c.astype(INDEX)


@kernel
def star_coloring(indptr, indices, order):
    """Greedy star colouring of the symmetric pattern (CSR, diagonal ignored), vertices in
    `order`: colours (n,) from 0; every vertex gets one."""
    n = indptr.shape[0] - 1
    color = np.full(n, -1, dtype=INDEX)
    forbidden = np.full(n + 1, -1, dtype=INDEX)  # forbidden[c] == v: colour c is taken for v
    for t in range(n):
        v = order[t]
        for p in range(indptr[v], indptr[v + 1]):
            w = indices[p]
            if w == v:
                continue
            cw = color[w]
            if cw >= 0:
                forbidden[cw] = v
            for q in range(indptr[w], indptr[w + 1]):
                x = indices[q]
                if x == w or x == v or color[x] < 0:
                    continue
                if cw < 0:  # v - w - x with w still uncoloured: x's colour would close a 2-coloured P4 later
                    forbidden[color[x]] = v
                else:  # v - w - x - y with colour(y) == colour(w): v may not take colour(x)
                    for s in range(indptr[x], indptr[x + 1]):
                        y = indices[s]
                        if y != w and y != x and color[y] == cw:
                            forbidden[color[x]] = v
                            break
        c = 0
        while forbidden[c] == v:
            c += 1
        color[v] = c
    return color


@kernel
def star_sources(indptr, indices, color, n_colors):
    """For each stored entry (i, j) of the pattern, where it is read from the products
    B = H S (S[:, c] the sum of the unit vectors of colour c): (row, colour) of B. B[i, c] sums
    H[i, k] over the k of colour c in row i (the diagonal, stored or structurally zero, has
    colour(i), which no neighbour shares), so it is H[i, j] when j is row i's only one."""
    n = indptr.shape[0] - 1
    src_row = np.empty(indices.shape[0], dtype=INDEX)
    src_col = np.empty(indices.shape[0], dtype=INDEX)
    count = np.zeros(max(n_colors, 1), dtype=INDEX)
    for i in range(n):
        for p in range(indptr[i], indptr[i + 1]):
            count[color[indices[p]]] += 1
        for p in range(indptr[i], indptr[i + 1]):
            j = indices[p]
            if i == j or count[color[j]] == 1:
                src_row[p] = i
                src_col[p] = color[j]
            else:
                src_row[p] = j
                src_col[p] = color[i]
        for p in range(indptr[i], indptr[i + 1]):
            count[color[indices[p]]] = 0
    return src_row, src_col


def coloring_work(indptr: np.ndarray, indices: np.ndarray) -> int:
    """An upper bound on star_coloring's inner steps: sum over w of deg(w) * (the degrees of
    w's neighbours), about n d^3 for degree d."""
    n = indptr.shape[0] - 1
    degree = np.diff(indptr).astype(np.float64)
    rows = np.repeat(np.arange(n), np.diff(indptr))
    around = np.bincount(rows, weights=degree[indices], minlength=n)
    return int(np.dot(degree, around))
