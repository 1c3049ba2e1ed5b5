"""Writing a Plan (compile/plan.py) as the source of a numba module.

The module defines, for one tape:

* ``eval_into(x, p, w, T, y)``: the forward pass; returns 1 when a guard's outcome differs
  from the recorded one (the caller asks the tape which guard), else 0.
* ``vjp_into(x, p, w, w_bar, T, y_bar, y, g)``: the forward pass, then the adjoint pass,
  g = J^T y_bar. Each group's loop runs backwards (a nest's outer loop ``for t`` too, over
  its rows); an iteration first recomputes the cheap ops its partials need into registers
  (transcendentals are reloaded from w), then propagates adjoints through registers, adding
  into w_bar only for values that live in w.
  When a NaN reaches g it calls ``vjp_exact(w, w_bar, T, y_bar, g)``, the adjoint pass
  again under the sweeps' structural-zero rule.
* ``vjp_many(X, P, w0, T, y_bar, Y, G, status)``: vjp_into for each row of X, blocks of
  rows in parallel (prange), one w per block.
* ``gradient_into(x, g)`` for scalar tapes without parameters or tables: writes the gradient
  into g, returns f(x), allocates its own buffers; the shortest path from Python.

Every value is computed by the same expression as ``ops.value`` (ops/source.py), in the same
order within an op, so values are bit-identical to the tape's sweeps; adjoints are summed
in another order, so gradients agree to rounding.
"""

import math
import re

import numpy as np

from numba_ad._config import options_source
from numba_ad.compile.loops import nests
from numba_ad.compile.plan import AccessKind
from numba_ad.ops.source import CALL, CHEAP, MINUS_ONE, ONE, PARTNERS, PRELUDE, ROWS, ZERO
from numba_ad.ops.table import Op

UNROLL = 1  # segments this short are written out, not looped over (16 measured no faster at P1 n = 10)
BLOCK_ROWS = 64  # rows of X per prange block in vjp_many: one w, w_bar per block
OPTIONS = options_source()  # the one options module decides (NUMBA_AD_CACHE=0 reaches here)
# gradient_into keeps the GIL: releasing and taking it back measured 40 ns a call, a fifth of
# P1's whole gradient at n = 10 (vjp_into, for threads, releases it)
GRADIENT_OPTIONS = options_source(drop=("nogil",))
VEC = "float64[::1]"


def literal(v):
    """Python source for the float v, exact (repr round-trips), parenthesised when negative."""
    if math.isnan(v):
        return "math.nan"
    if math.isinf(v):
        return "math.inf" if v > 0 else "(-math.inf)"
    text = repr(float(v))
    return f"({text})" if text.startswith("-") else text


def _index(base, stride, var="k", ostride=0):
    """Source for base + stride * var + ostride * t (t: the counter of a nest's outer loop)."""
    terms = [f"{s} * {v}" if s != 1 else v for s, v in ((stride, var), (ostride, "t")) if s != 0]
    if not terms:
        return str(base)
    text = " + ".join(terms)
    return text if base == 0 else (f"{text} + {base}" if base > 0 else f"{text} - {-base}")


def _in(buffer, access):
    """Source for the element of `buffer` (w or wb) that a "w" or "table" access names."""
    at = _index(access.base, access.stride, ostride=access.ostride)
    return f"{buffer}[{at}]" if access.kind is AccessKind.W else f"{buffer}[T[{at}]]"


def _read(access):
    if access.kind is AccessKind.CONST:
        return literal(access.value)
    return f"v{access.index}" if access.kind is AccessKind.REG else _in("w", access)


def _adjoint_target(access):
    if access.kind is AccessKind.CONST:
        return None  # a constant: its adjoint is never read
    return f"b{access.index}" if access.kind is AccessKind.REG else _in("wb", access)


