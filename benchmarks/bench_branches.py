"""pytest-benchmark suite for branches: what guard checks cost, and switching between tapes.

Group "guards n=<n>" (P1 with one guard per term):
  guarded_checked    drivers.value_and_gradient_into on the guarded tape
  guarded_unchecked  the same tape with its guards unlisted (same ops, no check)
  unguarded          plain P1 (no comparison ops at all)
Group "switch n=<n>" (P1 with two pieces, ad.function):
  one_tape           fn.gradient at a point of one piece, every call
  alternating        fn.gradient alternating between the pieces (a switch per call)
  tape_gradient      tape.gradient on the right tape (no cache layer)

Ratios are in benchmarks/report_branches.py; here each benchmark checks its result.
"""

import functools

import numpy as np
import pytest
from ad_bench_problems import (
    driver_buffers,
    p1_guarded,
    p1_traced,
    p1_two_pieces,
    points,
    quick_mode,
    sizes,
    two_piece_points,
    without_guard_checks,
)

import numba_ad as ad
from numba_ad.tape import drivers

SIZES = sizes()


@functools.cache
def guard_tapes(n):
    x_rec, _ = points(n)
    guarded = ad.trace(p1_guarded, x_rec)
    return dict(
        guarded_checked=guarded, guarded_unchecked=without_guard_checks(guarded), unguarded=ad.trace(p1_traced, x_rec)
    )


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("kind", ["guarded_checked", "guarded_unchecked", "unguarded"])
def test_guard_check_cost(benchmark, n, kind):
    tape = guard_tapes(n)[kind]
    _, x = points(n)
    buf = driver_buffers(tape)
    args = (tape.arrays, x, buf["p"], buf["w"], buf["d_a"], buf["d_b"], buf["w_bar"], buf["g"])
    benchmark.group = f"guards n={n}"
    benchmark.extra_info.update(n=n, kind=kind, n_ops=tape.n_ops, n_guards=tape.n_guards, quick=quick_mode())
    value, failed = benchmark(drivers.value_and_gradient_into, *args)
    assert failed == -1
    np.testing.assert_allclose(buf["g"], guard_tapes(n)["unguarded"].gradient(x), rtol=1e-13)


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("kind", ["one_tape", "alternating", "tape_gradient"])
def test_switching_cost(benchmark, n, kind):
    x_a, x_b = two_piece_points(n)
    fn = ad.function(p1_two_pieces)
    g_a, g_b = fn.gradient(x_a), fn.gradient(x_b)
    benchmark.group = f"switch n={n}"
    benchmark.extra_info.update(n=n, kind=kind, quick=quick_mode())
    if kind == "one_tape":
        benchmark(fn.gradient, x_a)
    elif kind == "alternating":
        benchmark(lambda: (fn.gradient(x_a), fn.gradient(x_b)))  # two calls, two switches
    else:
        tape = fn.tape_at(x_a)
        benchmark(tape.gradient, x_a)
    p1 = ad.trace(p1_traced, x_a)
    np.testing.assert_allclose(g_a, p1.gradient(x_a), rtol=1e-14)
    np.testing.assert_allclose(g_b, 2.0 * p1.gradient(x_b), rtol=1e-14)
    assert fn.stats()["traces"] == 2
