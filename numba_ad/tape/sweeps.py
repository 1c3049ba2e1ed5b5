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

from numba_ad._config import kernel, kernel_inline
from numba_ad.ops.table import FIRST_MATH, Op, partials, second_partials, taylor, value


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


@kernel_inline
def _tangent_lanes(w_dot, i, ai, bi, da, db, n_lanes):
    """w_dot[i] = da w_dot[ai] + db w_dot[bi] in lanes 0..n_lanes-1, a zero partial or tangent
    giving 0 (not 0 * inf = NaN: the convention of docs/conventions.md)."""
    for k in range(n_lanes):
        ta = w_dot[ai, k]
        tb = w_dot[bi, k]
        w_dot[i, k] = (da * ta if ta != 0.0 and da != 0.0 else 0.0) + (db * tb if tb != 0.0 and db != 0.0 else 0.0)


@kernel
def linearize_tangent_sweep(tape, x, p, w, w_dot, n_lanes):
    """linearize_sweep and tangent_sweep in one pass, the partials used where they are made
    instead of stored: for one block of directions (a compressed Jacobian's colours), it
    saves writing and reading d_a, d_b. The caller has seeded the input rows of w_dot."""
    op, a, b, c = tape.op, tape.a, tape.b, tape.c
    for i in range(op.shape[0]):
        o = op[i]
        if o >= FIRST_MATH:
            ai = a[i]
            bi = b[i]
            xa = w[ai]
            yb = w[bi]
            v = value(o, xa, yb, c[i])
            w[i] = v
            da, db = partials(o, xa, yb, c[i], v)
            _tangent_lanes(w_dot, i, ai, bi, da, db, n_lanes)
            continue
        if o == Op.CONST:
            w[i] = c[i]
        elif o == Op.INPUT:
            w[i] = x[a[i]]
            continue
        else:
            w[i] = p[a[i]]
        for k in range(n_lanes):
            w_dot[i, k] = 0.0


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
            _tangent_lanes(w_dot, i, ai, bi, da, db, n_lanes)
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


# ---------------------------------------------------------------------------------------
# Second order: forward over reverse. With a tangent t (w_dot) and the adjoint w_bar, the
# adjoint of the tangent (w_bar_dot, the HVP where it reaches the inputs) follows, for
# y = op(a, b) in reverse order, from
#   a_bar_dot += d_a y_bar_dot + y_bar (d_aa a_dot + d_ab b_dot)
#   b_bar_dot += d_b y_bar_dot + y_bar (d_ab a_dot + d_bb b_dot),
# every product under the structural-zero rule (a select's branch not taken, with NaN
# second partials, adds nothing: its y_bar and y_bar_dot are zero). Unary ops have
# d_b = d_ab = d_bb = 0, so nothing reaches slot 0.
# ---------------------------------------------------------------------------------------
@kernel
def second_order_forward_sweep_1(tape, x, p, V, lane, w, d_a, d_b, w_dot, s_a, s_b):
    """linearize_sweep plus one tangent: w_dot along column `lane` of V (n, K), and the
    second-order terms s_a = d_aa a_dot + d_ab b_dot, s_b = d_ab a_dot + d_bb b_dot of
    each op, which are all the reverse pass needs of the second partials and tangents."""
    # Second partials only where a tangent is nonzero, and branches on each factor: measured
    # 2.8 ns/op (P1, n = 100) against 3.1 for conditional expressions after an `or` test and
    # 4.3 for unconditional second partials.
    op, a, b, c = tape.op, tape.a, tape.b, tape.c
    for i in range(op.shape[0]):
        o = op[i]
        if o >= FIRST_MATH:
            ai = a[i]
            bi = b[i]
            xa = w[ai]
            yb = w[bi]
            v = value(o, xa, yb, c[i])
            w[i] = v
            da, db = partials(o, xa, yb, c[i], v)
            d_a[i] = da
            d_b[i] = db
            ta = w_dot[ai]
            tb = w_dot[bi]
            t = 0.0
            sa = 0.0
            sb = 0.0
            if ta != 0.0:
                daa, dab, dbb = second_partials(o, xa, yb, c[i], v)
                if da != 0.0:
                    t = da * ta
                if daa != 0.0:
                    sa = daa * ta
                if dab != 0.0:
                    sb = dab * ta
                if tb != 0.0:
                    if db != 0.0:
                        t += db * tb
                    if dab != 0.0:
                        sa += dab * tb
                    if dbb != 0.0:
                        sb += dbb * tb
            elif tb != 0.0:
                daa, dab, dbb = second_partials(o, xa, yb, c[i], v)
                if db != 0.0:
                    t = db * tb
                if dab != 0.0:
                    sa = dab * tb
                if dbb != 0.0:
                    sb = dbb * tb
            w_dot[i] = t
            s_a[i] = sa
            s_b[i] = sb
        elif o == Op.CONST:
            w[i] = c[i]
            w_dot[i] = 0.0
        elif o == Op.INPUT:
            w[i] = x[a[i]]
            w_dot[i] = V[a[i], lane]
        else:
            w[i] = p[a[i]]
            w_dot[i] = 0.0


