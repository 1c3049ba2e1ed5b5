"""The compiler's pieces on their own, without compiling: the op table's rows as Partials, the
adjoint terms they make, the printer, and the names the lowering gives. The answers of compiled
code are test_compiled.py's business."""

import math
import re
from pathlib import Path

import numpy as np
import pytest

import numba_ad as ad
from numba_ad.compile import ir
from numba_ad.compile.lower import module_source
from numba_ad.compile.partials import Partial, PartialKind, adjoint_term, row
from numba_ad.compile.plan import make_plan
from numba_ad.compile.printer import module_text
from numba_ad.ops.source import CALL, MINUS_ONE, ONE, ROWS, ZERO

SENTINELS = {ZERO: PartialKind.ZERO, ONE: PartialKind.ONE, MINUS_ONE: PartialKind.MINUS_ONE, CALL: PartialKind.CALL}


@pytest.mark.parametrize("op", sorted(ROWS), ids=lambda op: op.name)
def test_every_row_converts_to_partials(op):
    value, *templates = ROWS[op]
    converted = row(op)
    assert converted.value == value
    for template, partial in zip(templates, converted[1:]):
        assert partial.kind is SENTINELS.get(template, PartialKind.EXPR)
        assert partial.template == ("" if template in SENTINELS else template)


def test_adjoint_terms_keep_the_structural_zero_rule_where_a_product_could_break_it():
    operands = dict(x="w[k]", y="2.5", c="0.0", v="v1")
    y = Partial.of("{y}")
    assert adjoint_term(Partial.of(ZERO), "b", operands, {}, True) is None
    assert adjoint_term(Partial.of(ONE), "b", operands, {}, False) == "b"
    assert adjoint_term(Partial.of(MINUS_ONE), "b", operands, {}, True) == "(-b)"
    assert adjoint_term(y, "b", operands, {"y": 2.5}, False) == "(2.5) * b"
    assert adjoint_term(y, "b", operands, {"y": 2.5}, True) == "2.5 * b"  # finite, nonzero: a product is exact
    assert adjoint_term(y, "b", dict(operands, y="0.0"), {"y": 0.0}, True) is None  # structurally zero
    assert adjoint_term(y, "b", dict(operands, y="math.inf"), {"y": math.inf}, True) == "times(math.inf, b)"
    assert adjoint_term(Partial.of("{x}"), "b", operands, {"y": 2.5}, True) == "times(w[k], b)"
    assert adjoint_term(Partial.local("da3"), "b", operands, {}, True) == "times(da3, b)"


def test_the_printer_indents_and_writes_each_node():
    body = [ir.Assign("s", "0.0"), ir.AddTo("s", "x[k]"), ir.Guard("s", "1.0")]
    module = ir.Module(
        ["import math"],
        [
            ir.Function(
                "cache=False",
                "f(x, y)",
                [
                    ir.Loop("k", 7, body, start=2, reverse=True, counter="kk"),
                    ir.Loop("b", "n", [ir.Stmt("pass")], parallel=True),
                    ir.If("not ok", [ir.Stmt("return 1")], [ir.Stmt("return 0")], comment="why"),
                ],
            )
        ],
    )
    assert module_text(module) == (
        "import math\n\n\n@njit(cache=False)\ndef f(x, y):\n"
        "    for kk in range(5):\n        k = 6 - kk\n        s = 0.0\n        s += x[k]\n        ok &= s == 1.0\n"
        "    for b in prange(n):\n        pass\n"
        "    if not ok:  # why\n        return 1\n    else:\n        return 0\n"
    )


def test_registers_are_named_per_segment_when_built():
    # each register is defined in one segment only (numba's SSA pass grows with blocks x
    # redefined names), and no rewrite of the text fixes names afterwards
    x = np.linspace(-1, 1, 200)
    tape = ad.trace(lambda x: np.sum(np.sin(x[1:]) * np.exp(np.cos(x[:-1])) + x[1:] ** 2), x)
    plan = make_plan(tape.arrays)
    source = module_source(plan, tape.n_inputs, tape.n_params, tape.n_outputs, True)[0]
    targets = re.findall(r"^\s*((?:cb|da|db|[vbc])\d+\w*)(?:, \w+)? = ", source, re.M)
    assert targets and all(re.fullmatch(r"(cb|da|db|[vbc])\d+_\d+_\d+", t) for t in targets)


def test_the_compiler_names_no_math_op():
    # a new row in the op table compiles with no edit here: the compiler reads ROWS, PARTNERS, CHEAP
    compile_dir = Path(ad.__file__).parent / "compile"
    named = {m for path in compile_dir.glob("*.py") for m in re.findall(r"\bOp\.([A-Z_0-9]+)", path.read_text())}
    assert named <= {"CONST", "PARAM", "INPUT"}
