"""The op table, checked op by op: values against NumPy, partials against differences."""

import math

import numpy as np
import pytest

import numba_ad as ad
from numba_ad.ops import table as ops
from numba_ad.ops.table import DEFS, FIRST_MATH, SMOOTH, TABLE, Op
from tests._support import primitives
from tests._support.op_tapes import one_op_tape

MATH_OPS = [op for op in Op if op >= FIRST_MATH]
SMOOTH_OPS = list(SMOOTH)
RNG_SEED = 1234


def test_table_and_enum_agree():
    assert set(TABLE) == set(MATH_OPS), "every non-structural op needs exactly one table row"
    for op in MATH_OPS:
        d = DEFS[op]
        assert TABLE[op].arity == d.arity in (1, 2), op
        # a unary op has nothing to say about its b (slot 0): no partial, no second partial of it
        if d.arity == 1:
            assert d.d_b == "0" and d.nonzero_partials()[1::2] == (0, 0), op
    assert [int(op) for op in Op] == list(range(len(Op))), "opcodes must be dense from 0"


def _points(op, size=25, seed=RNG_SEED):
    rng = np.random.default_rng(seed + int(op))
    (xlo, xhi), (ylo, yhi) = TABLE[op].domain
    return rng.uniform(xlo, xhi, size), rng.uniform(ylo, yhi, size)


