"""Python-level decisions on traced values are recorded as guards or refused, never frozen
silently (issue 20's cases): conditions compared with conditions or with True/False, hashing
(dict keys, set membership), np.array_equal, .astype of conditions, np.nan_to_num."""

import numpy as np
import pytest

import numba_ad as ad

X0 = np.array([0.5, 0.7, 1.3])
# points on both sides of every threshold used below
POINTS = [
    np.array(p) for p in ([0.5, 0.7, 1.3], [-0.5, 0.7, 1.3], [0.5, -0.7, 1.3], [-0.5, -0.7, -1.3], [0.9, 0.2, 0.1])
]


def _replays_or_raises(f, x0=X0):
    """At every point the tape either agrees with f (value and gradient) or raises."""
    tape = ad.trace(f, x0)
    fn = ad.function(f)
    for x in POINTS:
        expected_value = f(x)
        expected_grad = ad.trace(f, x).gradient(x)
        try:
            value, grad = tape.value_and_gradient(x)
        except ad.BranchChangedError:
            pass
        else:
            assert value == expected_value
            np.testing.assert_array_equal(grad, expected_grad)
        value, grad = fn.value_and_gradient(x)  # retraces where the branch changed
        assert value == expected_value
        np.testing.assert_array_equal(grad, expected_grad)


@pytest.mark.parametrize(
    "f",
    [
        lambda x: x[0] * x[1] if (x[0] > 0) == True else x[0] - x[1],  # noqa: E712 - the pattern under test
        lambda x: x[0] * x[1] if (x[0] > 0) != False else x[0] - x[1],  # noqa: E712
        lambda x: x[0] * x[1] if True == (x[1] > 0) else x[0] - x[1],  # noqa: E712
        lambda x: x[0] * x[1] if (x[0] > 0) == (x[1] > 0) else x[0] - x[1],
        lambda x: x[0] * x[1] if (x[0] > 0) != (x[1] > 0) else x[0] - x[1],
        lambda x: x[0] * x[2] if (x[0] > 0) == 1 else x[2],
        lambda x: np.sum(x) if np.array_equal(x > 0, x > 0.4) else -np.sum(x**2),
        lambda x: np.sum(x) if np.array_equal(x[:2] > 0, np.array([True, True])) else -np.sum(x**2),
    ],
)
def test_compared_conditions_decide_through_guards(f):
    _replays_or_raises(f)


def test_at_the_recording_point_the_comparison_is_what_python_computes():
    tape = ad.trace(lambda x: 1.0 * x[0] if (x[0] > x[1]) == True else 2.0 * x[0], X0)  # noqa: E712
    assert tape.eval(X0) == 2.0 * X0[0]
    with pytest.raises(ad.BranchChangedError):
        tape.eval(np.array([0.9, 0.1, 0.0]))  # (x0 > x1) is True there


@pytest.mark.parametrize(
    "f, what",
    [
        (lambda x: {True: 1.0, False: 2.0}[x[0] > 0] * x[1], "condition cannot be a dict key"),
        (lambda x: (1.0 if x[0] in {0.5, 0.7} else 2.0) * x[1], "cannot be a dict key or a set member"),
        (lambda x: {x[0]: 1.0}[x[0]] * x[1], "cannot be a dict key or a set member"),
        (lambda x: hash(x[0]) * x[1], "hash"),
    ],
)
def test_hashing_traced_values_is_refused(f, what):
    with pytest.raises(TypeError, match=what):
        ad.trace(f, X0)


def test_membership_in_a_list_compares_and_records():
    f = lambda x: (3.0 if x[0] in [0.5, 2.0] else 1.0) * x[1]  # noqa: E731 - == on each element: guards
    tape = ad.trace(f, X0)
    assert tape.eval(X0) == 3.0 * X0[1]
    with pytest.raises(ad.BranchChangedError):
        tape.eval(np.array([0.6, 0.7, 1.3]))


def test_astype_of_a_condition_is_a_select():
    f = lambda x: np.sum((x > 0.6).astype(float) * x**2) + np.sum((x < 1.0).astype(np.float32) * x)  # noqa: E731
    tape = ad.trace(f, X0)
    assert tape.n_guards == 0  # a select, not a branch: valid everywhere
    for x in POINTS:
        mask_big, mask_small = (x > 0.6).astype(float), (x < 1.0).astype(float)
        assert tape.eval(x) == pytest.approx(np.sum(mask_big * x**2) + np.sum(mask_small * x), rel=1e-15)
        np.testing.assert_allclose(tape.gradient(x), 2 * x * mask_big + mask_small, rtol=1e-15)
    cond = None

    def keep(x):
        nonlocal cond
        cond = x > 0
        return np.sum(x)

    ad.trace(keep, X0)
    assert cond.astype(bool) is cond
    with pytest.raises(TypeError, match=r"astype\(int64\)"):
        ad.trace(lambda x: np.sum((x > 0).astype(int) * x), X0)


@pytest.mark.parametrize("kwargs", [{}, {"nan": 2.0}, {"nan": -1.0, "posinf": 7.0, "neginf": -7.0}])
def test_nan_to_num_replays_as_numpy_computes(kwargs):
    def f(x):
        return np.sum(np.nan_to_num(x * np.array([1.0, np.nan, 1.0]) + np.log(np.abs(x)) * 0.0, **kwargs) * x)

    x_inf = np.array([0.5, 0.7, 1e308])
    tape = ad.trace(f, X0)
    for x in POINTS + [x_inf]:
        with np.errstate(all="ignore"):
            expected = np.sum(np.nan_to_num(x * np.array([1.0, np.nan, 1.0]) + np.log(np.abs(x)) * 0.0, **kwargs) * x)
            assert tape.eval(x) == expected
    # derivative: d/dx (nan_to_num(x_i) x_i) = 2 x_i where x_i is finite, the replacement where it is not
    g = tape.gradient(X0)
    np.testing.assert_allclose(g, [2 * X0[0], kwargs.get("nan", 0.0), 2 * X0[2]], rtol=1e-15)


def test_nan_to_num_of_a_scalar_and_bad_arguments():
    tape = ad.trace(lambda x: np.nan_to_num(x[0] / x[1], nan=3.0) * x[2], X0)
    assert tape.eval(np.array([0.0, 0.0, 2.0])) == 6.0
    with pytest.raises(TypeError, match="copy=False"):
        ad.trace(lambda x: np.sum(np.nan_to_num(x, copy=False)), X0)


@pytest.mark.parametrize("q", [0.0, 12.5, 50.0, 80.0, 100.0, [25.0, 75.0]])
def test_percentile_and_quantile_guard_the_order(q):
    x0 = np.array([0.3, 0.1, 0.2, 0.9, -0.4])

    def f(x):
        return np.sum(np.percentile(x, q)) * x[0] + np.sum(np.quantile(x, np.asarray(q) / 100.0))

    tape = ad.trace(f, x0)
    assert tape.n_guards > 0
    same_order = x0 + 0.01 * np.arange(5)
    assert tape.eval(same_order) == f(same_order)
    np.testing.assert_array_equal(tape.gradient(same_order), ad.trace(f, same_order).gradient(same_order))
    with pytest.raises(ad.BranchChangedError):
        tape.eval(np.array([0.3, 0.1, 0.95, 0.9, -0.4]))  # another order
    with pytest.raises(TypeError, match="axis=None"):
        ad.trace(lambda x: np.sum(np.percentile(x.reshape(5, 1), 50, axis=0)), x0)
