"""A Plan (compile/plan.py) lowered to loop IR (compile/ir.py): the loop compiler's module.

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

Every name is decided here, when its node is built: a segment's registers carry the segment's
tag (``v3_<group>_<start>``, also b, c, cb, da, db), so each is defined in one segment only,
which keeps numba's SSA pass (about blocks x redefined variables) from growing with the square
of the tape. Register windows and carried registers are decided here too; printing only prints.
"""

import hashlib
import math
from typing import NamedTuple

import numpy as np

from numba_ad.compile.functions import (
    OPTIONS,
    TABLE,
    VEC,
    argument_checks,
    eval_function,
    gradient_function,
    redo_if_nan,
    vjp_function,
    vjp_many_function,
)
from numba_ad.compile.ir import AddTo, Assign, Function, Guard, If, Loop, Module, Stmt
from numba_ad.compile.loops import nests
from numba_ad.compile.partials import Partial, PartialKind, adjoint_term, partner_partial, row
from numba_ad.compile.plan import AccessKind, Plan
from numba_ad.compile.printer import module_text
from numba_ad.ops.source import CHEAP, PRELUDE
from numba_ad.ops.table import Op

UNROLL = 1  # segments this short are written out, not looped over (16 measured no faster at P1 n = 10)


def literal(v: float) -> str:
    """Python source for the float v, exact (repr round-trips), parenthesised when negative."""
    if math.isnan(v):
        return "math.nan"
    if math.isinf(v):
        return "math.inf" if v > 0 else "(-math.inf)"
    text = repr(float(v))
    return f"({text})" if text.startswith("-") else text


class Names:
    """The register names of one segment, each tagged with it: op j's value v, adjoint b,
    carried value c and carried adjoint cb, and its CALL partials da, db."""

    def __init__(self, gi: int, k0: int) -> None:
        self.tag = f"_{gi}_{k0}"

    def v(self, j: int) -> str:
        return f"v{j}{self.tag}"

    def b(self, j: int) -> str:
        return f"b{j}{self.tag}"

    def c(self, j: int) -> str:
        return f"c{j}{self.tag}"

    def cb(self, j: int) -> str:
        return f"cb{j}{self.tag}"

    def da(self, j: int) -> str:
        return f"da{j}{self.tag}"

    def db(self, j: int) -> str:
        return f"db{j}{self.tag}"


def _index(base, stride, var="k", ostride=0):
    """Source for base + stride * var + ostride * t (t: the counter of a nest's outer loop)."""
    terms = [f"{s} * {v}" if s != 1 else v for s, v in ((stride, var), (ostride, "t")) if s != 0]
    if not terms:
        return str(base)
    text = " + ".join(terms)
    return text if base == 0 else (f"{text} + {base}" if base > 0 else f"{text} - {-base}")


def _in(buffer, access):
    """Source for the element of `buffer` (w or wb) that a W or TABLE access names."""
    at = _index(access.base, access.stride, ostride=access.ostride)
    return f"{buffer}[{at}]" if access.kind is AccessKind.W else f"{buffer}[T[{at}]]"


def _read(access, names):
    if access.kind is AccessKind.CONST:
        return literal(access.value)
    return names.v(access.index) if access.kind is AccessKind.REG else _in("w", access)


def _adjoint_target(access, names):
    return names.b(access.index) if access.kind is AccessKind.REG else _in("wb", access)


class Segment(NamedTuple):
    """One ``for k`` loop of a group: its ops `active`, iterations k0 .. k1 - 1, and names."""

    plan: Plan
    gi: int
    k0: int
    k1: int
    active: list
    names: Names

    def reads(self, j):
        return self.plan.reads[self.gi, j, self.k0, "a"], self.plan.reads[self.gi, j, self.k0, "b"]

    def key(self, j):
        return self.gi, j, self.k0

    def carried(self):
        """[(j, the carried operand's Access)] of the ops active in the segment."""
        return [(j, r) for j in self.active for r in self.reads(j) if r.carry]


