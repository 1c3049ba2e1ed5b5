"""The loop structure the planner builds: BodyOps (runs or single ops) inside Groups (loops).

Leaf module of the planner: runs.py, regions.py, nests.py, groups.py and plan.py all build or
read these.
"""

from typing import NamedTuple

import numpy as np

# ops written out over all segments: numba's compile time grows faster than their count (GMM
# d=2 K=5: 184 ops, 8 s; d=5 K=10: 646 ops, 24 s; d=10 K=25: 3 831 ops, over 10 minutes)
MAX_EMITTED = 1_000


class NotCompilable(ValueError):
    """The tape has too little regular structure to be written out as loops."""


class BodyOp(NamedTuple):
    """One recorded op (a run, or a single op) inside a group's loop."""

    op: int
    c: float
    lo: int  # first group iteration it runs in; it runs in [lo, lo + out.shape[1])
    out: np.ndarray  # its slots, (rows, iterations): one row per iteration of a nest's outer loop
    a: np.ndarray  # slots its first operand reads, shaped as out
    b: np.ndarray
    guard: int  # index in tape.guards of its first slot, -1 if not a guard
    partner: np.ndarray = None  # ops.source.PARTNERS: slot of the partner op on the same operand, -1 for none
    piece: int = -1  # the block split (units) it comes from: a nest's inner loops are cut from one piece

    @property
    def hi(self) -> int:
        return self.lo + self.out.shape[1]


class Group(NamedTuple):
    trips: int
    ops: list  # BodyOps, in the order they run within an iteration
    rows: int = 1  # iterations of the outer loop of its nest (1: no outer loop)
    nest: int = -1  # consecutive groups with one nest id (>= 0) share one outer loop

    def segments(self) -> list[tuple[int, int, list[int]]]:
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


class Where(NamedTuple):
    """Where each slot runs, as arrays over the tape's slots (-1: not placed, or not a math op)."""

    group: np.ndarray  # index of its group
    iteration: np.ndarray  # its iteration of the group's loop
    op: np.ndarray  # index of its BodyOp in the group
    row: np.ndarray  # its row: iteration of the outer loop of the group's nest (0 outside nests)

    @classmethod
    def empty(cls, n_slots: int) -> "Where":
        return cls(
            np.full(n_slots, -1, dtype=np.int64),
            np.zeros(n_slots, dtype=np.int64),
            np.full(n_slots, -1, dtype=np.int64),
            np.zeros(n_slots, dtype=np.int64),
        )


def written_ops(group: Group) -> int:
    """Ops the group's code writes out: each op once per segment it is active in."""
    return sum(len(active) for _, _, active in group.segments())


def place_group(gi: int, group: Group, where: Where) -> None:
    """Record in `where` that the group's ops run as group gi."""
    for j, o in enumerate(group.ops):
        where.group[o.out] = gi
        where.iteration[o.out] = o.lo + np.arange(o.out.shape[1])[None, :]
        where.op[o.out] = j
        where.row[o.out] = np.arange(o.out.shape[0])[:, None]


def nests(groups: list[Group]) -> list[tuple[int, list[int]]]:
    """[(rows, [indices of the groups sharing one outer loop of `rows` iterations])], in order;
    a group outside any nest is one of its own, with one row."""
    out = []
    for gi, group in enumerate(groups):
        if out and group.nest >= 0 and groups[out[-1][1][-1]].nest == group.nest:
            out[-1][1].append(gi)
        else:
            out.append((group.rows, [gi]))
    return out
