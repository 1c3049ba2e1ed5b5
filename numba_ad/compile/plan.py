"""Planning the compilation of a tape: which ops become one loop, and which values live in memory.

The tape compiler (compile/lower.py turns a plan into loop IR, compile/printer.py prints it,
compile/compiled.py runs it) turns a tape into straight numba source. The planner decides the
shape of that source, with NumPy over the tape's arrays; it writes no code. Stages 1-2 live in
runs.py, groups.py, nests.py and regions.py (the loop structure in loops.py); this module does
3-4, as the passes of ``make_plan``.

1. **Runs.** Array tracing records an elementwise operation as consecutive slots with one
   opcode whose operands advance by fixed strides (``a = a0 + k sa``). ``run_bounds`` finds
   them, scanning backwards so that the irregular first op of a reduction chain
   (``t0 + t1``, then ``s + t2``, ...) is left on its own and not glued to the run before it.
   A block of one op whose runs are short (array code over a short last axis, GMM's
   (n, K, d) broadcasts) becomes P interleaved runs of T iterations instead (``make_units``).
2. **Groups.** Consecutive runs of equal length, and single ops, are fused into one loop
   (a ``Group``) when every op reads values of the same or an earlier iteration: a run that
   reads ``t[k + 2]`` of the group joins it shifted by two iterations. Each op of a group
   runs over an iteration range ``[lo, hi)``; the ranges cut the loop into segments, and
   each segment is one ``for k`` loop over the ops active in it.
   A loop whose body would be written out long becomes a **nest** (``nest_group``): one loop over
   its iterations, now rows t, around inner loops over a second axis (GMM's K), made of the
   families of columns of its split blocks. A loop-style tape (no runs) becomes nests too,
   one per periodic region (``regions_of``): a loop over the copies of its body. Every BodyOp
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

from dataclasses import dataclass
from enum import Enum
from typing import NamedTuple

import numpy as np

from numba_ad.compile.groups import make_groups
from numba_ad.compile.loops import Group, nests
from numba_ad.compile.partials import PartialKind, partner_partial, row
from numba_ad.ops.source import CHEAP
from numba_ad.ops.table import ARITY, FIRST_MATH, Op


class AccessKind(Enum):
    CONST = "const"  # a constant, written as a literal
    REG = "reg"  # the register of op `index` of the same segment, same iteration
    W = "w"  # w[base + stride k + ostride t]; t is the outer loop's counter in a nest
    TABLE = "table"  # w[T[base + stride k + ostride t]], through the index table


class Access(NamedTuple):
    """How an op reads one operand during one segment."""

    kind: AccessKind
    value: float = 0.0  # CONST
    index: int = 0  # REG
    base: int = 0  # W, TABLE
    stride: int = 0
    ostride: int = 0
    carry: bool = False  # reads the op's own value of the iteration before (a reduction chain)
    leaf: bool = False  # reads only inputs, parameters and constants (no op rereads their adjoints)


class SegmentKey(NamedTuple):
    """One op in one segment: op `op` of group `group`, in the segment starting at iteration `start`."""

    group: int
    op: int
    start: int


class OperandKey(NamedTuple):
    """One operand ("a" or "b") of an op in a segment."""

    group: int
    op: int
    start: int
    operand: str


class SegmentStart(NamedTuple):
    group: int
    start: int


@dataclass(frozen=True)
class Plan:
    """What the code of a tape holds: its loops, what lives in the work buffer ``w``, how each
    operand is read in each segment, and what the adjoint pass needs. Made by ``make_plan``;
    compile/lower.py turns it into loop IR. Positions index ``w`` (and ``w_bar``, as long)."""

    groups: list[Group]  # the loops, in execution order; nests are runs of groups with one nest id
    n_work: int  # length of w (and w_bar)
    positions: np.ndarray  # (n_slots,) position of each stored slot in w, -1 for the others
    const_positions: np.ndarray  # where the constants that live in w go,
    const_values: np.ndarray  # and their values
    input_positions: np.ndarray
    param_positions: np.ndarray
    output_positions: np.ndarray
    stored: dict[SegmentKey, Access]  # the W Access where an op stores its values (stride 1 in k)
    rereads: set[SegmentKey]  # ops whose adjoint others add into w_bar
    reads: dict[OperandKey, Access]  # how each operand is read
    table: np.ndarray  # int64 index table of the TABLE accesses
    # a chain whose only reader inside the segment is itself -> the W or TABLE Access of its
    # last value, or None when nothing reads that either
    last_only: dict[SegmentKey, Access | None]
    live: dict[SegmentStart, frozenset[int]]  # ops whose values the adjoint pass recomputes or reloads
    partnered: set[SegmentKey]  # ops whose partial is their partner's value, read as operand "b"
    wb_zeroed: list[tuple[int, int]]  # [(lo, hi)]: the w_bar ranges the adjoint pass reads, zeroed before it


@dataclass
class _Needs:
    """Per slot, what the passes of make_plan have found so far."""

    stored: np.ndarray  # the slot gets a position in w
    reread: np.ndarray  # some reader (or the seed) goes through w (so its adjoint is in w_bar)
    by_carry: np.ndarray  # read only by its own op, one iteration on (carried in a register)


def make_plan(arrays, nest: bool | None = None) -> Plan:
    """The Plan of a validated tape; NotCompilable when it has too little structure. `nest`:
    as make_groups."""
    groups, where = make_groups(arrays, nest)
    segments = [group.segments() for group in groups]
    needs = _Needs(*(np.zeros(arrays.op.shape[0], dtype=bool) for _ in range(3)))
    for field in (arrays.inputs, arrays.params, arrays.outputs):
        needs.stored[field] = True
    needs.reread[arrays.outputs] = True
    modes, carries = _operand_modes(arrays, groups, segments, where, needs)
    carry = _carried_operands(groups, segments, modes, carries)
    live, partners = _adjoint_live_sets(groups, segments, modes, where, needs)
    last_only = _chains_storing_their_last(groups, segments, carry, live, needs)
    _whole_segments(groups, segments, last_only, needs)
    positions = _positions(arrays, groups, needs.stored)
    table = []
    accesses = _accesses(arrays, groups, segments, modes, carry, partners, last_only, positions, needs, table)
    stored, rereads, reads, wb_read = accesses
    op, c = arrays.op, arrays.c
    consts = needs.stored & (op == Op.CONST)
    return Plan(
        groups=groups,
        n_work=int(needs.stored.sum()),
        positions=positions,
        const_positions=positions[consts],
        const_values=c[consts].copy(),
        input_positions=positions[arrays.inputs],
        param_positions=positions[arrays.params],
        output_positions=positions[arrays.outputs],
        stored=stored,
        rereads=rereads,
        reads=reads,
        table=np.array(np.concatenate(table) if table else [], dtype=np.int64),
        last_only=last_only,
        live=live,
        partnered=set(partners),
        wb_zeroed=_ranges(wb_read),
    )


def _operand_modes(arrays, groups, segments, where, needs):
    """How each operand of each BodyOp is read over all its iterations (OperandKey without the
    start: a W one is refined per segment), and which of its reads are carried: the op's own
    value one iteration back, within a segment, kept in a register (compile/lower.py), whose
    adjoints skip w_bar."""
    modes, carries = {}, {}
    for gi, group in enumerate(groups):
        starts = {}  # op -> its iterations where a segment starts (a carry goes through w there)
        for k0, _, active in segments[gi]:
            for j in active:
                starts.setdefault(j, []).append(k0 - group.ops[j].lo)
        for j, o in enumerate(group.ops):
            for name, slots in (("a", o.a), ("b", o.b)):
                modes[gi, j, name] = mode = _mode(o, name, slots, gi, where, arrays)
                if mode.kind is not AccessKind.W:
                    continue
                carries[gi, j, name] = carried = np.zeros(slots.shape, dtype=bool)
                carried[:, 1:] = slots[:, 1:] == o.out[:, :-1]
                carried[:, starts[j]] = False
                needs.stored[slots[~carried]] = True
                needs.by_carry[slots[carried]] = True
                if _partial(o.op, name).kind is not PartialKind.ZERO:  # else no adjoint flows back through it
                    needs.reread[slots[~carried]] = True
    return modes, carries


def _carried_operands(groups, segments, modes, carries):
    """OperandKey -> whether the segment carries that operand in a register in every iteration
    after its first."""
    carry = {}
    for gi, group in enumerate(groups):
        for k0, k1, active in segments[gi]:
            for j in active:
                q0, q1 = k0 - group.ops[j].lo, k1 - group.ops[j].lo
                for name in ("a", "b"):
                    carry[OperandKey(gi, j, k0, name)] = (
                        modes[gi, j, name].kind is AccessKind.W
                        and q1 - q0 > 1
                        and bool(carries[gi, j, name][:, q0 + 1 : q1].all())
                    )
    return carry


def _adjoint_live_sets(groups, segments, modes, where, needs):
    """Per segment, the ops whose values the adjoint pass needs (SegmentStart -> frozenset), and
    the ops whose partial is their partner's value (SegmentKey -> its Access), when every
    iteration has one. Transcendentals the adjoint needs are stored, then reloaded."""
    live, partners = {}, {}
    for gi, group in enumerate(groups):
        for k0, k1, active in segments[gi]:
            regs = {
                (j, name): modes[gi, j, name].index
                for j in active
                for name in ("a", "b")
                if modes[gi, j, name].kind is AccessKind.REG
            }
            for j in active:
                o = group.ops[j]
                part = o.partner[:, k0 - o.lo : k1 - o.lo] if o.partner is not None else None
                if part is None or (part < 0).any():
                    continue
                mode = partners[SegmentKey(gi, j, k0)] = _segment_mode(part, gi, k0, where)
                if mode.kind is AccessKind.REG:
                    regs[j, "b"] = mode.index
                else:
                    needs.stored[part] = True
            partnered = {j for j in active if (gi, j, k0) in partners}
            live[SegmentStart(gi, k0)] = segment_live = _adjoint_live(group, active, regs, partnered)
            for j in segment_live:
                o = group.ops[j]
                if Op(o.op) not in CHEAP:
                    needs.stored[o.out[:, k0 - o.lo : k1 - o.lo]] = True
    return live, partners


def _chains_storing_their_last(groups, segments, carry, live, needs):
    """The chains s_k = s_(k-1) + t_k read by nothing else inside their segment: the forward pass
    keeps s in a register and stores only its last value, if read (SegmentKey -> None here;
    _accesses fills in the Access). Once every other reason to store is known."""
    last_only = {}
    for gi, group in enumerate(groups):
        for k0, k1, active in segments[gi]:
            for j in active:
                o = group.ops[j]
                q0, q1 = k0 - o.lo, k1 - o.lo
                inner = o.out[:, q0 : q1 - 1]
                if (
                    (carry[gi, j, k0, "a"] or carry[gi, j, k0, "b"])
                    and j not in live[gi, k0]
                    and not needs.stored[inner].any()
                    and not needs.reread[inner].any()
                ):
                    last_only[SegmentKey(gi, j, k0)] = None
                else:
                    needs.stored[o.out[:, q0:q1]] |= needs.by_carry[o.out[:, q0:q1]]
    return last_only


def _whole_segments(groups, segments, last_only, needs):
    """A segment stores all of an op's values or none (in every row)."""
    for gi, group in enumerate(groups):
        for k0, k1, active in segments[gi]:
            for j in active:
                o = group.ops[j]
                part = o.out[:, k0 - o.lo : k1 - o.lo] if (gi, j, k0) not in last_only else o.out[:, k1 - o.lo - 1]
                if needs.stored[part].any():
                    needs.stored[part] = True


