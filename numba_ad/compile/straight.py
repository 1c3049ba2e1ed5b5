"""Straight-line source for small tapes: every slot a local variable, no loops, no work buffer.

The loop compiler (compile/plan.py, compile/source.py) keeps values that cross iterations
in a work buffer ``w`` that it allocates or is handed; for a tape of a few hundred ops that
costs more than the arithmetic (P1 at n = 10: the buffer, its zeroing and the copies were
most of gradient_into's 2.5x the plain @njit call). Here each slot is an SSA local, so LLVM
keeps everything in registers, drops what no output needs, and merges repeated
expressions (the adjoint's cos(x) with the forward pass's cos(x) of the same slot).

The module has the same four public functions, with the same signatures, as the loop compiler's
(compile/compiled.py calls either); ``w``, ``w_bar`` and ``T`` are passed and left untouched. The
adjoint pass is written with plain products; when a NaN reaches g it is run again under the
structural-zero rule by ``vjp_exact``, which exists once (not inlined into each caller).
"""

import numpy as np

from numba_ad.compile.source import BLOCK_ROWS, GRADIENT_OPTIONS, OPTIONS, VEC, Lines, adjoint_term, header, literal
from numba_ad.ops.source import CALL, PRELUDE, ROWS
from numba_ad.ops.table import ARITY, FIRST_MATH, Op

# math ops up to which tape.compile() writes straight-line code by default: it compiles in
# about 9 ms per op (P2 at n = 20, 189 ops: 1.6 s; loops: 1.1 s whatever n)
MAX_STRAIGHT_OPS = 300


def _names(arrays):
    """Source for each slot's value: its local, or the literal of a constant."""
    names = [f"s{i}" for i in range(arrays.op.shape[0])]
    for i in np.flatnonzero(arrays.op == Op.CONST).tolist():
        names[i] = literal(arrays.c[i])
    return names


def _forward(out, depth, arrays, names):
    """s{slot} = the value of each slot; returns the source of "a guard changed" (or None).

    Guards are tested in one expression at the end: an `if` per guard (or `ok = False` per
    guard) makes a block or a second definition each, and numba's SSA pass costs about
    blocks x redefined variables (a 400-op tape took 14 s to compile)."""
    op, a, b, c = arrays.op, arrays.a, arrays.b, arrays.c
    for k, slot in enumerate(arrays.inputs.tolist()):
        out(depth, f"s{slot} = x[{k}]")
    for k, slot in enumerate(arrays.params.tolist()):
        out(depth, f"s{slot} = p[{k}]")
    for i in np.flatnonzero(op >= FIRST_MATH).tolist():
        row = ROWS[Op(op[i])][0]
        out(depth, f"s{i} = " + row.format(x=names[a[i]], y=names[b[i]], c=literal(c[i])))
    tests = [f"(s{i} != {literal(c[i])})" for i in arrays.guards.tolist()]
    return " | ".join(tests) if tests else None


def _reverse(out, depth, arrays, names, exact, seeds):
    """g = J^T y_bar from the locals of _forward, `seeds` the source of each y_bar[k].

    Each adjoint a{slot} is assigned once, as the sum of its terms, when the reverse order
    reaches its slot (every reader of a slot comes after it): a single definition per
    variable keeps numba's compile time linear. Slots no output depends on get none."""
    op, a, b, c = arrays.op, arrays.a, arrays.b, arrays.c
    terms = {}

    def add(slot, term):
        if op[slot] not in (Op.CONST, Op.PARAM):  # nobody reads their adjoints
            terms.setdefault(int(slot), []).append(term)

    for k, slot in enumerate(arrays.outputs.tolist()):
        add(slot, seeds[k])
    for i in np.flatnonzero(op >= FIRST_MATH)[::-1].tolist():
        if i not in terms:
            continue
        out(depth, f"a{i} = " + " + ".join(terms.pop(i)))
        _, d_a, d_b = ROWS[Op(op[i])]
        x, y, cc = names[a[i]], names[b[i]], literal(c[i])
        if CALL in (d_a, d_b):
            out(depth, f"da{i}, db{i} = partials_of({int(op[i])}, {x}, {y}, {cc}, s{i})")
            d_a, d_b = f"da{i}", f"db{i}"
        for operand, d in zip((a[i], b[i])[: ARITY[op[i]]], (d_a, d_b)):
            term = adjoint_term(d, f"a{i}", dict(x=x, y=y, c=cc, v=f"s{i}"), exact)
            if term is not None:
                add(operand, term)
    # + 0.0: the sweeps sum into zeroed buffers, so their -0.0 adjoints come out as 0.0
    for k, slot in enumerate(arrays.inputs.tolist()):
        out(depth, f"g[{k}] = " + (" + ".join(terms[slot]) + " + 0.0" if slot in terms else "0.0"))


