"""The op definitions: one row per op, the single source of every op's rules.

Each row says what an op is (its stable code, arity, value and first partials as source
templates, second partials, spellings in NumPy / ``math`` / SciPy, the flags the optimiser and
compiler use, a scalar evaluator for tracing, an independent reference and a test domain).
Everything else is derived from these rows, never restated:

* ``ops/codes.py`` (the ``Op`` enum), ``ops/_kernels.py`` (the ``value``, ``partials`` and
  ``second_partials`` kernels of the sweeps) and ``dual/_rules.py`` (one small kernel per op
  for Dual numbers) are *generated* from the rows by ``python -m numba_ad.ops.generate``
  (numba caches only functions in real files); ``tests/ops/test_generated.py`` fails when a
  committed file differs from what the rows give.
* ``ops.table.TABLE`` (what tracing and tests read), ``ops.source.ROWS`` (the compiler's
  formulas), ``CHEAP``, ``PARTNERS``, the optimiser's commutative ops, the tracer's ufunc
  and ``math`` tables and the Dual overload lists are computed from the rows at import.

Only the Taylor recurrences (``ops/taylor.py``) are written per op by hand beside this file;
``tests/ops/test_completeness.py`` fails for a row without one, or without a Dual rule, a
compiled formula, a tracer spelling or a test reference.

Templates are Python expressions over ``{x}`` (operand a), ``{y}`` (operand b), ``{c}`` (the
constant operand) and ``{v}`` (the op's own value: d/dx exp = exp). A partial may instead be
``ZERO`` (structurally zero: the sweeps and compiled code skip it), ``ONE`` or ``MINUS_ONE``.
An op whose partials branch names a helper in ``ops/rules.py`` (``partials_fn``) returning
(d_a, d_b); its compiled formula then calls the op table's kernel. Second partials are a
triple of templates (d_aa, d_ab, d_bb) or a helper (``second_fn``) returning the triple.

Codes are append-only: a new op takes the next free code, and no code is ever reused or
renumbered (saved tapes hold codes; ``tests/ops/test_codes.py`` freezes them).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from numba_ad.ops import scalar_evaluators as ev

ZERO, ONE, MINUS_ONE = "0", "1", "-1"

STRUCTURAL, MATH, COMPARISON, SELECT, USER = "structural", "math", "comparison", "select", "user"

Domain = tuple[tuple[float, float], tuple[float, float]]
_R = (-3.0, 3.0)
_POS = (0.1, 4.0)
_UNIT = (-0.9, 0.9)
_NOY = (0.0, 0.0)


@dataclass(frozen=True)
class OpDef:
    """One op. ``name`` is its ``Op`` member name; ``label`` names it in messages."""

    name: str
    code: int  # stable opcode stored in tapes: append-only
    arity: int  # 0 structural, 1 unary (reads slot a; b is slot 0), 2 binary
    label: str
    kind: str = MATH  # STRUCTURAL, MATH, COMPARISON (a guard may be one), SELECT or USER
    value: str = ""
    d_a: str = ZERO
    d_b: str = ZERO
    partials_fn: str | None = None  # helper in ops/rules.py: (x, y, c, v) -> (d_a, d_b)
    second: tuple[str, str, str] = ("0.0", "0.0", "0.0")
    second_fn: str | None = None  # helper in ops/rules.py: (x, y, c, v) -> (d_aa, d_ab, d_bb)
    scalar: Callable | None = None  # scalar(x, y, c) -> float while tracing (math, IEEE results)
    reference: Callable | None = None  # reference(x, y, c) on NumPy arrays: tests and bulk recording
    domain: Domain = (_R, _NOY)  # where tests draw operands (the op is smooth there)
    test_c: float = 0.0  # the constant operand used in tests (POWI, POWC, CPOW)
    numpy: tuple[str, ...] = ()  # NumPy ufunc names that record this op
    numpy_function: tuple[str, ...] = ()  # NumPy functions that are not ufuncs (np.sinc): __array_function__
    math: tuple[str, ...] = ()  # ``math`` function names that record it (traced @njit kernels)
    scipy: tuple[str, ...] = ()  # ``scipy.special`` ufunc names that record it
    dual: str | None = None  # the Dual rule's name (its NumPy name); None: no Dual rule of its own
    cheap: bool = False  # cheaper to recompute than to reload (the compiled adjoint recomputes it)
    commutative: bool = False  # op(x, y) == op(y, x) bit for bit (CSE matches either order)
    lanes: bool = False  # written out as its own lane loop in the batched sweeps (LLVM vectorises it)
    partner: tuple[str, str] | None = None  # (op, d_a with that op's value on x as {y})
    nonzero: tuple[int, int, int, int, int] | None = None  # d_a, d_b, d_aa, d_ab, d_bb; None: derived

    def nonzero_partials(self) -> tuple[int, int, int, int, int]:
        """Which of (d_a, d_b, d_aa, d_ab, d_bb) can be nonzero somewhere."""
        if self.nonzero is not None:
            return self.nonzero
        if self.kind == STRUCTURAL:
            return (0, 0, 0, 0, 0)
        branching = self.partials_fn is not None
        first = (int(branching or self.d_a != ZERO), int(branching or self.d_b != ZERO))
        if self.second_fn is not None:
            second = (1, int(self.arity == 2), int(self.arity == 2))
        else:
            second = tuple(int(t != "0.0") for t in self.second)
        return first + second


def _np1(f):
    return lambda x, y, c: f(x)


def _np2(f):
    return lambda x, y, c: f(x, y)


def unary(name, code, label, value, d_a, second="0.0", *, second_fn=None, domain=_R, **kw) -> OpDef:
    second = ("0.0", "0.0", "0.0") if second_fn else (second, "0.0", "0.0")
    return OpDef(name, code, 1, label, value=value, d_a=d_a, second=second, second_fn=second_fn,
                 domain=(domain, _NOY), **kw)  # fmt: skip


def binary(name, code, label, value, d_a=ZERO, d_b=ZERO, *, domain=(_R, _R), **kw) -> OpDef:
    return OpDef(name, code, 2, label, value=value, d_a=d_a, d_b=d_b, domain=domain, **kw)


def _math1(name, numpy_name=None, math_name=None):
    """scalar and reference of a unary op that math and NumPy both have."""
    np_fn = getattr(np, numpy_name or name)
    return dict(scalar=ev.ieee(getattr(math, math_name or name), np_fn), reference=_np1(np_fn),
                numpy=(numpy_name or name,), math=(math_name or name,), dual=numpy_name or name)  # fmt: skip


# fmt: off
OPS: tuple[OpDef, ...] = (
    # -- structural: the sweeps handle them themselves ---------------------------------------
    OpDef("CONST", 0, 0, "const", kind=STRUCTURAL),  # value c
    OpDef("INPUT", 1, 0, "input", kind=STRUCTURAL),  # value x[a]: a is the input's index, not a slot
    OpDef("PARAM", 2, 0, "param", kind=STRUCTURAL),  # value p[a]: a is the parameter's index
    # -- binary ---------------------------------------------------------------------------------
    binary("ADD", 3, "+", "{x} + {y}", ONE, ONE, scalar=lambda x, y, c: x + y, reference=_np2(np.add),
           numpy=("add",), dual="add", cheap=True, commutative=True, lanes=True),
    binary("SUB", 4, "-", "{x} - {y}", ONE, MINUS_ONE, scalar=lambda x, y, c: x - y,
           reference=_np2(np.subtract), numpy=("subtract",), dual="subtract", cheap=True, lanes=True),
    binary("MUL", 5, "*", "{x} * {y}", "{y}", "{x}", scalar=lambda x, y, c: x * y, reference=_np2(np.multiply),
           second=("0.0", "1.0", "0.0"), numpy=("multiply",), dual="multiply", cheap=True, commutative=True,
           lanes=True),
    binary("DIV", 6, "/", "{x} / {y}", "1.0 / {y}", "-{v} / {y}", second_fn="second_div",
           scalar=ev.ieee2(lambda x, y: x / y, np.divide), reference=_np2(np.divide), domain=(_R, (0.5, 3.0)),
           numpy=("true_divide",), dual="divide", cheap=True, nonzero=(1, 1, 0, 1, 1)),
    binary("POW", 7, "**", "{x} ** {y}", partials_fn="partials_pow", second_fn="second_pow", dual="pow_",
           scalar=ev.ieee2(math.pow, np.power), reference=_np2(np.power), domain=((0.5, 3.0), (-2.0, 2.0))),
    binary("ARCTAN2", 8, "arctan2", "math.atan2({x}, {y})", partials_fn="partials_arctan2",
           second_fn="second_arctan2", scalar=ev.ieee2(math.atan2, np.arctan2), reference=_np2(np.arctan2),
           domain=(_R, (0.5, 3.0)), numpy=("arctan2",), math=("atan2",), dual="arctan2"),
    binary("HYPOT", 9, "hypot", "math.hypot({x}, {y})", partials_fn="partials_hypot", second_fn="second_hypot",
           scalar=ev.ieee2(math.hypot, np.hypot), reference=_np2(np.hypot), domain=(_R, (0.5, 3.0)),
           numpy=("hypot",), math=("hypot",), dual="hypot", commutative=True),
    binary("MINIMUM", 10, "minimum", "minimum_value({x}, {y})", partials_fn="partials_minimum",
           scalar=lambda x, y, c: ev.py_min(x, y), reference=_np2(np.minimum), numpy=("minimum",), dual="minimum",
           cheap=True, nonzero=(1, 1, 0, 0, 0)),
    binary("MAXIMUM", 11, "maximum", "maximum_value({x}, {y})", partials_fn="partials_maximum",
           scalar=lambda x, y, c: ev.py_max(x, y), reference=_np2(np.maximum), numpy=("maximum",), dual="maximum",
           cheap=True, nonzero=(1, 1, 0, 0, 0)),
    # -- unary with a constant operand c (the tracer picks them for x ** c and c ** x) ------------
    unary("POWI", 12, "powi", "{x} ** {c}", "{c} * {x} ** ({c} - 1.0)", second_fn="second_powc",
          scalar=lambda x, y, c: ev.ieee2(math.pow, np.power)(x, c, 0.0), reference=lambda x, y, c: np.power(x, c),
          test_c=3.0),
    unary("POWC", 13, "powc", "{x} ** {c}", "{c} * {x} ** ({c} - 1.0)", second_fn="second_powc",
          scalar=lambda x, y, c: ev.ieee2(math.pow, np.power)(x, c, 0.0), reference=lambda x, y, c: np.power(x, c),
          domain=(0.5, 3.0), test_c=2.5, dual="powc"),
    unary("CPOW", 14, "cpow", "{c} ** {x}", "({v} * math.log({c}) if {v} != 0.0 else 0.0)", second_fn="second_cpow",
          scalar=lambda x, y, c: ev.ieee2(math.pow, np.power)(c, x, 0.0), reference=lambda x, y, c: np.power(c, x),
          domain=(-2.0, 2.0), test_c=1.7, dual="cpow"),
    # -- unary ----------------------------------------------------------------------------------
    unary("NEG", 15, "negative", "-{x}", MINUS_ONE, scalar=lambda x, y, c: -x, reference=_np1(np.negative),
          numpy=("negative",), cheap=True),
    unary("ABS", 16, "abs", "abs({x})", "np.sign({x})", scalar=lambda x, y, c: abs(x), reference=_np1(np.abs),
          numpy=("absolute", "fabs"), math=("fabs",), dual="absolute", cheap=True),
    unary("SQRT", 17, "sqrt", "math.sqrt({x})", "0.5 / {v}", "-0.25 / ({x} * {v})", domain=_POS, **_math1("sqrt")),
    unary("CBRT", 18, "cbrt", "np.cbrt({x})", "1.0 / (3.0 * {v} * {v})", "-2.0 / (9.0 * {x} * {v} * {v})",
          scalar=ev.ieee(ev.py_cbrt, np.cbrt), reference=_np1(np.cbrt), domain=(0.2, 3.0), numpy=("cbrt",),
          math=("cbrt",), dual="cbrt"),
    unary("EXP", 19, "exp", "math.exp({x})", "{v}", "{v}", **_math1("exp")),
    unary("EXP2", 20, "exp2", "2.0 ** {x}", "{v} * LN2", "{v} * (LN2 * LN2)",
          scalar=ev.ieee(lambda x: 2.0**x, np.exp2), reference=_np1(np.exp2), numpy=("exp2",), math=("exp2",),
          dual="exp2"),
    unary("EXPM1", 21, "expm1", "math.expm1({x})", "{v} + 1.0", "{v} + 1.0", **_math1("expm1")),
    unary("LOG", 22, "log", "math.log({x})", "1.0 / {x}", "-1.0 / ({x} * {x})", domain=_POS, **_math1("log")),
    unary("LOG2", 23, "log2", "math.log2({x})", "1.0 / ({x} * LN2)", "-1.0 / ({x} * {x} * LN2)", domain=_POS,
          **_math1("log2")),
    unary("LOG10", 24, "log10", "math.log10({x})", "1.0 / ({x} * LN10)", "-1.0 / ({x} * {x} * LN10)", domain=_POS,
          **_math1("log10")),
    unary("LOG1P", 25, "log1p", "math.log1p({x})", "1.0 / (1.0 + {x})", "-1.0 / ((1.0 + {x}) * (1.0 + {x}))",
          domain=(-0.5, 3.0), **_math1("log1p")),
    unary("SIN", 26, "sin", "math.sin({x})", "math.cos({x})", "-{v}", partner=("COS", "{y}"), **_math1("sin")),
    unary("COS", 27, "cos", "math.cos({x})", "-math.sin({x})", "-{v}", partner=("SIN", "-{y}"), **_math1("cos")),
    unary("TAN", 28, "tan", "math.tan({x})", "1.0 + {v} * {v}", "2.0 * {v} * (1.0 + {v} * {v})", domain=(-1.2, 1.2),
          **_math1("tan")),
    unary("ARCSIN", 29, "arcsin", "math.asin({x})", "1.0 / math.sqrt((1.0 - {x}) * (1.0 + {x}))",
          second_fn="second_arcsin", domain=_UNIT, **_math1("arcsin", math_name="asin")),
    unary("ARCCOS", 30, "arccos", "math.acos({x})", "-1.0 / math.sqrt((1.0 - {x}) * (1.0 + {x}))",
          second_fn="second_arccos", domain=_UNIT, **_math1("arccos", math_name="acos")),
    unary("ARCTAN", 31, "arctan", "math.atan({x})", "1.0 / (1.0 + {x} * {x})", second_fn="second_arctan",
          **_math1("arctan", math_name="atan")),
    unary("SINH", 32, "sinh", "math.sinh({x})", "math.cosh({x})", "{v}", partner=("COSH", "{y}"), **_math1("sinh")),
    unary("COSH", 33, "cosh", "math.cosh({x})", "math.sinh({x})", "{v}", partner=("SINH", "{y}"), **_math1("cosh")),
    unary("TANH", 34, "tanh", "math.tanh({x})", "1.0 - {v} * {v}", "-2.0 * {v} * (1.0 - {v} * {v})",
          **_math1("tanh")),
    # d/dx asinh = 1 / hypot(x, 1): no overflow of x * x for large x
    unary("ARCSINH", 35, "arcsinh", "math.asinh({x})", "1.0 / math.hypot({x}, 1.0)", second_fn="second_arcsinh",
          **_math1("arcsinh", math_name="asinh")),
    unary("ARCCOSH", 36, "arccosh", "math.acosh({x})", "1.0 / (math.sqrt({x} - 1.0) * math.sqrt({x} + 1.0))",
          second_fn="second_arccosh", domain=(1.2, 4.0), **_math1("arccosh", math_name="acosh")),
    unary("ARCTANH", 37, "arctanh", "math.atanh({x})", "1.0 / ((1.0 - {x}) * (1.0 + {x}))",
          second_fn="second_arctanh", domain=_UNIT, **_math1("arctanh", math_name="atanh")),
    unary("ERF", 38, "erf", "math.erf({x})", "TWO_OVER_SQRT_PI * math.exp(-{x} * {x})",
          "-2.0 * {x} * TWO_OVER_SQRT_PI * math.exp(-{x} * {x})", scalar=ev.ieee(math.erf, ev.erf_reference),
          reference=_np1(ev.erf_reference), math=("erf",), scipy=("erf",), dual="erf"),
    unary("ERFC", 39, "erfc", "math.erfc({x})", "-TWO_OVER_SQRT_PI * math.exp(-{x} * {x})",
          "2.0 * {x} * TWO_OVER_SQRT_PI * math.exp(-{x} * {x})", scalar=ev.ieee(math.erfc, ev.erfc_reference),
          reference=_np1(ev.erfc_reference), math=("erfc",), scipy=("erfc",), dual="erfc"),
    unary("SQUARE", 40, "square", "{x} * {x}", "2.0 * {x}", "2.0", scalar=lambda x, y, c: x * x,
          reference=_np1(np.square), numpy=("square",), dual="square", cheap=True, lanes=True),
    unary("RECIPROCAL", 41, "reciprocal", "1.0 / {x}", "-{v} * {v}", "2.0 * {v} * {v} * {v}",
          scalar=ev.ieee(lambda x: 1.0 / x, np.reciprocal), reference=_np1(np.reciprocal), domain=(0.5, 3.0),
          numpy=("reciprocal",), dual="reciprocal", cheap=True),
    # piecewise constant: zero partials
    unary("FLOOR", 42, "floor", "np.floor({x})", ZERO, cheap=True, **_math1("floor")),
    unary("CEIL", 43, "ceil", "np.ceil({x})", ZERO, cheap=True, **_math1("ceil")),
    unary("TRUNC", 44, "trunc", "np.trunc({x})", ZERO, cheap=True, **_math1("trunc")),
    unary("SIGN", 45, "sign", "np.sign({x})", ZERO, scalar=lambda x, y, c: float(ev.py_sign(x)),
          reference=_np1(np.sign), numpy=("sign",), dual="sign", cheap=True),
    # -- comparisons: 1.0 where x < y (<=, ==) holds, else 0.0; zero partials. A comparison listed in
    # the tape's `guards` is a guard: c holds the value seen while tracing, and a replay whose value
    # differs has left the recorded branch. An unlisted one is a mask, the condition of a select.
    binary("LT", 46, "<", "(1.0 if {x} < {y} else 0.0)", kind=COMPARISON, cheap=True,
           scalar=lambda x, y, c: 1.0 if x < y else 0.0, reference=lambda x, y, c: np.less(x, y) * 1.0),
    binary("LE", 47, "<=", "(1.0 if {x} <= {y} else 0.0)", kind=COMPARISON, cheap=True,
           scalar=lambda x, y, c: 1.0 if x <= y else 0.0, reference=lambda x, y, c: np.less_equal(x, y) * 1.0),
    binary("EQ", 48, "==", "(1.0 if {x} == {y} else 0.0)", kind=COMPARISON, cheap=True,
           scalar=lambda x, y, c: 1.0 if x == y else 0.0, reference=lambda x, y, c: np.equal(x, y) * 1.0),
    # -- selects (x a mask, y the value): where(m, a, b) is IF_TRUE(m, a) + IF_FALSE(m, b). The branch
    # not taken contributes -0.0 with zero partials, whatever its value or derivative (inf, NaN): the
    # structural-zero rule of the sweeps then keeps it out of every derivative. -0.0 rather than 0.0
    # so that the sum returns the taken value exactly, -0.0 included.
    binary("IF_TRUE", 49, "if_true", "({y} if {x} != 0.0 else -0.0)", ZERO, "(1.0 if {x} != 0.0 else 0.0)",
           kind=SELECT, cheap=True, scalar=lambda x, y, c: y if x != 0.0 else -0.0,
           reference=lambda x, y, c: np.where(x != 0.0, y, -0.0)),
    binary("IF_FALSE", 50, "if_false", "({y} if {x} == 0.0 else -0.0)", ZERO, "(1.0 if {x} == 0.0 else 0.0)",
           kind=SELECT, cheap=True, scalar=lambda x, y, c: y if x == 0.0 else -0.0,
           reference=lambda x, y, c: np.where(x == 0.0, y, -0.0)),
    # -- appended after the first 51 (the codes above are frozen) -------------------------------
    # logaddexp(x, y) = log(e^x + e^y); partials exp(x - z), exp(y - z), as expit(x - y): at equal
    # infinities (x - y NaN) the diagonal limit 1/2, 1/2 (ops/special.py)
    binary("LOGADDEXP", 51, "logaddexp", "special.logaddexp({x}, {y})", partials_fn="partials_logaddexp",
           second_fn="second_logaddexp", scalar=ev.numpy2(np.logaddexp), reference=_np2(np.logaddexp),
           numpy=("logaddexp",), dual="logaddexp", commutative=True),
    binary("LOGADDEXP2", 52, "logaddexp2", "special.logaddexp2({x}, {y})", partials_fn="partials_logaddexp2",
           second_fn="second_logaddexp2", scalar=ev.numpy2(np.logaddexp2), reference=_np2(np.logaddexp2),
           numpy=("logaddexp2",), dual="logaddexp2", commutative=True),
    unary("EXPIT", 53, "expit", "special.expit({x})", "special.d_expit({x}, {v})", "special.d2_expit({x}, {v})",
          scalar=ev.jit1("expit"), reference=_np1(ev.scipy_or_kernel("expit")), domain=(-6.0, 6.0),
          scipy=("expit",), dual="expit"),
    unary("ERFINV", 54, "erfinv", "special.erfinv({x})", "special.d_erfinv({x}, {v})",
          "special.d2_erfinv({x}, {v})", scalar=ev.jit1("erfinv"), reference=_np1(ev.scipy_or_kernel("erfinv")),
          domain=_UNIT, scipy=("erfinv",), dual="erfinv"),
    # gammaln = log|Gamma(x)| (math.lgamma); its partial is digamma, computed in numba (ops/special.py)
    unary("GAMMALN", 55, "gammaln", "math.lgamma({x})", "special.d_gammaln({x}, {v})",
          "special.d2_gammaln({x}, {v})", scalar=ev.ieee(math.lgamma, ev.scipy_or_kernel("gammaln")),
          reference=_np1(ev.scipy_or_kernel("gammaln")), domain=(0.2, 6.0), math=("lgamma",), scipy=("gammaln",),
          dual="gammaln"),
    unary("SINC", 56, "sinc", "special.sinc({x})", "special.d_sinc({x}, {v})", "special.d2_sinc({x}, {v})",
          scalar=ev.jit1("sinc"), reference=_np1(np.sinc), numpy_function=("sinc",), dual="sinc"),
    # -- user primitives (numba_ad.primitive; ops/user.py): c is the primitive's index in this
    # process's registry; user.rule(c, k, x, y, arity) calls its rule k (0 value, 1 d_a, 2 d_b,
    # 3 d_aa, 4 d_ab, 5 d_bb: ops.user.RULE_NAMES) through the registry's table of callbacks.
    # k and arity are floats: numba would compile a version per integer literal.
    # test_c: tests/conftest.py registers a unary primitive at index 0 and a binary one at 1.
    unary("USER1", 57, "primitive", "user.rule({c}, 0.0, {x}, 0.0, 1.0)", "user.rule({c}, 1.0, {x}, 0.0, 1.0)",
          "user.rule({c}, 3.0, {x}, 0.0, 1.0)", kind=USER, scalar=ev.user_value, reference=ev.user_values),
    binary("USER2", 58, "primitive", "user.rule({c}, 0.0, {x}, {y}, 2.0)", "user.rule({c}, 1.0, {x}, {y}, 2.0)",
           "user.rule({c}, 2.0, {x}, {y}, 2.0)", kind=USER, scalar=ev.user_value, reference=ev.user_values, test_c=1.0,
           second=("user.rule({c}, 3.0, {x}, {y}, 2.0)", "user.rule({c}, 4.0, {x}, {y}, 2.0)",
                   "user.rule({c}, 5.0, {x}, {y}, 2.0)")),
)
# fmt: on

BY_NAME: dict[str, OpDef] = {d.name: d for d in OPS}
