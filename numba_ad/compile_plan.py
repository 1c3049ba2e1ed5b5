"""Planning the compilation of a tape: which ops become one loop, and which values live in memory.

The tape compiler (compile_source.py writes the code, compiled.py runs it) turns a tape into
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
3. **Storage.** An op's value stays in a register when every reader is in the same
   iteration of the same group. Otherwise (read in another iteration or group, an output,
   or a transcendental the adjoint pass reloads) it gets a position in the work buffer
   ``w``, in (group, op, iteration) order; inputs, parameters and non-uniform constants
   too, first. A chain read only by itself keeps its value in a register and stores only
   its last one. An operand that reads ``w`` is ``w[base + stride * k]`` when its positions
   are affine in k over a segment, else ``w[T[off + k]]`` through an index table.
4. **Adjoint needs.** Per segment, the ops whose values the adjoint pass needs (``live``),
   the partials read from a partner op's value (sin's from a recorded cos of the same
   operand), and the parts of ``w_bar`` that are read and so must be zeroed.
"""
from typing import NamedTuple

import numpy as np

from ._config import kernel
from .op_source import CALL, CHEAP, PARTNERS, ROWS, ZERO
from .ops import ARITY, FIRST_MATH, Op

MIN_RUN = 3  # shorter runs stay single ops: two ops with any strides are "affine"
MAX_UNITS = 50_000  # runs plus single ops; the planner spends about 20 us on each
# ops written out over all segments: numba's compile time grows faster than their count (GMM
# d=2 K=5: 184 ops, 8 s; d=5 K=10: 646 ops, 24 s; d=10 K=25: 3 831 ops, over 10 minutes)
MAX_EMITTED = 1_000
SHORT_RUN = 16  # a block of one op whose runs average fewer ops is tried as interleaved runs
MAX_PERIOD_TRIES = 24  # periods tried per block (each costs a pass over it)


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
            while (s >= 1 and kind[s - 1] == kind[e] and cbits[s - 1] == cbits[e]
                   and a[s] - a[s - 1] == da and b[s] - b[s - 1] == db):
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
    lo: int  # first group iteration it runs in; it runs in [lo, lo + len(out))
    out: np.ndarray  # its slots, one per iteration
    a: np.ndarray  # slots its first operand reads, one per iteration
    b: np.ndarray
    guard: int  # index in tape.guards of its first slot, -1 if not a guard
    partner: np.ndarray = None  # op_source.PARTNERS: slot of the partner op on the same operand, -1 for none

    @property
    def hi(self):
        return self.lo + self.out.shape[0]


class Group(NamedTuple):
    trips: int
    ops: list  # BodyOps, in the order they run within an iteration

    def segments(self):
        """[(k0, k1, [indices of the ops active in k0..k1-1])], in iteration order."""
        cuts = {0, self.trips} | {o.lo for o in self.ops} | {o.hi for o in self.ops}
        for o in self.ops:  # a segment reads a partner's value in all its iterations or in none
            if o.partner is not None:
                cuts |= set((o.lo + 1 + np.flatnonzero(np.diff(o.partner >= 0))).tolist())
        cuts = sorted(cuts)
        return [(k0, k1, [j for j, o in enumerate(self.ops) if o.lo <= k0 and o.hi >= k1])
                for k0, k1 in zip(cuts[:-1], cuts[1:])]


class Access(NamedTuple):
    """How an op reads one operand during one segment."""

    kind: str  # "const" (value), "reg" (the register of op `index`), "w" (w[base + stride k]), "table" (w[T[base + k]])
    value: float = 0.0
    index: int = 0
    base: int = 0
    stride: int = 0
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
    stored: dict  # (group, op, segment start) -> w position at k = 0 (positions are base + k)
    rereads: set  # (group, op, segment start) whose adjoint others add into w_bar
    reads: dict  # (group, op, segment start, "a"/"b") -> Access
    table: np.ndarray  # int64 index table of the "table" accesses
    last_only: dict  # (group, op, segment start) of a chain whose only reader inside the segment
    #   is itself -> w position of its last value, or -1 when nothing reads that either
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


