"""Planning the compilation of a tape: which ops become one loop, and which values live in memory.

The tape compiler (compile/source.py writes the code, compile/compiled.py runs it) turns a tape into
straight numba source. This module decides the shape of that source, with NumPy over the
tape's arrays; it writes no code.

1. **Runs.** Array tracing records an elementwise operation as consecutive slots with one
   opcode whose operands advance by fixed strides (``a = a0 + k sa``). ``run_bounds`` finds
   them, scanning backwards so that the irregular first op of a reduction chain
   (``t0 + t1``, then ``s + t2``, ...) is left on its own and not glued to the run before it.
   A block of one op whose runs are short (array code over a short last axis, GMM's
   (n, K, d) broadcasts) becomes P interleaved runs of T iterations instead (``_units``).
2. **Groups.** Consecutive runs of equal length, and single ops, are fused into one loop
   (a ``Group``) when every op reads values of the same or an earlier iteration: a run that
   reads ``t[k + 2]`` of the group joins it shifted by two iterations. Each op of a group
   runs over an iteration range ``[lo, hi)``; the ranges cut the loop into segments, and
   each segment is one ``for k`` loop over the ops active in it.
   A loop whose body would be written out long becomes a **nest** (``_nest``): one loop over
   its iterations, now rows t, around inner loops over a second axis (GMM's K), made of the
   families of columns of its split blocks. A loop-style tape (no runs) becomes nests too,
   one per periodic region (``_regions``): a loop over the copies of its body. Every BodyOp
   holds its slots as (rows, iterations); a loop outside any nest has one row.
3. **Storage.** An op's value stays in a register when every reader is in the same
   iteration of the same group. Otherwise (read in another iteration or group, an output,
   or a transcendental the adjoint pass reloads) it gets a position in the work buffer
   ``w``, in (row, group, op, iteration) order; inputs, parameters and non-uniform constants
   too, first; a nest's rows are equally long. A chain read only by itself keeps its value in
   a register and stores only its last one. An operand that reads ``w`` is
   ``w[base + stride * k + ostride * t]`` when its positions are affine in k and the row t
   over a segment, else ``w[T[...]]`` through an index table.
4. **Adjoint needs.** Per segment, the ops whose values the adjoint pass needs (``live``),
   the partials read from a partner op's value (sin's from a recorded cos of the same
   operand), and the parts of ``w_bar`` that are read and so must be zeroed.
"""

from typing import NamedTuple

import numpy as np

from numba_ad._config import kernel
from numba_ad.ops.source import CALL, CHEAP, PARTNERS, ROWS, ZERO
from numba_ad.ops.table import ARITY, FIRST_MATH, Op

MIN_RUN = 3  # shorter runs stay single ops: two ops with any strides are "affine"
MAX_UNITS = 50_000  # runs plus single ops; the planner spends about 20 us on each
# ops written out over all segments: numba's compile time grows faster than their count (GMM
# d=2 K=5: 184 ops, 8 s; d=5 K=10: 646 ops, 24 s; d=10 K=25: 3 831 ops, over 10 minutes)
MAX_EMITTED = 1_000
SHORT_RUN = 16  # a block of one op whose runs average fewer ops is tried as interleaved runs
MAX_PERIOD_TRIES = 24  # periods tried per block (each costs a pass over it)
# a loop writing out more ops than this becomes a nest (an outer loop over inner ones): at
# 646 written-out ops numba compiled for 24-30 s; GMM-small's 184 stay one loop (0.72x its floor)
NEST_ABOVE = 300
# periodic regions (loop-style tapes): a body of at most MAX_BODY slots repeated at least
# MIN_ROWS times; at most MAX_REGIONS of them
MAX_BODY, MIN_ROWS, MAX_REGIONS = 1_000, 4, 16


class NotCompilable(ValueError):
    """The tape has too little regular structure to be written out as loops."""


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