@kernel
def second_order_adjoint_sweep_1(tape, d_a, d_b, s_a, s_b, w_bar, w_bar_dot):
    """The adjoint w_bar and the adjoint of one tangent w_bar_dot in one backward pass.

    The caller has zeroed both and seeded w_bar at the outputs; w_bar[i] is final when op i
    is reached, since every reader of slot i comes after it.
    """
    # One branch per factor, first-order terms before second-order ones: 3.4 ns/op (P1,
    # n = 100) against 4.2 for summing conditional expressions per operand, 5.9 for
    # branch-free selects and 5.9 for a NaN test after plain products.
    op, a, b = tape.op, tape.a, tape.b
    for i in range(op.shape[0] - 1, -1, -1):
        if op[i] >= FIRST_MATH:
            y_bar = w_bar[i]
            y_bar_dot = w_bar_dot[i]
            da = d_a[i]
            db = d_b[i]
            if y_bar_dot != 0.0:
                if da != 0.0:
                    w_bar_dot[a[i]] += da * y_bar_dot
                if db != 0.0:
                    w_bar_dot[b[i]] += db * y_bar_dot
            if y_bar != 0.0:
                if da != 0.0:
                    w_bar[a[i]] += da * y_bar
                if db != 0.0:
                    w_bar[b[i]] += db * y_bar
                sa = s_a[i]
                if sa != 0.0:
                    w_bar_dot[a[i]] += y_bar * sa
                sb = s_b[i]
                if sb != 0.0:
                    w_bar_dot[b[i]] += y_bar * sb


@kernel
def linearize2_sweep(tape, x, p, w, d_a, d_b, d_aa, d_ab, d_bb):
    """As linearize_sweep, and also write each op's second partials into d_aa, d_ab, d_bb
    (for many tangent directions, which reuse them)."""
    op, a, b, c = tape.op, tape.a, tape.b, tape.c
    for i in range(op.shape[0]):
        o = op[i]
        if o >= FIRST_MATH:
            xa = w[a[i]]
            yb = w[b[i]]
            v = value(o, xa, yb, c[i])
            w[i] = v
            d_a[i], d_b[i] = partials(o, xa, yb, c[i], v)
            d_aa[i], d_ab[i], d_bb[i] = second_partials(o, xa, yb, c[i], v)
        elif o == Op.CONST:
            w[i] = c[i]
        elif o == Op.INPUT:
            w[i] = x[a[i]]
        else:
            w[i] = p[a[i]]


@kernel_inline
def _add_scaled_row(s, src, si, dst, di, n_lanes):
    """dst[di, k] += s src[si, k] for the lanes k < n_lanes (s != 0), where a zero src entry
    adds nothing even if s is inf or NaN (the structural-zero rule)."""
    if s - s == 0.0:  # s finite: s * 0 is 0 and s * inf is inf, as the rule gives, untested
        for k in range(n_lanes):
            dst[di, k] += s * src[si, k]
    else:
        for k in range(n_lanes):
            t = src[si, k]
            if t != 0.0:
                dst[di, k] += s * t


@kernel_inline
def _scaled(y_bar, h):
    """y_bar h, zero where h is (an infinite adjoint times a zero second partial adds nothing)."""
    return y_bar * h if h != 0.0 else 0.0


@kernel_inline
def _add_pair(s1, r1, s2, r2, src, dst, di, n_lanes):
    """dst[di, k] += s1 src[r1, k] + s2 src[r2, k], the two products summed first; a zero
    factor or a zero src entry adds nothing (the structural-zero rule, as _add_scaled_row)."""
    if s1 == 0.0:
        if s2 != 0.0:
            _add_scaled_row(s2, src, r2, dst, di, n_lanes)
    elif s2 == 0.0:
        _add_scaled_row(s1, src, r1, dst, di, n_lanes)
    elif s1 - s1 == 0.0 and s2 - s2 == 0.0:
        for k in range(n_lanes):
            dst[di, k] += s1 * src[r1, k] + s2 * src[r2, k]
    else:
        for k in range(n_lanes):
            t1 = src[r1, k]
            t2 = src[r2, k]
            dst[di, k] += (s1 * t1 if t1 != 0.0 else 0.0) + (s2 * t2 if t2 != 0.0 else 0.0)