def _units(arrays):
    """The tape's math ops as units, in tape order: each the slots of one op's iterations.

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
        raise NotCompilable(f"the tape has {count} runs and single ops (at most {MAX_UNITS} compile): "
                            "trace f array-style (ufuncs on whole arrays) so its ops form runs")
    units = []
    for s, e, period in pieces:
        if period is not None:
            units.extend(np.arange(s + p, e, period) for p in range(period))
            continue
        first = np.searchsorted(bounds, s)
        if bounds[first] == s:  # a whole block (runs never cross one's start)
            runs = bounds[first:np.searchsorted(bounds, e) + 1].tolist()
        else:  # a block's rest after (trips, P) pieces: its own runs
            runs = (s + run_bounds(op[s:e], a[s:e], b[s:e], kind[s:e], cbits[s:e], FIRST_MATH)).tolist()
        units.extend(np.arange(r0, r1) for r0, r1 in zip(runs[:-1], runs[1:]))
    return units


def _columns_affine(v, const, s, rows, period):
    """Whether slots s .. s + rows * period of operand v, as a (rows, period) C-order array, have
    affine columns (or columns of constants only: those are read through a table)."""
    m = v[s:s + rows * period].reshape(rows, period)
    ok = ((m[1:] - m[:-1]) == (m[1] - m[0])).all(axis=0)
    return bool((ok | const[s:s + rows * period].reshape(rows, period).all(axis=0)).all())


def _largest_period(a, b, const, s, e, rows):
    """The largest P such that slots s .. s + P rows are (rows, P) with affine columns, or None.
    Candidates pass a check of the first three rows first (cheap); the largest is tried first."""
    if rows < MIN_RUN:
        return None
    for period in range(min((e - s) // rows, MAX_EMITTED), 0, -1):
        if all(_columns_affine(v, c, s, 3, period) for v, c in zip((a, b), const)) and \
                all(_columns_affine(v, c, s, rows, period) for v, c in zip((a, b), const)):
            return period
    return None


def _smallest_period(a, b, const, s, e):
    """The smallest period P (dividing e - s, at most MAX_PERIOD_TRIES tried) at which slots s..e-1
    are P interleaved runs of at least MIN_RUN iterations with affine operands, or None."""
    n = e - s
    for period in [p for p in range(1, n // MIN_RUN + 1) if n % p == 0][:MAX_PERIOD_TRIES]:
        if all(_columns_affine(v, c, s, n // period, period) for v, c in zip((a, b), const)):
            return period
    return None


def make_groups(arrays):
    """The tape's math ops as a list of Groups, in an order that respects every dependence."""
    op, a, b = arrays.op, arrays.a, arrays.b
    units = _units(arrays)
    n_slots = op.shape[0]
    where = (np.full(n_slots, -1, dtype=np.int64), np.zeros(n_slots, dtype=np.int64),
             np.full(n_slots, -1, dtype=np.int64))  # group, iteration, op index in the group
    guard_index = np.full(n_slots, -1, dtype=np.int64)
    guard_index[arrays.guards] = np.arange(arrays.guards.shape[0])
    groups = []
    for out in units:
        n = out.shape[0]
        reads = (a[out].astype(np.int64), b[out].astype(np.int64))
        shift = _fit(len(groups) - 1, groups[-1].trips, where, reads, n) if groups else None
        if shift is None:
            groups.append(Group(n, []))
            shift = 0
        group = groups[-1]
        where[0][out], where[1][out], where[2][out] = len(groups) - 1, shift + np.arange(n), len(group.ops)
        first = int(out[0])
        group.ops.append(BodyOp(int(op[first]), float(arrays.c[first]), shift, out, reads[0], reads[1],
                                int(guard_index[first])))
    _find_partners(arrays, groups)
    emitted = sum(len(active) for g in groups for _, _, active in g.segments())
    if emitted > MAX_EMITTED:
        raise NotCompilable(f"the tape would compile to {emitted} written-out ops (at most {MAX_EMITTED}): its runs "
                            "are too short to loop over (loop-style code, or array code over short axes); trace f "
                            "array-style with ufuncs over long arrays, or keep replaying the tape")
    return groups, where


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
            if (partner >= 0).any() and np.count_nonzero(np.diff(partner >= 0)) <= 2:
                group.ops[j] = o._replace(partner=partner)