class BodyOp(NamedTuple):
    """One recorded op (a run, or a single op) inside a group's loop."""

    op: int
    c: float
    lo: int  # first group iteration it runs in; it runs in [lo, lo + out.shape[1])
    out: np.ndarray  # its slots, (rows, iterations): one row per iteration of a nest's outer loop
    a: np.ndarray  # slots its first operand reads, shaped as out
    b: np.ndarray
    guard: int  # index in tape.guards of its first slot, -1 if not a guard
    partner: np.ndarray = None  # op_source.PARTNERS: slot of the partner op on the same operand, -1 for none
    piece: int = -1  # the block split (_units) it comes from: a nest's inner loops are cut from one piece

    @property
    def hi(self):
        return self.lo + self.out.shape[1]


class Group(NamedTuple):
    trips: int
    ops: list  # BodyOps, in the order they run within an iteration
    rows: int = 1  # iterations of the outer loop of its nest (1: no outer loop)
    nest: int = -1  # consecutive groups with one nest id (>= 0) share one outer loop

    def segments(self):
        """[(k0, k1, [indices of the ops active in k0..k1-1])], in iteration order."""
        cuts = {0, self.trips} | {o.lo for o in self.ops} | {o.hi for o in self.ops}
        for o in self.ops:  # a segment reads a partner's value in all its iterations or in none
            if o.partner is not None:
                cuts |= set((o.lo + 1 + np.flatnonzero(np.diff(o.partner >= 0, axis=1).any(axis=0))).tolist())
        cuts = sorted(cuts)
        segments = [
            (k0, k1, [j for j, o in enumerate(self.ops) if o.lo <= k0 and o.hi >= k1])
            for k0, k1 in zip(cuts[:-1], cuts[1:])
        ]
        return [segment for segment in segments if segment[2]]  # a nest's rest can leave gaps


class Access(NamedTuple):
    """How an op reads one operand during one segment."""

    kind: str  # "const" (value), "reg" (the register of op `index`), "w" (w[base + stride k + ostride t]),
    #   "table" (w[T[base + stride k + ostride t]]); t is the outer loop's counter in a nest
    value: float = 0.0
    index: int = 0
    base: int = 0
    stride: int = 0
    ostride: int = 0
    carry: bool = False  # reads the op's own value of the iteration before (a reduction chain)
    leaf: bool = False  # reads only inputs, parameters and constants (no op rereads their adjoints)


class Plan(NamedTuple):
    groups: list
    n_work: int  # length of w (and w_bar)
    positions: np.ndarray  # (n_slots,) position of each stored slot in w, -1 for the others
    const_positions: np.ndarray  # where the constants that live in w go,
    const_values: np.ndarray  # and their values
    input_positions: np.ndarray
    param_positions: np.ndarray
    output_positions: np.ndarray
    stored: dict  # (group, op, segment start) -> the "w" Access of its values (stride 1 in k)
    rereads: set  # (group, op, segment start) whose adjoint others add into w_bar
    reads: dict  # (group, op, segment start, "a"/"b") -> Access
    table: np.ndarray  # int64 index table of the "table" accesses
    last_only: dict  # (group, op, segment start) of a chain whose only reader inside the segment
    #   is itself -> the "w" or "table" Access of its last value, or None when nothing reads that either
    live: dict  # (group, segment start) -> ops whose values the adjoint pass recomputes or reloads
    partnered: set  # (group, op, segment start) whose partial is its partner's value, read as operand "b"
    wb_zeroed: list  # [(lo, hi)]: the w_bar ranges the adjoint pass reads, zeroed before it


def _kind(arrays):
    """Opcode and guard flag in one int: a guard never shares a run with a mask."""
    kind = arrays.op.astype(np.int64) * 2
    kind[arrays.guards] += 1
    return kind


def _fit(group_id, trips, where, reads, n):
    """Iteration shift at which a run of n ops reading `reads` can join the group, or None."""
    k = np.arange(n)
    shift, touches = 0, False
    for slots in reads:
        inside = where[0][slots] == group_id
        if inside.any():
            touches = True
            shift = max(shift, int((where[1][slots[inside]] - k[inside]).max()))
    if not touches and n != trips:
        # an unrelated array of another length: its own loop; a single op too (placed at
        # iteration 0 of a long loop, it would cut the loop's first iteration out)
        return None
    return shift if shift + n <= trips else None


