"""pytest-benchmark suite for device="cuda": P2 (n=10) gradient_many at N = 10^6 and 10^7 points
on the GPU against the CPU's gradient_many (all of numba's threads) in the same run.

Group "P2 n=10 gradient_many N=<N>": gpu and cpu; extra_info["cpu_over_gpu"] of the second of the
two to run is the CPU's median over the GPU's, measured in that run. The GPU's time is end to end from host arrays: X
copied over and G back (80 MB each per 10^6 points) as well as the kernel; the first call,
which compiles the kernels, is a warm-up round. Both results are checked against each other.

Runs only on a real GPU: skipped under numba's CUDA simulator (NUMBA_ENABLE_CUDASIM=1, how
`make test` runs; the simulator runs each thread in Python) and where numba.cuda.is_available()
is False. NUMBA_AD_BENCH_QUICK=1 keeps N = 10^6 only.

    NUMBA_ENABLE_CUDASIM=0 .venv/bin/python benchmarks/bench_gpu.py   # the ratios by hand
"""

import functools
import importlib.util
import sys
import time

import numpy as np
import pytest
from ad_bench_problems import p2_traced, points, quick_mode

import numba_ad as ad

N_INPUTS = 10
SIZES = (10**6,) if quick_mode() else (10**6, 10**7)
_MEDIANS: dict[tuple[str, int], float] = {}  # (device, N) -> median seconds, for the ratio


def gpu_unavailable_reason() -> str | None:
    """Why this benchmark cannot run here, or None."""
    if importlib.util.find_spec("numba_cuda") is None:
        return "numba-cuda is not installed (pip install numba_ad[cuda])"
    from numba import cuda

    if cuda.config.ENABLE_CUDASIM:
        return "NUMBA_ENABLE_CUDASIM=1: the CUDA simulator runs each thread in Python; there is nothing to time"
    if not cuda.is_available():
        return "no usable NVIDIA GPU (numba.cuda.is_available() is False)"
    return None


@pytest.fixture(scope="module", autouse=True)
def _needs_a_gpu():
    reason = gpu_unavailable_reason()
    if reason:
        pytest.skip(reason)


@functools.cache
def problem(N):
    """The P2 tape (recorded at one point) and N replay points in [-1, 1)^10."""
    x_rec, _ = points(N_INPUTS)
    X = np.random.default_rng([N, N_INPUTS]).uniform(-1.0, 1.0, (N, N_INPUTS))
    return ad.trace(p2_traced, x_rec), X


@functools.cache
def cpu_gradients(N):
    tape, X = problem(N)
    return tape.gradient_many(X)


def _check(G, N):
    np.testing.assert_allclose(G, cpu_gradients(N), rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize("N", SIZES)
def test_gpu(benchmark, N):
    benchmark.group = f"P2 n={N_INPUTS} gradient_many N={N}"
    tape, X = problem(N)
    G = benchmark.pedantic(lambda: tape.gradient_many(X, device="cuda"), rounds=5, warmup_rounds=1)
    _check(G, N)
    _record(benchmark, "cuda", N)


@pytest.mark.parametrize("N", SIZES)
def test_cpu(benchmark, N):
    benchmark.group = f"P2 n={N_INPUTS} gradient_many N={N}"
    tape, X = problem(N)
    G = benchmark.pedantic(lambda: tape.gradient_many(X), rounds=3, warmup_rounds=1)
    _check(G, N)
    _record(benchmark, "cpu", N)


def _record(benchmark, device, N):
    """Keep this median; the second of the pair (gpu, cpu) at N to finish records their ratio."""
    if benchmark.stats is None:  # --benchmark-disable
        return
    _MEDIANS[device, N] = benchmark.stats.stats.median
    if ("cpu", N) in _MEDIANS and ("cuda", N) in _MEDIANS:
        benchmark.extra_info["cpu_over_gpu"] = _MEDIANS["cpu", N] / _MEDIANS["cuda", N]


def _best(fn, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), result


def main() -> None:
    reason = gpu_unavailable_reason()
    if reason:
        print(f"bench_gpu: skipped: {reason}", file=sys.stdout)
        return
    import numba
    from numba import cuda

    name = getattr(cuda.get_current_device(), "name", "?")
    name = name.decode() if isinstance(name, bytes) else name
    print(f"GPU: {name}; CPU threads: {numba.get_num_threads()}", file=sys.stdout)
    for N in SIZES:
        tape, X = problem(N)
        t0 = time.perf_counter()
        tape.gradient_many(X[:1000], device="cuda")
        first = time.perf_counter() - t0  # compile and copy the tape over
        gpu, G_gpu = _best(lambda: tape.gradient_many(X, device="cuda"), 5)
        tape.gradient_many(X[:1000])
        cpu, G_cpu = _best(lambda: tape.gradient_many(X), 3)
        error = float(np.max(np.abs(G_gpu - G_cpu) / np.maximum(np.abs(G_cpu), 1e-300)))
        print(
            f"N={N:>9d}: gpu {gpu:.3f} s ({gpu / N * 1e9:.1f} ns/point, first call {first:.1f} s), "
            f"cpu {cpu:.3f} s ({cpu / N * 1e9:.1f} ns/point); cpu/gpu = {cpu / gpu:.1f}x; "
            f"max relative difference {error:.1e}",
            file=sys.stdout,
        )


if __name__ == "__main__":
    main()
