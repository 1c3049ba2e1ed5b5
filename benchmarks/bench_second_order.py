"""pytest-benchmark suite for numba_ad's second-order and Taylor requests.

Groups (each with its own floor, a plain @njit f(x) timed in the same run):

  "P1 n=<n> second order"  floor, tape_hvp (tape.hvp(x, v) from Python), hvp_into (the
                           driver, preallocated buffers), tape_hessian (tape.hessian(x))
  "P2 n=1000 taylor"       floor, tape_taylor10 (tape.taylor(x, v, 10)), taylor_into

benchmark.extra_info holds ratio_to_floor: the median divided by the floor's median measured
by timeit at the start of the session (the issue's figures are ratios to the floor: best
measured elsewhere, CasADi's generated C 1.7x (HVP) and 8.0x (Hessian) for P1 at n = 100,
JAX jit 30x and 85x). Every benchmark checks its result first: HVP and Hessian against
P1's hand-written Hessian, Taylor coefficients against Cauchy's formula on P2's complex
NumPy reference. NUMBA_AD_BENCH_QUICK=1 keeps n = 100 only.

    .venv/bin/python benchmarks/bench_second_order.py   # the figures by hand, paired ratios
"""

import functools
import timeit

import numpy as np
import pytest
from ad_bench_problems import PROBLEMS, points, quick_mode

import numba_ad as ad
from numba_ad.tape import drivers

HESSIAN_SIZES = (100,) if quick_mode() else (100, 1000)
TAYLOR_N, TAYLOR_DEGREE = 1000, 10


@functools.cache
def recorded(name, n):
    """(tape, x_rep, v): traced at the recording point, replayed at another."""
    x_rec, x_rep = points(n)
    v = np.random.default_rng([n, 7]).standard_normal(n)
    return ad.trace(PROBLEMS[name].traced, x_rec), x_rep, v


@functools.cache
def floor_seconds(name, n):
    """Median-of-best seconds per call of the floor, for the ratios in extra_info."""
    floor = PROBLEMS[name].floor
    _, x = points(n)
    floor(x)
    number = max(1, int(2e-3 / max(timeit.timeit(lambda: floor(x), number=10) / 10, 1e-9)))
    return float(np.median(sorted(timeit.repeat(lambda: floor(x), number=number, repeat=15))[:8])) / number


def p1_hessian(x):
    """P1's Hessian, tridiagonal, by hand."""
    n = x.shape[0]
    H = np.zeros((n, n))
    i = np.arange(n - 1)
    H[i, i] += 1200 * x[i] ** 2 - 400 * x[i + 1] + 2
    H[i + 1, i + 1] += 200
    H[i, i + 1] = H[i + 1, i] = -400 * x[i]
    return H


def p2_taylor_reference(x, v, degree, N=64):
    """Coefficients of t -> P2(x + t v) by the FFT of the complex reference on a circle at half
    the distance to the nearest singularity (1 + x_i^2 = 0), with their error bound."""
    reference = PROBLEMS["P2"].reference
    head, dhead = x[:-1], v[:-1]
    with np.errstate(divide="ignore"):
        dist = np.min(np.abs(np.concatenate([(1j - head) / dhead, (-1j - head) / dhead])))
    r = min(0.5 * dist, 1.0)
    t = r * np.exp(2j * np.pi * np.arange(N) / N)
    values = reference(x[None, :] + t[:, None] * v[None, :])
    c = np.fft.fft(values) / N
    powers = r ** np.arange(degree + 1)
    return (c[: degree + 1] / powers).real, 1e-10 * np.max(np.abs(values)) / powers


def _info(benchmark, group, name, n, kind, tape):
    benchmark.group = group
    benchmark.extra_info.update(problem=name, n=n, kind=kind, quick=quick_mode(), n_ops=tape.n_ops)


def _ratio(benchmark, name, n):
    stats = getattr(benchmark, "stats", None)
    if stats is not None and getattr(stats, "stats", None) is not None:
        benchmark.extra_info["ratio_to_floor"] = stats.stats.median / floor_seconds(name, n)
        benchmark.extra_info["floor_ns"] = floor_seconds(name, n) * 1e9


# ---------------------------------------------------------------------------------------
# P1: HVP and dense Hessian
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", HESSIAN_SIZES)
def test_p1_floor(benchmark, n):
    tape, x, _ = recorded("P1", n)
    floor = PROBLEMS["P1"].floor
    floor(x)
    _info(benchmark, f"P1 n={n} second order", "P1", n, "floor", tape)
    value = benchmark(floor, x)
    np.testing.assert_allclose(value, PROBLEMS["P1"].reference(x), rtol=1e-12)


@pytest.mark.parametrize("n", HESSIAN_SIZES)
def test_p1_tape_hvp(benchmark, n):
    tape, x, v = recorded("P1", n)
    tape.hvp(x, v)  # compile, and allocate the tape's buffers
    _info(benchmark, f"P1 n={n} second order", "P1", n, "tape_hvp", tape)
    hv = benchmark(tape.hvp, x, v)
    _ratio(benchmark, "P1", n)
    np.testing.assert_allclose(hv, p1_hessian(x) @ v, rtol=1e-12, atol=1e-10)