def make_plan(arrays):
    """The Plan of a validated tape; NotCompilable when it has too little structure."""
    groups, (group_of, iteration_of, op_of) = make_groups(arrays)
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
                modes[gi, j, name] = mode = _mode(o, name, slots, gi, (group_of, iteration_of, op_of), arrays)
                if mode.kind == "w":
                    # reads of the op's own value one iteration back, within a segment: carried
                    # in a register (compile_source.py), so their adjoints skip w_bar
                    carries[gi, j, name] = carried = np.zeros(slots.shape[0], dtype=bool)
                    carried[1:] = slots[1:] == o.out[:-1]
                    carried[starts[j]] = False
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
                    carry[gi, j, k0, name] = (modes[gi, j, name].kind == "w" and q1 - q0 > 1
                                              and bool(carries[gi, j, name][q0 + 1:q1].all()))
            regs = {(j, name): modes[gi, j, name].index for j in active for name in ("a", "b")
                    if modes[gi, j, name].kind == "reg"}
            for j in active:  # the partner's value as the partial, when every iteration has one
                o = group.ops[j]
                part = o.partner[k0 - o.lo:k1 - o.lo] if o.partner is not None else None
                if part is None or (part < 0).any():
                    continue
                mode = _segment_mode(part, gi, k0, (group_of, iteration_of, op_of))
                partners[gi, j, k0] = mode
                if mode.kind == "reg":
                    regs[j, "b"] = mode.index
                else:
                    need[part] = True
            live[gi, k0] = _adjoint_live(group, active, regs, {j for j in active if (gi, j, k0) in partners})
            for j in live[gi, k0]:  # transcendentals the adjoint needs are stored, then reloaded
                o = group.ops[j]
                if Op(o.op) not in CHEAP:
                    need[o.out[k0 - o.lo:k1 - o.lo]] = True
    for gi, group in enumerate(groups):  # once every other reason to store is known
        for k0, k1, active in segments[gi]:
            for j in active:
                o = group.ops[j]
                q0, q1 = k0 - o.lo, k1 - o.lo
                inner = o.out[q0:q1 - 1]
                if ((carry[gi, j, k0, "a"] or carry[gi, j, k0, "b"]) and j not in live[gi, k0]
                        and not need[inner].any() and not reread[inner].any()):
                    # a chain s_k = s_(k-1) + t_k read by nothing else inside the segment: the
                    # forward pass keeps s in a register and stores its last value, if read
                    last_only[gi, j, k0] = None
                else:
                    need[o.out[q0:q1]] |= by_carry[o.out[q0:q1]]
    for gi, group in enumerate(groups):  # a segment stores all of an op's values or none
        for k0, k1, active in segments[gi]:
            for j in active:
                part = group.ops[j].out[k0 - group.ops[j].lo:k1 - group.ops[j].lo]
                if (gi, j, k0) not in last_only and need[part].any():
                    need[part] = True
    # positions: inputs, parameters and constants in slot order, then the ops' values in
    # (group, op, iteration) order: one op's values are consecutive in w even when its slots
    # are interleaved with others' (_units), so it stores w[base + k]
    math_order = np.concatenate([o.out for g in groups for o in g.ops]) if groups else np.zeros(0, np.int64)
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
                    last = o.out[q1 - 1]
                    last_only[gi, j, k0] = int(positions[last])
                    if reread[last]:
                        wb_read[positions[last]] = True
                else:
                    if need[o.out[q0]]:
                        stored[gi, j, k0] = int(positions[o.out[q0]]) - k0
                    if reread[o.out[q0:q1]].any():
                        rereads.add((gi, j, k0))
                        wb_read[positions[o.out[q0:q1]]] = True
                for name, slots in (("a", o.a[q0:q1]), ("b", o.b[q0:q1])):
                    mode = modes[gi, j, name]
                    if name == "b" and (gi, j, k0) in partners:
                        mode, slots = partners[gi, j, k0], o.partner[q0:q1]
                    if mode.kind == "w" and (gi, j, k0) in last_only and carry[gi, j, k0, name]:
                        # read once, at k = k0 (the value before the segment): the later
                        # iterations' operands are the chain's own values, not in w
                        mode = Access("w", base=int(positions[slots[0]]), stride=0)
                    elif mode.kind == "w":
                        mode = _w_access(positions[slots], k0, table)
                    if mode.kind in ("w", "table"):
                        # a chain s_k = s_{k-1} + t_k: the code carries s in a register, not through w
                        mode = mode._replace(carry=carry[gi, j, k0, name], leaf=bool((op[slots] < FIRST_MATH).all()))
                    reads[gi, j, k0, name] = mode
    consts = need & (op == Op.CONST)
    return Plan(groups, int(need.sum()), positions, positions[consts], c[consts].copy(),
                positions[arrays.inputs], positions[arrays.params], positions[arrays.outputs],
                stored, rereads, reads, np.array(np.concatenate(table) if table else [], dtype=np.int64),
                last_only, live, set(partners), _ranges(wb_read))


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
        stack.extend(regs[j, name] for name, key in (("a", "{x}"), ("b", "{y}"))
                     if key in partials and (j, name) in regs)
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
    """Access of the slots that a segment's iterations k0, k0 + 1, ... read: "reg" or "w"."""
    group_of, iteration_of, op_of = where
    if ((group_of[slots] == gi).all() and (iteration_of[slots] == k0 + np.arange(slots.shape[0])).all()
            and (op_of[slots] == op_of[slots[0]]).all()):
        return Access("reg", index=int(op_of[slots[0]]))
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
    first = slots[0]
    if op[first] == Op.CONST and (op[slots] == Op.CONST).all() and (c[slots].view(np.int64) == c[first].view(np.int64)).all():
        return Access("const", float(c[first]))
    return _segment_mode(slots, gi, o.lo, where)


def _w_access(idx, k0, table):
    """w[base + stride k] for the positions idx of iterations k0, k0 + 1, ...; else a table."""
    stride = int(idx[1] - idx[0]) if idx.shape[0] > 1 else 0
    if (np.diff(idx) == stride).all():
        return Access("w", base=int(idx[0]) - stride * k0, stride=stride)
    offset = sum(t.shape[0] for t in table)
    table.append(idx.astype(np.int64))
    return Access("table", base=offset - k0)
