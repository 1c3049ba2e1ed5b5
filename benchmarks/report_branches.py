"""Branch figures: the cost of guard checks in a replay, and of switching between cached tapes.

Run: .venv/bin/python benchmarks/report_branches.py [--quick]   (about 30 s; quick: 10 s)

Guard checks: P1 with one guard per term (``x[i] < 2``), gradient by
``drivers.value_and_gradient_into`` inside an @njit loop, against the same tape with its
guards unlisted (the same ops, nobody checks them: the pure cost of checking) and against
plain P1 (no comparison ops: the cost of recording the comparisons as well).
Switching: ``ad.function`` of a two-piece P1, fn.gradient alternating between the pieces,
per call, against fn.gradient staying on one piece and against tape.gradient.
"""

import argparse
import os
import sys
from statistics import median

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from ad_bench_problems import (
    driver_buffers,
    p1_guarded,
    p1_traced,
    p1_two_pieces,
    points,  # noqa: E402
    two_piece_points,
    without_guard_checks,
)
from report import Paired, fmt_ratio, loop_grad, source_state  # noqa: E402

import numba_ad as ad  # noqa: E402

TARGET_GUARD_OVERHEAD = 0.05


def njit_gradient_loop(tape, x, k=50):
    buf = driver_buffers(tape)
    args = (tape.arrays, x, buf["p"], buf["w"], buf["d_a"], buf["d_b"], buf["w_bar"], buf["g"], k)
    loop_grad(*args)
    return lambda: loop_grad(*args)


def guard_figures(n, rounds, batch_s):
    x_rec, x = points(n)
    guarded = ad.trace(p1_guarded, x_rec)
    plain = ad.trace(p1_traced, x_rec)
    unchecked = without_guard_checks(guarded)
    np.testing.assert_allclose(guarded.gradient(x), plain.gradient(x), rtol=1e-13)
    _, _, ratios = Paired(
        njit_gradient_loop(unchecked, x),
        dict(checked=njit_gradient_loop(guarded, x), unguarded=njit_gradient_loop(plain, x)),
        rounds,
        batch_s,
    ).run()
    return guarded, plain, ratios


def switch_figures(n, rounds, batch_s):
    x_a, x_b = two_piece_points(n)
    fn = ad.function(p1_two_pieces)
    fn.gradient(x_a), fn.gradient(x_b)
    tape = fn.tape_at(x_a)

    def alternating():  # per call: half of a pair, each call switching tapes
        fn.gradient(x_a)
        fn.gradient(x_b)

    _, _, ratios = Paired(
        lambda: fn.gradient(x_a),
        dict(alternating_pair=alternating, tape_gradient=lambda: tape.gradient(x_a)),
        rounds,
        batch_s,
    ).run()
    ratios["alternating"] = [r / 2 for r in ratios.pop("alternating_pair")]
    assert fn.stats()["traces"] == 2
    return ratios


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    sizes = (10, 1000) if args.quick else (10, 1000, 100_000)
    rounds, batch_s = (7, 0.002) if args.quick else (21, 0.004)
    print(f"numba_ad branch report ({'quick' if args.quick else 'full'}); {source_state()}")
    print("ratio = median of paired ratios [25th-75th percentile]\n")
    print("Guard checks, P1 with one guard per term, gradient in an @njit loop, ratio to the same tape unchecked:")
    print(f"{'n':>7} {'n_ops':>8} {'guards':>7} {'checked/unchecked':>24} {'unguarded P1/unchecked':>24}")
    overheads = {}
    for n in sizes:
        guarded, plain, r = guard_figures(n, rounds, batch_s)
        overheads[n] = median(r["checked"]) - 1.0
        print(
            f"{n:>7} {guarded.n_ops:>8} {guarded.n_guards:>7} {fmt_ratio(r['checked']):>24} "
            f"{fmt_ratio(r['unguarded']):>24}   (P1 without comparisons: {plain.n_ops} ops)"
        )
    print("\nSwitching between two cached tapes (ad.function, two-piece P1), ratio to fn.gradient on one piece:")
    print(f"{'n':>7} {'alternating, per call':>24} {'tape.gradient':>24}")
    for n in sizes:
        r = switch_figures(n, rounds, batch_s)
        print(f"{n:>7} {fmt_ratio(r['alternating']):>24} {fmt_ratio(r['tape_gradient']):>24}")
    print("\nTarget: guard checking at most 5% on a P1-sized tape with one guard per term")
    for n, overhead in overheads.items():
        status = "ok" if overhead <= TARGET_GUARD_OVERHEAD else "MISS"
        print(f"  n={n:<7} {100 * overhead:+.1f}%  {status}")


if __name__ == "__main__":
    main()
