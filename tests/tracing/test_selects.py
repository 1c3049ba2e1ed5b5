"""where and clip: branch-free selects, one tape for both sides, no NaN from the side not taken."""

import numpy as np
import pytest

import numba_ad as ad
from numba_ad.testing import check_grads

BOTH_SIDES = np.array([-1.5, -0.3, 0.0, 0.4, 2.0])


def _all_modes(tape, x):
    """gradient, forward and reverse Jacobians, jvp/vjp identity: (g, consistent?)."""
    g = tape.gradient(x)
    np.testing.assert_array_equal(tape.gradient(x), g)  # twice on the same buffers
    np.testing.assert_allclose(tape.jacobian(x, mode="forward"), g, rtol=1e-14, atol=0)
    v = np.linspace(0.5, 1.5, x.shape[0])
    assert tape.jvp(x, v) == pytest.approx(g @ v, rel=1e-13, abs=1e-300)
    np.testing.assert_allclose(tape.vjp(x, 2.0), 2.0 * g, rtol=1e-14)
    return g


@pytest.mark.parametrize("where", [ad.where, np.where], ids=["ad.where", "np.where"])
def test_one_tape_serves_both_sides_with_the_taken_branch_derivative(where):
    f = lambda x: where(x[0] > 0.25, np.sin(x[0]) * x[1], x[1] ** 3 - x[0])  # noqa: E731
    tape = ad.trace(f, np.array([1.0, 2.0]))
    assert tape.n_guards == 0
    for x0 in BOTH_SIDES:
        x = np.array([x0, 0.7])
        assert tape.eval(x) == pytest.approx(np.sin(x0) * 0.7 if x0 > 0.25 else 0.7**3 - x0, rel=1e-15)
        expected = [np.cos(x0) * 0.7, np.sin(x0)] if x0 > 0.25 else [-1.0, 3 * 0.7**2]
        np.testing.assert_allclose(_all_modes(tape, x), expected, rtol=1e-14)


NAN_SIDE = {
    # f, points on both sides, the exact gradient
    "sqrt of a negative": (
        lambda x: ad.where(x[0] > 0, np.sqrt(x[0]), 0.0),
        lambda x0: 0.5 / np.sqrt(x0) if x0 > 0 else 0.0,
    ),
    "log at zero": (lambda x: ad.where(x[0] > 0, np.log(x[0]), x[0]), lambda x0: 1.0 / x0 if x0 > 0 else 1.0),
    "sin(x)/x at zero": (
        lambda x: ad.where(x[0] != 0, np.sin(x[0]) / x[0], 1.0),
        lambda x0: (x0 * np.cos(x0) - np.sin(x0)) / x0**2 if x0 != 0 else 0.0,
    ),
    "pole at one": (
        lambda x: ad.where(x[0] < 1, 1.0 / (1.0 - x[0]), x[0] ** 2),
        lambda x0: 1.0 / (1.0 - x0) ** 2 if x0 < 1 else 2 * x0,
    ),
    "overflowing exp": (
        lambda x: ad.where(x[0] < 500, np.exp(x[0]), 0.0) + x[0],
        lambda x0: (np.exp(x0) if x0 < 500 else 0.0) + 1.0,
    ),
}
NAN_POINTS = [-4.0, -1.0, 0.0, 0.5, 1.0, 3.0, 800.0]


@pytest.mark.parametrize("name", sorted(NAN_SIDE))
def test_inf_and_nan_on_the_side_not_taken_never_reach_a_derivative(name):
    f, gradient = NAN_SIDE[name]
    tape = ad.trace(f, np.array([0.5]))
    for x0 in NAN_POINTS:
        with np.errstate(all="ignore"):
            expected = gradient(x0)
        x = np.array([x0])
        g = _all_modes(tape, x)
        assert np.isfinite(tape.eval(x)) and np.isfinite(g).all(), (name, x0)
        assert g[0] == pytest.approx(expected, rel=1e-12, abs=1e-300), (name, x0)


