"""pytest-benchmark suite for numba_ad's core replay and tracing paths.

For P1 (chained Rosenbrock) and P2 (sin/exp/cos/log chain) at each size n, one benchmark
group "<problem> n=<n>" holds:

  floor                plain @njit f(x)                    (the figure to divide by)
  hand_gradient        hand-written @njit value + gradient (the practical limit)
  tape_primal_replay   drivers.eval_into, preallocated buffers (pure primal sweep)
  tape_gradient_replay drivers.value_and_gradient_into     (pure primal + adjoint sweep)
  tape_gradient_python tape.gradient(x)                    (what a user sees from Python)

and the group "<problem> n=<n> trace" holds ad.trace. Timings are never asserted; each
benchmark checks its result (tape vs hand-written gradient to rtol 1e-10, values vs NumPy).

NUMBA_AD_BENCH_QUICK=1 (how `make test` runs, with --benchmark-disable) restricts n to 10
and 1000. Every kernel is compiled (called once) before it is timed.
"""

import functools

import numpy as np
import pytest
from ad_bench_problems import PROBLEMS, complex_step_gradient, driver_buffers, points, quick_mode, sizes

import numba_ad as ad
from numba_ad.tape import drivers

RTOL_GRAD = 1e-10
RTOL_VALUE = 1e-12
SIZES = sizes()
CASES = [(name, n) for name in PROBLEMS for n in SIZES]
IDS = [f"{name}-n{n}" for name, n in CASES]
# ad.trace of the n=100000 tapes takes seconds: fewer rounds for it.
TRACE_ROUNDS = {10: 50, 1000: 10, 100_000: 3}


@functools.cache
def recorded(name, n):
    """(tape, x_rec, x_rep), traced once per session at x_rec."""
    x_rec, x_rep = points(n)
    return ad.trace(PROBLEMS[name].traced, x_rec), x_rec, x_rep


@functools.cache
def hand_result(name, n):
    """(value, gradient) of the hand-written kernel at the replay point."""
    _, x_rep = points(n)
    g = np.empty(n)
    value = PROBLEMS[name].value_and_grad(x_rep, g)
    return value, g


def _info(benchmark, name, n, kind, tape=None):
    benchmark.group = f"{name} n={n}" + (" trace" if kind == "trace" else "")
    benchmark.extra_info.update(problem=name, n=n, kind=kind, quick=quick_mode())
    if tape is not None:
        benchmark.extra_info.update(n_ops=tape.n_ops, n_guards=tape.n_guards)


def _per_op(benchmark, tape):
    """Store the median time per recorded op (ns) once the benchmark has run (not when disabled)."""
    stats = getattr(benchmark, "stats", None)
    if stats is not None and getattr(stats, "stats", None) is not None:
        benchmark.extra_info["ns_per_op"] = stats.stats.median / tape.n_ops * 1e9


# ---------------------------------------------------------------------------------------
# Correctness of the references themselves (not benchmarks).
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(PROBLEMS))
@pytest.mark.parametrize("n", [2, 10, 1000])
def test_hand_written_gradient_matches_complex_step(name, n):
    problem = PROBLEMS[name]
    _, x = points(n)
    g = np.empty(n)
    value = problem.value_and_grad(x, g)
    np.testing.assert_allclose(value, problem.reference(x), rtol=RTOL_VALUE)
    np.testing.assert_allclose(problem.floor(x), problem.reference(x), rtol=RTOL_VALUE)
    np.testing.assert_allclose(g, complex_step_gradient(problem.reference, x), rtol=1e-12, atol=1e-13)


# ---------------------------------------------------------------------------------------
# Replay benchmarks
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name,n", CASES, ids=IDS)
def test_floor(benchmark, name, n):
    problem = PROBLEMS[name]
    _, x_rep = points(n)
    problem.floor(x_rep)  # compile
    _info(benchmark, name, n, "floor")
    value = benchmark(problem.floor, x_rep)
    np.testing.assert_allclose(value, problem.reference(x_rep), rtol=RTOL_VALUE)


