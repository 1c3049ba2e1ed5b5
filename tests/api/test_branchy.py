"""A suite of branchy functions through ad.function: right values and gradients on every side
of every branch, never a stale tape, and no more traces than the function has pieces."""

import numpy as np
import pytest

import numba_ad as ad
from tests._support.branchy import FUNCTIONS, piecewise_cubic, plain

N_POINTS = 40


def _points(name, count=N_POINTS, seed=7):
    spec = FUNCTIONS[name]
    rng = np.random.default_rng([seed, len(name)])
    return rng.uniform(spec.low, spec.high, (count, spec.n))


def _same_piece(fn, x, v, h):
    """True when x - h v and x + h v lie on the branch of the tape that served x (no guard
    between them), so that a central difference sees one smooth piece."""
    tape = fn.tape
    return tape.check(x + h * v) is None and tape.check(x - h * v) is None


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_values_and_gradients_match_plain_python_on_every_branch(name):
    spec = FUNCTIONS[name]
    fn = ad.function(spec.f)
    rng = np.random.default_rng(3)
    checked = 0
    for x in _points(name):
        value, g = fn.value_and_gradient(x)
        assert fn.tape.check(x) is None, "the tape that answered must hold at x: no stale tape"
        assert value == pytest.approx(plain(spec.f, x), rel=1e-12, abs=1e-14)
        np.testing.assert_allclose(fn.jacobian(x, mode="forward"), g, rtol=1e-12, atol=1e-14)
        v = rng.standard_normal(spec.n)
        h = spec.fd_step
        if not _same_piece(fn, x, v, h):
            continue  # a kink within the stencil: the difference is not a derivative
        fd = (plain(spec.f, x + h * v) - plain(spec.f, x - h * v)) / (2 * h)
        assert g @ v == pytest.approx(fd, rel=1e-5, abs=1e-6), (name, x)
        checked += 1
    assert checked >= N_POINTS // 2, "most points must be away from kinks"
    if spec.max_pieces:
        assert fn.stats()["traces"] <= spec.max_pieces


def test_every_call_is_served_by_a_valid_tape_and_counts_add_up():
    fn = ad.function(FUNCTIONS["huber"].f)
    points = _points("huber", count=200, seed=11)
    for x in points:
        fn.gradient(x)
        assert fn.tape.check(x) is None
    s = fn.stats()
    assert s["calls"] == 200 and s["calls"] == s["replays"] + s["traces"]
    assert s["tapes"] == s["traces"] <= 8
    assert s["switches"] > 0, "random points must have moved between cached tapes"


def test_three_pieces_trace_at_most_three_times_over_1000_points():
    fn = ad.function(piecewise_cubic)
    grad = ad.grad(piecewise_cubic)
    rng = np.random.default_rng(5)
    xs = np.column_stack([rng.uniform(-3.0, 3.0, 1000), rng.standard_normal(1000)])
    for x in xs:
        t = x[0]
        expected = -2.0 if t < -1 else (2 * t + x[1] if t < 1 else 2.0 + 3 * (t - 1) ** 2)
        assert fn.gradient(x)[0] == pytest.approx(expected, rel=1e-13)
        assert grad(x)[0] == pytest.approx(expected, rel=1e-13)
    assert fn.stats()["traces"] == 3 and fn.stats()["tapes"] == 3
    assert grad.stats()["traces"] == 3
    assert fn.stats()["replays"] == 997


def test_newton_sqrt_derivative_is_the_analytic_one_at_every_trip_count():
    fn = ad.function(FUNCTIONS["newton_sqrt"].f)
    for a in np.linspace(0.3, 50.0, 60):
        value, g = fn.value_and_gradient(np.array([a, 3.0]))
        assert value == pytest.approx(3.0 * np.sqrt(a), rel=1e-12)
        np.testing.assert_allclose(g, [1.5 / np.sqrt(a), np.sqrt(a)], rtol=1e-9)
    trip_counts = {t.n_guards for t in fn.tapes}
    assert len(trip_counts) >= 3, "points with other trip counts need (and get) other tapes"


def test_relu_net_with_guards_equals_the_branch_free_one():
    guarded, free = ad.function(FUNCTIONS["relu_net_if"].f), ad.function(FUNCTIONS["relu_net_maximum"].f)
    for x in _points("relu_net_if", count=100, seed=2):
        v1, g1 = guarded.value_and_gradient(x)
        v2, g2 = free.value_and_gradient(x)
        assert v1 == pytest.approx(v2, rel=1e-14, abs=1e-15)
        np.testing.assert_allclose(g1, g2, rtol=1e-14, atol=1e-15)
    assert free.stats()["traces"] == 1, "np.maximum needs no guard: one tape serves every point"
    assert guarded.stats()["traces"] > 1