def test_where_on_arrays_broadcasts_and_matches_numpy():
    f = lambda x: ad.where(x > 0, x**2, -x) * np.array([1.0, 2.0, 3.0])  # noqa: E731
    tape = ad.trace(f, np.array([1.0, -1.0, 1.0]))
    x = np.array([-0.5, 0.5, 2.0])
    np.testing.assert_allclose(tape.eval(x), np.where(x > 0, x**2, -x) * [1, 2, 3], rtol=1e-15)
    np.testing.assert_allclose(tape.jacobian(x), np.diag(np.where(x > 0, 2 * x, -1.0) * [1, 2, 3]), rtol=1e-15)
    np.testing.assert_allclose(tape.jacobian(x, mode="reverse"), tape.jacobian(x, mode="forward"))
    scalar_cond = ad.trace(lambda x: np.where(x[0] > 0, x, 0.0), np.ones(3))
    np.testing.assert_array_equal(scalar_cond.eval(np.array([-1.0, 2.0, 3.0])), [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(scalar_cond.eval(np.array([1.0, 2.0, 3.0])), [1.0, 2.0, 3.0])


def test_combined_conditions_need_no_guard():
    def f(x):
        inside = (x[0] > -1) & (x[0] < 1) | ~(x[1] <= 0)
        return ad.where(inside, x[0] * x[1], x[0] + x[1]) + ad.where(np.logical_xor(x[0] > 0, x[1] > 0), 1.0, 0.0)

    tape = ad.trace(f, np.array([0.5, 0.5]))
    assert tape.n_guards == 0
    rng = np.random.default_rng(1)
    for x in rng.uniform(-2, 2, (30, 2)):
        inside = (-1 < x[0] < 1) or not (x[1] <= 0)
        expected = (x[0] * x[1] if inside else x[0] + x[1]) + float((x[0] > 0) != (x[1] > 0))
        assert tape.eval(x) == pytest.approx(expected, rel=1e-15)
        np.testing.assert_allclose(tape.gradient(x), [x[1], x[0]] if inside else [1.0, 1.0])


def test_a_traced_number_as_condition_means_nonzero():
    tape = ad.trace(lambda x: ad.where(x[0] - 1.0, x[1], 2 * x[1]), np.array([3.0, 1.0]))
    assert tape.eval(np.array([1.0, 5.0])) == 10.0 and tape.eval(np.array([0.0, 5.0])) == 5.0
    assert tape.eval(np.array([np.nan, 5.0])) == 5.0, "NaN is truthy, as in np.where"


def test_where_keeps_negative_zero_and_plain_inputs_stay_numpy():
    tape = ad.trace(lambda x: ad.where(x[0] > 0, -0.0 * x[0], x[0]), np.array([1.0]))
    assert np.signbit(tape.eval(np.array([2.0])))
    out = ad.where(np.array([True, False]), np.array([1.0, 2.0]), 7.0)
    assert isinstance(out, np.ndarray) and out.tolist() == [1.0, 7.0]


@pytest.mark.parametrize("bounds", [(-0.5, 0.7), (None, 0.7), (-0.5, None)])
def test_clip_values_and_derivative_convention(bounds):
    lo, hi = bounds
    tape = ad.trace(lambda x: ad.clip(x, lo, hi), np.zeros(6))
    assert tape.n_guards == 0
    x = np.array([-2.0, -0.5, 0.1, 0.7, 3.0, np.nan])
    values = tape.eval(x)
    np.testing.assert_array_equal(
        values, np.clip(x, lo if lo is not None else -np.inf, hi if hi is not None else np.inf)
    )
    inside = np.ones(6)
    if lo is not None:
        inside[x < lo] = 0.0
    if hi is not None:
        inside[x > hi] = 0.0
    np.testing.assert_array_equal(np.diag(tape.jacobian(x[:5].tolist() + [0.0])), np.r_[inside[:5], 1.0])


def test_np_clip_and_method_and_traced_bounds():
    tape = ad.trace(lambda x: np.clip(x[:2], x[2], 1.0).sum() + x[:2].clip(0.0, None).sum(), np.array([0.5, -1.0, 0.0]))
    x = np.array([0.3, -2.0, -0.5])
    assert tape.eval(x) == pytest.approx(0.3 + -0.5 + 0.3)
    np.testing.assert_array_equal(tape.gradient(x), [2.0, 0.0, 1.0])
    check_grads(lambda x: np.sum(ad.clip(np.sin(x), -0.3, x[0])), np.array([0.2, 1.1, -0.9]))


@pytest.mark.parametrize(
    "cond, error",
    [
        (np.array([1.0, 0.0, 2.0]), TypeError),
        (2.5, TypeError),
        ("yes", TypeError),
        (np.array([True, False]), ValueError),
    ],
)
def test_bad_conditions_and_shapes_are_rejected(cond, error):
    def f(x):
        return ad.where(cond, x, 0.0).sum()

    with pytest.raises(error, match="where"):
        ad.trace(f, np.ones(3))


def test_where_needs_both_branches_and_clip_a_bound():
    with pytest.raises(TypeError, match="both branches"):
        ad.trace(lambda x: ad.where(x > 0), np.ones(2))
    with pytest.raises(ValueError, match="at least one"):
        ad.trace(lambda x: ad.clip(x, None, None).sum(), np.ones(2))


def test_returning_a_condition_says_how_to_make_it_a_number():
    with pytest.raises(TypeError, match="ad.where"):
        ad.trace(lambda x: x[0] > 0, np.ones(1))
