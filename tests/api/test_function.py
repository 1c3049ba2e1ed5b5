"""ad.function: the multi-tape cache (keys, LRU eviction, policies, stats), check and margins."""

import warnings

import numpy as np
import pytest

import numba_ad as ad


def sign_times(x):
    s = 1.0 if x[0] > 0 else -1.0
    return s * x[1] ** 2 + x[0]


POS, NEG = np.array([0.5, 3.0]), np.array([-0.5, 3.0])


def test_stats_count_calls_replays_switches_and_traces():
    fn = ad.function(sign_times)
    assert fn.stats() == dict(calls=0, replays=0, switches=0, traces=0, evictions=0, optimized=0, tapes=0, max_tapes=64)
    assert fn(POS) == pytest.approx(9.5)
    assert fn(NEG) == pytest.approx(-9.5)
    np.testing.assert_allclose(fn.gradient(POS), [1.0, 6.0])  # served by the older tape: a switch
    np.testing.assert_allclose(fn.gradient(POS), [1.0, 6.0])
    np.testing.assert_allclose(fn.gradient(NEG), [1.0, -6.0])
    assert fn.stats() == dict(calls=5, replays=3, switches=2, traces=2, evictions=0, optimized=0, tapes=2, max_tapes=64)
    assert fn.tape.check(NEG) is None and fn.tapes[1].check(POS) is None


def test_every_request_goes_through_the_cache():
    fn = ad.function(lambda x: [ad.where(x[0] > 0, x[0], 0.0) * x[1], abs(x[1])])
    x = np.array([1.0, -2.0])
    J = fn.jacobian(x)
    np.testing.assert_allclose(J, [[-2.0, 1.0], [0.0, -1.0]])
    np.testing.assert_allclose(fn.jacobian(x, mode="reverse"), J)
    np.testing.assert_allclose(fn.jvp(x, np.array([1.0, 1.0])), J @ [1.0, 1.0])
    np.testing.assert_allclose(fn.vjp(x, np.array([1.0, 2.0])), np.array([1.0, 2.0]) @ J)
    np.testing.assert_allclose(fn.jacobian(-x), [[0.0, 0.0], [0.0, 1.0]])
    assert fn.stats()["traces"] == 1 and fn.stats()["calls"] == 5  # where and abs need no guard


def test_lru_eviction_keeps_at_most_max_tapes():
    def steps(x):
        k = 0
        while x[0] > k:
            k += 1
        return k * x[0]

    fn = ad.function(steps, max_tapes=3)
    for x0 in [0.5, 1.5, 2.5, 0.7, 3.5]:  # pieces 1, 2, 3, 1 (a replay), 4 (evicts piece 2)
        assert fn(np.array([x0])) == pytest.approx(np.ceil(x0) * x0)
    s = fn.stats()
    assert (s["tapes"], s["traces"], s["evictions"], s["replays"]) == (3, 4, 1, 1)
    fn(np.array([1.2]))  # piece 2 was evicted: traced again
    assert fn.stats()["traces"] == 5
    fn(np.array([0.2]))  # piece 1 was used recently, it survived
    assert fn.stats()["traces"] == 5


def test_raise_policy_keeps_one_tape_and_raises_with_the_guard():
    fn = ad.function(sign_times, on_branch_change="raise")
    fn(POS)
    with pytest.raises(ad.BranchChangedError) as info:
        fn.gradient(NEG)
    assert info.value.guard == 0 and "x[0]" in info.value.comparison and "test_function.py" in info.value.location
    assert fn.stats()["traces"] == 1
    fn(np.array([0.5, 1.0, 2.0]))  # another input size is a first call: traced
    assert fn.stats()["traces"] == 2


def test_warn_policy_warns_on_a_retrace_only():
    fn = ad.function(sign_times, on_branch_change="warn")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fn(POS)  # the first trace is no branch change
    with pytest.warns(ad.BranchChangedWarning, match=r"x\[0\]"):
        fn(NEG)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fn(POS)  # a cached tape serves it: no warning
    assert fn.stats()["traces"] == 2


