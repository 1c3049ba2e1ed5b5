"""Planning the compilation of a tape: which ops become one loop, and which values live in memory.

The tape compiler (compile_source.py writes the code, compiled.py runs it) turns a tape into
straight numba source. This module decides the shape of that source, with NumPy over the
tape's arrays; it writes no code.

1. **Runs.** Array tracing records an elementwise operation as consecutive slots with one
   opcode whose operands advance by fixed strides (``a = a0 + k sa``). ``run_bounds`` finds
   them, scanning backwards so that the irregular first op of a reduction chain
   (``t0 + t1``, then ``s + t2``, ...) is left on its own and not glued to the run before it.
2. **Groups.** Consecutive runs of equal length, and single ops, are fused into one loop
   (a ``Group``) when every op reads values of the same or an earlier iteration: a run that
   reads ``t[k + 2]`` of the group joins it shifted by two iterations. Each op of a group
   runs over an iteration range ``[lo, hi)``; the ranges cut the loop into segments, and
   each segment is one ``for k`` loop over the ops active in it.
3. **Storage.** An op's value stays in a register when every reader is in the same
   iteration of the same group. Otherwise (read in another iteration or group, an output,
   or a transcendental the adjoint pass reloads instead of recomputing) it gets a position
   in the work buffer ``w``, in slot order; inputs, parameters and non-uniform constants
   too. An operand that reads ``w`` is ``w[base + stride * k]`` when its positions are
   affine in k over a segment, else ``w[T[off + k]]`` through an index table.
"""
from typing import NamedTuple

import numpy as np

from ._config import kernel
from .op_source import CHEAP
from .ops import ARITY, FIRST_MATH, Op

MIN_RUN = 3  # shorter runs stay single ops: two ops with any strides are "affine"
MAX_UNITS = 50_000  # runs plus single ops; the planner spends about 20 us on each
MAX_EMITTED = 20_000  # ops written out over all segments: numba compiles about 1 ms each


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

    @property
    def hi(self):
        return self.lo + self.out.shape[0]


class Group(NamedTuple):
    trips: int
    ops: list  # BodyOps, in the order they run within an iteration

    def segments(self):
        """[(k0, k1, [indices of the ops active in k0..k1-1])], in iteration order."""
        cuts = sorted({0, self.trips} | {o.lo for o in self.ops} | {o.hi for o in self.ops})
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
    if n > 1 and not touches and n != trips:
        return None  # an unrelated array of another length: its own loop
    return shift if shift + n <= trips else None