@pytest.mark.parametrize("n", HESSIAN_SIZES)
def test_p1_hvp_into(benchmark, n):
    tape, x, v = recorded("P1", n)
    work = np.empty((drivers.WORK_ROWS, tape.n_ops))
    lanes = np.empty((1, 1))  # one direction uses no lanes
    V, out, p, weights = v.reshape(n, 1).copy(), np.empty((n, 1)), np.empty(0), np.ones(1)
    args = (tape.arrays, x, p, V, weights, work, lanes, lanes, out)
    drivers.hvp_into(*args)
    _info(benchmark, f"P1 n={n} second order", "P1", n, "hvp_into", tape)
    failed = benchmark(drivers.hvp_into, *args)
    _ratio(benchmark, "P1", n)
    assert failed == -1
    np.testing.assert_allclose(out[:, 0], p1_hessian(x) @ v, rtol=1e-12, atol=1e-10)


@pytest.mark.parametrize("n", HESSIAN_SIZES)
def test_p1_tape_hessian(benchmark, n):
    tape, x, _ = recorded("P1", n)
    tape.hessian(x)  # compile, find the sparsity pattern (3 colours), allocate
    _info(benchmark, f"P1 n={n} second order", "P1", n, "tape_hessian", tape)
    H = benchmark(tape.hessian, x)
    _ratio(benchmark, "P1", n)
    np.testing.assert_allclose(H, p1_hessian(x), rtol=1e-12, atol=1e-10)


# ---------------------------------------------------------------------------------------
# P2: Taylor coefficients of degree 10
# ---------------------------------------------------------------------------------------
def test_p2_floor(benchmark):
    tape, x, _ = recorded("P2", TAYLOR_N)
    floor = PROBLEMS["P2"].floor
    floor(x)
    _info(benchmark, f"P2 n={TAYLOR_N} taylor", "P2", TAYLOR_N, "floor", tape)
    value = benchmark(floor, x)
    np.testing.assert_allclose(value, PROBLEMS["P2"].reference(x), rtol=1e-12)


def test_p2_tape_taylor(benchmark):
    tape, x, v = recorded("P2", TAYLOR_N)
    tape.taylor(x, v, TAYLOR_DEGREE)
    _info(benchmark, f"P2 n={TAYLOR_N} taylor", "P2", TAYLOR_N, f"tape_taylor{TAYLOR_DEGREE}", tape)
    z = benchmark(tape.taylor, x, v, TAYLOR_DEGREE)
    _ratio(benchmark, "P2", TAYLOR_N)
    ref, tol = p2_taylor_reference(x, v, TAYLOR_DEGREE)
    assert np.all(np.abs(z - ref) <= tol + 1e-12 * np.abs(ref)), (z, ref)


def test_p2_taylor_into(benchmark):
    tape, x, v = recorded("P2", TAYLOR_N)
    D1 = TAYLOR_DEGREE + 1
    X, S, out = np.empty((tape.n_ops, D1)), np.empty((drivers.TAYLOR_SCRATCH_ROWS, D1)), np.empty((1, D1))
    args = (tape.arrays, x, np.empty(0), v, X, S, out)
    drivers.taylor_into(*args)
    _info(benchmark, f"P2 n={TAYLOR_N} taylor", "P2", TAYLOR_N, f"taylor{TAYLOR_DEGREE}_into", tape)
    failed = benchmark(drivers.taylor_into, *args)
    _ratio(benchmark, "P2", TAYLOR_N)
    assert failed == -1
    np.testing.assert_allclose(out[0], tape.taylor(x, v, TAYLOR_DEGREE), rtol=0, atol=0)


def main(rounds=11, batch_s=0.02):
    """The issue's figures by hand: paired ratios to the floor (report.py's method), printed."""
    from statistics import median

    from report import Paired, fmt_ratio, fmt_time  # report.py picks a fresh NUMBA_CACHE_DIR

    tape, x, v = recorded("P1", 100)
    floor = PROBLEMS["P1"].floor
    calls = {
        "tape.hvp(x, v)": lambda: tape.hvp(x, v),
        "tape.hessian(x)": lambda: tape.hessian(x),
        "tape.gradient(x) (for scale)": lambda: tape.gradient(x),
    }
    for fn in [lambda: floor(x), *calls.values()]:
        fn()  # compile before timing
    ref, times, ratios = Paired(lambda: floor(x), calls, rounds, batch_s).run()
    print(f"P1 n=100 ({tape.n_ops} ops), floor {fmt_time(median(ref))}, from Python:")
    for name in calls:
        print(f"  {name:30s} {fmt_time(median(times[name])):>9s} {fmt_ratio(ratios[name])}")
    tape2, x2, v2 = recorded("P2", TAYLOR_N)
    floor2 = PROBLEMS["P2"].floor
    floor2(x2), tape2.taylor(x2, v2, TAYLOR_DEGREE)
    call = {"taylor": lambda: tape2.taylor(x2, v2, TAYLOR_DEGREE)}
    ref, times, ratios = Paired(lambda: floor2(x2), call, rounds, batch_s).run()
    print(f"P2 n={TAYLOR_N} ({tape2.n_ops} ops), floor {fmt_time(median(ref))}, from Python:")
    print(f"  {'tape.taylor(x, v, 10)':30s} {fmt_time(median(times['taylor'])):>9s} {fmt_ratio(ratios['taylor'])}")


if __name__ == "__main__":
    main()
