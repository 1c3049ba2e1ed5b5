"""gradient_many over many points: locally, and through numba_ad.dask on a LocalCluster.

The problem is P2 (ad_bench_problems) at n = 10, a loop-style tape, as bench_scale's P4. For N
points it times, in one run:

* floor: the hand-written @njit gradient at every row, prange on all cores;
* local: ``tape.gradient_many(X)`` on all cores;
* dask: ``numba_ad.dask.gradient_many(tape, X, chunk_rows=c).sum(axis=0)`` on a LocalCluster of
  2 worker processes (1 thread each, numba on 1 thread each: the 2 cores), X persisted on the
  workers first (generated there by dask.array.random), the result reduced there: what is timed
  is the scheduling, the tape's travel and set-up per chunk and the work, not moving X or G
  through the client. Local does the same sum.

It reports each as time, ratio to the floor, points per second per core, and for dask the
overhead per chunk, (T_dask - T_local) * workers / chunks: what a chunk costs beyond its work.

    .venv/bin/python benchmarks/bench_dask.py            # N = 10^6 and 10^7, chunk sizes 2^14..2^20
    .venv/bin/python benchmarks/bench_dask.py --quick    # N = 10^5

Under pytest (make test, NUMBA_AD_BENCH_QUICK=1) one small case runs on the threaded scheduler
as a smoke test of the same code, checked against the local answer; no cluster starts there.
"""

import argparse
import os
import sys
import time
from statistics import median

import numpy as np
import pytest
from ad_bench_problems import PROBLEMS, p2_gradient_many_hand, quick_mode

import numba_ad as ad

pytest.importorskip("dask.array")
import dask.array as da  # noqa: E402

import numba_ad.dask as nd  # noqa: E402

N_INPUTS = 10
WORKERS = 2


def p2_tape():
    return ad.trace(PROBLEMS["P2"].traced, np.linspace(-0.5, 0.5, N_INPUTS))


def best_of(call, repeat=3):
    """The median of `repeat` timed calls (after one untimed call: compile, caches)."""
    call()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return median(times)


def test_dask_gradient_many_threads(benchmark):
    tape = p2_tape()
    X = np.random.default_rng(0).uniform(-1.0, 1.0, (20_000 if quick_mode() else 1_000_000, N_INPUTS))
    G = nd.gradient_many(tape, X, chunk_rows=4096)
    result = benchmark(lambda: G.compute(scheduler="threads"))
    np.testing.assert_array_equal(result, tape.gradient_many(X))


def measure(sizes, chunk_sizes):
    from distributed import Client, wait

    tape = p2_tape()
    rows = []
    with nd.local_cluster(WORKERS, numba_threads=1) as cluster, Client(cluster) as client:
        for N in sizes:
            X_local = np.random.default_rng(1).uniform(-1.0, 1.0, (N, N_INPUTS))
            G = np.empty_like(X_local)
            floor = best_of(lambda: p2_gradient_many_hand(X_local, G))
            local = best_of(lambda: tape.gradient_many(X_local).sum(axis=0))
            expected = tape.gradient_many(X_local)
            np.testing.assert_allclose(expected, G, rtol=1e-12, atol=1e-12)
            rows.append(("floor", N, "-", floor, None))
            rows.append(("local gradient_many", N, "-", local, None))
            for chunk in chunk_sizes:
                if chunk > N:
                    continue
                X = da.random.default_rng(1).uniform(-1.0, 1.0, (N, N_INPUTS), chunks=(chunk, N_INPUTS))
                X = client.persist(X)
                wait(X)
                total = nd.gradient_many(tape, X, chunk_rows=chunk).sum(axis=0)
                t = best_of(lambda: client.compute(total).result())  # noqa: B023
                rows.append(("dask LocalCluster", N, chunk, t, (t - local) * WORKERS / len(X.chunks[0])))
                del X
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 10^5 only")
    args = parser.parse_args(argv)
    sizes = (100_000,) if args.quick else (1_000_000, 10_000_000)
    chunks = (1 << 14, 1 << 16, 1 << 17, 1 << 18, 1 << 20)
    cores = os.cpu_count()
    rows = measure(sizes, chunks)
    floors = {N: t for what, N, _, t, _ in rows if what == "floor"}
    print(f"P2 n = {N_INPUTS}, {cores} cores, {WORKERS} workers x 1 thread; numba_ad {ad.__version__}")
    print(f"{'what':22} {'N':>9} {'chunk':>8} {'time s':>8} {'x floor':>8} {'pts/s/core':>11} {'ovh/chunk':>10}")
    for what, N, chunk, t, overhead in rows:
        ovh = "" if overhead is None else f"{overhead * 1e3:8.2f}ms"
        print(f"{what:22} {N:9d} {chunk!s:>8} {t:8.3f} {t / floors[N]:8.2f} {N / t / cores:11.3g} {ovh:>10}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