def _units(arrays, regions=()):
    """The tape's math ops as units, in tape order: each the slots of one op's iterations.
    Slots in `regions` ([(start, end)], the periodic regions of ``_regions``) are left out.

    Mostly run_bounds' runs (consecutive slots). Array code over a short last axis (GMM's
    (n, K, d) broadcasts) records blocks of one op whose runs are short; such a block is split
    instead into P interleaved runs of T iterations (slots s + p + P t, p < P) when each has
    affine operands (or reads only constants, through a table): the long axis becomes the
    loop. Once a block has set T, later blocks are cut into (T, P) pieces too, so that their
    units have T iterations and fuse into the same loop."""
    op, a, b = arrays.op, arrays.a, arrays.b
    kind, cbits = _kind(arrays), arrays.c.view(np.int64)
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


def make_groups(arrays, nest=None):
    """The tape's math ops as a list of Groups, in an order that respects every dependence, and
    where each slot runs: (group, iteration, op index in the group, row of the nest's loop).

    A loop whose body would be written out long (GMM's K axis: 3 831 ops an iteration at d = 10,
    K = 25) becomes a nest instead (``_nest``): `nest` True nests every loop that can be, False
    none, None those writing out more than NEST_ABOVE ops. A loop-style tape that would write
    out more than NEST_ABOVE ops becomes nests over its periodic regions (``_regions``) when
    that writes out less (not with `nest` False)."""
    try:
        groups, refusal = _make_groups(arrays, nest, ()), None
    except NotCompilable as error:
        groups, refusal = None, error
    if groups is not None:
        written, units = sum(_written(g) for g in groups[0]), sum(len(g.ops) for g in groups[0])
        if written <= NEST_ABOVE or units < np.count_nonzero(arrays.op >= FIRST_MATH) // 2:
            return groups  # few ops written out, or array code (runs, not single ops)
    # loop-style code records one op per slot (no runs), but the same body again and again:
    # loops over the copies of the body write out less (and compile sooner)
    regions = _regions(arrays) if nest is not False else []
    if regions:
        try:
            periodic = _make_groups(arrays, nest, regions)
            if groups is None or sum(_written(g) for g in periodic[0]) < written:
                return periodic
        except NotCompilable:
            pass
    if groups is None:
        raise refusal
    return groups


def _make_groups(arrays, nest, regions):
    op, a, b = arrays.op, arrays.a, arrays.b
    units, piece_of = _units(arrays, [(s, s + rows * length) for s, length, rows in regions])
    n_slots = op.shape[0]
    where = (
        np.full(n_slots, -1, dtype=np.int64),
        np.zeros(n_slots, dtype=np.int64),
        np.full(n_slots, -1, dtype=np.int64),
    )  # group, iteration, op index in the group
    guard_index = np.full(n_slots, -1, dtype=np.int64)
    guard_index[arrays.guards] = np.arange(arrays.guards.shape[0])
    loops = []
    pending = sorted(regions)  # each becomes a nest of its own, between the units before and after it
    for out, piece in zip(units, piece_of):
        fresh = False
        while pending and pending[0][0] < out[0]:
            loops.append(_periodic_nest(arrays, guard_index, *pending.pop(0)))
            fresh = True  # nothing joins a nest's loop
        n = out.shape[0]
        reads = (a[out].astype(np.int64), b[out].astype(np.int64))
        shift = _fit(len(loops) - 1, loops[-1].trips, where, reads, n) if loops and not fresh else None
        if shift is None:
            loops.append(Group(n, []))
            shift = 0
        group = loops[-1]
        where[0][out], where[1][out], where[2][out] = len(loops) - 1, shift + np.arange(n), len(group.ops)
        first = int(out[0])
        group.ops.append(
            BodyOp(
                int(op[first]),
                float(arrays.c[first]),
                shift,
                out[None, :],
                reads[0][None, :],
                reads[1][None, :],
                int(guard_index[first]),
                piece=piece,
            )
        )
    loops.extend(_periodic_nest(arrays, guard_index, *region) for region in pending)
    where[0][:] = -1  # from here on: the final groups, placed one by one
    where = where + (np.zeros(n_slots, dtype=np.int64),)  # and the row of the nest's outer loop
    groups = []
    for group in loops:
        nested = None  # _nest places the groups it makes (it reads `where` as it goes)
        if group.rows == 1 and (nest or (nest is None and _written(group) > NEST_ABOVE)):
            nested = _nest(group, len(groups), where)
        if nested is None:
            if group.rows > 1:  # a periodic region: a nest already
                group = group._replace(nest=len(groups))
            _place(len(groups), group, where)
            nested = [group]
        groups.extend(nested)
    _find_partners(arrays, groups)
    emitted = sum(_written(g) for g in groups)
    if emitted > MAX_EMITTED:
        raise NotCompilable(
            f"the tape would compile to {emitted} written-out ops (at most {MAX_EMITTED}): its runs "
            "are too short to loop over (loop-style code, or array code over short axes); trace f "
            "array-style with ufuncs over long arrays, or keep replaying the tape"
        )
    return groups, where