def _positions(arrays, groups, stored):
    """Each stored slot's position in w (-1 for the others): inputs, parameters and constants in
    slot order, then the ops' values in (row, group, op, iteration) order, the groups of one
    nest together: one op's values are consecutive in w even when its slots are interleaved
    with others' (make_units), and a row of a nest is as long as the next, so an op stores
    w[base + k + stride t]."""
    op = arrays.op
    math_order = [
        np.concatenate([o.out for gi in members for o in groups[gi].ops], axis=1).ravel()
        for _, members in nests(groups)
    ]
    math_order = np.concatenate(math_order) if math_order else np.zeros(0, np.int64)
    order = np.concatenate([np.flatnonzero(stored & (op < FIRST_MATH)), math_order[stored[math_order]]])
    positions = np.full(op.shape[0], -1, dtype=np.int64)
    positions[order] = np.arange(order.shape[0])
    return positions


def _accesses(arrays, groups, segments, modes, carry, partners, last_only, positions, needs, table):
    """Per segment: where each op stores (``stored``), whose adjoints are reread from w_bar
    (``rereads``), how each operand is read (``reads``), and which w_bar positions the adjoint
    pass reads (``wb_read``); fills in last_only and appends the index table to `table`."""
    stored, rereads, reads = {}, set(), {}
    state = modes, carry, partners, last_only, positions
    wb_read = np.zeros(int(needs.stored.sum()), dtype=bool)
    wb_read[positions[arrays.inputs]] = True
    for gi, group in enumerate(groups):
        for k0, k1, active in segments[gi]:
            for j in active:
                o = group.ops[j]
                q0, q1 = k0 - o.lo, k1 - o.lo
                key = SegmentKey(gi, j, k0)
                values = o.out[:, q0:q1]
                if key in last_only:
                    last = o.out[:, q1 - 1]
                    last_only[key] = _w_access(positions[last][:, None], 0, table) if needs.stored[last].all() else None
                    if needs.reread[last].any():
                        wb_read[positions[last]] = True
                else:
                    if needs.stored[o.out[:, q0]].all():
                        stored[key] = _w_access(positions[values], k0, table)
                        assert stored[key].kind is AccessKind.W, "a segment's values are stored consecutively"
                    if needs.reread[values].any():
                        rereads.add(key)
                        wb_read[positions[values]] = True
                for name in ("a", "b"):
                    reads[OperandKey(*key, name)] = _operand_access(arrays, o, key, name, (q0, q1), state, table)
    return stored, rereads, reads, wb_read


