"""pytest-benchmark suite: numba_ad against the plain @njit floor on the scale problems.

One benchmark group per case, holding "floor" (the plain @njit value) and "numba_ad" (the
gradient, called from Python):

  P1     array-style chained Rosenbrock, tape.gradient(x)        n = 100000 (quick: 1000)
  P2     array-style sin/exp/cos/log chain, tape.gradient(x)     n = 100000 (quick: 1000)
  GMM    ADBench's GMM objective d=2 K=5 n=1000 (gmm.py)         the same in quick mode
  GMM-big  the same at d=10 K=25 n=10000                        not in quick mode
  P4     P2 at n=10, gradients at N points, tape.gradient_many   N = 100000 (quick: 1000)

and "numba_ad compiled": the same gradient through tape.compile() (skipped where the tape is
not compilable).

When the benchmarks run (not under --benchmark-disable), the numba_ad benchmark also stores in
extra_info a paired ratio to the floor (floor, numba_ad, floor, ... in batches of ~10 ms, each
numba_ad batch divided by the geometric mean of the floors around it: the machine is shared and
absolute times drift) and the target for that ratio. Timings are never asserted; each
benchmark checks its gradient (hand-written gradients for P1, P2, P4; central differences of
the floor for GMM). Needs no peer library: benchmarks/peers.py compares with JAX and others.
"""

import functools
import time
from statistics import median

import numpy as np
import pytest
from ad_bench_problems import PROBLEMS, p2_floor_many, points, quick_mode
from gmm import gmm_floor, gmm_numpy, make_data
from numba import njit

import numba_ad as ad

QUICK = quick_mode()
BIG = 1000 if QUICK else 100_000
CASES = {"P1": BIG, "P2": BIG, "GMM": 1000, "P4": BIG}  # n, or N for P4
if not QUICK:  # 34 million recorded ops (about 4 GB while differentiating), half a minute of compile
    CASES["GMM-big"] = 10_000
GMM_SIZES = {"GMM": (2, 5), "GMM-big": (10, 25)}  # (d, K)
TARGETS = {"P1": 3.0, "P2": 1.5, "GMM": 2.0, "GMM-big": 3.0, "P4": 0.7}  # numba_ad gradient / floor
RTOL = 1e-10


def p1_array(x):
    return np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def p2_array(x):
    q = 1 + x[:-1] ** 2
    return np.sum(np.sin(x[:-1]) * np.exp(np.cos(x[1:])) / q + np.log(q))


_p2_value_and_grad = PROBLEMS["P2"].value_and_grad


@njit
def p2_gradient_many_hand(X, G):
    for i in range(X.shape[0]):
        _p2_value_and_grad(X[i], G[i])


def _optimized(tape):
    return tape.optimize()


class Setup:
    """floor(): the value, timed; gradient(): numba_ad's gradient, timed; compiled(): the same
    through tape.compile() (NotCompilable's message instead when the tape is not compilable);
    check: what they must give."""

    def __init__(self, floor, gradient, check, compiled=None):
        self.floor, self.gradient, self.check, self.compiled = floor, gradient, check, compiled


def _compiled(tape, call):
    try:
        compiled = tape.compile()
    except ad.NotCompilable as error:
        return str(error)  # why, for the skip
    return lambda: call(compiled)


