"""Runs and units: the tape's math ops cut into pieces that each become one op of a loop.

Array tracing records an elementwise operation as consecutive slots with one opcode whose
operands advance by fixed strides (``a = a0 + k sa``). ``run_bounds`` finds them, scanning
backwards so that the irregular first op of a reduction chain (``t0 + t1``, then ``s + t2``,
...) is left on its own and not glued to the run before it. A block of one op whose runs are
short (array code over a short last axis, GMM's (n, K, d) broadcasts) becomes P interleaved
runs of T iterations instead (``make_units``).
"""

import numpy as np

from numba_ad._config import kernel
from numba_ad.compile.loops import MAX_EMITTED, NotCompilable
from numba_ad.ops.table import FIRST_MATH, Op

MIN_RUN = 3  # shorter runs stay single ops: two ops with any strides are "affine"
MAX_UNITS = 50_000  # runs plus single ops; the planner spends about 20 us on each
SHORT_RUN = 16  # a block of one op whose runs average fewer ops is tried as interleaved runs
MAX_PERIOD_TRIES = 24  # periods tried per block (each costs a pass over it)


@kernel
def run_bounds(op, a, b, kind, cbits, first_math):
    """Start slots of the maximal runs (a math op repeated with affine operands), ascending;
    one entry per single op. The last entry is the slot count. Two slots can be consecutive
    iterations of a run when their `kind` (opcode and guard flag) and constant bits agree."""
    n = op.shape[0]
    starts = np.empty(n + 1, dtype=np.int64)
    m = 0
    starts[m] = n
    m += 1
    e = n - 1
    while e >= 0:
        s = e
        if op[e] >= first_math and e >= 1 and kind[e - 1] == kind[e] and cbits[e - 1] == cbits[e]:
            da = a[e] - a[e - 1]
            db = b[e] - b[e - 1]
            s = e - 1
            while (
                s >= 1
                and kind[s - 1] == kind[e]
                and cbits[s - 1] == cbits[e]
                and a[s] - a[s - 1] == da
                and b[s] - b[s - 1] == db
            ):
                s -= 1
            if e - s + 1 < MIN_RUN:
                s = e  # too short to be a run: e.g. a chain's head glued to the run before it
        starts[m] = s
        m += 1
        e = s - 1
    return starts[:m][::-1].copy()


def kind_of(arrays) -> np.ndarray:
    """Opcode and guard flag in one int: a guard never shares a run with a mask."""
    kind = arrays.op.astype(np.int64) * 2
    kind[arrays.guards] += 1
    return kind


