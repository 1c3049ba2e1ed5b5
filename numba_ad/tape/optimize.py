"""Tape optimisation: a new, equivalent tape with fewer slots.

Every rewrite here is exact in IEEE arithmetic: an optimised tape gives the same values bit
for bit, and the same derivatives of every order to rounding (merging two slots sums their
adjoints before multiplying by the shared partials, (a + b) d instead of a d + b d):

* constant folding: an op whose operands are all constants becomes a constant (computed by
  ``ops.value``, the replay's own function, so the folded value is the replayed one);
* identities that hold for every float, signed zeros and NaN included: ``x * 1``, ``1 * x``,
  ``x / 1``, ``x - (+0.0)``, ``x + (-0.0)``, ``-(-x)`` become x; a select on a constant mask
  becomes its value or the constant -0.0. ``x + 0.0`` is *not* x (-0.0 + 0.0 is +0.0),
  nor is ``x * 0`` 0 (NaN, inf), so neither is rewritten;
* common-subexpression elimination: two slots with the same op, operands (after rewriting)
  and constant are one slot; ADD, MUL and HYPOT match either operand order;
* dead-code elimination: slots no output and no guard depends on are dropped.

Guards are never folded, merged or dropped, and keep their order: ``tape.check`` and
BranchChangedError name guards by index. Inputs and parameters keep their slots even when
unused, so x and params keep their lengths. Slots keep their relative order, so the result is
still topologically ordered.

The passes are @njit kernels: they cost about as much as one or two primal sweeps per slot,
so the CppAD trap (an optimiser that costs more than it ever saves, gradbench PR 472) is
measured in benchmarks/bench_scale.py rather than assumed away.
"""

from typing import NamedTuple

import numpy as np

from numba_ad._config import kernel
from numba_ad.ops.table import COMMUTATIVE, FIRST_MATH, Op, value
from numba_ad.tape.arrays import INDEX_DTYPE, OP_DTYPE, TapeArrays

_COMMUTATIVE = np.zeros(256, dtype=np.bool_)  # indexed by any uint8 opcode
_COMMUTATIVE[: len(COMMUTATIVE)] = COMMUTATIVE
_BECOMES_NEG_ZERO = -2


class OptimizeReport(NamedTuple):
    """What Tape.optimize removed: slots before and after, and per pass."""

    slots_before: int
    slots_after: int
    folded: int  # ops turned into constants
    simplified: int  # ops replaced by one of their operands (x * 1 -> x)
    merged: int  # common subexpressions merged into an earlier identical slot
    dead: int  # slots dropped because nothing needed them

    @property
    def removed(self):
        return self.slots_before - self.slots_after


@kernel
def _rewrite(op, a, b, c, is_guard, commutative):
    """One forward pass: fold, simplify and merge. Returns (op, a, b, c, rep, counts) where
    rep[i] is the earlier-or-equal slot that now stands for slot i."""
    n = op.shape[0]
    new_op, new_a, new_b, new_c = op.copy(), a.copy(), b.copy(), c.copy()
    rep = np.arange(n)
    bits = new_c.view(np.int64)
    # Open-addressing hash set of slots keyed by (op, a, b, bits of c): measured 160 ns/slot
    # with a numba typed Dict of tuples, 40 with this table.
    size = 1
    while size < 2 * n:
        size *= 2
    table = np.full(size, -1, dtype=np.int64)
    folded = simplified = merged = 0
    for i in range(n):
        o = int(op[i])
        if o >= FIRST_MATH:
            ai, bi = rep[a[i]], rep[b[i]]
            new_a[i], new_b[i] = ai, bi
            if is_guard[i]:
                continue  # guards are never folded, merged or dropped
            ca, cb = new_op[ai] == Op.CONST, new_op[bi] == Op.CONST
            if ca and cb:  # fold with the replay's own value function: bit-identical
                new_c[i] = value(o, new_c[ai], new_c[bi], c[i])
                new_op[i], new_a[i], new_b[i] = Op.CONST, 0, 0
                folded += 1
            else:
                same = _identity(o, ai, bi, ca, cb, new_c, new_op, new_a)
                if same >= 0:
                    rep[i] = same
                    simplified += 1
                    continue
                if same == _BECOMES_NEG_ZERO:
                    new_c[i] = -0.0
                    new_op[i], new_a[i], new_b[i] = Op.CONST, 0, 0
                    simplified += 1
        # the key of a commutative op is its operands in order, so that x * y meets y * x; the
        # tape keeps the user's order (messages render it)
        ka, kb = new_a[i], new_b[i]
        if commutative[new_op[i]] and ka > kb:
            ka, kb = kb, ka
        h = (
            (np.int64(new_op[i]) * np.int64(-7046029254386353131))
            ^ (ka * np.int64(-4658895280553007687))
            ^ (kb * np.int64(1609587929392839161))
            ^ (bits[i] * np.int64(-6261239274745651589))
        )
        h = (h ^ (h >> 29)) & (size - 1)
        while True:
            j = table[h]
            if j < 0:
                table[h] = i
                break
            ja, jb = new_a[j], new_b[j]  # slot j's key, written out as above: an inlined
            if commutative[new_op[j]] and ja > jb:  # helper for both measured 51 -> 72 ns/slot
                ja, jb = jb, ja
            if new_op[j] == new_op[i] and ja == ka and jb == kb and bits[j] == bits[i]:
                rep[i] = j
                merged += 1
                break
            h = (h + 1) & (size - 1)
    return new_op, new_a, new_b, new_c, rep, np.array([folded, simplified, merged])