def test_params_sizes_and_tape_at():
    fn = ad.function(lambda x, p: p[0] * x[0] if x[0] > p[1] else x[0] ** 2)
    assert fn(np.array([2.0]), np.array([3.0, 1.0])) == 6.0
    assert fn(np.array([0.5]), np.array([3.0, 1.0])) == 0.25
    assert fn(np.array([0.5]), np.array([3.0, 0.0])) == 1.5  # a parameter moves the branch
    assert fn.stats()["traces"] == 2
    tape = fn.tape_at(np.array([5.0]), np.array([1.0, 0.0]))
    assert tape.check(np.array([5.0]), np.array([1.0, 0.0])) is None


def test_wrappers_expose_the_cache():
    g = ad.grad(sign_times)
    g(POS), g(NEG), g(POS)
    assert g.stats()["traces"] == 2 and g.stats()["switches"] == 1 and g.n_traces == 2
    assert isinstance(g.function, ad.Function)
    vg = ad.value_and_grad(sign_times, max_tapes=1)
    vg(POS), vg(NEG), vg(POS)
    assert vg.stats()["traces"] == 3 and vg.stats()["evictions"] == 2


@pytest.mark.parametrize(
    "kwargs, error, pattern",
    [
        (dict(max_tapes=0), ValueError, "max_tapes"),
        (dict(max_tapes=2.5), ValueError, "max_tapes"),
        (dict(on_branch_change="ignore"), ValueError, "on_branch_change"),
    ],
)
def test_bad_options(kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        ad.function(sign_times, **kwargs)


def test_bad_calls():
    with pytest.raises(TypeError, match="callable"):
        ad.function(3.0)
    fn = ad.function(sign_times)
    with pytest.raises(TypeError, match="complex"):
        fn(np.ones(2, dtype=complex))
    with pytest.raises(TypeError, match="3 were given"):  # f's own error, from its first call
        fn(POS, POS, POS)
    with pytest.raises(ValueError, match="mode"):
        ad.jacobian(sign_times, mode="sideways")
    assert "Function sign_times" in repr(fn)


# -- check and margins -------------------------------------------------------------------------
def three_guards(x):
    y = x[0] * x[1]
    if y > 0.5:  # guard 0: y - 0.5
        y = y - 1
    if x[1] <= x[0]:  # guard 1: x1 - x0
        y = y * 2
    if x[0] == 1.0:  # guard 2: x0 - 1
        y = y + 3
    return y


def test_margins_are_lhs_minus_rhs_as_written():
    tape = ad.trace(three_guards, np.array([2.0, 1.0]))
    x = np.array([0.3, 0.9])
    np.testing.assert_allclose(tape.margins(x), [0.27 - 0.5, 0.9 - 0.3, 0.3 - 1.0])
    from_arrays = ad.Tape.from_arrays(tape.arrays)  # no recorded text: the comparison op's operands
    assert np.abs(from_arrays.margins(x)).tolist() == pytest.approx(np.abs(tape.margins(x)).tolist())


def test_check_agrees_with_margins_and_with_replays():
    tape = ad.trace(three_guards, np.array([2.0, 1.0]))
    recorded_sign = np.sign(tape.margins(np.array([2.0, 1.0])))  # [+, -, +]: y > .5, x1 <= x0, x0 != 1
    rng = np.random.default_rng(0)
    points = np.vstack([rng.uniform(-2, 3, (200, 2)), [[1.0, 0.5], [1.0, 1.0], [2.0, 2.0]]])
    for x in points:
        m = tape.margins(x)
        holds = [m[0] > 0, m[1] <= 0, m[2] != 0]
        expected = None if all(holds) else holds.index(False)
        assert tape.check(x) == expected, x
        if expected is None:
            assert tape.eval(x) == three_guards(x)
        else:
            with pytest.raises(ad.BranchChangedError) as info:
                tape.eval(x)
            assert info.value.guard == expected
    assert recorded_sign[0] > 0


def test_check_and_margins_validate_input_and_handle_no_guards():
    tape = ad.trace(lambda x: x[0] ** 2, np.ones(1))
    assert tape.check(np.array([5.0])) is None and tape.margins(np.array([5.0])).shape == (0,)
    with pytest.raises(ValueError, match="shape"):
        tape.check(np.ones(3))
