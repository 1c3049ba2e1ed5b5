"""Loop-style tracing speed: microseconds per recorded op for P1 and P2 written as Python loops
(one traced scalar per op), best of five traces at n = 20000.

    .venv/bin/python benchmarks/trace_speed.py

Absolute times drift with the machine's load; compare runs made one after the other."""

import sys
import time
from pathlib import Path

import numpy as np

import numba_ad as ad

sys.path.insert(0, str(Path(__file__).parent))
from ad_bench_problems import p1_traced, p2_traced  # noqa: E402


def per_op(f, n: int = 20000, rounds: int = 5) -> tuple[int, float]:
    x = np.linspace(0.1, 0.9, n)
    ad.trace(f, x[:10])  # imports and first-use costs out of the timing
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        tape = ad.trace(f, x)
        best = min(best, time.perf_counter() - start)
    return tape.n_ops, best / tape.n_ops * 1e6


if __name__ == "__main__":
    for name, f in (("P1", p1_traced), ("P2", p2_traced)):
        ops, us = per_op(f)
        print(f"{name}: {ops} ops, {us:.3f} us per op")