@kernel
def _identity(o, ai, bi, ca, cb, c, op, a):
    """The slot an op equals for every input (x * 1 -> x), _BECOMES_NEG_ZERO, or -1."""
    if o == Op.MUL:
        if cb and c[bi] == 1.0:
            return ai
        if ca and c[ai] == 1.0:
            return bi
    elif o == Op.DIV:
        if cb and c[bi] == 1.0:
            return ai
    elif o == Op.SUB:
        if cb and c[bi] == 0.0 and np.signbit(c[bi]) == 0:  # x - (+0.0) is x, -0.0 included
            return ai
    elif o == Op.ADD:
        if cb and c[bi] == 0.0 and np.signbit(c[bi]) == 1:  # x + (-0.0) is x
            return ai
        if ca and c[ai] == 0.0 and np.signbit(c[ai]) == 1:
            return bi
    elif o == Op.NEG:
        if op[ai] == Op.NEG:
            return a[ai]
    elif o == Op.IF_TRUE or o == Op.IF_FALSE:
        if ca:
            taken = (c[ai] != 0.0) == (o == Op.IF_TRUE)
            return bi if taken else _BECOMES_NEG_ZERO  # the branch not taken: -0.0
    return -1


@kernel
def _live_slots(op, a, b, rep, roots):
    """Which slots the roots (outputs, guards, inputs, params, slot 0) need, after rep."""
    n = op.shape[0]
    live = np.zeros(n, dtype=np.bool_)
    for r in roots:
        live[rep[r]] = True
    for i in range(n - 1, -1, -1):
        if live[i] and op[i] >= FIRST_MATH:
            live[a[i]] = True
            live[b[i]] = True
    return live


def optimize_arrays(arrays):
    """(optimised TapeArrays, OptimizeReport, slot map old -> new, -1 for dropped slots).

    `arrays` must be validated TapeArrays (a Tape's). The slot map lets callers carry along
    anything else that names slots (a Tape's guard descriptions).
    """
    op, a, b, c = arrays.op, arrays.a.astype(np.int64), arrays.b.astype(np.int64), arrays.c
    n = op.shape[0]
    is_guard = np.zeros(n, dtype=np.bool_)
    is_guard[arrays.guards] = True
    new_op, new_a, new_b, new_c, rep, counts = _rewrite(op, a, b, c, is_guard, _COMMUTATIVE)
    roots = np.concatenate([[0], arrays.outputs, arrays.guards, arrays.inputs, arrays.params]).astype(np.int64)
    live = _live_slots(new_op, new_a, new_b, rep, roots)
    new_index = np.cumsum(live) - 1
    keep = np.flatnonzero(live)
    slot_map = np.where(live[rep], new_index[rep], -1)
    kept_op = new_op[keep]
    math = kept_op >= FIRST_MATH
    indexed = (kept_op == Op.INPUT) | (kept_op == Op.PARAM)  # a is an index there, not a slot
    out = TapeArrays(
        kept_op.astype(OP_DTYPE),
        np.where(math, new_index[new_a[keep]], np.where(indexed, new_a[keep], 0)).astype(INDEX_DTYPE),
        np.where(math, new_index[new_b[keep]], 0).astype(INDEX_DTYPE),
        new_c[keep],
        *(slot_map[getattr(arrays, name)].astype(INDEX_DTYPE) for name in ("inputs", "outputs", "params", "guards")),
    )
    folded, simplified, merged = (int(v) for v in counts)
    n_after = int(keep.shape[0])
    dead = int(np.count_nonzero(~live & (rep == np.arange(n))))  # not merged or simplified away
    report = OptimizeReport(n, n_after, folded, simplified, merged, dead)
    return out, report, slot_map
