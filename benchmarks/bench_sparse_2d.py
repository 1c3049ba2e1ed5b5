"""pytest-benchmark suite: the sparse Jacobian of a 2-D 5-point residual against CasADi.

Group "5-point residual N x N": floor (a plain @njit residual), sparse_jacobian (numba_ad,
scipy.sparse CSR) and casadi (CasADi's SX ``jacobian`` as a Function, the matrix as a CasADi
DM; skipped when CasADi is not installed: it is in the peers extra). The residual is the
Bratu problem's, (u_up + u_down + u_left + u_right - 4u) / h^2 + 6 e^u, with zero boundary,
n = N^2 unknowns; its Jacobian takes 5 colours. The issue's target: at N = 300 (n = 90000),
faster than CasADi in the same run. benchmark.extra_info: ratio_to_floor, colours.
NUMBA_AD_BENCH_QUICK=1 keeps N = 30.

    .venv/bin/python benchmarks/bench_sparse_2d.py   # CasADi and numba_ad interleaved, as ratios
"""

import functools
import sys
import time
import timeit

import numpy as np
import pytest
from ad_bench_problems import quick_mode
from numba import njit

import numba_ad as ad

pytest.importorskip("scipy.sparse")

SIZES = (30,) if quick_mode() else (30, 300)
LAMBDA = 6.0


def residual(N):
    h2 = (1.0 / (N + 1)) ** 2

    def r(u):
        U = u.reshape(N, N)
        P = np.pad(U, 1)
        return ((P[:-2, 1:-1] + P[2:, 1:-1] + P[1:-1, :-2] + P[1:-1, 2:] - 4.0 * U) / h2 + LAMBDA * np.exp(U)).ravel()

    return r


@njit
def residual_floor(u, N):
    h2 = (1.0 / (N + 1)) ** 2
    r = np.empty(N * N)
    for i in range(N):
        for j in range(N):
            c = u[i * N + j]
            s = -4.0 * c
            if i > 0:
                s += u[(i - 1) * N + j]
            if i < N - 1:
                s += u[(i + 1) * N + j]
            if j > 0:
                s += u[i * N + j - 1]
            if j < N - 1:
                s += u[i * N + j + 1]
            r[i * N + j] = s / h2 + LAMBDA * np.exp(c)
    return r


def point(N):
    i, j = np.meshgrid(np.arange(N), np.arange(N), indexing="ij")
    return (0.1 * np.sin(np.pi * (i + 1) / (N + 1)) * np.sin(np.pi * (j + 1) / (N + 1))).ravel()


@functools.cache
def recorded(N):
    return ad.trace(residual(N), np.zeros(N * N)), point(N)


@functools.cache
def casadi_function(N):
    """CasADi's sparse Jacobian Function of the same residual (CasADi is column-major: its
    vec(u) is the transpose's ravel, so it is called with point(N) reordered)."""
    import casadi as ca

    h2 = (1.0 / (N + 1)) ** 2
    u = ca.SX.sym("u", N, N)
    P = ca.horzcat(ca.SX.zeros(N + 2, 1), ca.vertcat(ca.SX.zeros(1, N), u, ca.SX.zeros(1, N)), ca.SX.zeros(N + 2, 1))
    lap = (P[0:N, 1 : N + 1] + P[2 : N + 2, 1 : N + 1] + P[1 : N + 1, 0:N] + P[1 : N + 1, 2 : N + 2] - 4 * u) / h2
    uv = ca.vec(u)
    F = ca.Function("J", [uv], [ca.jacobian(ca.vec(lap + LAMBDA * ca.exp(u)), uv)])
    return F, point(N).reshape(N, N).T.ravel()