def _regions(arrays):
    """Periodic regions of a loop-style tape: [(start, body length L, rows)], where slots
    start + p + L t (t < rows) have one opcode, guard flag and constant for each p < L, and
    operands affine in t. Found largest first, then again in what is left either side."""
    kinds = _kind(arrays), arrays.c.view(np.int64), arrays.a.astype(np.int64), arrays.b.astype(np.int64)
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


def _periodic_nest(arrays, guard_index, start, length, rows):
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


def _written(group):
    """Ops the group's code writes out: each op once per segment it is active in."""
    return sum(len(active) for _, _, active in group.segments())


def _place(gi, group, where):
    """Record in `where` that the group's ops run as group gi."""
    for j, o in enumerate(group.ops):
        where[0][o.out] = gi
        where[1][o.out] = o.lo + np.arange(o.out.shape[1])[None, :]
        where[2][o.out] = j
        where[3][o.out] = np.arange(o.out.shape[0])[:, None]


def _nest(group, gi0, where):
    """The loop `group` as a nest: an outer loop over its iterations (the rows) whose body is a
    few inner loops, or None when its body has nothing to loop over.

    Its ops come in pieces, the columns of one block of interleaved runs (_units: GMM's xc over
    (n, K, d) is K d columns of n iterations). ``_families`` cuts a piece into families of
    columns affine in their index (the K columns of one j); each family becomes one op of an
    inner loop over that index, its slots (rows, F). Consecutive families of one length fuse
    into one inner loop when each reads the loop's values of its own or an earlier iteration.
    Only the ops running in every iteration of `group` are nested; the others (a chain over the
    rows, shifted against them) stay in a loop of their own after the nest."""
    group_of, iteration_of, op_of, row_of = where
    full = 0
    while full < len(group.ops) and group.ops[full].lo == 0 and group.ops[full].hi == group.trips:
        full += 1
    rest = group.ops[full:]
    if rest:  # the rest runs after the whole nest: no nested op may read it (in an earlier row)
        rest_slots = np.concatenate([o.out.ravel() for o in rest])
        if any(np.isin(getattr(o, name), rest_slots).any() for o in group.ops[:full] for name in ("a", "b")):
            return None
    families, at = [], 0
    while at < full:
        end = at + 1
        while end < full and group.ops[end].piece == group.ops[at].piece:
            end += 1
        families.extend(_families(group.ops[at:end]))
        at = end
    if len(families) == full:  # no family of two or more columns: nothing to loop over inside
        return None
    rows = group.trips
    row = np.arange(rows)[:, None]
    inner = []
    for family in families:
        out, a, b = (np.stack([getattr(o, name)[0] for o in family], axis=1) for name in ("out", "a", "b"))
        k = np.broadcast_to(np.arange(out.shape[1])[None, :], out.shape)
        joins = bool(inner) and inner[-1].trips == out.shape[1]
        for slots in (a, b):
            group_read, row_read = group_of[slots], row_of[slots]
            ours = (group_read >= gi0) & (group_read < gi0 + len(inner))
            if (ours & (row_read > row)).any():
                return None  # a value of a later row: the outer loop would read it before it exists
            here = ours & (row_read == row) & (group_read == gi0 + len(inner) - 1)
            if (iteration_of[slots][here] > k[here]).any():
                joins = False  # a later iteration of the current inner loop: its own loop, after it
        if not joins:
            inner.append(Group(out.shape[1], [], rows, gi0))
        gi = gi0 + len(inner) - 1
        group_of[out], iteration_of[out], op_of[out], row_of[out] = gi, k, len(inner[-1].ops), row
        first = family[0]
        inner[-1].ops.append(BodyOp(first.op, first.c, 0, out, a, b, first.guard, piece=first.piece))
    if rest:
        inner.append(Group(group.trips, rest))
        _place(gi0 + len(inner) - 1, inner[-1], where)
    return inner


