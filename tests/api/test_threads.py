"""One Tape, one CompiledTape and one ad.function used from many threads at once give exactly
the serial answers (bit for bit), without errors. Each thread gets its own work buffers; the
function cache's bookkeeping is under a lock."""

import threading

import numpy as np
import pytest

import numba_ad as ad

THREADS = 8


def p2_array(x):
    return np.sum(np.sin(x[:-1]) * np.exp(np.cos(x[1:])) / (1.0 + x[:-1] ** 2) + np.log(1.0 + x[:-1] ** 2))


def p2_loop(x):
    s = 0.0
    for i in range(len(x) - 1):
        s = s + np.sin(x[i]) * np.exp(np.cos(x[i + 1])) / (1.0 + x[i] ** 2)
    return s


def pieces(x):
    """Four branches, chosen by the signs of x[0] and x[1]."""
    a = x[0] ** 2 if x[0] > 0 else np.sin(x[0])
    b = x[1] * x[2] if x[1] > 0 else np.exp(x[1]) - x[2]
    return a * b + np.sum(x**2)


def _run_threads(work, n_threads=THREADS):
    """work(thread_index) on n_threads threads started together; their results and errors."""
    results, errors = [None] * n_threads, []
    barrier = threading.Barrier(n_threads)

    def run(k):
        try:
            barrier.wait()
            results[k] = work(k)
        except Exception as error:  # collected: a thread's exception would otherwise vanish
            errors.append(error)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return results


def _points(k, n, seed):
    return np.random.default_rng(seed).uniform(-1.5, 1.5, (k, n))


def test_one_tape_many_threads_gives_the_serial_gradients():
    n = 2000
    tape = ad.trace(p2_array, np.linspace(-1, 1, n))
    X = _points(THREADS * 30, n, 0)
    serial = [tape.gradient(x) for x in X]

    def work(k):
        return [tape.gradient(X[i]) for i in range(k, X.shape[0], THREADS)]

    for k, got in enumerate(_run_threads(work)):
        for j, g in enumerate(got):
            np.testing.assert_array_equal(g, serial[k + j * THREADS])


def test_one_tape_many_threads_every_request_kind():
    n = 6
    tape = ad.trace(p2_array, np.linspace(-1, 1, n))
    X = _points(THREADS * 4, n, 1)
    V = _points(THREADS * 4, n, 2)

    def answers(i):
        x, v = X[i], V[i]
        return (
            tape.eval(x),
            tape.jvp(x, v),
            tape.vjp(x, 2.0),
            tape.hvp(x, v),
            tape.hessian(x),
            tape.taylor(x, v, 3),
            tape.jacobian(x, "forward"),
            tape.margins(x),
        )

    serial = [answers(i) for i in range(X.shape[0])]

    def work(k):
        return [(i, answers(i)) for i in range(k, X.shape[0], THREADS)]

    for got in _run_threads(work):
        for i, result in got:
            for a, b in zip(result, serial[i]):
                np.testing.assert_array_equal(a, b)


def test_one_compiled_loop_style_tape_many_threads():
    n = 40
    tape = ad.trace(p2_loop, np.linspace(-1, 1, n))
    compiled = tape.compile()
    X = _points(THREADS * 40, n, 3)
    serial = [compiled.value_and_gradient(x) for x in X]

    def work(k):
        return [(i, compiled.value_and_gradient(X[i]), compiled.eval(X[i])) for i in range(k, X.shape[0], THREADS)]

    for got in _run_threads(work):
        for i, (value, g), value_again in got:
            assert value == serial[i][0] == value_again
            np.testing.assert_array_equal(g, serial[i][1])


def test_one_function_many_threads_tracing_and_replaying():
    fn = ad.function(pieces)
    X = _points(THREADS * 40, 3, 4)
    reference = ad.function(pieces)
    serial = [reference.gradient(x) for x in X]

    def work(k):
        return [(i, fn.gradient(X[i]), fn(X[i])) for i in range(k, X.shape[0], THREADS)]

    for got in _run_threads(work):
        for i, g, value in got:
            np.testing.assert_array_equal(g, serial[i])
            assert value == reference(X[i])
    stats = fn.stats()
    assert stats["calls"] == 2 * X.shape[0]
    assert stats["calls"] == stats["replays"] + stats["traces"]
    assert stats["tapes"] == 4  # a branch traced twice by two threads at once is cached once


@pytest.mark.parametrize("max_tapes", [1, 2])
def test_evictions_under_threads_stay_consistent(max_tapes):
    fn = ad.function(pieces, max_tapes=max_tapes)
    X = _points(THREADS * 20, 3, 5)
    reference = ad.function(pieces)

    def work(k):
        return [(i, fn.value_and_gradient(X[i])) for i in range(k, X.shape[0], THREADS)]

    for got in _run_threads(work):
        for i, (value, g) in got:
            expected_value, expected_g = reference.value_and_gradient(X[i])
            assert value == expected_value
            np.testing.assert_array_equal(g, expected_g)
    assert fn.stats()["tapes"] <= max_tapes