@pytest.mark.parametrize("op", MATH_OPS, ids=lambda op: op.name)
def test_kernel_value_matches_numpy_and_tracer(op):
    spec = TABLE[op]
    xs, ys = _points(op)
    ref = spec.reference(xs, ys, spec.test_c)
    kernel = np.array([ops.value(int(op), x, y, spec.test_c) for x, y in zip(xs, ys)])
    tracer = np.array([spec.scalar(x, y, spec.test_c) for x, y in zip(xs, ys)])
    np.testing.assert_allclose(kernel, ref, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(tracer, ref, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("op", MATH_OPS, ids=lambda op: op.name)
def test_kernel_partials_match_central_differences(op):
    spec = TABLE[op]
    xs, ys = _points(op)
    h = 1e-6
    for x, y in zip(xs, ys):
        v = ops.value(int(op), x, y, spec.test_c)
        d_a, d_b = ops.partials(int(op), x, y, spec.test_c, v)
        fd_a = (spec.reference(x + h, y, spec.test_c) - spec.reference(x - h, y, spec.test_c)) / (2 * h)
        assert d_a == pytest.approx(fd_a, rel=1e-6, abs=1e-6), (op.name, x, y)
        if spec.arity == 2:
            fd_b = (spec.reference(x, y + h, spec.test_c) - spec.reference(x, y - h, spec.test_c)) / (2 * h)
            assert d_b == pytest.approx(fd_b, rel=1e-6, abs=1e-6), (op.name, x, y)
        else:
            assert d_b == 0.0, "a unary op must have d_b = 0: the sweeps rely on it"


@pytest.mark.parametrize("op", SMOOTH_OPS, ids=lambda op: op.name)
def test_each_op_through_the_sweeps(op):
    """Every op as a one-op tape: eval, gradient, forward and reverse Jacobians, twice."""
    spec = TABLE[op]
    tape = one_op_tape(op, spec.test_c, guard_comparisons=True)
    xs, ys = _points(op, size=5, seed=99)
    for x, y in zip(xs, ys):
        point = np.array([x, y])
        expected = float(spec.reference(x, y, spec.test_c))
        d_a, d_b = ops.partials(int(op), x, y, spec.test_c, ops.value(int(op), x, y, spec.test_c))
        for _ in range(2):  # the same buffers twice: no stale state
            assert tape.eval(point) == pytest.approx(expected, rel=1e-14)
            np.testing.assert_allclose(tape.gradient(point), [d_a, d_b], rtol=1e-15)
            np.testing.assert_allclose(tape.jacobian(point, mode="forward"), [d_a, d_b], rtol=1e-15)


@pytest.mark.parametrize("op", SMOOTH_OPS, ids=lambda op: op.name)
def test_each_op_traced_through_numpy(op):
    """The tracer records each op from its NumPy (or operator) spelling, and replays it."""
    spec = TABLE[op]
    c = spec.test_c
    spellings = {
        Op.ADD: lambda x, y: x + y,
        Op.SUB: lambda x, y: x - y,
        Op.MUL: lambda x, y: x * y,
        Op.DIV: lambda x, y: x / y,
        Op.POW: lambda x, y: x**y,
        Op.POWI: lambda x, y: x ** int(c),
        Op.POWC: lambda x, y: x**c,
        Op.CPOW: lambda x, y: c**x,
        Op.NEG: lambda x, y: -x,
        Op.ABS: lambda x, y: abs(x),
        Op.ERF: lambda x, y: ad.erf(x),
        Op.ERFC: lambda x, y: ad.erfc(x),
        Op.RECIPROCAL: lambda x, y: 1 / x if isinstance(x, float) else np.reciprocal(x),
        Op.USER1: lambda x, y: primitives.UNARY(x),
        Op.USER2: lambda x, y: primitives.BINARY(x, y),
    }
    if DEFS[op].scipy and op not in spellings:  # SciPy's special functions are ufuncs too
        special = pytest.importorskip("scipy.special")
        fn = getattr(special, DEFS[op].scipy[0])
        spellings[op] = (lambda x, y: fn(x, y)) if spec.arity == 2 else (lambda x, y: fn(x))
    spelled = spellings.get(op)
    if spelled is None:
        ufunc = getattr(np, spec.name)
        spelled = (lambda x, y: ufunc(x, y)) if spec.arity == 2 else (lambda x, y: ufunc(x))
    xs, ys = _points(op, size=3, seed=7)
    tape = ad.trace(lambda v: spelled(v[0], v[1]), np.array([xs[0], ys[0]]))
    assert Op(int(tape.arrays.op[tape.arrays.outputs[0]])) in (op, Op.DIV), "recorded as its own op"
    for x, y in zip(xs[1:], ys[1:]):
        point = np.array([x, y])
        assert tape.eval(point) == pytest.approx(float(spec.reference(x, y, c)), rel=1e-14)
        h = 1e-6
        fd = [(spelled(x + h, y) - spelled(x - h, y)) / (2 * h), (spelled(x, y + h) - spelled(x, y - h)) / (2 * h)]
        np.testing.assert_allclose(tape.gradient(point), fd, rtol=1e-6, atol=1e-7)


def test_scipy_erf_records_through_the_ufunc_protocol():
    special = pytest.importorskip("scipy.special")
    tape = ad.trace(lambda x: special.erf(x[0]) + special.erfc(x[1]), np.array([0.1, 0.2]))
    x = np.array([0.4, -0.3])
    assert tape.eval(x) == pytest.approx(math.erf(0.4) + math.erfc(-0.3), rel=1e-15)
    expected = [2 / math.sqrt(math.pi) * math.exp(-0.16), -2 / math.sqrt(math.pi) * math.exp(-0.09)]
    np.testing.assert_allclose(tape.gradient(x), expected, rtol=1e-14)


# -- conventions where the derivative is undefined (docs/conventions.md) ----------------------
def _grad_at(f, x):
    return ad.trace(f, np.asarray(x, dtype=float)).gradient(np.asarray(x, dtype=float))


def test_abs_and_sign_like_ops_at_zero():
    assert _grad_at(lambda x: abs(x[0]), [0.0])[0] == 0.0
    assert _grad_at(lambda x: abs(x[0]), [-2.0])[0] == -1.0
    for fn in (np.floor, np.ceil, np.trunc, np.sign):
        assert _grad_at(lambda x, fn=fn: fn(x[0]) * 3.0, [1.5])[0] == 0.0


def test_maximum_minimum_split_at_ties():
    np.testing.assert_array_equal(_grad_at(lambda x: np.maximum(x[0], x[1]), [1.0, 1.0]), [0.5, 0.5])
    np.testing.assert_array_equal(_grad_at(lambda x: np.minimum(x[0], x[1]), [2.0, 1.0]), [0.0, 1.0])


def test_sqrt_at_zero_is_infinite_and_hypot_at_origin_is_zero():
    assert _grad_at(lambda x: np.sqrt(x[0]), [0.0])[0] == math.inf
    np.testing.assert_array_equal(_grad_at(lambda x: np.hypot(x[0], x[1]), [0.0, 0.0]), [0.0, 0.0])


def test_power_with_zero_base():
    # d/dy x**y at x = 0, y > 0 is taken as 0 (not 0 * log 0 = NaN)
    np.testing.assert_array_equal(_grad_at(lambda x: x[0] ** x[1], [0.0, 2.0]), [0.0, 0.0])


def test_structural_zeros_keep_dead_infinities_out():
    # sqrt(x0) is computed but unused: its infinite partial must not turn the gradient into NaN
    def f(x):
        np.sqrt(x[0])
        return x[1] * 2.0

    np.testing.assert_array_equal(_grad_at(f, [0.0, 1.0]), [0.0, 2.0])
    # forward and reverse agree on sqrt(x0) + x1 at x0 = 0
    tape = ad.trace(lambda x: [np.sqrt(x[0]) + x[1]], np.array([0.0, 1.0]))
    fwd = tape.jacobian(np.array([0.0, 1.0]), mode="forward")
    rev = tape.jacobian(np.array([0.0, 1.0]), mode="reverse")
    np.testing.assert_array_equal(fwd, rev)
    np.testing.assert_array_equal(fwd, [[math.inf, 1.0]])


def test_integer_powers_take_the_exact_path():
    tape = ad.trace(lambda x: x[0] ** 2 + x[1] ** 3 + x[0] ** -1 + x[1] ** 0, np.array([1.0, 1.0]))
    recorded = {Op(int(o)) for o in tape.arrays.op}
    assert {Op.SQUARE, Op.POWI, Op.RECIPROCAL} <= recorded and Op.POWC not in recorded
    x = np.array([-1.5, -2.0])  # negative bases: no log on the integer path
    assert tape.eval(x) == pytest.approx(2.25 - 8.0 - 1 / 1.5 + 1.0, rel=1e-15)
    np.testing.assert_allclose(tape.gradient(x), [2 * -1.5 - 1 / 2.25, 3 * 4.0], rtol=1e-15)


def test_nan_and_inf_inputs_propagate_without_error():
    tape = ad.trace(lambda x: np.sin(x[0]) * x[1] + np.log(x[1]), np.array([0.5, 2.0]))
    value, grad = tape.value_and_gradient(np.array([np.nan, 2.0]))
    assert math.isnan(value) and math.isnan(grad[0])
    value, grad = tape.value_and_gradient(np.array([0.5, np.inf]))
    assert value == math.inf and grad[0] == math.inf
    assert math.isnan(tape.eval(np.array([0.5, -1.0])))  # log of a negative: NaN, no exception


def test_zero_partials_are_structural_zeros_in_both_modes():
    # x1 * sqrt(x0) at the origin: a zero partial meets an infinite tangent/adjoint
    for f in (lambda x: [x[1] * np.sqrt(x[0])], lambda x: [np.sqrt(x[0] * x[1])]):
        tape = ad.trace(f, np.array([1.0, 1.0]))
        origin = np.zeros(2)
        fwd = tape.jacobian(origin, mode="forward")
        rev = tape.jacobian(origin, mode="reverse")
        np.testing.assert_array_equal(fwd, rev)
        np.testing.assert_array_equal(fwd, [[0.0, 0.0]])  # both functions vanish on the axes


def test_nan_operand_of_maximum_gives_nan_partials():
    tape = ad.trace(lambda x: np.maximum(x[0], x[1]), np.array([1.0, 2.0]))
    value, grad = tape.value_and_gradient(np.array([np.nan, 2.0]))
    assert math.isnan(value) and np.isnan(grad).all()
