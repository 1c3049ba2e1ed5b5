"""pytest-benchmark suite for sparse Jacobians (tape.sparse_jacobian).

Group "tridiagonal residual n=<n>": floor (a plain @njit residual, the same function),
sparse_jacobian (scipy.sparse CSR from 3 compressed JVPs), sparse_values (the values into a
preallocated array, no matrix built), and dense_jacobian (tape.jacobian, n <= 2000 only).
benchmark.extra_info holds ratio_to_floor (median / the floor's median from timeit at the start)
and the colour count. The issue's target: n = 10000 in at most 3 ms, with 3 colours; SciPy's
finite differences with the pattern took 55 ms there, CasADi 7.4 ms. Every benchmark checks
its result against the dense Jacobian at n <= 2000 (the pattern at larger n).
NUMBA_AD_BENCH_QUICK=1 keeps n = 200 only.

    .venv/bin/python benchmarks/bench_sparse.py   # the figures by hand
"""

import functools
import sys
import time
import timeit
import tracemalloc

import numpy as np
import pytest
from ad_bench_problems import quick_mode
from numba import njit

import numba_ad as ad

pytest.importorskip("scipy.sparse")

SIZES = (200,) if quick_mode() else (200, 10000)


def residual(u):
    inner = u[:-2] - 2.0 * u[1:-1] + u[2:] + 0.1 * np.exp(u[1:-1])
    return np.concatenate([u[:1], inner, u[-1:] - 1.0])


@njit
def residual_floor(u):
    n = u.shape[0]
    r = np.empty(n)
    r[0] = u[0]
    for i in range(1, n - 1):
        r[i] = u[i - 1] - 2.0 * u[i] + u[i + 1] + 0.1 * np.exp(u[i])
    r[n - 1] = u[n - 1] - 1.0
    return r


@functools.cache
def recorded(n):
    x_rec = np.linspace(0.0, 1.0, n)
    x_rep = x_rec + 0.01 * np.sin(np.arange(n))
    return ad.trace(residual, x_rec), x_rep


@functools.cache
def floor_seconds(n):
    _, x = recorded(n)
    residual_floor(x)
    number = max(1, int(2e-3 / max(timeit.timeit(lambda: residual_floor(x), number=10) / 10, 1e-9)))
    return float(np.median(sorted(timeit.repeat(lambda: residual_floor(x), number=number, repeat=15))[:8])) / number


def _check(tape, x, J):
    assert J.nnz == 3 * tape.n_inputs - 4
    if tape.n_inputs <= 2000:
        np.testing.assert_allclose(J.toarray(), tape.jacobian(x), rtol=1e-14, atol=0)


def _record(benchmark, n, tape):
    if benchmark.stats is not None:
        benchmark.extra_info["ratio_to_floor"] = benchmark.stats.stats.median / floor_seconds(n)
    benchmark.extra_info["colors"] = tape.jacobian_coloring()["n_column_colors"]


@pytest.mark.parametrize("n", SIZES)
def test_floor(benchmark, n):
    benchmark.group = f"tridiagonal residual n={n}"
    _, x = recorded(n)
    r = benchmark(residual_floor, x)
    np.testing.assert_allclose(r, residual(x), rtol=1e-15)


@pytest.mark.parametrize("n", SIZES)
def test_sparse_jacobian(benchmark, n):
    benchmark.group = f"tridiagonal residual n={n}"
    tape, x = recorded(n)
    J = benchmark(tape.sparse_jacobian, x)
    _check(tape, x, J)
    _record(benchmark, n, tape)


@pytest.mark.parametrize("n", SIZES)
def test_sparse_values(benchmark, n):
    benchmark.group = f"tridiagonal residual n={n}"
    tape, x = recorded(n)
    out = np.empty(tape.jacobian_sparsity().nnz)
    benchmark(lambda: tape.sparse_jacobian_values(x, out=out))
    np.testing.assert_array_equal(out, tape.sparse_jacobian(x).data)
    _record(benchmark, n, tape)


def main() -> None:
    for n in (1000, 10000):
        t0 = time.perf_counter()
        tape, x = recorded(n)
        t1 = time.perf_counter()
        tape.sparse_jacobian(x)  # pattern, colouring, compile
        t2 = time.perf_counter()
        best = min(timeit.repeat(lambda: tape.sparse_jacobian(x), number=20, repeat=7)) / 20
        floor = floor_seconds(n)
        colors = tape.jacobian_coloring()["n_column_colors"]
        tracemalloc.start()  # NumPy's allocations (the kernels allocate nothing per call)
        tape.sparse_jacobian(x)
        steady = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        fresh, _ = recorded.__wrapped__(n)
        tracemalloc.start()
        fresh.sparse_jacobian(x)  # pattern and colouring too (their kernels' own arrays are numba's)
        first = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(
            f"n={n:6d}: trace {t1 - t0:.3f} s, first sparse_jacobian {t2 - t1:.2f} s; "
            f"sparse_jacobian {best * 1e3:.3f} ms = {best / floor:.1f}x the @njit residual, {colors} colours; "
            f"peak Python-side memory {steady / 2**20:.2f} MiB a call, {first / 2**20:.2f} MiB the first",
            file=sys.stdout,
        )


if __name__ == "__main__":
    main()
