"""The op table as the layers above read it, derived from the op rows (ops/defs.py).

* ``Op``: the opcodes (generated into ops/codes.py);
* ``TABLE``: one ``OpSpec`` per non-structural op (label, arity, scalar evaluator for tracing,
  NumPy reference, test domain), and ``DEFS``: the full rows;
* ``value``, ``partials``, ``second_partials`` (generated into ops/_kernels.py) and ``taylor``
  (ops/taylor.py): the kernels the sweeps call. The sweeps never name a math op: they combine
  the partials (tangent ``y_dot = d_a a_dot + d_b b_dot``; adjoint ``a_bar += d_a y_bar``);
* arrays indexed by opcode for kernels and the tracer's hot path: ``ARITY``, ``SCALAR``,
  ``NONZERO_PARTIALS`` (which of d_a, d_b, d_aa, d_ab, d_bb can be nonzero: the Hessian's
  sparsity pattern is built from it), ``KNOWN`` (which codes exist), ``COMMUTATIVE``.

Arguments of the kernels: ``x`` is the value at slot ``a``, ``y`` the value at slot ``b``
(unary ops point ``b`` at slot 0, the constant zero, and have ``d_b = 0``), ``c`` the op's
constant operand, ``v`` the op's own value.

Derivative conventions where the derivative is undefined (docs/conventions.md):
abs'(0) = 0, sign/floor/ceil/trunc' = 0, maximum/minimum split 1/2-1/2 at a tie (as JAX),
sqrt'(0) = cbrt'(0) = +inf, hypot' = 0 at the origin, d/dy x**y = 0 where x**y = 0.
"""

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from numba_ad.ops._kernels import partials, second_partials, value
from numba_ad.ops.codes import Op
from numba_ad.ops.constants import LN2, LN10, SQRT_PI_OVER_2, TWO_OVER_SQRT_PI
from numba_ad.ops.defs import COMPARISON, OPS, SELECT, STRUCTURAL, OpDef
from numba_ad.ops.taylor import taylor

__all__ = [
    "ARITY", "COMMUTATIVE", "COMPARISONS", "DEFS", "FIRST_MATH", "KNOWN", "LN10", "LN2", "NONZERO_PARTIALS",
    "N_CODES", "SCALAR", "SMOOTH", "SQRT_PI_OVER_2", "TABLE", "TWO_OVER_SQRT_PI", "Op", "OpSpec", "partials",
    "second_partials", "taylor", "value",
]  # fmt: skip

DEFS: dict[Op, OpDef] = {Op(d.code): d for d in OPS}

FIRST_MATH = 3  # codes below this are the structural ops CONST, INPUT, PARAM (the sweeps' own branches)
assert all((d.kind == STRUCTURAL) == (d.code < FIRST_MATH) for d in OPS), "structural ops are codes 0..2"
COMPARISONS = tuple(op for op, d in DEFS.items() if d.kind == COMPARISON)
SMOOTH = tuple(op for op, d in DEFS.items() if d.kind not in (STRUCTURAL, COMPARISON, SELECT))
N_CODES = max(d.code for d in OPS) + 1  # the length of the tables indexed by opcode


class OpSpec(NamedTuple):
    """One row of the op table, as tracing and tests read it."""

    name: str  # how messages and expression renderings name the op
    arity: int  # 0 structural, 1 unary (reads slot a), 2 binary (reads slots a and b)
    scalar: Callable  # scalar(x, y, c) -> float, evaluated while tracing
    reference: Callable  # reference(x, y, c) on NumPy arrays: tests, and bulk recording's values
    domain: tuple  # ((lo, hi) for x, (lo, hi) for y) where the op is smooth, for tests
    test_c: float = 0.0  # the constant operand used in tests (POWI, POWC, CPOW)


TABLE: dict[Op, OpSpec] = {
    op: OpSpec(d.label, d.arity, d.scalar, d.reference, d.domain, d.test_c)
    for op, d in DEFS.items()
    if d.kind != STRUCTURAL
}


def _by_code(field, dtype, default=0):
    out = np.full(N_CODES, default, dtype=dtype)
    for op, d in DEFS.items():
        out[op] = field(d)
    return out


# Indexed by opcode, for the tracer's hot path (a list index is cheaper than an enum lookup).
SCALAR: list = [None] * N_CODES
for _op, _spec in TABLE.items():
    SCALAR[_op] = _spec.scalar
ARITY = _by_code(lambda d: d.arity, np.int8)
KNOWN = _by_code(lambda d: True, np.bool_, False)
COMMUTATIVE = _by_code(lambda d: d.commutative, np.bool_, False)
NONZERO_PARTIALS = np.zeros((N_CODES, 5), dtype=np.uint8)
for _op, _d in DEFS.items():
    NONZERO_PARTIALS[_op] = _d.nonzero_partials()
