"""Threads sharing one Tape: gradients per second on 2 threads against 1.

P1 (array-style chained Rosenbrock, ad_bench_problems) at n = 100000 (quick: 1000): the same
2K gradients at K different points, on one thread, then split over 2 threads sharing the one
Tape. A Tape keeps work buffers per thread and its kernels release the GIL, so the speed-up is
what the cores allow (about 2 on 2 idle cores; less while anything else runs). Times are
paired (1 thread, 2 threads, 1 thread, ...) and the speed-up is the median of the ratios.

    .venv/bin/python benchmarks/bench_threads.py
"""

import sys
import threading
import time
from statistics import median

import numpy as np
from ad_bench_problems import PROBLEMS, quick_mode

import numba_ad as ad

N_INPUTS = 1000 if quick_mode() else 100_000
CALLS = 8 if quick_mode() else 40


def setup():
    tape = ad.trace(PROBLEMS["P1"].traced, np.linspace(0.5, 1.5, N_INPUTS))
    X = np.random.default_rng(0).uniform(0.5, 1.5, (CALLS, N_INPUTS))
    return tape, X


def one_thread(tape, X):
    for x in X:
        tape.gradient(x)


def two_threads(tape, X):
    threads = [threading.Thread(target=one_thread, args=(tape, X[k::2])) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def speed_up(rounds=7):
    tape, X = setup()
    one_thread(tape, X[:2])
    two_threads(tape, X[:2])  # each thread's buffers made before timing
    ratios = []
    for _ in range(rounds):
        start = time.perf_counter()
        one_thread(tape, X)
        middle = time.perf_counter()
        two_threads(tape, X)
        ratios.append((middle - start) / (time.perf_counter() - middle))
    return median(ratios)


def test_two_threads_share_one_tape(benchmark):
    tape, X = setup()
    serial = [tape.gradient(x) for x in X]
    results = [None] * X.shape[0]

    def run(k):
        for i in range(k, X.shape[0], 2):
            results[i] = tape.gradient(X[i])

    def both():
        threads = [threading.Thread(target=run, args=(k,)) for k in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    benchmark(both)
    for got, expected in zip(results, serial):
        np.testing.assert_array_equal(got, expected)
    if not benchmark.disabled:
        benchmark.extra_info["speed_up_2_over_1"] = speed_up()


if __name__ == "__main__":
    print(f"P1 n = {N_INPUTS}: gradients on 2 threads sharing one Tape, {speed_up():.2f}x one thread's rate")
    sys.exit(0)