@kernel
def second_order_adjoint_sweep(tape, d_a, d_b, d_aa, d_ab, d_bb, w_bar, w_dot, w_bar_dot, n_lanes):
    """Adjoints of the tangents in lanes 0..n_lanes-1 of w_dot, into w_bar_dot ([n_slots, K]).

    w_bar holds the (final) adjoint of every slot, w_dot the tangents from tangent_sweep; the
    caller has zeroed w_bar_dot.
    """
    # One scaled row per nonzero factor, untested per lane when the factor is finite:
    # measured 6.4 ns/op at 3 lanes and 19 at 32 (P1, n = 100) against 8.2 and 47 for a
    # test of every lane's product (which keeps LLVM from vectorising the lane loop).
    op, a, b = tape.op, tape.a, tape.b
    for i in range(op.shape[0] - 1, -1, -1):
        if op[i] >= FIRST_MATH:
            ai = a[i]
            bi = b[i]
            da = d_a[i]
            db = d_b[i]
            if da != 0.0:
                _add_scaled_row(da, w_bar_dot, i, w_bar_dot, ai, n_lanes)
            if db != 0.0:
                _add_scaled_row(db, w_bar_dot, i, w_bar_dot, bi, n_lanes)
            y_bar = w_bar[i]
            if y_bar == 0.0:
                continue  # a dead op, or a select's branch not taken: no second-order term
            # Each operand's terms are summed before they are added, as in
            # second_order_adjoint_sweep_1: near hypot's kink d_aa t and d_ab t are ~1/r and
            # cancel exactly, and adding them one at a time to w_bar_dot would absorb the rest
            # (hypot(x, x) at x = 6.7e-30 gave H V = 0 for K > 1 directions, 2 for K = 1).
            h_aa = _scaled(y_bar, d_aa[i])
            h_ab = _scaled(y_bar, d_ab[i])
            _add_pair(h_aa, ai, h_ab, bi, w_dot, w_bar_dot, ai, n_lanes)
            _add_pair(h_ab, ai, _scaled(y_bar, d_bb[i]), bi, w_dot, w_bar_dot, bi, n_lanes)


# ---------------------------------------------------------------------------------------
# Taylor mode
# ---------------------------------------------------------------------------------------
@kernel
def taylor_sweep(tape, x, p, v, X, S):
    """Taylor coefficients 0..D (D = X.shape[1] - 1) of every slot along t -> x + t v into
    X ([n_slots, D + 1]); S is scratch [4, D + 1] for ops.taylor.

    Degree 0 is the value (as primal_sweep computes it), degree 1 the tangent (as
    tangent_sweep), degrees 2.. the op's recurrence. An op whose operands are constant along
    v (every coefficient from 1 on zero) is constant too: its coefficients are zeros, without
    asking the recurrence (sqrt(x) at x = 0 has no series, but it does along v = 0).
    """
    op, a, b, c = tape.op, tape.a, tape.b, tape.c
    D = X.shape[1] - 1
    for i in range(op.shape[0]):
        o = op[i]
        if o >= FIRST_MATH:
            ai = a[i]
            bi = b[i]
            x0 = X[ai, 0]
            y0 = X[bi, 0]
            z0 = value(o, x0, y0, c[i])
            X[i, 0] = z0
            constant = True
            for k in range(1, D + 1):
                if X[ai, k] != 0.0 or X[bi, k] != 0.0:
                    constant = False
                    break
            if constant:
                for k in range(1, D + 1):
                    X[i, k] = 0.0
                continue
            da, db = partials(o, x0, y0, c[i], z0)
            x1 = X[ai, 1]
            y1 = X[bi, 1]
            X[i, 1] = (da * x1 if da != 0.0 and x1 != 0.0 else 0.0) + (db * y1 if db != 0.0 and y1 != 0.0 else 0.0)
            if D >= 2:
                taylor(o, X, ai, bi, i, c[i], da, db, S)
        else:
            if o == Op.CONST:
                X[i, 0] = c[i]
            elif o == Op.INPUT:
                X[i, 0] = x[a[i]]
            else:
                X[i, 0] = p[a[i]]
            for k in range(1, D + 1):
                X[i, k] = 0.0
            if o == Op.INPUT and D >= 1:
                X[i, 1] = v[a[i]]
