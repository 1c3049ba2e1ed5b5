"""Periodic regions of loop-style tapes: one body recorded again and again becomes a nest,
a loop over the copies of its body (``regions_of``, ``periodic_nest``)."""

import numpy as np

from numba_ad.compile.loops import BodyOp, Group
from numba_ad.compile.runs import MAX_PERIOD_TRIES, kind_of
from numba_ad.ops.table import FIRST_MATH

# periodic regions (loop-style tapes): a body of at most MAX_BODY slots repeated at least
# MIN_ROWS times; at most MAX_REGIONS of them
MAX_BODY, MIN_ROWS, MAX_REGIONS = 1_000, 4, 16


def regions_of(arrays) -> list[tuple[int, int, int]]:
    """Periodic regions of a loop-style tape: [(start, body length L, rows)], where slots
    start + p + L t (t < rows) have one opcode, guard flag and constant for each p < L, and
    operands affine in t. Found largest first, then again in what is left either side."""
    kinds = kind_of(arrays), arrays.c.view(np.int64), arrays.a.astype(np.int64), arrays.b.astype(np.int64)
    regions, todo = [], [(0, arrays.op.shape[0])]
    while todo and len(regions) < MAX_REGIONS:
        lo, hi = todo.pop()
        found = _period(arrays.op, kinds, lo, hi)
        if found is not None:
            start, length, rows = found
            regions.append(found)
            todo += [(lo, start), (start + length * rows, hi)]
    return sorted(regions)


def _period(op, kinds, lo, hi):
    """A periodic region (start, L, rows) in slots lo .. hi - 1: around the middle math op, else
    around one at a quarter or three quarters (the middle may be where one loop ends)."""
    math = np.flatnonzero(op[lo:hi] >= FIRST_MATH) + lo
    if math.shape[0] < 2 * MIN_ROWS:
        return None
    for probe in (2, 1, 3):
        found = _period_around(op, kinds, lo, hi, int(math[math.shape[0] * probe // 4]))
        if found is not None:
            return found
    return None


def _period_around(op, kinds, lo, hi, middle):
    """The periodic region (start, L, rows) of slots lo .. hi - 1 that holds slot `middle`, with
    the smallest period L that gives at least MIN_ROWS rows, or None. `kinds`: kind, constant
    bits, a and b of every slot."""
    kind, cbits, a, b = kinds
    window = slice(middle + 1, min(hi, middle + MAX_BODY + 1))
    lengths = np.flatnonzero((kind[window] == kind[middle]) & (cbits[window] == cbits[middle])) + 1
    for length in lengths[:MAX_PERIOD_TRIES].tolist():
        if length < 2 or hi - lo < MIN_ROWS * length:
            continue
        at = min(middle, hi - 3 * length)  # one body's slots first, at `middle` where there is room:
        if not _agree(op, kinds, at, at + length, length).all():  # most lengths fail there, and
            continue  # the whole range costs O(hi - lo)
        ok = _agree(op, kinds, lo, hi - 2 * length, length)
        at -= lo
        bad = np.flatnonzero(~ok)
        r0 = int(bad[bad < at].max()) + 1 if (bad < at).any() else 0
        r1 = int(bad[bad > at].min()) if (bad > at).any() else ok.shape[0]
        rows = (r1 - r0) // length + 2
        if rows >= MIN_ROWS:
            return lo + r0, length, rows
    return None


def _agree(op, kinds, i0, i1, length):
    """For slots i = i0 .. i1 - 1: whether slots i, i + L, i + 2 L have one kind (and constant,
    for math ops) and operands advancing by one stride."""
    kind, cbits, a, b = kinds
    at = lambda v, d: v[i0 + d : i1 + d]  # noqa: E731
    math = at(op, 0) >= FIRST_MATH
    ok = (at(kind, 0) == at(kind, length)) & (at(kind, 0) == at(kind, 2 * length))
    ok &= ~math | ((at(cbits, 0) == at(cbits, length)) & (at(cbits, 0) == at(cbits, 2 * length)))
    for v in (a, b):
        ok &= at(v, length) - at(v, 0) == at(v, 2 * length) - at(v, length)
    return ok


def periodic_nest(arrays, guard_index: np.ndarray, start: int, length: int, rows: int) -> Group:
    """A periodic region as a nest: `rows` iterations of one loop of one iteration, the body's
    math ops written out once."""
    t = np.arange(rows)[:, None] * length
    ops = []
    for p in range(length):
        out = start + p + t
        first = int(out[0, 0])
        if arrays.op[first] >= FIRST_MATH:
            ops.append(
                BodyOp(
                    int(arrays.op[first]),
                    float(arrays.c[first]),
                    0,
                    out,
                    arrays.a[out].astype(np.int64),
                    arrays.b[out].astype(np.int64),
                    int(guard_index[first]),
                )
            )
    return Group(1, ops, rows)
