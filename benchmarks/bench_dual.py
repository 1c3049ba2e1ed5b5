"""pytest-benchmark suite for Dual numbers (numba_ad.dual, numba_ad.fwd): forward mode, no tape.

Group "dual <problem> n=<n>" (P1 chained Rosenbrock, P2 sin/exp/cos/log chain):
  hand_gradient         the hand-written @njit value + gradient (the practical limit)
  fwd_gradient_kernel   fwd.gradient_kernel(floor)(x, g): n passes of the problem's own @njit
                        floor kernel on a DualArray, in one compiled loop, g preallocated
  fwd_gradient_python   fwd.gradient(floor, x): the same from the Python API (checks, allocations)

The floor kernels of ad_bench_problems.py are already generic (``s = 0.0``, ``x[i]``, float
operators, math functions), so the very source that is timed as the floor runs on Duals.
Forward mode costs n evaluations of f: n = 10 and, in full mode, n = 1000 (not 100000).

Group "dual multiply" (a Dual multiply against a float multiply):
  float_chain / dual_chain   p = p * x, N times: one dependent chain (latency-bound)
  float_dot / dual_dot       s += a[i] * b[i] over arrays of N (independent multiplies)

Each benchmark stores ``ratio`` in extra_info: its median over its baseline's (hand_gradient,
float_chain or float_dot), the baseline timed in the same test with time.perf_counter (the
shared machine drifts, so both are timed together). Timings are never asserted; every
benchmark checks its result. NUMBA_AD_BENCH_QUICK=1 keeps n = 10 only.
"""

import time

import numpy as np
import pytest
from ad_bench_problems import PROBLEMS, complex_step_gradient, points, quick_mode
from numba import njit

from numba_ad import fwd
from numba_ad.dual import Dual, DualArray

SIZES = (10,) if quick_mode() else (10, 1000)
CASES = [(name, n) for name in PROBLEMS for n in SIZES]
IDS = [f"{name}-n{n}" for name, n in CASES]
N_MULTIPLY = 100_000


def _median_seconds(fn, *args, rounds=15):
    """Median time of one fn(*args), from rounds of batches sized to about 2 ms."""
    fn(*args)
    batch = 1
    while True:
        start = time.perf_counter()
        for _ in range(batch):
            fn(*args)
        if time.perf_counter() - start > 2e-3 or batch >= 1 << 20:
            break
        batch *= 2
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(batch):
            fn(*args)
        times.append((time.perf_counter() - start) / batch)
    return float(np.median(times))


def _ratio(benchmark, baseline_fn, *args):
    """Store the benchmark's median over the baseline's (not when benchmarks are disabled)."""
    stats = getattr(benchmark, "stats", None)
    if stats is None or getattr(stats, "stats", None) is None:
        return
    base = _median_seconds(baseline_fn, *args)
    benchmark.extra_info.update(baseline_ns=base * 1e9, ratio=stats.stats.median / base)


def _hand(name, n):
    _, x = points(n)
    g = np.empty(n)
    value = PROBLEMS[name].value_and_grad(x, g)
    return x, value, g


# ---------------------------------------------------------------------------------------
# Forward gradients of the benchmark problems
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name,n", CASES, ids=IDS)
def test_hand_gradient(benchmark, name, n):
    x, value, g_ref = _hand(name, n)
    g = np.empty(n)
    benchmark.group = f"dual {name} n={n}"
    benchmark.extra_info.update(problem=name, n=n, kind="hand_gradient", quick=quick_mode())
    assert benchmark(PROBLEMS[name].value_and_grad, x, g) == value
    np.testing.assert_array_equal(g, g_ref)


@pytest.mark.parametrize("name,n", CASES, ids=IDS)
def test_fwd_gradient_kernel(benchmark, name, n):
    problem = PROBLEMS[name]
    x, value, g_ref = _hand(name, n)
    kernel = fwd.gradient_kernel(problem.floor)
    g = np.empty(n)
    kernel(x, g)  # compile
    benchmark.group = f"dual {name} n={n}"
    benchmark.extra_info.update(problem=name, n=n, kind="fwd_gradient_kernel", quick=quick_mode())
    result = benchmark(kernel, x, g)
    _ratio(benchmark, problem.value_and_grad, x, np.empty(n))
    np.testing.assert_allclose(result, value, rtol=1e-12)
    np.testing.assert_allclose(g, g_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(g, complex_step_gradient(problem.reference, x), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name,n", CASES, ids=IDS)
def test_fwd_gradient_python(benchmark, name, n):
    problem = PROBLEMS[name]
    x, _, g_ref = _hand(name, n)
    fwd.gradient(problem.floor, x)  # compile
    benchmark.group = f"dual {name} n={n}"
    benchmark.extra_info.update(problem=name, n=n, kind="fwd_gradient_python", quick=quick_mode())
    g = benchmark(fwd.gradient, problem.floor, x)
    _ratio(benchmark, problem.value_and_grad, x, np.empty(n))
    np.testing.assert_allclose(g, g_ref, rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------------------------------
# One Dual multiply against one float multiply
# ---------------------------------------------------------------------------------------
@njit(cache=True)
def _chain(x, n):
    p = x * 0.0 + 1.0  # 1.0, or Dual(1, 0): the same source for both
    for _ in range(n):
        p = p * x
    return p


@njit(cache=True)
def _dot(a, b):
    s = 0.0
    for i in range(a.shape[0]):
        s += a[i] * b[i]
    return s


def _multiply_operands(kind):
    rng = np.random.default_rng(7)
    a, b = rng.uniform(0.5, 1.5, N_MULTIPLY), rng.uniform(0.5, 1.5, N_MULTIPLY)
    x = 1.0 + 1e-7
    if kind.startswith("dual"):
        return Dual(x, 1.0), DualArray(a, np.ones(N_MULTIPLY)), DualArray(b, np.zeros(N_MULTIPLY))
    return x, a, b


@pytest.mark.parametrize("kind", ["float_chain", "dual_chain", "float_dot", "dual_dot"])
def test_multiply(benchmark, kind):
    x, a, b = _multiply_operands(kind)
    benchmark.group = "dual multiply"
    benchmark.extra_info.update(kind=kind, n_multiplies=N_MULTIPLY, quick=quick_mode())
    if kind.endswith("chain"):
        result = benchmark(_chain, x, N_MULTIPLY)
        expected = x.value**N_MULTIPLY if kind == "dual_chain" else x**N_MULTIPLY
        baseline, base_args = _chain, (1.0 + 1e-7, N_MULTIPLY)
    else:
        result = benchmark(_dot, a, b)
        expected = float(np.sum(np.asarray(getattr(a, "value", a)) * getattr(b, "value", b)))
        baseline, base_args = _dot, _multiply_operands("float_dot")[1:]
    if kind.startswith("dual"):
        _ratio(benchmark, baseline, *base_args)
        # d/dx x^N = N x^(N-1); d/da sum a_i b_i along (1, ..., 1) = sum b_i
        deriv = N_MULTIPLY * x.value ** (N_MULTIPLY - 1) if kind == "dual_chain" else float(np.sum(b.value))
        assert result.deriv == pytest.approx(deriv, rel=1e-9)
        result = result.value
    stats = getattr(benchmark, "stats", None)
    if stats is not None and getattr(stats, "stats", None) is not None:
        benchmark.extra_info["ns_per_multiply"] = stats.stats.median / N_MULTIPLY * 1e9
    assert result == pytest.approx(expected, rel=1e-9)
