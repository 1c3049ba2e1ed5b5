"""Straight-line code for small tapes: every slot a local variable, no loops, no work buffer.

The loop compiler (compile/plan.py, compile/lower.py) keeps values that cross iterations
in a work buffer ``w`` that it allocates or is handed; for a tape of a few hundred ops that
costs more than the arithmetic (P1 at n = 10: the buffer, its zeroing and the copies were
most of gradient_into's 2.5x the plain @njit call). Here each slot is an SSA local, so LLVM
keeps everything in registers, drops what no output needs, and merges repeated
expressions (the adjoint's cos(x) with the forward pass's cos(x) of the same slot).

The tape is lowered straight to loop IR (compile/ir.py) and printed by the same printer. The
module has the same four public functions, with the same signatures, as the loop compiler's
(compile/functions.py); ``w``, ``w_bar`` and ``T`` are passed and left untouched. The
adjoint pass is written with plain products; when a NaN reaches g it is run again under the
structural-zero rule by ``vjp_exact``, which exists once (not inlined into each caller).
"""

import numpy as np

from numba_ad.compile.functions import (
    OPTIONS,
    argument_checks,
    eval_function,
    gradient_function,
    redo_if_nan,
    vjp_function,
    vjp_many_function,
)
from numba_ad.compile.ir import Assign, Function, If, Module, Stmt
from numba_ad.compile.lower import literal
from numba_ad.compile.partials import Partial, PartialKind, adjoint_term, row
from numba_ad.compile.printer import module_text
from numba_ad.ops.source import PRELUDE
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


def _forward(arrays, names):
    """(s{slot} = the value of each slot, the source of "a guard changed" or None).

    Guards are tested in one expression at the end: an `if` per guard (or `ok = False` per
    guard) makes a block or a second definition each, and numba's SSA pass costs about
    blocks x redefined variables (a 400-op tape took 14 s to compile)."""
    op, a, b, c = arrays.op, arrays.a, arrays.b, arrays.c
    nodes = [Assign(f"s{slot}", f"x[{k}]") for k, slot in enumerate(arrays.inputs.tolist())]
    nodes += [Assign(f"s{slot}", f"p[{k}]") for k, slot in enumerate(arrays.params.tolist())]
    for i in np.flatnonzero(op >= FIRST_MATH).tolist():
        nodes.append(Assign(f"s{i}", row(op[i]).value.format(x=names[a[i]], y=names[b[i]], c=literal(c[i]))))
    tests = [f"(s{i} != {literal(c[i])})" for i in arrays.guards.tolist()]
    return nodes, " | ".join(tests) if tests else None


def _reverse(arrays, names, exact, seeds):
    """g = J^T y_bar from the locals of _forward, `seeds` the source of each y_bar[k].

    Each adjoint a{slot} is assigned once, as the sum of its terms, when the reverse order
    reaches its slot (every reader of a slot comes after it): a single definition per
    variable keeps numba's compile time linear. Slots no output depends on get none."""
    op, a, b, c = arrays.op, arrays.a, arrays.b, arrays.c
    terms, nodes = {}, []

    def add(slot, term):
        if op[slot] not in (Op.CONST, Op.PARAM):  # nobody reads their adjoints
            terms.setdefault(int(slot), []).append(term)

    for k, slot in enumerate(arrays.outputs.tolist()):
        add(slot, seeds[k])
    for i in np.flatnonzero(op >= FIRST_MATH)[::-1].tolist():
        if i not in terms:
            continue
        nodes.append(Assign(f"a{i}", " + ".join(terms.pop(i))))
        _, d_a, d_b = row(op[i])
        x, y, cc = names[a[i]], names[b[i]], literal(c[i])
        if PartialKind.CALL in (d_a.kind, d_b.kind):
            nodes.append(Assign(f"da{i}, db{i}", f"partials_of({int(op[i])}, {x}, {y}, {cc}, s{i})"))
            d_a, d_b = Partial.local(f"da{i}"), Partial.local(f"db{i}")
        operands = dict(x=x, y=y, c=cc, v=f"s{i}")
        constants = {name: float(c[v]) for name, v in (("x", a[i]), ("y", b[i])) if op[v] == Op.CONST}
        for operand, d in zip((a[i], b[i])[: ARITY[op[i]]], (d_a, d_b)):
            term = adjoint_term(d, f"a{i}", operands, constants, exact)
            if term is not None:
                add(operand, term)
    # + 0.0: the sweeps sum into zeroed buffers, so their -0.0 adjoints come out as 0.0
    for k, slot in enumerate(arrays.inputs.tolist()):
        nodes.append(Assign(f"g[{k}]", " + ".join(terms[slot]) + " + 0.0" if slot in terms else "0.0"))
    return nodes


def _vjp(arrays, names, on_fail, gradient=False):
    """y = f(x), g = J^T y_bar with plain products; vjp_exact again when g has a NaN.
    gradient_into's version (`gradient`) seeds with 1.0 and keeps f(x) in `value`: two
    small arrays would cost two allocations, a third of P1's whole gradient at n = 10."""
    forward, changed = _forward(arrays, names)
    outputs = arrays.outputs.tolist()
    if gradient:
        body = [Assign("value", names[outputs[0]])]
        seeds, again = ["1.0"], "vjp_exact(x, x[:0], np.ones(1), g)"
    else:
        body = [Assign(f"y[{k}]", names[slot]) for k, slot in enumerate(outputs)]
        seeds, again = [f"y_bar[{k}]" for k in range(len(outputs))], "vjp_exact(x, p, y_bar, g)"
    body += _reverse(arrays, names, False, seeds) + redo_if_nan(arrays.inputs.shape[0], again)
    return forward + ([If(changed, [Stmt(on_fail)], body)] if changed else body)


def straight_source(arrays, with_gradient: bool) -> str:
    """Source of the module (see the module docstring) for a validated tape."""
    names = _names(arrays)
    n_inputs, n_outputs = arrays.inputs.shape[0], arrays.outputs.shape[0]
    forward, changed = _forward(arrays, names)
    evaluate = forward + ([If(changed, [Stmt("return 1")])] if changed else [])
    evaluate += [Assign(f"y[{k}]", names[slot]) for k, slot in enumerate(arrays.outputs.tolist())]
    exact = forward + _reverse(arrays, names, True, [f"y_bar[{k}]" for k in range(n_outputs)])
    sizes = n_inputs, arrays.params.shape[0], n_outputs
    functions = [
        eval_function(argument_checks("eval_into", sizes) + evaluate + [Stmt("return 0")]),
        Function(OPTIONS, "vjp_exact(x, p, y_bar, g)", exact),
        vjp_function(argument_checks("vjp_into", sizes) + _vjp(arrays, names, "return 1") + [Stmt("return 0")]),
        vjp_many_function([], _vjp(arrays, names, "status[row] = 1"), argument_checks("vjp_many", sizes)),
    ]
    if with_gradient:
        body = _vjp(arrays, names, "raise OffBranchSignal()", gradient=True) + [Stmt("return value")]
        functions.append(gradient_function(n_inputs, body))
    header = [
        PRELUDE + "from numba_ad.tape.expect import expect_array\n",
        f"N_INPUTS, N_PARAMS, N_OUTPUTS = {n_inputs}, {arrays.params.shape[0]}, {n_outputs}",
    ]
    return module_text(Module(header, functions))