def _forward_op(seg, j, forward=True):
    """v = the op's value; in the forward pass also store it in w and, when it is a guard,
    clear ``ok`` if it differs from the recorded outcome. The adjoint pass only recomputes
    (forward=False).

    A carried operand (the op's own value one iteration back) is read from the register c:
    through w, each iteration would wait for the store of the one before (about 3 ns). The
    adjoint pass, running backwards, reads it from w.
    """
    plan, names = seg.plan, seg.names
    o = plan.groups[seg.gi].ops[j]
    reads = seg.reads(j)
    x, y = (names.c(j) if forward and r.carry else _read(r, names) for r in reads)
    nodes = [Assign(names.v(j), row(o.op).value.format(x=x, y=y, c=literal(o.c)))]
    if not forward:
        return nodes
    if any(r.carry for r in reads):
        nodes.append(Assign(names.c(j), names.v(j)))
    if seg.key(j) in plan.stored:
        nodes.append(Assign(_in("w", plan.stored[seg.key(j)]), names.v(j)))
    if o.guard >= 0:
        nodes.append(Guard(names.v(j), literal(o.c)))
    return nodes


def _recompute_op(seg, j):
    """v again in the adjoint pass, when a partial needs it: reloaded when expensive and
    stored, else recomputed."""
    plan = seg.plan
    if j not in plan.live[seg.gi, seg.k0]:
        return []
    if seg.key(j) in plan.stored and Op(plan.groups[seg.gi].ops[j].op) not in CHEAP:
        return [Assign(seg.names.v(j), _in("w", plan.stored[seg.key(j)]))]
    return _forward_op(seg, j, forward=False)


def _adjoint_op(seg, j, exact, leaves, pending):
    """b = the sum of its terms, then op j's contributions to its operands' adjoints.

    `pending` (op -> terms) holds the contributions to ops of the same iteration, which come
    later in the reverse order: each b is assigned once (numba's SSA pass costs about
    blocks x redefined variables; `b += t` per term made GMM's loops compile for minutes).
    Contributions to inputs (`leaves`: Access -> terms) are summed and added once at the end
    of the iteration: one read-modify-write of w_bar instead of one per term.
    """
    plan, names = seg.plan, seg.names
    o = plan.groups[seg.gi].ops[j]
    reads = seg.reads(j)
    terms = pending.pop(j, [])
    if seg.key(j) in plan.rereads:
        terms.append(_in("wb", plan.stored[seg.key(j)]))
    carried = [r.carry for r in reads]
    if any(carried):  # the adjoint the iteration after (processed before) carried back
        terms.append(names.cb(j))
    _, d_a, d_b = row(o.op)
    if seg.key(j) in plan.partnered:  # the partner op's value, read as operand b
        d_a = partner_partial(o.op)
    nodes, contributions = [], []
    if terms:
        bar = names.b(j)
        nodes.append(Assign(bar, " + ".join(terms)))
        x, y, c = _read(reads[0], names), _read(reads[1], names), literal(o.c)
        if PartialKind.CALL in (d_a.kind, d_b.kind) and any(r.kind is not AccessKind.CONST for r in reads):
            nodes.append(Assign(f"{names.da(j)}, {names.db(j)}", f"partials_of({o.op}, {x}, {y}, {c}, {names.v(j)})"))
            d_a, d_b = Partial.local(names.da(j)), Partial.local(names.db(j))
        operands = dict(x=x, y=y, c=c, v=names.v(j))
        constants = {name: r.value for name, r in zip("xy", reads) if r.kind is AccessKind.CONST}
        for read, d in zip(reads, (d_a, d_b)):
            if read.kind is not AccessKind.CONST:  # a constant's adjoint is never read
                term = adjoint_term(d, bar, operands, constants, exact)
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
            nodes.append(AddTo(_in("wb", read), term))
    if any(carried):  # assigned in every iteration: the next one (processed after) reads it
        carry_terms = [term for read, term in contributions if read.carry]
        nodes.append(Assign(names.cb(j), " + ".join(carry_terms) if carry_terms else "0.0"))
    return nodes


