"""Bad input gets a clear error naming what was expected and what was given."""

import math

import numpy as np
import pytest

import numba_ad as ad
from numba_ad.ops.table import Op
from numba_ad.testing import check_grads


@pytest.fixture(scope="module")
def tape():
    return ad.trace(lambda x: np.sin(x[0]) * x[1] + x[2], np.ones(3))


@pytest.mark.parametrize(
    "x, error, pattern",
    [
        (np.ones(4), ValueError, r"shape \(3,\); got shape \(4,\)"),
        (np.ones((3, 1)), ValueError, r"shape \(3,\); got shape \(3, 1\)"),
        (1.0, ValueError, r"shape \(3,\); got shape \(\)"),
        (["a", "b", "c"], TypeError, "real numbers"),
        (np.ones(3, dtype=complex), TypeError, "complex"),
        (np.array([1, None, 2], dtype=object), TypeError, "real numbers"),
        (np.array([True, False, True]), TypeError, "real numbers"),
    ],
)
def test_bad_points(tape, x, error, pattern):
    for call in (tape.eval, tape.gradient, tape.jacobian, lambda x: tape.jvp(x, np.ones(3))):
        with pytest.raises(error, match=pattern):
            call(x)


def test_bad_directions_and_modes(tape):
    x = np.ones(3)
    with pytest.raises(ValueError, match=r"v must have shape \(3,\) or \(3, K\)"):
        tape.jvp(x, np.ones(2))
    with pytest.raises(ValueError, match=r"w of a scalar tape"):
        tape.vjp(x, np.ones((2, 2)))
    with pytest.raises(ValueError, match="mode must be"):
        tape.jacobian(x, mode="sideways")
    vec = ad.trace(lambda x: [x[0], x[1]], np.ones(2))
    with pytest.raises(ValueError, match=r"w must have shape \(2,\)"):
        vec.vjp(np.ones(2), np.ones(3))
    with pytest.raises(ValueError, match="jacobian"):
        vec.gradient(np.ones(2))


def test_params_on_a_tape_without_parameters(tape):
    with pytest.raises(ValueError, match="without parameters"):
        tape.eval(np.ones(3), params=np.ones(1))


def test_integer_points_are_accepted_as_floats(tape):
    assert tape.eval(np.array([1, 2, 3])) == pytest.approx(math.sin(1) * 2 + 3, rel=1e-15)


@pytest.mark.parametrize(
    "bad, pattern",
    [
        (lambda x: math.sin(x[0]), "NumPy functions"),
        (lambda x: float(x[0]), r"float\(\)"),
        (lambda x: int(x[0]) * x[1], r"int\(\)"),
        (lambda x: x[x[0]], "index"),
        (lambda x: np.array([x[0]], dtype=float)[0], "float"),
        (lambda x: np.fmod(x[0], x[1]), "fmod"),
        (lambda x: "text", "real numbers"),
        (lambda x: x[0] > 1.0, "comparison"),
        (lambda x: [], "empty"),
        (lambda x: x[0] + "s", "str"),
    ],
)
def test_bad_functions_fail_while_tracing(bad, pattern):
    with pytest.raises((TypeError, ValueError), match=pattern):
        ad.trace(bad, np.array([0.5, 1.5]))


def test_bad_start_points():
    with pytest.raises(TypeError, match="complex"):
        ad.trace(lambda x: x[0], np.ones(2, dtype=complex))
    with pytest.raises(TypeError, match="boolean"):
        ad.trace(lambda x: x[0], np.ones(2, dtype=bool))
    with pytest.raises(TypeError, match="real numbers"):
        ad.trace(lambda x: x[0], ["a"])
    with pytest.raises(TypeError, match="real number"):
        ad.Recorder().variable("two")


def test_values_from_two_recordings_do_not_mix():
    a, b = ad.Recorder(), ad.Recorder()
    with pytest.raises(ValueError, match="two different recordings"):
        a.variable(1.0) + b.variable(2.0)


def _arrays(**changes):
    base = dict(
        op=np.array([Op.CONST, Op.INPUT, Op.INPUT, Op.MUL, Op.SIN, Op.LT]),
        a=np.array([0, 0, 1, 1, 3, 1]),
        b=np.array([0, 0, 0, 2, 0, 2]),
        c=np.array([0.0, 0.0, 0.0, 0.0, 0.0, 1.0]),
        inputs=np.array([1, 2]),
        outputs=np.array([4]),
        params=np.array([], dtype=np.int32),
        guards=np.array([5]),
    )
    base.update(changes)
    return ad.TapeArrays(**base)


def test_from_arrays_accepts_a_consistent_tape():
    tape = ad.Tape.from_arrays(_arrays())
    assert tape.eval(np.array([0.5, 2.0])) == pytest.approx(math.sin(1.0), rel=1e-15)


def test_from_arrays_accepts_an_unguarded_comparison_a_mask():
    tape = ad.Tape.from_arrays(_arrays(guards=np.array([], dtype=np.int32)))
    assert tape.n_guards == 0
    assert tape.eval(np.array([5.0, 2.0])) == pytest.approx(math.sin(10.0), rel=1e-15)


@pytest.mark.parametrize(
    "changes, pattern",
    [
        (dict(op=np.array([0, 1, 1, 5, 99, 46])), "opcode 99"),
        (dict(a=np.array([0, 0, 1, 4, 3, 1])), "slot 3 reads slot a=4"),
        (dict(b=np.array([0, 0, 0, -1, 0, 2])), "slot 3 reads slot b=-1"),
        (dict(b=np.array([0, 0, 0, 2, 1, 2])), "unary op"),
        (dict(c=np.zeros(5)), "'c' has length 5"),
        (dict(op=np.array([1, 1, 1, 5, 26, 46])), "slot 0"),
        (dict(inputs=np.array([1, 9])), "inputs must be slots"),
        (dict(inputs=np.array([1, 3])), "INPUT ops sit at"),
        (dict(a=np.array([0, 1, 0, 1, 3, 1])), "must have a == j"),
        (dict(outputs=np.array([6])), "outputs must be slots"),
        (dict(outputs=np.array([], dtype=np.int32)), "at least one output"),
        (dict(guards=np.array([4])), "guard 0 is slot 4, a SIN op"),
        (dict(guards=np.array([9])), "guards must be slots"),
        (dict(guards=np.array([5, 5])), "increasing slot order"),
        (dict(c=np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.5])), "outcome 0.0 or 1.0"),
        (dict(a=np.array([0.0, 0, 1, 1, 3, 1])), "must hold int32"),
        (dict(op=np.array([[0, 1, 1, 5, 26, 46]])), "1-D"),
    ],
)
def test_from_arrays_rejects_inconsistent_tapes(changes, pattern):
    with pytest.raises(ValueError, match=pattern):
        ad.Tape.from_arrays(_arrays(**changes))


def test_from_arrays_rejects_other_types():
    with pytest.raises(TypeError, match="TapeArrays"):
        ad.Tape.from_arrays((np.zeros(1),) * 8)
    with pytest.raises(ValueError, match="scalar tape has one output"):
        ad.Tape.from_arrays(_arrays(outputs=np.array([3, 4])), scalar_output=True)


def test_check_grads_catches_a_wrong_derivative():
    check_grads(lambda x: np.sin(x[0]) * x[1] ** 3, np.array([0.4, 1.2]))
    # a kink inside the difference stencil: the check must notice the disagreement
    with pytest.raises(AssertionError, match="central difference"):
        check_grads(lambda x: abs(x[0]), np.array([1e-9]), n_directions=1)
