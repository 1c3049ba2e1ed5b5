"""Branches are never silently wrong: guards, BranchChangedError, and the wrappers' retrace."""

import math

import numpy as np
import pytest

import numba_ad as ad

THIS_FILE = __file__


def piecewise(x):
    if x[0] > 0.5:  # the guard's line: see test_branch_change_is_detected_and_described
        return x[0] ** 2 * x[1]
    return np.sin(x[0]) + x[1]


def piecewise_plain_gradient(x):
    if x[0] > 0.5:
        return np.array([2 * x[0] * x[1], x[0] ** 2])
    return np.array([np.cos(x[0]), 1.0])


def test_replay_on_the_recorded_branch():
    tape = ad.trace(piecewise, np.array([0.9, 2.0]))
    assert tape.n_guards == 1
    for x in ([0.6, 1.0], [3.0, -2.0]):
        x = np.array(x)
        assert tape.eval(x) == pytest.approx(piecewise(x), rel=1e-15)
        np.testing.assert_allclose(tape.gradient(x), piecewise_plain_gradient(x), rtol=1e-15)


def test_branch_change_is_detected_and_described():
    tape = ad.trace(piecewise, np.array([0.9, 2.0]))
    for method in ("eval", "gradient", "value_and_gradient"):
        with pytest.raises(ad.BranchChangedError) as info:
            getattr(tape, method)(np.array([0.2, 2.0]))
        err = info.value
        assert err.guard == 0
        assert err.comparison == "x[0] > 0.5"
        line = piecewise.__code__.co_firstlineno + 1
        assert err.location == f"{THIS_FILE}:{line}"
        assert "x[0] > 0.5" in str(err) and err.location in str(err)
    for call in (lambda x: tape.jvp(x, np.ones(2)), lambda x: tape.vjp(x, 1.0), tape.jacobian):
        with pytest.raises(ad.BranchChangedError):
            call(np.array([0.2, 2.0]))
    assert isinstance(ad.BranchChangedError(0, "a", "b", True), ValueError)


def test_grad_wrapper_retraces_on_branch_change():
    g = ad.grad(piecewise)
    rng = np.random.default_rng(0)
    for _ in range(20):
        x = rng.uniform(-1, 2, 2)
        np.testing.assert_allclose(g(x), piecewise_plain_gradient(x), rtol=1e-14)
    assert 2 <= g.n_traces <= 20


def newton_sqrt(x):
    # A while loop whose trip count depends on x: each iteration's test is a guard.
    a = x[0]
    y = a
    while abs(y * y - a) > 1e-12 * a:
        y = 0.5 * (y + a / y)
    return y


def test_while_loop_trip_count_is_guarded():
    tape = ad.trace(newton_sqrt, np.array([2.0]))
    assert tape.n_guards >= 3
    near = np.array([2.0 + 1e-9])  # same trip count: replays, derivative 1/(2 sqrt a)
    assert tape.eval(near) == pytest.approx(math.sqrt(near[0]), rel=1e-12)
    assert tape.gradient(near)[0] == pytest.approx(0.5 / math.sqrt(near[0]), rel=1e-9)
    with pytest.raises(ad.BranchChangedError):
        tape.eval(np.array([400.0]))  # needs more iterations
    g = ad.grad(newton_sqrt)
    for a in (2.0, 400.0, 0.01, 2.0):
        assert g(np.array([a]))[0] == pytest.approx(0.5 / math.sqrt(a), rel=1e-9)


def test_kinks_as_ops_need_no_guard():
    tape = ad.trace(lambda x: abs(x[0]) + np.maximum(x[1], 0.0) + np.floor(x[2]), np.array([1.0, 1.0, 1.5]))
    assert tape.n_guards == 0
    x = np.array([-2.0, -1.0, -0.5])
    assert tape.eval(x) == 2.0 + 0.0 - 1.0
    np.testing.assert_array_equal(tape.gradient(x), [-1.0, 0.0, 0.0])


def test_python_max_and_bool_record_guards():
    tape = ad.trace(lambda x: max(x[0], x[1]), np.array([1.0, 2.0]))
    assert tape.n_guards == 1
    assert tape.eval(np.array([0.0, 5.0])) == 5.0
    with pytest.raises(ad.BranchChangedError):
        tape.eval(np.array([5.0, 0.0]))

    def truthy(x):
        return x[1] * 2 if x[0] else x[1]

    tape = ad.trace(truthy, np.array([1.0, 3.0]))
    assert tape.eval(np.array([-4.0, 3.0])) == 6.0
    with pytest.raises(ad.BranchChangedError, match="!="):
        tape.eval(np.array([0.0, 3.0]))


@pytest.mark.parametrize("symbol", ["<", "<=", ">", ">=", "==", "!="])
def test_every_comparison_guards_both_outcomes(symbol):
    compare = {
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
        "==": lambda a, b: a == b,
        "!=": lambda a, b: a != b,
    }[symbol]

    def f(x):
        return x[0] * 2.0 if compare(x[0], x[1]) else x[0] * 3.0

    for x0 in ([1.0, 2.0], [2.0, 2.0], [3.0, 2.0]):
        tape = ad.trace(f, np.array(x0))
        for x1 in ([1.0, 2.0], [2.0, 2.0], [3.0, 2.0]):
            same_branch = compare(*x1) == compare(*x0)
            if same_branch:
                assert tape.eval(np.array(x1)) == f(np.array(x1))
            else:
                with pytest.raises(ad.BranchChangedError) as info:
                    tape.eval(np.array(x1))
                assert symbol in info.value.comparison


def test_comparisons_used_as_numbers_are_guarded():
    tape = ad.trace(lambda x: (x[0] > 0) * x[1] + sum(xi > 1 for xi in x), np.array([1.0, 2.0]))
    assert tape.eval(np.array([0.5, 3.0])) == 3.0 + 1
    with pytest.raises(ad.BranchChangedError):
        tape.eval(np.array([-0.5, 3.0]))


def test_tape_from_arrays_still_describes_its_guards():
    tape = ad.Tape.from_arrays(ad.trace(piecewise, np.array([0.9, 2.0])).arrays)
    with pytest.raises(ad.BranchChangedError) as info:
        tape.eval(np.array([0.1, 1.0]))
    assert info.value.comparison == "0.5 < x[0]"
    assert "unknown" in info.value.location