def _iterations(seg, reverse, body):
    """`body` for k = k0 .. k1 - 1 (descending when `reverse`): a loop, or written out once per k
    when there are at most UNROLL iterations (the tiny tapes called from Python)."""
    k0, k1 = seg.k0, seg.k1
    if k1 - k0 <= UNROLL:
        nodes = []
        for k in range(k1 - 1, k0 - 1, -1) if reverse else range(k0, k1):
            nodes += [Assign("k", str(k))] + body
        return nodes
    return [Loop("k", k1, body, start=k0, reverse=reverse, counter="kk")]


class Window(NamedTuple):
    """Registers r<w>_0 .. r<w>_top holding w_bar[base + stride (k + o) + ostride t], o <= top."""

    name: str
    base: int
    stride: int
    ostride: int
    offsets: dict  # Access -> o

    @property
    def top(self):
        return max(self.offsets.values())

    def register(self, o):
        return f"{self.name}_{o}"


def _windows(seg):
    """Register windows for a loop's contributions to inputs' adjoints. Reads x[k] and x[k + 1]
    put two read-modify-writes of w_bar in each iteration, the second one to the element the
    iteration before (processed just before: the loop runs backwards) wrote: a store-to-load
    wait. A window keeps w_bar[base + stride (k + o)] in register r_o, adds r_top to w_bar when
    no iteration left can touch it, and shifts the others up: one read-modify-write per
    iteration."""
    if seg.k1 - seg.k0 <= UNROLL:
        return []
    by_stride = {}
    for j in seg.active:
        for r in seg.reads(j):
            if r.kind is AccessKind.W and r.leaf and not r.carry and r.stride > 0:
                by_stride.setdefault((r.stride, r.ostride), set()).add(r)
    windows = []
    for (stride, ostride), accesses in sorted(by_stride.items()):
        base = min(r.base for r in accesses)
        offsets = {r: (r.base - base) // stride for r in accesses if (r.base - base) % stride == 0}
        if len(offsets) > 1 and max(offsets.values()) <= 4:
            windows.append(Window(f"r{len(windows)}", base, stride, ostride, offsets))
    return windows


def _forward(plan):
    """The forward pass: every group's loops, storing what w holds; ``ok`` (set True before)
    ends False when a guard's outcome differs from the recorded one."""
    nodes = []
    for rows, members in nests(plan.groups):
        body = [node for gi in members for node in _forward_group(plan, gi)]
        nodes += [Loop("t", rows, body)] if rows > 1 else body  # a nest: inner loops of one over its rows
    return nodes


def _reverse(plan, exact):
    nodes = []
    for rows, members in reversed(nests(plan.groups)):
        body = [node for gi in reversed(members) for node in _reverse_group(plan, gi, exact)]
        nodes += [Loop("t", rows, body, reverse=True, counter="tt")] if rows > 1 else body
    return nodes


def _segments(plan, gi):
    return [Segment(plan, gi, k0, k1, active, Names(gi, k0)) for k0, k1, active in plan.groups[gi].segments()]


def _forward_group(plan, gi):
    nodes = []
    for seg in _segments(plan, gi):
        carried = seg.carried()
        if carried:
            nodes.append(Assign("k", str(seg.k0)))
        for j, r in carried:  # the value before the segment's first iteration
            nodes.append(Assign(seg.names.c(j), _read(r, seg.names)))
        nodes += _iterations(seg, False, [node for j in seg.active for node in _forward_op(seg, j)])
        for j, _ in carried:  # a chain that stores only its last value
            if plan.last_only.get(seg.key(j)) is not None:
                nodes.append(Assign(_in("w", plan.last_only[seg.key(j)]), seg.names.c(j)))
    return nodes


def _reverse_iteration(seg, exact, windows):
    nodes = [node for j in seg.active for node in _recompute_op(seg, j)]
    leaves, pending = {}, {}
    for j in reversed(seg.active):
        nodes += _adjoint_op(seg, j, exact, leaves, pending)
    in_window = {access: window.register(o) for window in windows for access, o in window.offsets.items()}
    for access, terms in leaves.items():
        nodes.append(AddTo(in_window.get(access) or _in("wb", access), " + ".join(terms)))
    for window in windows:
        top = window.top  # w_bar[base + stride (k + top)] is complete now
        at = _index(window.base + window.stride * top, window.stride, ostride=window.ostride)
        nodes.append(AddTo(f"wb[{at}]", window.register(top)))
        nodes += [Assign(window.register(o), window.register(o - 1)) for o in range(top, 0, -1)]
        nodes.append(Assign(window.register(0), "0.0"))
    return nodes


def _reverse_group(plan, gi, exact):
    nodes = []
    for seg in reversed(_segments(plan, gi)):
        carried = seg.carried()
        for j, _ in carried:  # a chain storing only its last value gets that one's adjoint here
            last = plan.last_only.get(seg.key(j))
            nodes.append(Assign(seg.names.cb(j), _in("wb", last) if last is not None else "0.0"))
        windows = _windows(seg)
        nodes += [Assign(w.register(o), "0.0") for w in windows for o in range(w.top + 1)]
        nodes += _iterations(seg, True, _reverse_iteration(seg, exact, windows))
        for w in windows:  # what the window still holds
            for o in range(1, w.top + 1):
                at = _index(w.base + w.stride * (seg.k0 - 1 + o), 0, ostride=w.ostride)
                nodes.append(AddTo(f"wb[{at}]", w.register(o)))
        if carried:
            nodes.append(Assign("k", str(seg.k0)))
        for j, r in carried:  # what the first iteration owes the value before the segment
            nodes.append(AddTo(_adjoint_target(r, seg.names), seg.names.cb(j)))
    return nodes


def _positions(positions, table_base):
    """Source indexing w at positions[i] (i the loop variable): affine, or via T."""
    stride = int(positions[1] - positions[0]) if positions.shape[0] > 1 else 0
    if positions.shape[0] == 0 or (positions[1:] - positions[:-1] == stride).all():
        base = int(positions[0]) if positions.shape[0] else 0
        return _index(base, stride, "i")
    return f"T[{_index(table_base, 1, 'i')}]"


def module_source(
    plan: Plan, n_inputs: int, n_params: int, n_outputs: int, with_gradient: bool
) -> tuple[str, np.ndarray, bool]:
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
    if table.shape[0] and (table.min() < 0 or table.max() >= plan.n_work):
        raise AssertionError("the planner wrote an index table with positions outside w")  # a bug
    sizes = n_inputs, n_outputs
    # T ends with the module's fingerprint (argument_checks): a table from another module is refused
    t_len = table.shape[0] + 1 if table.shape[0] else 0

    def checks(kernel):
        return argument_checks(kernel, (n_inputs, n_params, n_outputs), plan.n_work, t_len)

    copy_out = [Loop("i", n_outputs, [Assign("y[i]", f"w[{where['y']}]")])]
    evaluate = _copy_in(where) + [Assign("ok", "True")] + _forward(plan) + copy_out + [Stmt("return 0 if ok else 1")]
    functions = [
        eval_function(checks("eval_into") + evaluate),
        # the exact pass on its own: it rarely runs, and one copy of it (not one per caller)
        # halves the code numba compiles
        Function(
            f"'void({VEC}, {VEC}, {TABLE}, {VEC}, {VEC})', {OPTIONS}",
            "vjp_exact(w, wb, T, y_bar, g)",
            _adjoint_pass(plan, where, sizes, True),
        ),
        vjp_function(checks("vjp_into") + _vjp(plan, where, sizes, "return 1") + [Stmt("return 0")]),
        vjp_many_function(
            [Assign("w", "w0.copy()"), Assign("wb", "np.empty_like(w0)")],
            _vjp(plan, where, sizes, "status[row] = 1"),
            checks("vjp_many"),
        ),
    ]
    with_gradient = with_gradient and table.shape[0] == 0  # its T is empty
    if with_gradient:
        functions.append(_gradient_function(plan, where, sizes))
    header = [
        PRELUDE + "from numba_ad.tape.expect import expect_array\n",
        f"N_INPUTS, N_PARAMS, N_OUTPUTS, N_WORK = {n_inputs}, {n_params}, {n_outputs}, {plan.n_work}",
        f"OUTPUT = {int(plan.output_positions[0])}  # w position of the first output",
    ]
    if not t_len:
        return module_text(Module(header, functions)), table, with_gradient
    # the fingerprint hashes the module's text without it: tapes of one structure share it
    unsigned = module_text(Module(header + ["FINGERPRINT = 0"], functions))
    fingerprint = int(hashlib.sha256(unsigned.encode()).hexdigest()[:15], 16)
    header.append(f"FINGERPRINT = {fingerprint}  # the last entry of T")
    table = np.concatenate([table.astype(np.int64), np.array([fingerprint], dtype=np.int64)])
    return module_text(Module(header, functions)), table, with_gradient


def _copy_in(where):
    return [
        Loop("i", "N_INPUTS", [Assign(f"w[{where['x']}]", "x[i]")]),
        Loop("i", "N_PARAMS", [Assign(f"w[{where['p']}]", "p[i]")]),
    ]


def _vjp(plan, where, sizes, on_fail):
    """g = J^T y_bar and y = f(x) from x, p into w, wb; `on_fail` runs when a guard changed."""
    n_inputs, n_outputs = sizes
    adjoint = [Loop("i", n_outputs, [Assign("y[i]", f"w[{where['y']}]")])]
    adjoint += _adjoint_pass(plan, where, sizes, False)
    adjoint += redo_if_nan(n_inputs, "vjp_exact(w, wb, T, y_bar, g)")
    forward = _copy_in(where) + [Assign("ok", "True")] + _forward(plan)
    return forward + [If("not ok", [Stmt(on_fail)], adjoint)]


def _adjoint_pass(plan, where, sizes, exact):
    """g = J^T y_bar from the values in w: plain products, or under the structural-zero rule."""
    n_inputs, n_outputs = sizes
    # only what the pass reads is zeroed: P1's w_bar was 2n long, g n
    nodes = [Loop("i", hi, [Assign("wb[i]", "0.0")], start=lo) for lo, hi in plan.wb_zeroed]
    nodes.append(Loop("i", n_outputs, [AddTo(f"wb[{where['y']}]", "y_bar[i]")]))
    nodes += _reverse(plan, exact)
    nodes.append(Loop("i", n_inputs, [Assign("g[i]", f"wb[{where['x']}]")]))
    return nodes


def _gradient_function(plan, where, sizes):
    n_inputs, n_work = sizes[0], plan.n_work
    return gradient_function(
        n_inputs,
        [
            Stmt(f"buffer = np.empty({2 * n_work + 2})  # one allocation: w, w_bar, y and the seed"),
            Assign("w, wb, y, y_bar", f"buffer[:{n_work}], buffer[{n_work}:{2 * n_work}], buffer[-2:-1], buffer[-1:]"),
            Assign("y_bar[0]", "1.0"),
            Assign("p, T", "x[:0], np.empty(0, dtype=np.int64)"),
        ]
        + _vjp(plan, where, sizes, "raise OffBranchSignal()")
        + [Stmt("return w[OUTPUT]")],
    )