class _Tagged:
    """The lines of one segment, with its registers renamed v3 -> v3_<group>_<start> (also b,
    c, cb, da, db): each name is then defined in one segment only, which keeps numba's SSA
    pass (about blocks x redefined variables) from growing with the square of the tape."""

    _NAME = re.compile(r"\b(cb|da|db|[vbc])(\d+)\b")

    def __init__(self, out, tag):
        self.out = getattr(out, "out", out)
        self.tag = tag

    def __call__(self, depth, text):
        self.out(depth, self._NAME.sub(lambda m: f"{m.group(1)}{m.group(2)}{self.tag}", text))


class Lines:
    def __init__(self):
        self.lines = []

    def __call__(self, depth, text):
        self.lines.append("    " * depth + text)


def _forward_op(out, depth, plan, gi, j, k0, forward=True):
    """v{j} = the op's value; in the forward pass also store it in w and, when it is a guard,
    clear ``ok`` if it differs from the recorded outcome. The adjoint pass only recomputes
    (forward=False).

    A carried operand (the op's own value one iteration back) is read from the register c{j}:
    through w, each iteration would wait for the store of the one before (about 3 ns). The
    adjoint pass, running backwards, reads it from w.
    """
    o = plan.groups[gi].ops[j]
    reads = plan.reads[gi, j, k0, "a"], plan.reads[gi, j, k0, "b"]
    x, y = (f"c{j}" if forward and r.carry else _read(r) for r in reads)
    out(depth, f"v{j} = " + ROWS[Op(o.op)][0].format(x=x, y=y, c=literal(o.c)))
    if not forward:
        return
    if any(r.carry for r in reads):
        out(depth, f"c{j} = v{j}")
    if (gi, j, k0) in plan.stored:
        out(depth, f"{_in('w', plan.stored[gi, j, k0])} = v{j}")
    if o.guard >= 0:
        # no `if`: numba's SSA pass recursed too deep on a loop-style body with 664 guards
        out(depth, f"ok &= v{j} == {literal(o.c)}")


def _recompute_op(out, depth, plan, gi, j, k0):
    """v{j} again in the adjoint pass, when a partial needs it: reloaded when expensive and
    stored, else recomputed."""
    o = plan.groups[gi].ops[j]
    if j not in plan.live[gi, k0]:
        return
    if (gi, j, k0) in plan.stored and Op(o.op) not in CHEAP:
        out(depth, f"v{j} = {_in('w', plan.stored[gi, j, k0])}")
    else:
        _forward_op(out, depth, plan, gi, j, k0, forward=False)


def _adjoint_op(out, depth, plan, gi, j, k0, exact, leaves, pending):
    """b{j} = the sum of its terms, then op j's contributions to its operands' adjoints.

    `pending` (op -> terms) holds the contributions to ops of the same iteration, which come
    later in the reverse order: each b{j} is assigned once (numba's SSA pass costs about
    blocks x redefined variables; `b += t` per term made GMM's loops compile for minutes).
    Contributions to inputs (`leaves`: Access -> terms) are summed and added once at the end
    of the iteration: one read-modify-write of w_bar instead of one per term.
    """
    o = plan.groups[gi].ops[j]
    reads = plan.reads[gi, j, k0, "a"], plan.reads[gi, j, k0, "b"]
    terms = pending.pop(j, [])
    if (gi, j, k0) in plan.rereads:
        terms.append(_in("wb", plan.stored[gi, j, k0]))
    carried = [r.carry for r in reads]
    if any(carried):  # the adjoint the iteration after (processed before) carried back
        terms.append(f"cb{j}")
    _, d_a, d_b = ROWS[Op(o.op)]
    if (gi, j, k0) in plan.partnered:  # the partner op's value, read as operand b
        d_a = PARTNERS[Op(o.op)][1]
    contributions = []
    if terms:
        out(depth, f"b{j} = " + " + ".join(terms))
        x, y, c = _read(reads[0]), _read(reads[1]), literal(o.c)
        if CALL in (d_a, d_b) and any(r.kind is not AccessKind.CONST for r in reads):
            out(depth, f"da{j}, db{j} = partials_of({o.op}, {x}, {y}, {c}, v{j})")
            d_a, d_b = f"da{j}", f"db{j}"
        for read, d in zip(reads, (d_a, d_b)):
            term = (
                None
                if read.kind is AccessKind.CONST
                else adjoint_term(d, f"b{j}", dict(x=x, y=y, c=c, v=f"v{j}"), exact)
            )
            if term is not None:
                contributions.append((read, term))
    for read, term in contributions:
        if read.carry:
            continue
        if read.kind is AccessKind.REG:
            pending.setdefault(read.index, []).append(term)
        elif read.leaf:
            leaves.setdefault(read, []).append(term)
        else:
            out(depth, f"{_in('wb', read)} += {term}")
    if any(carried):  # assigned in every iteration: the next one (processed after) reads it
        carry_terms = [term for read, term in contributions if read.carry]
        out(depth, f"cb{j} = " + (" + ".join(carry_terms) if carry_terms else "0.0"))