def _families(ops):
    """The columns of one piece (BodyOps of one row) as families: lists of columns whose slots
    and operands are affine in their index f = 0 .. F - 1 (F >= 2; one column alone otherwise).

    Columns h + j + d f (a (F, d) layout after h head columns) for the smallest d that works:
    d > 1 groups GMM's K columns of one j (and a sum over a short axis, whose d ops per k read
    each other); the head is a reduction chain's first op (t0 + t1, then s + t2, ...). The
    families come j first: a layout is taken only when every column then still comes after
    the columns it reads."""
    if len(ops) < 2:
        return [ops]
    columns = [np.stack([getattr(o, name)[0] for o in ops]) for name in ("out", "a", "b")]  # (P, rows)
    for head in (0, 1):
        n = len(ops) - head
        for d in [d for d in range(1, n // 2 + 1) if n % d == 0]:
            picks = [np.arange(head + j, len(ops), d) for j in range(d)]
            # a cheap test of three rows first: most candidates fail it
            if not (
                all(_affine(m[pick, :3]) for m in columns for pick in picks)
                and all(_affine(m[pick]) for m in columns for pick in picks)
            ):
                continue
            order = np.concatenate([np.arange(head)] + picks)
            if _reads_come_first(columns, order):
                return [[o] for o in ops[:head]] + [[ops[i] for i in pick] for pick in picks]
    return [[o] for o in ops]


def _reads_come_first(columns, order):
    """Whether every column of a piece reads only columns placed before it in `order`."""
    out = columns[0]
    lo, hi = int(out.min()), int(out.max())
    column_of = np.full(hi - lo + 1, -1, dtype=np.int64)  # a piece's slots are one compact block
    column_of[out - lo] = np.arange(out.shape[0])[:, None]
    place = np.empty(order.shape[0], dtype=np.int64)
    place[order] = np.arange(order.shape[0])
    for reads in columns[1:]:
        inside = (reads >= lo) & (reads <= hi)
        if not inside.any():
            continue
        read = column_of[reads[inside] - lo]
        reader = np.broadcast_to(np.arange(reads.shape[0])[:, None], reads.shape)[inside]
        hit = read >= 0
        if (place[read[hit]] >= place[reader[hit]]).any():
            return False
    return True


def _affine(m):
    """Whether the rows of m are affine in the row index (m[f] = m[0] + f (m[1] - m[0]))."""
    return m.shape[0] < 2 or bool(((m[1:] - m[:-1]) == (m[1] - m[0])).all())


def _find_partners(arrays, groups):
    """Set BodyOp.partner for the ops of op_source.PARTNERS whose partner op the tape records
    on the same operand (the first such slot), in place."""
    op, a = arrays.op, arrays.a
    slots_of = {}
    for kind in {partner for partner, _ in PARTNERS.values()}:
        slots = np.flatnonzero(op == kind)
        if slots.shape[0]:
            operands, first = np.unique(a[slots], return_index=True)
            slots_of[kind] = operands, slots[first]
    for group in groups:
        for j, o in enumerate(group.ops):
            if Op(o.op) not in PARTNERS or PARTNERS[Op(o.op)][0] not in slots_of:
                continue
            operands, partner_slots = slots_of[PARTNERS[Op(o.op)][0]]
            at = np.minimum(np.searchsorted(operands, o.a), operands.shape[0] - 1)
            partner = np.where(operands[at] == o.a, partner_slots[at], -1)
            # where some iterations have a partner and some not, the segments are cut there:
            # a few cuts (P2's ends) pay, many would write out short loops
            if (partner >= 0).any() and np.count_nonzero(np.diff(partner >= 0, axis=1).any(axis=0)) <= 2:
                group.ops[j] = o._replace(partner=partner)


def make_plan(arrays, nest=None):
    """The Plan of a validated tape; NotCompilable when it has too little structure. `nest`:
    as make_groups."""
    groups, where = make_groups(arrays, nest)
    op, c = arrays.op, arrays.c
    need = np.zeros(op.shape[0], dtype=bool)  # the slot gets a position in w
    reread = np.zeros(op.shape[0], dtype=bool)  # some reader (or the seed) goes through w
    for field in (arrays.inputs, arrays.params, arrays.outputs):
        need[field] = True
    reread[arrays.outputs] = True
    modes, carries = {}, {}
    segments = [group.segments() for group in groups]
    by_carry = np.zeros(op.shape[0], dtype=bool)  # read only by the op itself, one iteration on
    for gi, group in enumerate(groups):
        starts = {}  # op -> its iterations where a segment starts (a carry goes through w there)
        for k0, _, active in segments[gi]:
            for j in active:
                starts.setdefault(j, []).append(k0 - group.ops[j].lo)
        for j, o in enumerate(group.ops):
            for name, slots in (("a", o.a), ("b", o.b)):
                modes[gi, j, name] = mode = _mode(o, name, slots, gi, where, arrays)
                if mode.kind == "w":
                    # reads of the op's own value one iteration back, within a segment: carried
                    # in a register (compile/source.py), so their adjoints skip w_bar
                    carries[gi, j, name] = carried = np.zeros(slots.shape, dtype=bool)
                    carried[:, 1:] = slots[:, 1:] == o.out[:, :-1]
                    carried[:, starts[j]] = False
                    need[slots[~carried]] = True
                    by_carry[slots[carried]] = True
                    if _partial(o.op, name) != ZERO:  # else no adjoint flows back through it
                        reread[slots[~carried]] = True
    carry = {}  # (group, op, segment start, operand) -> the segment carries it in a register
    live, last_only, partners = {}, {}, {}
    for gi, group in enumerate(groups):
        for k0, k1, active in segments[gi]:
            for j in active:
                o = group.ops[j]
                q0, q1 = k0 - o.lo, k1 - o.lo
                for name in ("a", "b"):
                    carry[gi, j, k0, name] = (
                        modes[gi, j, name].kind == "w"
                        and q1 - q0 > 1
                        and bool(carries[gi, j, name][:, q0 + 1 : q1].all())
                    )
            regs = {
                (j, name): modes[gi, j, name].index
                for j in active
                for name in ("a", "b")
                if modes[gi, j, name].kind == "reg"
            }
            for j in active:  # the partner's value as the partial, when every iteration has one
                o = group.ops[j]
                part = o.partner[:, k0 - o.lo : k1 - o.lo] if o.partner is not None else None
                if part is None or (part < 0).any():
                    continue
                mode = _segment_mode(part, gi, k0, where)
                partners[gi, j, k0] = mode
                if mode.kind == "reg":
                    regs[j, "b"] = mode.index
                else:
                    need[part] = True
            live[gi, k0] = _adjoint_live(group, active, regs, {j for j in active if (gi, j, k0) in partners})
            for j in live[gi, k0]:  # transcendentals the adjoint needs are stored, then reloaded
                o = group.ops[j]
                if Op(o.op) not in CHEAP:
                    need[o.out[:, k0 - o.lo : k1 - o.lo]] = True
    for gi, group in enumerate(groups):  # once every other reason to store is known
        for k0, k1, active in segments[gi]:
            for j in active:
                o = group.ops[j]
                q0, q1 = k0 - o.lo, k1 - o.lo
                inner = o.out[:, q0 : q1 - 1]
                if (
                    (carry[gi, j, k0, "a"] or carry[gi, j, k0, "b"])
                    and j not in live[gi, k0]
                    and not need[inner].any()
                    and not reread[inner].any()
                ):
                    # a chain s_k = s_(k-1) + t_k read by nothing else inside the segment: the
                    # forward pass keeps s in a register and stores its last value, if read
                    last_only[gi, j, k0] = None
                else:
                    need[o.out[:, q0:q1]] |= by_carry[o.out[:, q0:q1]]
    for gi, group in enumerate(groups):  # a segment stores all of an op's values or none (in every row)
        for k0, k1, active in segments[gi]:
            for j in active:
                o = group.ops[j]
                part = o.out[:, k0 - o.lo : k1 - o.lo] if (gi, j, k0) not in last_only else o.out[:, k1 - o.lo - 1]
                if need[part].any():
                    need[part] = True
    # positions: inputs, parameters and constants in slot order, then the ops' values in
    # (row, group, op, iteration) order, the groups of one nest together: one op's values are
    # consecutive in w even when its slots are interleaved with others' (_units), and a row of
    # a nest is as long as the next, so an op stores w[base + k + stride t]
    math_order = [
        np.concatenate([o.out for gi in members for o in groups[gi].ops], axis=1).ravel()
        for _, members in nests(groups)
    ]
    math_order = np.concatenate(math_order) if math_order else np.zeros(0, np.int64)
    order = np.concatenate([np.flatnonzero(need & (op < FIRST_MATH)), math_order[need[math_order]]])
    positions = np.full(op.shape[0], -1, dtype=np.int64)
    positions[order] = np.arange(order.shape[0])
    stored, rereads, reads, table = {}, set(), {}, []
    wb_read = np.zeros(int(need.sum()), dtype=bool)
    wb_read[positions[arrays.inputs]] = True
    for gi, group in enumerate(groups):
        for k0, k1, active in segments[gi]:
            for j in active:
                o = group.ops[j]
                q0, q1 = k0 - o.lo, k1 - o.lo
                if (gi, j, k0) in last_only:
                    last = o.out[:, q1 - 1]
                    last_only[gi, j, k0] = _w_access(positions[last][:, None], 0, table) if need[last].all() else None
                    if reread[last].any():
                        wb_read[positions[last]] = True
                else:
                    if need[o.out[:, q0]].all():
                        stored[gi, j, k0] = _w_access(positions[o.out[:, q0:q1]], k0, table)
                        assert stored[gi, j, k0].kind == "w", "a segment's values are stored consecutively"
                    if reread[o.out[:, q0:q1]].any():
                        rereads.add((gi, j, k0))
                        wb_read[positions[o.out[:, q0:q1]]] = True
                for name, slots in (("a", o.a[:, q0:q1]), ("b", o.b[:, q0:q1])):
                    mode = modes[gi, j, name]
                    if name == "b" and (gi, j, k0) in partners:
                        mode, slots = partners[gi, j, k0], o.partner[:, q0:q1]
                    if mode.kind == "w" and (gi, j, k0) in last_only and carry[gi, j, k0, name]:
                        # read once, at k = k0 (the value before the segment): the later
                        # iterations' operands are the chain's own values, not in w
                        mode = _w_access(positions[slots[:, :1]], 0, table)
                    elif mode.kind == "w":
                        mode = _w_access(positions[slots], k0, table)
                    if mode.kind in ("w", "table"):
                        # a chain s_k = s_{k-1} + t_k: the code carries s in a register, not through w
                        mode = mode._replace(carry=carry[gi, j, k0, name], leaf=bool((op[slots] < FIRST_MATH).all()))
                    reads[gi, j, k0, name] = mode
    consts = need & (op == Op.CONST)
    return Plan(
        groups,
        int(need.sum()),
        positions,
        positions[consts],
        c[consts].copy(),
        positions[arrays.inputs],
        positions[arrays.params],
        positions[arrays.outputs],
        stored,
        rereads,
        reads,
        np.array(np.concatenate(table) if table else [], dtype=np.int64),
        last_only,
        live,
        set(partners),
        _ranges(wb_read),
    )


def _adjoint_live(group, active, regs, partnered):
    """The ops of a segment whose values its adjoint pass needs: in a partial (the op's own
    value for {v} and the CALL rows, an operand's for {x}, {y}), or to recompute another
    live op. `regs`: (op, "a"/"b") -> the op whose register that operand reads; `partnered`:
    the ops whose partial is their partner's value (operand "b")."""
    stack = []
    for j in active:
        _, d_a, d_b = ROWS[Op(group.ops[j].op)]
        if j in partnered:
            d_a = PARTNERS[Op(group.ops[j].op)][1]
        partials = d_a + d_b if CALL not in (d_a, d_b) else "{x}{y}{v}"
        if "{v}" in partials:
            stack.append(j)
        stack.extend(
            regs[j, name] for name, key in (("a", "{x}"), ("b", "{y}")) if key in partials and (j, name) in regs
        )
    live = set()
    while stack:
        j = stack.pop()
        if j not in live:
            live.add(j)
            if Op(group.ops[j].op) in CHEAP:  # recomputed from its operands; the others are reloaded
                stack.extend(regs[j, name] for name in ("a", "b") if (j, name) in regs)
    return frozenset(live)


def _partial(op, name):
    """The op's partial template for operand `name`."""
    return ROWS[Op(op)][1 if name == "a" else 2]


def _segment_mode(slots, gi, k0, where):
    """Access of the slots (rows, iterations) that a segment's iterations k0, k0 + 1, ... read:
    "reg" (one op's value of the same iteration and row) or "w"."""
    group_of, iteration_of, op_of, row_of = where
    rows, n = slots.shape
    if (
        (group_of[slots] == gi).all()
        and (iteration_of[slots] == k0 + np.arange(n)[None, :]).all()
        and (op_of[slots] == op_of[slots[0, 0]]).all()
        and (row_of[slots] == np.arange(rows)[:, None]).all()
    ):
        return Access("reg", index=int(op_of[slots[0, 0]]))
    return Access("w")


def _ranges(mask):
    """[(lo, hi)] of the runs of True in mask; one range over everything when there are many."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    ranges = list(zip(edges[::2].tolist(), edges[1::2].tolist()))
    return ranges if len(ranges) <= 8 else [(0, mask.shape[0])]


def _mode(o, name, slots, gi, where, arrays):
    """Access of one operand of a BodyOp over all its iterations (a "w" one is refined per segment)."""
    if name == "b" and ARITY[o.op] < 2:
        return Access("const", 0.0)
    op, c = arrays.op, arrays.c
    first = slots[0, 0]
    if (
        op[first] == Op.CONST
        and (op[slots] == Op.CONST).all()
        and (c[slots].view(np.int64) == c[first].view(np.int64)).all()
    ):
        return Access("const", float(c[first]))
    return _segment_mode(slots, gi, o.lo, where)


def _w_access(idx, k0, table):
    """w[base + stride k + ostride t] for the positions idx (rows t, iterations k0, k0 + 1, ...);
    else a table, one entry per row when idx is the same in all iterations of a row (GMM's
    data, read by all K), one per iteration when the same in all rows, else one per both."""
    rows, n = idx.shape
    stride = int(idx[0, 1] - idx[0, 0]) if n > 1 else 0
    ostride = int(idx[1, 0] - idx[0, 0]) if rows > 1 else 0
    first = int(idx[0, 0])
    if (idx == first + stride * np.arange(n)[None, :] + ostride * np.arange(rows)[:, None]).all():
        return Access("w", base=first - stride * k0, stride=stride, ostride=ostride)
    offset = sum(t.shape[0] for t in table)
    if (idx == idx[:, :1]).all():
        table.append(idx[:, 0].astype(np.int64))
        return Access("table", base=offset, stride=0, ostride=1)
    if (idx == idx[:1]).all():
        table.append(idx[0].astype(np.int64))
        return Access("table", base=offset - k0, stride=1, ostride=0)
    table.append(idx.ravel().astype(np.int64))
    return Access("table", base=offset - k0, stride=1, ostride=n)


def nests(groups):
    """[(rows, [indices of the groups sharing one outer loop of `rows` iterations])], in order;
    a group outside any nest is one of its own, with one row."""
    out = []
    for gi, group in enumerate(groups):
        if out and group.nest >= 0 and groups[out[-1][1][-1]].nest == group.nest:
            out[-1][1].append(gi)
        else:
            out.append((group.rows, [gi]))
    return out