def make_groups(arrays):
    """The tape's math ops as a list of Groups, in an order that respects every dependence."""
    op, a, b = arrays.op, arrays.a, arrays.b
    bounds = run_bounds(op, a, b, _kind(arrays), arrays.c.view(np.int64), FIRST_MATH)
    starts = bounds[:-1][op[bounds[:-1]] >= FIRST_MATH]
    if starts.shape[0] > MAX_UNITS:
        raise NotCompilable(f"the tape has {starts.shape[0]} runs and single ops (at most {MAX_UNITS} compile): "
                            "trace f array-style (ufuncs on whole arrays) so its ops form runs")
    ends = bounds[1:][op[bounds[:-1]] >= FIRST_MATH]
    n_slots = op.shape[0]
    where = (np.full(n_slots, -1, dtype=np.int64), np.zeros(n_slots, dtype=np.int64),
             np.full(n_slots, -1, dtype=np.int64))  # group, iteration, op index in the group
    guard_index = np.full(n_slots, -1, dtype=np.int64)
    guard_index[arrays.guards] = np.arange(arrays.guards.shape[0])
    groups = []
    for s, e in zip(starts.tolist(), ends.tolist()):
        n = e - s
        reads = (a[s:e].astype(np.int64), b[s:e].astype(np.int64))
        shift = _fit(len(groups) - 1, groups[-1].trips, where, reads, n) if groups else None
        if shift is None:
            groups.append(Group(n, []))
            shift = 0
        group = groups[-1]
        where[0][s:e], where[1][s:e], where[2][s:e] = len(groups) - 1, shift + np.arange(n), len(group.ops)
        group.ops.append(BodyOp(int(op[s]), float(arrays.c[s]), shift, np.arange(s, e), reads[0], reads[1],
                                int(guard_index[s])))
    emitted = sum(len(active) for g in groups for _, _, active in g.segments())
    if emitted > MAX_EMITTED:
        raise NotCompilable(f"the tape would compile to {emitted} written-out ops (at most {MAX_EMITTED}): its runs "
                            "are too short to loop over (loop-style code, or array code over short axes); trace f "
                            "array-style with ufuncs over long arrays, or keep replaying the tape")
    return groups, where


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
    for gi, group in enumerate(groups):
        starts = {}  # op -> its iterations where a segment starts (a carry goes through w there)
        for k0, _, active in segments[gi]:
            for j in active:
                starts.setdefault(j, []).append(k0 - group.ops[j].lo)
        for j, o in enumerate(group.ops):
            for name, slots in (("a", o.a), ("b", o.b)):
                modes[gi, j, name] = mode = _mode(o, name, slots, gi, (group_of, iteration_of, op_of), arrays)
                if mode.kind == "w":
                    need[slots] = True
                    # reads of the op's own value one iteration back, within a segment: carried
                    # in a register (compile_source.py), so their adjoints skip w_bar
                    carries[gi, j, name] = carried = np.zeros(slots.shape[0], dtype=bool)
                    carried[1:] = slots[1:] == o.out[:-1]
                    carried[starts[j]] = False
                    reread[slots[~carried]] = True
            if Op(o.op) not in CHEAP:
                need[o.out] = True
    for gi, group in enumerate(groups):  # a segment stores all of an op's values or none
        for k0, k1, active in segments[gi]:
            for j in active:
                part = group.ops[j].out[k0 - group.ops[j].lo:k1 - group.ops[j].lo]
                if need[part].any():
                    need[part] = True
    positions = np.where(need, np.cumsum(need) - 1, -1)
    stored, rereads, reads, table = {}, set(), {}, []
    for gi, group in enumerate(groups):
        for k0, k1, active in segments[gi]:
            for j in active:
                o = group.ops[j]
                q0, q1 = k0 - o.lo, k1 - o.lo
                if need[o.out[q0]]:
                    stored[gi, j, k0] = int(positions[o.out[q0]]) - k0
                if reread[o.out[q0:q1]].any():
                    rereads.add((gi, j, k0))
                for name, slots in (("a", o.a[q0:q1]), ("b", o.b[q0:q1])):
                    mode = modes[gi, j, name]
                    if mode.kind == "w":
                        mode = _w_access(positions[slots], k0, table)
                        # a chain s_k = s_{k-1} + t_k: the code carries s in a register, not through w
                        mode = mode._replace(carry=q1 - q0 > 1 and bool(carries[gi, j, name][q0 + 1:q1].all()),
                                             leaf=bool((op[slots] < FIRST_MATH).all()))
                    reads[gi, j, k0, name] = mode
    consts = need & (op == Op.CONST)
    return Plan(groups, int(need.sum()), positions, positions[consts], c[consts].copy(),
                positions[arrays.inputs], positions[arrays.params], positions[arrays.outputs],
                stored, rereads, reads, np.array(np.concatenate(table) if table else [], dtype=np.int64))


def _mode(o, name, slots, gi, where, arrays):
    """Access of one operand of a BodyOp over all its iterations (a "w" one is refined per segment)."""
    if name == "b" and ARITY[o.op] < 2:
        return Access("const", 0.0)
    op, c = arrays.op, arrays.c
    first = slots[0]
    if op[first] == Op.CONST and (op[slots] == Op.CONST).all() and (c[slots].view(np.int64) == c[first].view(np.int64)).all():
        return Access("const", float(c[first]))
    group_of, iteration_of, op_of = where
    iterations = o.lo + np.arange(slots.shape[0])
    if ((group_of[slots] == gi).all() and (iteration_of[slots] == iterations).all()
            and (op_of[slots] == op_of[first]).all()):
        return Access("reg", index=int(op_of[first]))
    return Access("w")


def _w_access(idx, k0, table):
    """w[base + stride k] for the positions idx of iterations k0, k0 + 1, ...; else a table."""
    stride = int(idx[1] - idx[0]) if idx.shape[0] > 1 else 0
    if (np.diff(idx) == stride).all():
        return Access("w", base=int(idx[0]) - stride * k0, stride=stride)
    offset = sum(t.shape[0] for t in table)
    table.append(idx.astype(np.int64))
    return Access("table", base=offset - k0)