def adjoint_term(d, bar, operands, exact):
    """Source for the partial d (an op_source template) times the adjoint `bar`, with the
    operands' sources (x, y, c, v) substituted; None when it is structurally zero."""
    if d == ZERO:
        return None
    if d == ONE:
        return bar
    if d == MINUS_ONE:
        return f"(-{bar})"
    factor = d.format(**operands)
    if not exact:
        return f"({factor}) * {bar}"
    try:  # the exact pass: factor * bar under the structural-zero rule
        value = float(factor.strip("()"))
    except ValueError:
        return f"times({factor}, {bar})"
    if value == 0.0:
        return None
    return f"{factor} * {bar}" if math.isfinite(value) else f"times({factor}, {bar})"


def _carried(plan, gi, k0, active):
    """[(j, the carried operand's Access)] of the ops active in a segment."""
    return [(j, r) for j in active for r in (plan.reads[gi, j, k0, "a"], plan.reads[gi, j, k0, "b"]) if r.carry]


def _iterations(out, depth, k0, k1, reverse, body):
    """body(depth) for k = k0 .. k1 - 1 (descending when `reverse`): a loop, or written out
    once per k when there are at most UNROLL iterations (the tiny tapes called from Python)."""
    if k1 - k0 <= UNROLL:
        for k in range(k1 - 1, k0 - 1, -1) if reverse else range(k0, k1):
            out(depth, f"k = {k}")
            body(depth)
    elif reverse:
        # an ascending counter: range(k1 - 1, k0 - 1, -1) measured 153 against 119 us (P1 reverse)
        out(depth, f"for kk in range({k1 - k0}):")
        out(depth + 1, f"k = {k1 - 1} - kk")
        body(depth + 1)
    else:
        out(depth, f"for k in range({k0}, {k1}):")
        body(depth + 1)


