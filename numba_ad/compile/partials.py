"""The op table's rows (ops/source.py) as the compiler reads them: partials as a small type.

ops/source.py writes a partial as a template string or one of its sentinels (ZERO, ONE,
MINUS_ONE, CALL); ``row`` converts them once, at this boundary, so that the code generators
ask a Partial what it is instead of comparing strings.
"""

import functools
import math
from dataclasses import dataclass
from enum import Enum
from typing import NamedTuple

from numba_ad.ops.source import CALL, MINUS_ONE, ONE, PARTNERS, ROWS, ZERO
from numba_ad.ops.table import Op


class PartialKind(Enum):
    ZERO = "zero"  # structurally zero: the adjoint gets no term
    ONE = "one"  # the term is the adjoint itself: exact, no multiply
    MINUS_ONE = "minus_one"  # minus the adjoint
    CALL = "call"  # partials_of(op, x, y, c, v), the op table's own kernel (partials that branch)
    EXPR = "expr"  # a template over {x} {y} {c} {v}, or the name of a local holding the partial


@dataclass(frozen=True)
class Partial:
    kind: PartialKind
    template: str = ""  # EXPR only

    @classmethod
    def of(cls, template: str) -> "Partial":
        """The Partial of an ops.source template or sentinel."""
        sentinels = {ZERO: PartialKind.ZERO, ONE: PartialKind.ONE, MINUS_ONE: PartialKind.MINUS_ONE}
        if template == CALL:
            return cls(PartialKind.CALL)
        if template in sentinels:
            return cls(sentinels[template])
        return cls(PartialKind.EXPR, template)

    @classmethod
    def local(cls, name: str) -> "Partial":
        """The partial held in the local `name` (what partials_of returned)."""
        return cls(PartialKind.EXPR, name)

    def reads(self, name: str) -> bool:
        """Whether the partial needs `name` ("x", "y" or "v": an operand, or the op's value)."""
        if self.kind is PartialKind.CALL:
            return True
        return self.kind is PartialKind.EXPR and "{" + name + "}" in self.template

    def constant(self, constants: dict[str, float]) -> float | None:
        """Its value when it is one operand that is a constant (`constants`: name -> value)."""
        if self.kind is PartialKind.EXPR and self.template in ("{x}", "{y}"):
            return constants.get(self.template[1])
        return None


class OpRow(NamedTuple):
    value: str  # template of the op's value
    d_a: Partial
    d_b: Partial


@functools.cache
def row(op: int) -> OpRow:
    """The op table's row of `op`, its partials as Partials."""
    value, d_a, d_b = ROWS[Op(op)]
    return OpRow(value, Partial.of(d_a), Partial.of(d_b))


def partner_partial(op: int) -> Partial:
    """d_a of an op of PARTNERS, with its partner op's value read as operand {y}."""
    return Partial.of(PARTNERS[Op(op)][1])


def adjoint_term(
    d: Partial, bar: str, operands: dict[str, str], constants: dict[str, float], exact: bool
) -> str | None:
    """Source for the partial d times the adjoint `bar`, with the operands' sources (x, y, c, v)
    substituted; None when it is structurally zero. `constants`: the operands that are constants,
    by name. `exact`: under the sweeps' structural-zero rule (``times``) where a product could
    differ from it (a factor that is not a finite nonzero constant)."""
    if d.kind is PartialKind.ZERO:
        return None
    if d.kind is PartialKind.ONE:
        return bar
    if d.kind is PartialKind.MINUS_ONE:
        return f"(-{bar})"
    assert d.kind is PartialKind.EXPR, "CALL partials are turned into locals first"
    factor = d.template.format(**operands)
    if not exact:
        return f"({factor}) * {bar}"
    value = d.constant(constants)
    if value is None:
        return f"times({factor}, {bar})"
    if value == 0.0:
        return None
    return f"{factor} * {bar}" if math.isfinite(value) else f"times({factor}, {bar})"
