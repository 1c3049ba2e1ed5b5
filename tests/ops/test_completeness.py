"""Every op has every rule: a missing one fails here (or in the test module named) by name.

A row in ops/defs.py is the op's one definition; these checks make sure nothing that should
follow from it was left out: a Dual rule, second partials, a compiled formula, a tracer
spelling, an independent reference with a test domain (the Taylor rule: tests/ops/test_taylor.py
checks every op with nonzero second partials against Cauchy coefficients).
"""

import numpy as np
import pytest

from numba_ad.dual import _rules as dual_rules
from numba_ad.dual import rules
from numba_ad.ops import DEFS, NONZERO_PARTIALS, SMOOTH, Op
from numba_ad.ops.defs import COMPARISON, SELECT, STRUCTURAL
from numba_ad.ops.source import ROWS
from numba_ad.tracing import numpy_protocol

MATH_OPS = [op for op, d in DEFS.items() if d.kind != STRUCTURAL]
# Ops the Dual layer handles without a kernel of their own, and how.
DUAL_ELSEWHERE = {
    Op.NEG: "Dual.__neg__",
    Op.POWI: "rules.power_const (x ** integer)",
    Op.USER1: "Primitive._dual (the primitive's own first partials)",
    Op.USER2: "Primitive._dual",
}
# Ops the tracer records from a composition, not from a spelling of their own.
TRACED_ELSEWHERE = {
    Op.POW: "x ** y, np.power",
    Op.POWI: "x ** c, c an integer",
    Op.POWC: "x ** c",
    Op.CPOW: "c ** x",
    Op.LT: "x < y, x > y",
    Op.LE: "x <= y, x >= y",
    Op.EQ: "x == y, x != y",
    Op.IF_TRUE: "ad.where, ad.clip",
    Op.IF_FALSE: "ad.where, ad.clip",
    Op.USER1: "calling a numba_ad.primitive of one argument",
    Op.USER2: "calling a numba_ad.primitive of two arguments",
}


@pytest.mark.parametrize("op", MATH_OPS, ids=lambda op: op.name)
def test_op_has_a_dual_rule(op):
    d = DEFS[op]
    if d.kind in (COMPARISON, SELECT) or op in DUAL_ELSEWHERE:
        return
    assert d.dual, f"{op.name}: give its row a dual= name (or list it in DUAL_ELSEWHERE)"
    kernel = getattr(dual_rules, d.dual)
    spelled = d.numpy or d.numpy_function or d.math or d.scipy
    if spelled and op not in (Op.POWC, Op.CPOW):
        table = rules.UNARY if d.arity == 1 else rules.BINARY
        assert table[d.dual] is kernel, f"{op.name}: its Dual rule is not registered under {d.dual!r}"


@pytest.mark.parametrize("op", MATH_OPS, ids=lambda op: op.name)
def test_op_has_a_compiled_formula_and_a_reference(op):
    d = DEFS[op]
    assert op in ROWS and ROWS[op][0], f"{op.name}: no compiled formula"
    assert callable(d.scalar) and callable(d.reference), f"{op.name}: needs scalar= and reference="
    (xlo, xhi), (ylo, yhi) = d.domain
    assert xlo < xhi and (d.arity == 1 or ylo < yhi), f"{op.name}: needs a test domain"


@pytest.mark.parametrize("op", MATH_OPS, ids=lambda op: op.name)
def test_op_has_a_tracer_spelling(op):
    d = DEFS[op]
    if op in TRACED_ELSEWHERE:
        return
    spelled = d.numpy or d.numpy_function or d.math or d.scipy
    assert spelled, f"{op.name}: name the NumPy / math / scipy.special functions that record it"
    for name in d.numpy:
        handler = numpy_protocol.UFUNCS[getattr(np, name)]
        assert handler.op == op, f"np.{name} records {Op(handler.op).name}, not {op.name}"
    for name in d.scipy:
        assert numpy_protocol._BY_NAME[name].op == op
    for name in d.numpy_function:
        assert getattr(np, name) in numpy_protocol.ONE_OP_FUNCTIONS


def test_second_partials_are_declared_where_an_op_is_curved():
    """An op whose first partial depends on its operands has nonzero second partials."""
    constant_first = {Op.ADD, Op.SUB, Op.NEG, Op.ABS, Op.MINIMUM, Op.MAXIMUM, Op.FLOOR, Op.CEIL, Op.TRUNC, Op.SIGN}
    for op in SMOOTH:
        flat = not NONZERO_PARTIALS[op][2:].any()
        assert flat == (op in constant_first), f"{op.name}: second partials {NONZERO_PARTIALS[op][2:]}"