@functools.cache
def setup(name):
    size = CASES[name]
    if name in ("P1", "P2"):
        x_rec, x = points(size)
        tape = _optimized(ad.trace(p1_array if name == "P1" else p2_array, x_rec))
        g_hand = np.empty(size)
        PROBLEMS[name].value_and_grad(x, g_hand)
        floor = PROBLEMS[name].floor
        return Setup(
            lambda: floor(x),
            lambda: tape.gradient(x),
            lambda g: np.testing.assert_allclose(g, g_hand, rtol=RTOL, atol=RTOL),
            _compiled(tape, lambda c: c.gradient(x)),
        )
    if name in GMM_SIZES:
        D = make_data(*GMM_SIZES[name], size)
        tape = _optimized(ad.trace(lambda p: gmm_numpy(p, D.x, D.K, D.d), D.p_rec))
        v = np.random.default_rng(5).normal(size=D.p_rep.shape[0])
        h = 1e-6
        fd = (gmm_floor(D.p_rep + h * v, D.x, D.K, D.d) - gmm_floor(D.p_rep - h * v, D.x, D.K, D.d)) / (2 * h)
        return Setup(
            lambda: gmm_floor(D.p_rep, D.x, D.K, D.d),
            lambda: tape.gradient(D.p_rep),
            lambda g: np.testing.assert_allclose(g @ v, fd, rtol=1e-6),
            _compiled(tape, lambda c: c.gradient(D.p_rep)),
        )
    X = np.random.default_rng([20240613, 10, size]).uniform(-1.0, 1.0, (size, 10))
    tape = _optimized(ad.trace(p2_array, X[0] * 0.5))
    gradient_many, out, G_hand = tape.gradient_many, np.empty(size), np.empty_like(X)
    p2_gradient_many_hand(X, G_hand)
    return Setup(
        lambda: p2_floor_many(X, out),
        lambda: gradient_many(X),
        lambda G: np.testing.assert_allclose(G, G_hand, rtol=RTOL, atol=RTOL),
        _compiled(tape, lambda c: c.gradient_many(X)),
    )


def _batch_time(fn, k):
    t0 = time.perf_counter()
    for _ in range(k):
        fn()
    return (time.perf_counter() - t0) / k


def paired_ratio(floor, candidate, rounds=7, batch_s=0.01):
    """Median over rounds of candidate time / geometric mean of the floor times around it."""
    k_floor = max(1, int(batch_s / max(_batch_time(floor, 3), 1e-9)))
    k_cand = max(1, int(batch_s / max(_batch_time(candidate, 1), 1e-9)))
    before, ratios = _batch_time(floor, k_floor), []
    for _ in range(rounds):
        t = _batch_time(candidate, k_cand)
        after = _batch_time(floor, k_floor)
        ratios.append(t / (before * after) ** 0.5)
        before = after
    return median(ratios)


def _info(benchmark, name, kind):
    benchmark.group = f"scale {name} {'N' if name == 'P4' else 'n'}={CASES[name]}"
    benchmark.extra_info.update(problem=name, size=CASES[name], kind=kind, quick=QUICK)


def _ran(benchmark):
    stats = getattr(benchmark, "stats", None)
    return stats is not None and getattr(stats, "stats", None) is not None


@pytest.mark.parametrize("name", list(CASES))
def test_scale_floor(benchmark, name):
    s = setup(name)
    s.floor()  # compile
    _info(benchmark, name, "floor")
    benchmark(s.floor)


def _measure(benchmark, name, kind, gradient):
    """Check, time and (when timing) store the paired ratio to the floor of one gradient call."""
    s = setup(name)
    s.check(gradient())  # compiles, and checks before anything is timed
    s.floor()
    _info(benchmark, name, kind)
    s.check(benchmark(gradient))
    if _ran(benchmark):
        ratio = paired_ratio(s.floor, gradient)
        benchmark.extra_info.update(ratio_to_floor=ratio, target=TARGETS[name], meets_target=ratio <= TARGETS[name])


@pytest.mark.parametrize("name", list(CASES))
def test_scale_numba_ad(benchmark, name):
    _measure(benchmark, name, "numba_ad gradient", setup(name).gradient)


@pytest.mark.parametrize("name", list(CASES))
def test_scale_numba_ad_compiled(benchmark, name):
    if isinstance(setup(name).compiled, str):
        pytest.skip(f"{name}'s tape is not compilable: {setup(name).compiled}")
    _measure(benchmark, name, "numba_ad compiled gradient", setup(name).compiled)
