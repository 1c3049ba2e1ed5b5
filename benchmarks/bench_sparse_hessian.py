"""pytest-benchmark suite for sparse Hessians (tape.sparse_hessian).

Group "P1 sparse Hessian n=<n>": floor (the plain @njit P1, the same function) and
sparse_hessian (scipy.sparse CSR from the star colouring's Hessian-vector products; 3 colours
for P1's tridiagonal Hessian at any n). benchmark.extra_info: ratio_to_floor and colours.
The issue's targets: a banded Hessian of half-bandwidth k in at most 2k + 1 colours (main()
prints what the star colouring gets for k = 1..6 and an arrowhead), and the P1 Hessian at
n = 100000 in time linear in n (main() prints the time per n at n = 1e3, 1e4, 1e5, for the
first call (pattern + colouring) and the steady one). NUMBA_AD_BENCH_QUICK=1 keeps n = 1000.

    .venv/bin/python benchmarks/bench_sparse_hessian.py   # the figures by hand
"""

import functools
import sys
import time
import timeit

import numpy as np
import pytest
from ad_bench_problems import quick_mode
from numba import njit

import numba_ad as ad

pytest.importorskip("scipy.sparse")

SIZES = (1000,) if quick_mode() else (1000, 100_000)


def p1(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


@njit
def p1_floor(x):
    s = 0.0
    for i in range(x.shape[0] - 1):
        s += 100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1.0 - x[i]) ** 2
    return s


def banded(k):
    def f(x):
        return sum(np.sum(np.sin(x[:-d] * x[d:])) for d in range(1, k + 1)) + np.sum(x**4)

    return f


def arrowhead(x):
    return np.sum(x[0] * np.exp(0.1 * x[1:])) + np.sum(np.cos(x))


@functools.cache
def recorded(n):
    rng = np.random.default_rng(n)
    return ad.trace(p1, rng.uniform(-1, 1, n)), rng.uniform(-1, 1, n)


def _median_seconds(fn, number, repeat=15):
    return float(np.median(sorted(timeit.repeat(fn, number=number, repeat=repeat))[: repeat // 2 + 1])) / number


@functools.cache
def floor_seconds(n):
    _, x = recorded(n)
    p1_floor(x)
    return _median_seconds(lambda: p1_floor(x), max(1, int(2e-3 / (n * 2e-9))))


def _check(x, H):
    n = x.shape[0]
    assert H.nnz == 3 * n - 2
    i = np.arange(0, n - 1, max(1, n // 97))
    np.testing.assert_allclose(H[i, i + 1], -400 * x[i], rtol=1e-14)
    np.testing.assert_allclose(H[i, i], 1200 * x[i] ** 2 - 400 * x[i + 1] + 2 + np.where(i > 0, 200.0, 0.0), rtol=1e-13)


@pytest.mark.parametrize("n", SIZES)
def test_floor(benchmark, n):
    benchmark.group = f"P1 sparse Hessian n={n}"
    _, x = recorded(n)
    assert np.isclose(benchmark(p1_floor, x), p1(x), rtol=1e-12)


@pytest.mark.parametrize("n", SIZES)
def test_sparse_hessian(benchmark, n):
    benchmark.group = f"P1 sparse Hessian n={n}"
    tape, x = recorded(n)
    H = benchmark(tape.sparse_hessian, x)
    _check(x, H)
    if benchmark.stats is not None:
        benchmark.extra_info["ratio_to_floor"] = benchmark.stats.stats.median / floor_seconds(n)
    benchmark.extra_info["colors"] = tape.hessian_coloring()["n_colors"]


def main() -> None:
    n = 200
    rng = np.random.default_rng(0)
    counts = []
    for k in range(1, 7):
        tape = ad.trace(banded(k), rng.uniform(-1, 1, n))
        counts.append(f"k={k}: {tape.hessian_coloring()['n_colors']} (2k+1 = {2 * k + 1})")
    arrow = ad.trace(arrowhead, rng.uniform(-1, 1, n)).hessian_coloring()["n_colors"]
    print(f"banded Hessians at n = {n}, star colours: " + ", ".join(counts) + f"; arrowhead: {arrow}", file=sys.stdout)
    for n in (1000, 10_000, 100_000):
        tape, x = recorded(n)
        t0 = time.perf_counter()
        H = tape.sparse_hessian(x)
        first = time.perf_counter() - t0
        _check(x, H)
        steady = _median_seconds(lambda: tape.sparse_hessian(x), max(1, int(1e-2 / (n * 3e-8))), 7)
        floor = floor_seconds(n)
        print(
            f"P1 n={n:6d}: first sparse_hessian {first * 1e3:8.2f} ms ({first / n * 1e9:6.0f} ns per n), steady "
            f"{steady * 1e3:7.3f} ms ({steady / n * 1e9:5.0f} ns per n, {steady / floor:5.1f}x the @njit P1), "
            f"{tape.hessian_coloring()['n_colors']} colours",
            file=sys.stdout,
        )


if __name__ == "__main__":
    main()