def _vjp(out, depth, arrays, names, on_fail, gradient=False):
    """y = f(x), g = J^T y_bar with plain products; vjp_exact again when g has a NaN.
    gradient_into's version (`gradient`) seeds with 1.0 and keeps f(x) in `value`: two
    small arrays would cost two allocations, a third of P1's whole gradient at n = 10."""
    changed = _forward(out, depth, arrays, names)
    if changed:
        out(depth, f"if {changed}:")
        out(depth + 1, on_fail)
        out(depth, "else:")
        depth += 1
    outputs = arrays.outputs.tolist()
    if gradient:
        out(depth, f"value = {names[outputs[0]]}")
        seeds, again = ["1.0"], "vjp_exact(x, x[:0], np.ones(1), g)"
    else:
        for k, slot in enumerate(outputs):
            out(depth, f"y[{k}] = {names[slot]}")
        seeds, again = [f"y_bar[{k}]" for k in range(len(outputs))], "vjp_exact(x, p, y_bar, g)"
    _reverse(out, depth, arrays, names, False, seeds)
    out(depth, "exact = False")
    out(depth, f"for i in range({arrays.inputs.shape[0]}):")
    out(depth + 1, "exact |= g[i] != g[i]")
    out(depth, "if exact:  # a NaN: again under the structural-zero rule of the sweeps")
    out(depth + 1, again)


def straight_source(arrays, with_gradient):
    """Source of the module (see the module docstring) for a validated tape."""
    names = _names(arrays)
    n_inputs, n_outputs = arrays.inputs.shape[0], arrays.outputs.shape[0]
    out = Lines()
    out(0, PRELUDE)
    out(0, f"N_INPUTS, N_PARAMS, N_OUTPUTS = {n_inputs}, {arrays.params.shape[0]}, {n_outputs}")
    header(out, f"'int64({VEC}, {VEC}, {VEC}, int64[::1], {VEC})', {OPTIONS}", "eval_into(x, p, w, T, y)")
    changed = _forward(out, 1, arrays, names)
    if changed:
        out(1, f"if {changed}:")
        out(2, "return 1")
    for k, slot in enumerate(arrays.outputs.tolist()):
        out(1, f"y[{k}] = {names[slot]}")
    out(1, "return 0")
    header(out, OPTIONS, "vjp_exact(x, p, y_bar, g)")
    _forward(out, 1, arrays, names)
    _reverse(out, 1, arrays, names, True, [f"y_bar[{k}]" for k in range(n_outputs)])
    header(
        out,
        f"'int64({VEC}, {VEC}, {VEC}, {VEC}, int64[::1], {VEC}, {VEC}, {VEC})', {OPTIONS}",
        "vjp_into(x, p, w, wb, T, y_bar, y, g)",
    )
    _vjp(out, 1, arrays, names, "return 1")
    out(1, "return 0")
    header(out, f"{OPTIONS}, parallel=True", "vjp_many(X, P, w0, T, y_bar, Y, G, status)")
    out(1, f"n_blocks = (X.shape[0] + {BLOCK_ROWS - 1}) // {BLOCK_ROWS}")
    out(1, "for block in prange(n_blocks):")
    out(2, f"for row in range(block * {BLOCK_ROWS}, min(X.shape[0], (block + 1) * {BLOCK_ROWS})):")
    out(3, "x, p, y, g = X[row], P[row if P.shape[0] > 1 else 0], Y[row], G[row]")
    _vjp(out, 3, arrays, names, "status[row] = 1")
    if with_gradient:
        # no signature: CompiledTape.gradient_into compiles it for float64[::1] on first use
        header(out, GRADIENT_OPTIONS, "gradient_into(x, g)")
        out(1, "if x.shape[0] != N_INPUTS or g.shape[0] != N_INPUTS:")
        out(2, f"raise ValueError('x and g must have shape ({n_inputs},)')")
        _vjp(out, 1, arrays, names, "raise OffBranchSignal()", gradient=True)
        out(1, "return value")
    return "\n".join(out.lines) + "\n"
