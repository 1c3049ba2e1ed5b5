"""Groups: consecutive runs of equal length, and single ops, fused into loops (``make_groups``)."""

import numpy as np

from numba_ad.compile.loops import MAX_EMITTED, BodyOp, Group, NotCompilable, Where, place_group, written_ops
from numba_ad.compile.nests import find_partners, nest_group
from numba_ad.compile.regions import periodic_nest, regions_of
from numba_ad.compile.runs import make_units
from numba_ad.ops.table import FIRST_MATH

# a loop writing out more ops than this becomes a nest (an outer loop over inner ones): at
# 646 written-out ops numba compiled for 24-30 s; GMM-small's 184 stay one loop (0.72x its floor)
NEST_ABOVE = 300


def make_groups(arrays, nest: bool | None = None) -> tuple[list[Group], Where]:
    """The tape's math ops as a list of Groups, in an order that respects every dependence, and
    where each slot runs: (group, iteration, op index in the group, row of the nest's loop).

    A loop whose body would be written out long (GMM's K axis: 3 831 ops an iteration at d = 10,
    K = 25) becomes a nest instead (``nest_group``): `nest` True nests every loop that can be, False
    none, None those writing out more than NEST_ABOVE ops. A loop-style tape that would write
    out more than NEST_ABOVE ops becomes nests over its periodic regions (``regions_of``) when
    that writes out less (not with `nest` False)."""
    try:
        groups, refusal = _make_groups(arrays, nest, ()), None
    except NotCompilable as error:
        groups, refusal = None, error
    if groups is not None:
        written, units = sum(written_ops(g) for g in groups[0]), sum(len(g.ops) for g in groups[0])
        if written <= NEST_ABOVE or units < np.count_nonzero(arrays.op >= FIRST_MATH) // 2:
            return groups  # few ops written out, or array code (runs, not single ops)
    # loop-style code records one op per slot (no runs), but the same body again and again:
    # loops over the copies of the body write out less (and compile sooner)
    regions = regions_of(arrays) if nest is not False else []
    if regions:
        try:
            periodic = _make_groups(arrays, nest, regions)
            if groups is None or sum(written_ops(g) for g in periodic[0]) < written:
                return periodic
        except NotCompilable:
            pass
    if groups is None:
        raise refusal
    return groups


def _make_groups(arrays, nest, regions):
    op, a, b = arrays.op, arrays.a, arrays.b
    units, piece_of = make_units(arrays, [(s, s + rows * length) for s, length, rows in regions])
    n_slots = op.shape[0]
    where = Where.empty(n_slots)
    guard_index = np.full(n_slots, -1, dtype=np.int64)
    guard_index[arrays.guards] = np.arange(arrays.guards.shape[0])
    loops = []
    pending = sorted(regions)  # each becomes a nest of its own, between the units before and after it
    for out, piece in zip(units, piece_of):
        fresh = False
        while pending and pending[0][0] < out[0]:
            loops.append(periodic_nest(arrays, guard_index, *pending.pop(0)))
            fresh = True  # nothing joins a nest's loop
        n = out.shape[0]
        reads = (a[out].astype(np.int64), b[out].astype(np.int64))
        shift = _fit(len(loops) - 1, loops[-1].trips, where, reads, n) if loops and not fresh else None
        if shift is None:
            loops.append(Group(n, []))
            shift = 0
        group = loops[-1]
        where.group[out], where.iteration[out], where.op[out] = len(loops) - 1, shift + np.arange(n), len(group.ops)
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
    loops.extend(periodic_nest(arrays, guard_index, *region) for region in pending)
    where.group[:] = -1  # from here on: the final groups, placed one by one
    groups = []
    for group in loops:
        nested = None  # nest_group places the groups it makes (it reads `where` as it goes)
        if group.rows == 1 and (nest or (nest is None and written_ops(group) > NEST_ABOVE)):
            nested = nest_group(group, len(groups), where)
        if nested is None:
            if group.rows > 1:  # a periodic region: a nest already
                group = group._replace(nest=len(groups))
            place_group(len(groups), group, where)
            nested = [group]
        groups.extend(nested)
    find_partners(arrays, groups)
    emitted = sum(written_ops(g) for g in groups)
    if emitted > MAX_EMITTED:
        raise NotCompilable(
            f"the tape would compile to {emitted} written-out ops (at most {MAX_EMITTED}): its runs "
            "are too short to loop over (loop-style code, or array code over short axes); trace f "
            "array-style with ufuncs over long arrays, or keep replaying the tape"
        )
    return groups, where


def _fit(group_id, trips, where, reads, n):
    """Iteration shift at which a run of n ops reading `reads` can join the group, or None."""
    k = np.arange(n)
    shift, touches = 0, False
    for slots in reads:
        inside = where.group[slots] == group_id
        if inside.any():
            touches = True
            shift = max(shift, int((where.iteration[slots[inside]] - k[inside]).max()))
    if not touches and n != trips:
        # an unrelated array of another length: its own loop; a single op too (placed at
        # iteration 0 of a long loop, it would cut the loop's first iteration out)
        return None
    return shift if shift + n <= trips else None