@pytest.mark.parametrize("name,n", CASES, ids=IDS)
def test_hand_gradient(benchmark, name, n):
    problem = PROBLEMS[name]
    _, x_rep = points(n)
    g = np.empty(n)
    problem.value_and_grad(x_rep, g)  # compile
    _info(benchmark, name, n, "hand_gradient")
    value = benchmark(problem.value_and_grad, x_rep, g)
    np.testing.assert_allclose(value, problem.floor(x_rep), rtol=RTOL_VALUE)
    np.testing.assert_allclose(g, hand_result(name, n)[1], rtol=0, atol=0)


@pytest.mark.parametrize("name,n", CASES, ids=IDS)
def test_tape_primal_replay(benchmark, name, n):
    tape, _, x_rep = recorded(name, n)
    b = driver_buffers(tape)
    arrays = tape.arrays
    drivers.eval_into(arrays, x_rep, b["p"], b["w"], b["out"])  # compile
    _info(benchmark, name, n, "tape_primal_replay", tape)
    failed = benchmark(drivers.eval_into, arrays, x_rep, b["p"], b["w"], b["out"])
    _per_op(benchmark, tape)
    assert failed == -1
    np.testing.assert_allclose(b["out"][0], PROBLEMS[name].floor(x_rep), rtol=RTOL_VALUE)


@pytest.mark.parametrize("name,n", CASES, ids=IDS)
def test_tape_gradient_replay(benchmark, name, n):
    tape, _, x_rep = recorded(name, n)
    b = driver_buffers(tape)
    arrays = tape.arrays
    args = (arrays, x_rep, b["p"], b["w"], b["d_a"], b["d_b"], b["w_bar"], b["g"])
    drivers.value_and_gradient_into(*args)  # compile
    _info(benchmark, name, n, "tape_gradient_replay", tape)
    value, failed = benchmark(drivers.value_and_gradient_into, *args)
    _per_op(benchmark, tape)
    assert failed == -1
    hand_value, hand_g = hand_result(name, n)
    np.testing.assert_allclose(value, hand_value, rtol=RTOL_VALUE)
    np.testing.assert_allclose(b["g"], hand_g, rtol=RTOL_GRAD)


@pytest.mark.parametrize("name,n", CASES, ids=IDS)
def test_tape_gradient_python(benchmark, name, n):
    tape, _, x_rep = recorded(name, n)
    tape.gradient(x_rep)  # compile, and allocate the tape's buffers
    _info(benchmark, name, n, "tape_gradient_python", tape)
    g = benchmark(tape.gradient, x_rep)
    _per_op(benchmark, tape)
    np.testing.assert_allclose(g, hand_result(name, n)[1], rtol=RTOL_GRAD)


# ---------------------------------------------------------------------------------------
# Tracing
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name,n", CASES, ids=IDS)
def test_trace(benchmark, name, n):
    problem = PROBLEMS[name]
    x_rec, x_rep = points(n)
    _info(benchmark, name, n, "trace")
    tape = benchmark.pedantic(ad.trace, args=(problem.traced, x_rec), rounds=TRACE_ROUNDS[n], iterations=1)
    benchmark.extra_info.update(n_ops=tape.n_ops, n_guards=tape.n_guards)
    stats = getattr(benchmark, "stats", None)
    if stats is not None and getattr(stats, "stats", None) is not None:
        benchmark.extra_info["us_per_op"] = stats.stats.median / tape.n_ops * 1e6
    # The recording replays f at a new point: its value there is f's.
    np.testing.assert_allclose(tape.eval(x_rep), problem.floor(x_rep), rtol=RTOL_VALUE)
    assert tape.n_inputs == n and tape.n_guards == 0 and tape.scalar_output