def _median_seconds(fn, number, repeat=15):
    return float(np.median(sorted(timeit.repeat(fn, number=number, repeat=repeat))[: repeat // 2 + 1])) / number


@functools.cache
def floor_seconds(N):
    x = point(N)
    residual_floor(x, N)
    return _median_seconds(lambda: residual_floor(x, N), max(1, int(2e-3 / (N * N * 5e-9))))


def _check(tape, x, J):
    N = int(round(np.sqrt(tape.n_inputs)))
    assert J.nnz == 5 * N * N - 4 * N
    if tape.n_inputs <= 2000:
        np.testing.assert_allclose(J.toarray(), tape.jacobian(x), rtol=1e-14, atol=0)
    np.testing.assert_allclose(J.diagonal(), -4.0 * (N + 1) ** 2 + LAMBDA * np.exp(x), rtol=1e-14)


@pytest.mark.parametrize("N", SIZES)
def test_floor(benchmark, N):
    benchmark.group = f"5-point residual {N} x {N}"
    x = point(N)
    r = benchmark(residual_floor, x, N)
    np.testing.assert_allclose(r, residual(N)(x), rtol=1e-13, atol=1e-9)


@pytest.mark.parametrize("N", SIZES)
def test_sparse_jacobian(benchmark, N):
    benchmark.group = f"5-point residual {N} x {N}"
    tape, x = recorded(N)
    J = benchmark(tape.sparse_jacobian, x)
    _check(tape, x, J)
    if benchmark.stats is not None:
        benchmark.extra_info["ratio_to_floor"] = benchmark.stats.stats.median / floor_seconds(N)
    benchmark.extra_info["colors"] = tape.jacobian_coloring()["n_column_colors"]


@pytest.mark.parametrize("N", SIZES)
def test_casadi(benchmark, N):
    pytest.importorskip("casadi")
    benchmark.group = f"5-point residual {N} x {N}"
    F, xc = casadi_function(N)
    J = benchmark(F, xc)
    tape, x = recorded(N)
    ours = tape.sparse_jacobian(x)
    assert J.nnz() == ours.nnz
    perm = np.arange(N * N).reshape(N, N).T.ravel()  # CasADi's unknown k is numba_ad's perm[k]
    theirs = J.sparse().tocsr()
    np.testing.assert_allclose(theirs.diagonal(), ours.diagonal()[perm], rtol=1e-12)
    if N * N <= 2000:
        np.testing.assert_allclose(theirs.toarray(), ours.toarray()[np.ix_(perm, perm)], rtol=1e-12, atol=1e-9)


def main() -> None:
    for N in SIZES:
        t0 = time.perf_counter()
        tape, x = recorded(N)
        t1 = time.perf_counter()
        tape.sparse_jacobian(x)  # pattern, colouring, compile
        t2 = time.perf_counter()
        floor = floor_seconds(N)
        line = f"N={N:4d} (n={N * N}): trace {t1 - t0:.2f} s, first sparse_jacobian {t2 - t1:.2f} s"
        ours_fn = functools.partial(tape.sparse_jacobian, x)
        try:
            F, xc = casadi_function(N)
            casadi_fn = functools.partial(F, xc)
            casadi_fn()
        except ImportError:
            casadi_fn = None
        rounds = []
        for _ in range(5):  # interleaved: the machine's drift hits both alike
            ours = _median_seconds(ours_fn, 5, 7)
            theirs = _median_seconds(casadi_fn, 5, 7) if casadi_fn else float("nan")
            rounds.append((ours, theirs))
        ours = float(np.median([r[0] for r in rounds]))
        ratio = float(np.median([r[0] / r[1] for r in rounds]))
        line += f"; sparse_jacobian {ours * 1e3:.2f} ms = {ours / floor:.1f}x the @njit residual"
        if casadi_fn:
            per_round = [round(a / b, 2) for a, b in rounds]
            line += f", {ratio:.2f}x CasADi's SX jacobian Function (per-round ratios {per_round})"
        print(line, f"{tape.jacobian_coloring()['n_column_colors']} colours", file=sys.stdout)


if __name__ == "__main__":
    main()
