"""pytest-benchmark suite for numba_ad.nb: the gradient called from users' @njit code.

For P1 (chained Rosenbrock) and P2 (sin/exp/cos/log chain) at each size n, the group
"<problem> n=<n> in @njit" holds:

  njit_hand_gradient  an @njit loop calling the hand-written value_and_grad R times
  njit_tape_gradient  an @njit loop calling nb.value_and_gradient_into R times (no dispatch)
  python_nb_gradient  nb.value_and_gradient_into called once from Python (dispatch included)

Each benchmark stores ns per call in extra_info; njit_tape_gradient also stores
``ratio_to_hand``, the median over rounds of tape batch / geometric mean of the hand batches
timed just before and after it (the machine is shared and noisy: a ratio of paired batches
is steadier than a ratio of two medians taken minutes apart). Timings are never asserted.

NUMBA_AD_BENCH_QUICK=1 restricts n to 10 and 1000. ``python benchmarks/bench_nb.py`` prints
the ratios without pytest.
"""

import functools
import math
import time
from statistics import median

import numpy as np
import pytest
from ad_bench_problems import PROBLEMS, p1_value_and_grad, p2_value_and_grad, points, quick_mode, sizes
from numba import njit

import numba_ad as ad
from numba_ad import nb

SIZES = sizes()
CASES = [(name, n) for name in PROBLEMS for n in SIZES]
IDS = [f"{name}-n{n}" for name, n in CASES]
# Calls per @njit batch: a batch lasts a few ms (the tape's gradient is ~25 ns per term of P1).
REPEATS = {10: 20_000, 1000: 200, 100_000: 2}


@njit
def tape_loop(tape, work, x, g, R):
    s = 0.0
    for _ in range(R):
        s += nb.value_and_gradient_into(tape, work, x, g)
    return s


@njit
def p1_hand_loop(x, g, R):
    s = 0.0
    for _ in range(R):
        s += p1_value_and_grad(x, g)
    return s


@njit
def p2_hand_loop(x, g, R):
    s = 0.0
    for _ in range(R):
        s += p2_value_and_grad(x, g)
    return s


HAND_LOOPS = {"P1": p1_hand_loop, "P2": p2_hand_loop}


@functools.cache
def recorded(name, n):
    """(tape arrays, workspace, x_rep), traced at x_rec once per session."""
    x_rec, x_rep = points(n)
    tape = ad.trace(PROBLEMS[name].traced, x_rec)
    return tape.arrays, tape.workspace(), x_rep


def paired_ratio(name, n, rounds=15):
    """Median over rounds of (tape batch) / sqrt(hand batch before * hand batch after)."""
    arrays, work, x = recorded(name, n)
    hand_loop = HAND_LOOPS[name]
    g_tape, g_hand, R = np.empty(n), np.empty(n), REPEATS[n]
    tape_loop(arrays, work, x, g_tape, 1)
    hand_loop(x, g_hand, 1)
    ratios = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        hand_loop(x, g_hand, R)
        t1 = time.perf_counter()
        tape_loop(arrays, work, x, g_tape, R)
        t2 = time.perf_counter()
        hand_loop(x, g_hand, R)
        t3 = time.perf_counter()
        ratios.append((t2 - t1) / math.sqrt((t1 - t0) * (t3 - t2)))
    np.testing.assert_allclose(g_tape, g_hand, rtol=1e-10)
    return median(ratios)


def _info(benchmark, name, n, kind):
    benchmark.group = f"{name} n={n} in @njit"
    benchmark.extra_info.update(problem=name, n=n, kind=kind, quick=quick_mode())


def _per_call_ns(benchmark, calls):
    """Median ns per kernel call, once the benchmark has run (None when disabled)."""
    stats = getattr(benchmark, "stats", None)
    if stats is None or getattr(stats, "stats", None) is None:
        return None
    ns = stats.stats.median / calls * 1e9
    benchmark.extra_info["ns_per_call"] = ns
    return ns


@pytest.mark.parametrize("name,n", CASES, ids=IDS)
def test_njit_hand_gradient(benchmark, name, n):
    _, _, x = recorded(name, n)
    g = np.empty(n)
    hand_loop = HAND_LOOPS[name]
    hand_loop(x, g, 1)  # compile
    _info(benchmark, name, n, "njit_hand_gradient")
    s = benchmark(hand_loop, x, g, REPEATS[n])
    _per_call_ns(benchmark, REPEATS[n])
    assert s == pytest.approx(REPEATS[n] * PROBLEMS[name].value_and_grad(x, np.empty(n)), rel=1e-12)


@pytest.mark.parametrize("name,n", CASES, ids=IDS)
def test_njit_tape_gradient(benchmark, name, n):
    arrays, work, x = recorded(name, n)
    g, g_hand = np.empty(n), np.empty(n)
    tape_loop(arrays, work, x, g, 1)  # compile
    _info(benchmark, name, n, "njit_tape_gradient")
    s = benchmark(tape_loop, arrays, work, x, g, REPEATS[n])
    value = PROBLEMS[name].value_and_grad(x, g_hand)
    assert s == pytest.approx(REPEATS[n] * value, rel=1e-12)
    np.testing.assert_allclose(g, g_hand, rtol=1e-10)
    if _per_call_ns(benchmark, REPEATS[n]) is not None:
        benchmark.extra_info["ratio_to_hand"] = paired_ratio(name, n)


@pytest.mark.parametrize("name,n", CASES, ids=IDS)
def test_python_nb_gradient(benchmark, name, n):
    arrays, work, x = recorded(name, n)
    g = np.empty(n)
    nb.value_and_gradient_into(arrays, work, x, g)  # compile
    _info(benchmark, name, n, "python_nb_gradient")
    value = benchmark(nb.value_and_gradient_into, arrays, work, x, g)
    _per_call_ns(benchmark, 1)
    assert value == pytest.approx(PROBLEMS[name].value_and_grad(x, np.empty(n)), rel=1e-12)


def python_call_ns(name, n, calls=2000):
    """ns per nb.value_and_gradient_into call from Python (dispatch and unboxing included)."""
    arrays, work, x = recorded(name, n)
    g = np.empty(n)
    calls = max(1, calls * 10 // n)
    best = math.inf
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(calls):
            nb.value_and_gradient_into(arrays, work, x, g)
        best = min(best, (time.perf_counter() - t0) / calls)
    return best * 1e9


def njit_call_ns(name, n, repeats=5):
    """(ns per call in an @njit loop: tape, hand), best of `repeats` batches."""
    arrays, work, x = recorded(name, n)
    g, R, hand_loop = np.empty(n), REPEATS[n], HAND_LOOPS[name]
    out = []
    for run in (lambda: tape_loop(arrays, work, x, g, R), lambda: hand_loop(x, g, R)):
        run()
        best = math.inf
        for _ in range(repeats):
            t0 = time.perf_counter()
            run()
            best = min(best, time.perf_counter() - t0)
        out.append(best / R * 1e9)
    return out


if __name__ == "__main__":
    for name, n in CASES:
        tape_ns, hand_ns = njit_call_ns(name, n)
        print(
            f"{name} n={n:>6}: nb.value_and_gradient_into in @njit {tape_ns:12.1f} ns/call, "
            f"hand-written {hand_ns:10.1f} ns/call, paired ratio {paired_ratio(name, n):5.2f}x; "
            f"from Python {python_call_ns(name, n):12.1f} ns/call"
        )