def _operand_access(arrays, o, key, name, segment, state, table):
    """The Access of operand `name` of BodyOp o in the segment `key` (its iterations q0 .. q1 - 1)."""
    q0, q1 = segment
    modes, carry, partners, last_only, positions = state
    slots = getattr(o, name)[:, q0:q1]
    mode = modes[key.group, key.op, name]
    if name == "b" and key in partners:
        mode, slots = partners[key], o.partner[:, q0:q1]
    carried = carry[OperandKey(*key, name)]
    if mode.kind is AccessKind.W and key in last_only and carried:
        # read once, at k = k0 (the value before the segment): the later iterations' operands
        # are the chain's own values, not in w
        mode = _w_access(positions[slots[:, :1]], 0, table)
    elif mode.kind is AccessKind.W:
        mode = _w_access(positions[slots], key.start, table)
    if mode.kind in (AccessKind.W, AccessKind.TABLE):
        # a chain s_k = s_{k-1} + t_k: the code carries s in a register, not through w
        mode = mode._replace(carry=carried, leaf=bool((arrays.op[slots] < FIRST_MATH).all()))
    return mode


def _adjoint_live(group, active, regs, partnered):
    """The ops of a segment whose values its adjoint pass needs: in a partial (the op's own
    value for {v} and the CALL rows, an operand's for {x}, {y}), or to recompute another
    live op. `regs`: (op, "a"/"b") -> the op whose register that operand reads; `partnered`:
    the ops whose partial is their partner's value (operand "b")."""
    stack = []
    for j in active:
        _, d_a, d_b = row(group.ops[j].op)
        if j in partnered:
            d_a = partner_partial(group.ops[j].op)
        if d_a.reads("v") or d_b.reads("v"):
            stack.append(j)
        stack.extend(
            regs[j, name]
            for name, key in (("a", "x"), ("b", "y"))
            if (d_a.reads(key) or d_b.reads(key)) and (j, name) in regs
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
    """The op's partial for operand `name`."""
    return row(op).d_a if name == "a" else row(op).d_b


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
        return Access(AccessKind.REG, index=int(op_of[slots[0, 0]]))
    return Access(AccessKind.W)


def _ranges(mask):
    """[(lo, hi)] of the runs of True in mask; one range over everything when there are many."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    ranges = list(zip(edges[::2].tolist(), edges[1::2].tolist()))
    return ranges if len(ranges) <= 8 else [(0, mask.shape[0])]


def _mode(o, name, slots, gi, where, arrays):
    """Access of one operand of a BodyOp over all its iterations (a "w" one is refined per segment)."""
    if name == "b" and ARITY[o.op] < 2:
        return Access(AccessKind.CONST, 0.0)
    op, c = arrays.op, arrays.c
    first = slots[0, 0]
    if (
        op[first] == Op.CONST
        and (op[slots] == Op.CONST).all()
        and (c[slots].view(np.int64) == c[first].view(np.int64)).all()
    ):
        return Access(AccessKind.CONST, float(c[first]))
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
        return Access(AccessKind.W, base=first - stride * k0, stride=stride, ostride=ostride)
    offset = sum(t.shape[0] for t in table)
    if (idx == idx[:, :1]).all():
        table.append(idx[:, 0].astype(np.int64))
        return Access(AccessKind.TABLE, base=offset, stride=0, ostride=1)
    if (idx == idx[:1]).all():
        table.append(idx[0].astype(np.int64))
        return Access(AccessKind.TABLE, base=offset - k0, stride=1, ostride=0)
    table.append(idx.ravel().astype(np.int64))
    return Access(AccessKind.TABLE, base=offset - k0, stride=1, ostride=n)
