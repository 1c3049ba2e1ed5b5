"""Nests: a loop whose body would be written out long becomes an outer loop over inner loops
(``nest_group``, ``column_families``); and the partner ops whose values serve as partials (``find_partners``)."""

import numpy as np

from numba_ad.compile.loops import BodyOp, Group, Where, place_group
from numba_ad.ops.source import PARTNERS
from numba_ad.ops.table import Op


def nest_group(group: Group, gi0: int, where: Where) -> list[Group] | None:
    """The loop `group` as a nest: an outer loop over its iterations (the rows) whose body is a
    few inner loops, or None when its body has nothing to loop over.

    Its ops come in pieces, the columns of one block of interleaved runs (units: GMM's xc over
    (n, K, d) is K d columns of n iterations). ``column_families`` cuts a piece into families of
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
        families.extend(column_families(group.ops[at:end]))
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
        place_group(gi0 + len(inner) - 1, inner[-1], where)
    return inner


def column_families(ops: list[BodyOp]) -> list[list[BodyOp]]:
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


def find_partners(arrays, groups: list[Group]) -> None:
    """Set BodyOp.partner for the ops of ops.source.PARTNERS whose partner op the tape records
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
