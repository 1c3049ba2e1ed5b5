"""eval_many, value_and_gradient_many, gradient_many, jacobian_many and check_many.

The reference is the same tape evaluated point by point (eval, gradient, jacobian), itself
tested against finite differences in test_corpus.py: the batched sweeps do the same
arithmetic lane by lane, so they must agree exactly. Tapes are recorded at x0 and the
batches drawn elsewhere in the domain.
"""

import numpy as np
import pytest

import numba_ad as ad  # noqa: E402
from tests._support.branchy import FUNCTIONS as BRANCHY  # noqa: E402
from tests._support.corpus import CASES  # noqa: E402
from tests._support.corpus_checks import points, tape_of  # noqa: E402

N_POINTS = 37  # not a multiple of any block size: the last block is partial


def batch_of(case, N=N_POINTS, seed=0):
    rng = np.random.default_rng(seed)
    lo = np.broadcast_to(np.asarray(case.lo, dtype=float), (case.n,))
    hi = np.broadcast_to(np.asarray(case.hi, dtype=float), (case.n,))
    X = rng.uniform(lo, hi, (N, case.n))
    if not case.has_params:
        return X, None
    P = rng.uniform(np.asarray(case.p_lo, float), np.asarray(case.p_hi, float), (N, len(case.p0)))
    return X, P


def kw(P, i):
    return {} if P is None else {"params": P[i]}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_batched_equals_a_loop_of_single_points(case):
    tape = tape_of(case)
    X, P = batch_of(case)
    loop_values = np.array([tape.eval(x, **kw(P, i)) for i, x in enumerate(X)])
    loop_J = {
        mode: np.array([tape.jacobian(x, mode=mode, **kw(P, i)) for i, x in enumerate(X)])
        for mode in ("auto", "forward", "reverse")
    }
    for _ in range(2):  # twice: nothing carries over between calls
        np.testing.assert_array_equal(tape.eval_many(X, P), loop_values)
        for mode in ("auto", "forward", "reverse"):
            np.testing.assert_array_equal(tape.jacobian_many(X, P, mode=mode), loop_J[mode], err_msg=mode)
        if case.m is None:
            values, G = tape.value_and_gradient_many(X, P)
            np.testing.assert_array_equal(values, loop_values)
            np.testing.assert_array_equal(G, loop_J["reverse"])
            np.testing.assert_array_equal(tape.gradient_many(X, P), loop_J["reverse"])


@pytest.mark.parametrize("case", [c for c in CASES if c.has_params], ids=lambda c: c.name)
def test_shared_params_equal_per_point_params(case):
    tape = tape_of(case)
    X, _ = batch_of(case)
    p = points(case).p1
    per_point = np.tile(p, (X.shape[0], 1))
    np.testing.assert_array_equal(tape.eval_many(X, p), tape.eval_many(X, per_point))
    np.testing.assert_array_equal(tape.jacobian_many(X, p), tape.jacobian_many(X, per_point))
    np.testing.assert_array_equal(tape.eval_many(X, p), [tape.eval(x, params=p) for x in X])


@pytest.mark.parametrize("N", [0, 1, 2, 300, 1000])
def test_batch_sizes(N):
    case = next(c for c in CASES if c.name == "rosenbrock")
    tape = tape_of(case)
    X, _ = batch_of(case, N, seed=N)
    G = tape.gradient_many(X)
    assert G.shape == (N, case.n)
    for i in range(0, N, max(1, N // 7)):
        np.testing.assert_array_equal(G[i], tape.gradient(X[i]))


def test_gradient_many_matches_the_analytic_gradient():
    def f(x):
        return np.sum(np.sin(x[:-1]) * np.exp(np.cos(x[1:])))

    rng = np.random.default_rng(5)
    tape = ad.trace(f, rng.uniform(-1, 1, 6))
    X = rng.uniform(-2, 2, (50, 6))
    G = tape.gradient_many(X)
    s, c = np.sin(X), np.cos(X)
    e = np.exp(c[:, 1:])
    expected = np.zeros_like(X)
    expected[:, :-1] += c[:, :-1] * e
    expected[:, 1:] += -s[:, :-1] * e * s[:, 1:]
    np.testing.assert_allclose(G, expected, rtol=1e-13, atol=1e-14)


def test_points_off_the_branch_raise_and_check_many_names_them():
    entry = BRANCHY["piecewise_cubic"]
    tape = ad.trace(entry.f, np.array([0.2, 0.1]))
    X = np.random.default_rng(1).uniform(entry.low, entry.high, (200, entry.n))
    expected = np.array([-1 if tape.check(x) is None else tape.check(x) for x in X])
    assert (expected >= 0).any() and (expected < 0).any()
    np.testing.assert_array_equal(tape.check_many(X), expected)
    with pytest.raises(ad.BranchChangedError) as info:
        tape.gradient_many(X)
    first = int(np.argmax(expected >= 0))
    assert info.value.guard == expected[first]
    assert f"row {first} of X" in "".join(getattr(info.value, "__notes__", []))
    on_branch = X[expected < 0]
    np.testing.assert_array_equal(tape.gradient_many(on_branch), [tape.gradient(x) for x in on_branch])


@pytest.mark.parametrize(
    "call, X, params, error, match",
    [
        ("eval_many", np.zeros(3), None, ValueError, r"shape \(N, 3\)"),
        ("eval_many", np.zeros((4, 2)), None, ValueError, r"shape \(N, 3\)"),
        ("gradient_many", [["a", "b", "c"]], None, TypeError, "real numbers"),
        ("eval_many", np.zeros((4, 3)), np.zeros(2), ValueError, "without parameters"),
    ],
)
def test_bad_batches(call, X, params, error, match):
    tape = ad.trace(lambda x: x[0] * x[1] + x[2], np.ones(3))
    with pytest.raises(error, match=match):
        getattr(tape, call)(X, params)


def test_bad_params_and_vector_tapes():
    tape = ad.trace(lambda x, p: [x[0] * p[0], x[1] + p[1]], np.ones(2), params=np.ones(2))
    with pytest.raises(ValueError, match="pass params="):
        tape.eval_many(np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"\(2,\) or \(3, 2\)"):
        tape.eval_many(np.zeros((3, 2)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="jacobian_many"):
        tape.gradient_many(np.zeros((3, 2)), np.zeros(2))
    with pytest.raises(ValueError, match="mode"):
        tape.jacobian_many(np.zeros((3, 2)), np.zeros(2), mode="sideways")


def test_inputs_are_not_modified():
    tape = tape_of(CASES[0])
    X, P = batch_of(CASES[0])
    X_before = X.copy()
    tape.jacobian_many(X, P)
    np.testing.assert_array_equal(X, X_before)