def make_units(arrays, regions: list[tuple[int, int]] = ()) -> tuple[list[np.ndarray], list[int]]:
    """The tape's math ops as units, in tape order: each the slots of one op's iterations.
    Slots in `regions` ([(start, end)], the periodic regions of ``regions_of``) are left out.

    Mostly run_bounds' runs (consecutive slots). Array code over a short last axis (GMM's
    (n, K, d) broadcasts) records blocks of one op whose runs are short; such a block is split
    instead into P interleaved runs of T iterations (slots s + p + P t, p < P) when each has
    affine operands (or reads only constants, through a table): the long axis becomes the
    loop. Once a block has set T, later blocks are cut into (T, P) pieces too, so that their
    units have T iterations and fuse into the same loop."""
    op, a, b = arrays.op, arrays.a, arrays.b
    kind, cbits = kind_of(arrays), arrays.c.view(np.int64)
    bounds = run_bounds(op, a, b, kind, cbits, FIRST_MATH)
    change = np.flatnonzero((kind[1:] != kind[:-1]) | (cbits[1:] != cbits[:-1])) + 1
    block_starts = np.concatenate([[0], change]).tolist()
    block_ends = np.concatenate([change, [op.shape[0]]]).tolist()
    for r0, r1 in regions:  # blocks clipped to the slots outside the regions
        kept = [(s, min(e, r0)) for s, e in zip(block_starts, block_ends) if s < r0]
        kept += [(max(s, r1), e) for s, e in zip(block_starts, block_ends) if e > r1]
        block_starts, block_ends = [s for s, _ in kept], [e for _, e in kept]
    const = tuple(op[v] == Op.CONST for v in (a, b))
    pieces, count = [], 0  # pieces: (start, end, period or None for runs)
    trips, trips_ops = 0, 0  # the loop length, set by the largest block split so far
    for s, e in zip(block_starts, block_ends):
        if op[s] < FIRST_MATH:
            continue
        runs = np.searchsorted(bounds, e) - np.searchsorted(bounds, s)
        period = _smallest_period(a, b, const, s, e) if runs > 1 and e - s < SHORT_RUN * runs else None
        if period is not None and e - s > trips_ops:
            # the largest block so far sets the loop: GMM's (n, K, d) broadcast, not the (K, d)
            # block before it, nor the (n * K) rows of a reduction after it
            pieces.append((s, e, period))
            count += period
            if (e - s) // period >= SHORT_RUN:
                trips, trips_ops = (e - s) // period, e - s
            continue
        at = s
        while trips and at < e:  # (trips, P) pieces
            cut = _largest_period(a, b, const, at, e, trips)
            if cut is None:
                break
            pieces.append((at, at + cut * trips, cut))
            count += cut
            at += cut * trips
        if at == s and period is not None:
            pieces.append((s, e, period))
            count += period
        elif at < e:
            pieces.append((at, e, None))
            count += runs if at == s else e - at  # a rest of a cut block: counted as singles at most
    if count > MAX_UNITS:
        raise NotCompilable(
            f"the tape has {count} runs and single ops (at most {MAX_UNITS} compile): "
            "trace f array-style (ufuncs on whole arrays) so its ops form runs"
        )
    units, piece_of = [], []  # piece_of: which split block (or run) each unit comes from
    n_pieces = 0
    for s, e, period in pieces:
        if period is not None:
            units.extend(np.arange(s + p, e, period) for p in range(period))
            piece_of.extend([n_pieces] * period)
            n_pieces += 1
            continue
        first, last = np.searchsorted(bounds, s), np.searchsorted(bounds, e)
        if bounds[first] == s and bounds[last] == e:  # a whole block (runs never cross one's start)
            runs = bounds[first : last + 1].tolist()
        else:  # a block's rest after (trips, P) pieces, or one cut at a periodic region: its own runs
            runs = (s + run_bounds(op[s:e], a[s:e], b[s:e], kind[s:e], cbits[s:e], FIRST_MATH)).tolist()
        for r0, r1 in zip(runs[:-1], runs[1:]):
            units.append(np.arange(r0, r1))
            piece_of.append(n_pieces)  # a run is a piece of its own
            n_pieces += 1
    return units, piece_of


def _columns_affine(v, const, s, rows, period):
    """Whether slots s .. s + rows * period of operand v, as a (rows, period) C-order array, have
    affine columns (or columns of constants only: those are read through a table)."""
    m = v[s : s + rows * period].reshape(rows, period)
    ok = ((m[1:] - m[:-1]) == (m[1] - m[0])).all(axis=0)
    return bool((ok | const[s : s + rows * period].reshape(rows, period).all(axis=0)).all())


def _largest_period(a, b, const, s, e, rows):
    """The largest P such that slots s .. s + P rows are (rows, P) with affine columns, or None.
    Candidates pass a check of the first three rows first (cheap); the largest is tried first."""
    if rows < MIN_RUN:
        return None
    for period in range(min((e - s) // rows, MAX_EMITTED), 0, -1):
        if all(_columns_affine(v, c, s, 3, period) for v, c in zip((a, b), const)) and all(
            _columns_affine(v, c, s, rows, period) for v, c in zip((a, b), const)
        ):
            return period
    return None


def _smallest_period(a, b, const, s, e):
    """The smallest period P (dividing e - s, at most MAX_PERIOD_TRIES tried) at which slots s..e-1
    are P interleaved runs of at least MIN_RUN iterations with affine operands, or None."""
    n = e - s
    for period in [p for p in range(1, n // MIN_RUN + 1) if n % p == 0][:MAX_PERIOD_TRIES]:
        # the first MIN_RUN rows first: most periods fail there (1.9 of GMM-big's 2.5 s went to
        # checking whole blocks)
        if all(_columns_affine(v, c, s, MIN_RUN, period) for v, c in zip((a, b), const)) and all(
            _columns_affine(v, c, s, n // period, period) for v, c in zip((a, b), const)
        ):
            return period
    return None
