"""The sweeps: op-agnostic @njit loops over a tape.

None of them names a math op. The primal and linearize sweeps ask ``ops.value`` and
``ops.partials`` for each slot; the tangent and adjoint sweeps only combine the stored
local partials ``d_a``, ``d_b``. Structural ops (CONST, INPUT, PARAM) are the only ones they
treat themselves. Buffers come from the caller: nothing is allocated here.

Zeros are structural: a term ``d * t`` with a zero partial d or a zero tangent/adjoint t
contributes 0 even where the other factor is inf or NaN (sqrt at 0, an op whose result is
never used). Without this a dead ``sqrt(0)`` would turn a whole gradient into NaN, and
forward and reverse mode would disagree on ``sqrt(x0) + x1`` at x0 = 0 (zero tangent) and on
``x1 * sqrt(x0)`` at 0 (zero partial). Both modes then sum the same path products, in which
any zero factor annihilates the path.
"""
from ._config import kernel
from .ops import FIRST_MATH, Op, partials, value


@kernel
def primal_sweep(tape, x, p, w):
    """Write the value of every slot into w, for inputs x and parameters p."""
    # The structural branches are written out here and in linearize_sweep on purpose: moving
    # them into a shared inlined helper measured 1.1 -> 3.6 ns/op (P1, n = 100000).
    op, a, b, c = tape.op, tape.a, tape.b, tape.c
    for i in range(op.shape[0]):
        o = op[i]
        if o >= FIRST_MATH:
            w[i] = value(o, w[a[i]], w[b[i]], c[i])
        elif o == Op.CONST:
            w[i] = c[i]
        elif o == Op.INPUT:
            w[i] = x[a[i]]
        else:
            w[i] = p[a[i]]


@kernel
def linearize_sweep(tape, x, p, w, d_a, d_b):
    """As primal_sweep, and also write each op's local partials into d_a, d_b."""
    op, a, b, c = tape.op, tape.a, tape.b, tape.c
    for i in range(op.shape[0]):
        o = op[i]
        if o >= FIRST_MATH:
            xa = w[a[i]]
            yb = w[b[i]]
            v = value(o, xa, yb, c[i])
            w[i] = v
            d_a[i], d_b[i] = partials(o, xa, yb, c[i], v)
        elif o == Op.CONST:
            w[i] = c[i]
        elif o == Op.INPUT:
            w[i] = x[a[i]]
        else:
            w[i] = p[a[i]]


@kernel
def tangent_sweep(tape, d_a, d_b, w_dot, n_lanes):
    """Propagate tangents forward in lanes 0..n_lanes-1 of w_dot ([n_slots, K]).

    The caller has written the seeds into the rows of the input slots; constants and
    parameters get zero tangents.
    """
    op, a, b = tape.op, tape.a, tape.b
    for i in range(op.shape[0]):
        o = op[i]
        if o >= FIRST_MATH:
            ai = a[i]
            bi = b[i]
            da = d_a[i]
            db = d_b[i]
            for k in range(n_lanes):
                ta = w_dot[ai, k]
                tb = w_dot[bi, k]
                w_dot[i, k] = (da * ta if ta != 0.0 and da != 0.0 else 0.0) + (
                    db * tb if tb != 0.0 and db != 0.0 else 0.0)
        elif o != Op.INPUT:
            for k in range(n_lanes):
                w_dot[i, k] = 0.0


@kernel
def adjoint_sweep(tape, d_a, d_b, w_bar, n_lanes):
    """Propagate adjoints backward in lanes 0..n_lanes-1 of w_bar ([n_slots, K]).

    The caller has zeroed w_bar and written the seeds into the rows of the output slots;
    afterwards the rows of the input slots hold the input adjoints.
    """
    op, a, b = tape.op, tape.a, tape.b
    for i in range(op.shape[0] - 1, -1, -1):
        if op[i] >= FIRST_MATH:
            ai = a[i]
            bi = b[i]
            da = d_a[i]
            db = d_b[i]
            for k in range(n_lanes):
                y_bar = w_bar[i, k]
                if y_bar != 0.0:
                    if da != 0.0:
                        w_bar[ai, k] += da * y_bar
                    if db != 0.0:
                        w_bar[bi, k] += db * y_bar


@kernel
def adjoint_sweep_1(tape, d_a, d_b, w_bar):
    """adjoint_sweep for one adjoint in a 1-D buffer: the gradient's hot path.

    A separate kernel because the lane loop of length one is not removed by LLVM.
    """
    op, a, b = tape.op, tape.a, tape.b
    for i in range(op.shape[0] - 1, -1, -1):
        if op[i] >= FIRST_MATH:
            y_bar = w_bar[i]
            if y_bar != 0.0:  # branches measured 1.27 ns/op against 1.35 for selects
                da = d_a[i]
                db = d_b[i]
                if da != 0.0:
                    w_bar[a[i]] += da * y_bar
                if db != 0.0:
                    w_bar[b[i]] += db * y_bar


@kernel
def first_failed_guard(tape, w):
    """Index (into tape.guards) of the first guard whose outcome differs from the recorded
    one, or -1 when the values in w lie on the recorded branch."""
    guards, c = tape.guards, tape.c
    for k in range(guards.shape[0]):
        g = guards[k]
        if w[g] != c[g]:
            return k
    return -1


@kernel
def guard_check_sweep(tape, x, p, w):
    """primal_sweep up to the last guard, stopping at the first guard whose outcome differs
    from the recorded one: returns its index, or -1 when x lies on the recorded branch.

    What a multi-tape cache runs to find the tape for x: a miss usually costs a few ops, not
    a sweep, and a hit costs the ops up to the last guard.
    """
    op, a, b, c, guards = tape.op, tape.a, tape.b, tape.c, tape.guards
    n_guards = guards.shape[0]
    if n_guards == 0:
        return -1
    k = 0
    next_guard = guards[0]
    for i in range(guards[n_guards - 1] + 1):
        o = op[i]
        if o >= FIRST_MATH:
            w[i] = value(o, w[a[i]], w[b[i]], c[i])
        elif o == Op.CONST:
            w[i] = c[i]
        elif o == Op.INPUT:
            w[i] = x[a[i]]
        else:
            w[i] = p[a[i]]
        if i == next_guard:
            if w[i] != c[i]:
                return k
            k += 1
            if k < n_guards:
                next_guard = guards[k]
    return -1