def _windows(plan, gi, k0, active):
    """Register windows for a loop's contributions to inputs' adjoints: [(base, stride,
    {Access: offset})]. Reads x[k] and x[k + 1] put two read-modify-writes of w_bar in
    each iteration, the second one to the element the iteration before (processed just
    before: the loop runs backwards) wrote: a store-to-load wait. A window keeps
    w_bar[base + stride (k + o)] in register r_o, adds r_top to w_bar when no iteration
    left can touch it, and shifts the others up: one read-modify-write per iteration."""
    by_stride = {}
    for j in active:
        for r in (plan.reads[gi, j, k0, "a"], plan.reads[gi, j, k0, "b"]):
            if r.kind is AccessKind.W and r.leaf and not r.carry and r.stride > 0:
                by_stride.setdefault((r.stride, r.ostride), set()).add(r)
    windows = []
    for (stride, ostride), accesses in sorted(by_stride.items()):
        base = min(r.base for r in accesses)
        offsets = {r: (r.base - base) // stride for r in accesses if (r.base - base) % stride == 0}
        if len(offsets) > 1 and max(offsets.values()) <= 4:
            windows.append((base, stride, ostride, offsets))
    return windows


def _forward(out, depth, plan):
    """The forward pass: every group's loops, storing what w holds; ``ok`` (set True before)
    ends False when a guard's outcome differs from the recorded one."""
    for rows, members in nests(plan.groups):
        if rows > 1:  # a nest: its groups are inner loops of one loop over the rows
            out(depth, f"for t in range({rows}):")
        for gi in members:
            _forward_group(out, depth + (rows > 1), plan, gi)


def _reverse(out, depth, plan, exact):
    for rows, members in reversed(nests(plan.groups)):
        if rows > 1:
            out(depth, f"for tt in range({rows}):")
            out(depth + 1, f"t = {rows - 1} - tt")
        for gi in reversed(members):
            _reverse_group(out, depth + (rows > 1), plan, gi, exact)


def _forward_group(out, depth, plan, gi):
    for k0, k1, active in plan.groups[gi].segments():
        out = _Tagged(out, f"_{gi}_{k0}")
        carried = _carried(plan, gi, k0, active)
        if carried:
            out(depth, f"k = {k0}")
        for j, r in carried:
            out(depth, f"c{j} = {_read(r)}")  # the value before the segment's first iteration

        def body(d, gi=gi, k0=k0, active=active):
            for j in active:
                _forward_op(out, d, plan, gi, j, k0)

        _iterations(out, depth, k0, k1, False, body)
        for j, _ in carried:  # a chain that stores only its last value
            if plan.last_only.get((gi, j, k0)) is not None:
                out(depth, f"{_in('w', plan.last_only[gi, j, k0])} = c{j}")


def _reverse_group(out, depth, plan, gi, exact):
    for k0, k1, active in reversed(plan.groups[gi].segments()):
        out = _Tagged(out, f"_{gi}_{k0}")
        carried = _carried(plan, gi, k0, active)
        for j, _ in carried:  # a chain storing only its last value gets that one's adjoint here
            last = plan.last_only.get((gi, j, k0))
            out(depth, f"cb{j} = " + (_in("wb", last) if last is not None else "0.0"))

        windows = _windows(plan, gi, k0, active) if k1 - k0 > UNROLL else []
        for wi, (_, _, _, offsets) in enumerate(windows):
            for o in range(max(offsets.values()) + 1):
                out(depth, f"r{wi}_{o} = 0.0")

        def body(d, gi=gi, k0=k0, active=active, windows=windows):
            for j in active:
                _recompute_op(out, d, plan, gi, j, k0)
            leaves, pending = {}, {}
            for j in reversed(active):
                _adjoint_op(out, d, plan, gi, j, k0, exact, leaves, pending)
            in_window = {
                access: f"r{wi}_{o}" for wi, (_, _, _, offsets) in enumerate(windows) for access, o in offsets.items()
            }
            for access, terms in leaves.items():
                out(d, f"{in_window.get(access) or _in('wb', access)} += " + " + ".join(terms))
            for wi, (base, stride, ostride, offsets) in enumerate(windows):
                top = max(offsets.values())  # w_bar[base + stride (k + top)] is complete now
                out(d, f"wb[{_index(base + stride * top, stride, ostride=ostride)}] += r{wi}_{top}")
                for o in range(top, 0, -1):
                    out(d, f"r{wi}_{o} = r{wi}_{o - 1}")
                out(d, f"r{wi}_0 = 0.0")

        _iterations(out, depth, k0, k1, True, body)
        for wi, (base, stride, ostride, offsets) in enumerate(windows):  # what the window still holds
            for o in range(1, max(offsets.values()) + 1):
                out(depth, f"wb[{_index(base + stride * (k0 - 1 + o), 0, ostride=ostride)}] += r{wi}_{o}")
        if carried:
            out(depth, f"k = {k0}")
        for j, r in carried:  # what the first iteration owes the value before the segment
            out(depth, f"{_adjoint_target(r)} += cb{j}")


def _positions(positions, table_base):
    """Source indexing w at positions[i] (i the loop variable): affine, or via T."""
    stride = int(positions[1] - positions[0]) if positions.shape[0] > 1 else 0
    if positions.shape[0] == 0 or (positions[1:] - positions[:-1] == stride).all():
        base = int(positions[0]) if positions.shape[0] else 0
        return _index(base, stride, "i")
    return f"T[{_index(table_base, 1, 'i')}]"


def module_source(plan, n_inputs, n_params, n_outputs, with_gradient):
    """(source of the generated module, the index table it expects as T, whether it defines
    ``gradient_into``: asked for by `with_gradient`, and written when it needs no table)."""
    table = plan.table
    extra = []
    where = {}
    for name, positions in (("x", plan.input_positions), ("p", plan.param_positions), ("y", plan.output_positions)):
        base = table.shape[0] + sum(e.shape[0] for e in extra)
        where[name] = _positions(positions, base)
        if where[name].startswith("T["):
            extra.append(positions.astype(np.int64))
    table = np.concatenate([table] + extra) if extra else table
    sizes = n_inputs, n_outputs
    out = Lines()
    out(0, PRELUDE)
    out(0, f"N_INPUTS, N_PARAMS, N_OUTPUTS, N_WORK = {n_inputs}, {n_params}, {n_outputs}, {plan.n_work}")
    out(0, f"OUTPUT = {int(plan.output_positions[0])}  # w position of the first output")
    header(out, f"'int64({VEC}, {VEC}, {VEC}, int64[::1], {VEC})', {OPTIONS}", "eval_into(x, p, w, T, y)")
    _copy_in(out, 1, where)
    out(1, "ok = True")
    _forward(out, 1, plan)
    out(1, f"for i in range({n_outputs}):")
    out(2, f"y[i] = w[{where['y']}]")
    out(1, "return 0 if ok else 1")
    # the exact pass on its own: it rarely runs, and one copy of it (not one per caller)
    # halves the code numba compiles
    header(out, f"'void({VEC}, {VEC}, int64[::1], {VEC}, {VEC})', {OPTIONS}", "vjp_exact(w, wb, T, y_bar, g)")
    _adjoint_pass(out, 1, plan, where, sizes, True)
    header(
        out,
        f"'int64({VEC}, {VEC}, {VEC}, {VEC}, int64[::1], {VEC}, {VEC}, {VEC})', {OPTIONS}",
        "vjp_into(x, p, w, wb, T, y_bar, y, g)",
    )
    _vjp(out, 1, plan, where, sizes, "return 1")
    out(1, "return 0")
    header(out, f"{OPTIONS}, parallel=True", "vjp_many(X, P, w0, T, y_bar, Y, G, status)")
    out(1, f"n_blocks = (X.shape[0] + {BLOCK_ROWS - 1}) // {BLOCK_ROWS}")
    out(1, "for block in prange(n_blocks):")
    out(2, "w = w0.copy()")
    out(2, "wb = np.empty_like(w0)")
    # `row`, not `i`: the inlined vjp's copy loops rebind i, and status[i] then marked a wrong
    # row (or wrote past status when N < n)
    out(2, f"for row in range(block * {BLOCK_ROWS}, min(X.shape[0], (block + 1) * {BLOCK_ROWS})):")
    # the vjp written in, not called: a call passing 8 arrays (numba increfs each) cost more
    # than P1's whole gradient at n = 10; compile_plan.MAX_EMITTED bounds the copies' size
    out(3, "x, p, y, g = X[row], P[row if P.shape[0] > 1 else 0], Y[row], G[row]")
    _vjp(out, 3, plan, where, sizes, "status[row] = 1")
    with_gradient = with_gradient and table.shape[0] == 0  # its T is empty
    if with_gradient:
        _gradient_function(out, plan, where, sizes)
    return "\n".join(out.lines) + "\n", table, with_gradient


def header(out, options, signature):
    out(0, "")
    out(0, "")
    out(0, f"@njit({options})")
    out(0, f"def {signature}:")


def _copy_in(out, depth, where):
    out(depth, "for i in range(N_INPUTS):")
    out(depth + 1, f"w[{where['x']}] = x[i]")
    out(depth, "for i in range(N_PARAMS):")
    out(depth + 1, f"w[{where['p']}] = p[i]")


def _vjp(out, depth, plan, where, sizes, on_fail):
    """g = J^T y_bar and y = f(x) from x, p into w, wb; `on_fail` runs when a guard changed."""
    n_inputs, n_outputs = sizes
    _copy_in(out, depth, where)
    out(depth, "ok = True")
    _forward(out, depth, plan)
    out(depth, "if not ok:")
    out(depth + 1, on_fail)
    out(depth, "else:")
    depth += 1
    out(depth, f"for i in range({n_outputs}):")
    out(depth + 1, f"y[i] = w[{where['y']}]")
    # Plain products first: they differ from the structural-zero ones only by a NaN (0 * inf),
    # and a NaN that reaches no input changes nothing; so g without NaN is exact. The times()
    # form measured 2x slower (P1 reverse, 326 against 176 us at n = 100000).
    _adjoint_pass(out, depth, plan, where, sizes, False)
    out(depth, "exact = False")
    out(depth, f"for i in range({n_inputs}):")
    out(depth + 1, "exact |= g[i] != g[i]")
    out(depth, "if exact:  # a NaN: again under the structural-zero rule of the sweeps")
    out(depth + 1, "vjp_exact(w, wb, T, y_bar, g)")


def _adjoint_pass(out, depth, plan, where, sizes, exact):
    """g = J^T y_bar from the values in w: plain products, or under the structural-zero rule."""
    n_inputs, n_outputs = sizes
    for lo, hi in plan.wb_zeroed:  # only what the pass reads: P1's w_bar was 2n long, g n
        out(depth, f"for i in range({lo}, {hi}):")
        out(depth + 1, "wb[i] = 0.0")
    out(depth, f"for i in range({n_outputs}):")
    out(depth + 1, f"wb[{where['y']}] += y_bar[i]")
    _reverse(out, depth, plan, exact)
    out(depth, f"for i in range({n_inputs}):")
    out(depth + 1, f"g[i] = wb[{where['x']}]")


def _gradient_function(out, plan, where, sizes):
    # Writes into the caller's g and returns a float: returning a new array to Python costs
    # about 370 ns of boxing (measured), more than the whole P1 gradient at n = 10.
    n_inputs, n_work = sizes[0], plan.n_work
    # No signature here: CompiledTape compiles it for (float64[::1], float64[::1]) on first use
    # and then disables compilation, so another dtype is a TypeError, not a new version.
    header(out, GRADIENT_OPTIONS, "gradient_into(x, g)")
    out(1, "if x.shape[0] != N_INPUTS or g.shape[0] != N_INPUTS:")
    out(2, f"raise ValueError('x and g must have shape ({n_inputs},)')")
    out(1, f"buffer = np.empty({2 * n_work + 2})  # one allocation: w, w_bar, y and the seed")
    out(1, f"w, wb, y, y_bar = buffer[:{n_work}], buffer[{n_work}:{2 * n_work}], buffer[-2:-1], buffer[-1:]")
    out(1, "y_bar[0] = 1.0")
    out(1, "p, T = x[:0], np.empty(0, dtype=np.int64)")
    _vjp(out, 1, plan, where, sizes, "raise OffBranchSignal()")
    out(1, "return w[OUTPUT]")
