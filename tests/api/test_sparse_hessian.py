"""Sparse Hessians: the structural pattern (against a set-based reference), the star
colouring (its defining property checked by brute force, its colour counts against the known
optimum and networkx's greedy colourings), and the compressed values (against the analytic
Hessian and finite differences of the gradient) at a point other than the recording one, each
kernel run twice. Also the many-point sparse Jacobian, numba_ad.nb's sparse kernels and
Function's per-branch sparse methods."""

import itertools

import numpy as np
import pytest
from numba import njit

import numba_ad as ad
from numba_ad import nb
from numba_ad.api import sparse as sparse_api
from numba_ad.tape import hessian_sparsity as hs
from tests._support import hessian_reference

sp = pytest.importorskip("scipy.sparse")


def p1(x):
    """The chained Rosenbrock function (the benchmarks' P1): a tridiagonal Hessian."""
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def p1_hessian(x):
    n = x.shape[0]
    H = np.zeros((n, n))
    i = np.arange(n - 1)
    H[i, i] += 1200 * x[i] ** 2 - 400 * x[i + 1] + 2
    H[i + 1, i + 1] += 200
    H[i, i + 1] = H[i + 1, i] = -400 * x[i]
    return H


def banded(x, k):
    """sum_i sum_{0 < d <= k} sin(x_i x_{i+d}) + sum x^4: half-bandwidth k."""
    return sum(np.sum(np.sin(x[:-d] * x[d:])) for d in range(1, k + 1)) + np.sum(x**4)


def arrowhead(x):
    """x_0 couples with every other input: an arrowhead Hessian."""
    return np.sum(x[0] * np.exp(0.1 * x[1:])) + np.sum(np.cos(x))


def arrowhead_hessian(x):
    n = x.shape[0]
    H = np.diag(-np.cos(x))
    H[0, 1:] = H[1:, 0] = 0.1 * np.exp(0.1 * x[1:])
    H[np.arange(1, n), np.arange(1, n)] += 0.01 * x[0] * np.exp(0.1 * x[1:])
    return H


def fd_hessian(tape, x, h=1e-5, **kw):
    """Central differences of the exact gradient (vjp for a vector tape with weights)."""
    n = x.shape[0]
    w = kw.get("weights")

    def grad(z):
        return tape.gradient(z) if w is None else tape.vjp(z, w)

    H = np.empty((n, n))
    for j in range(n):
        e = np.zeros(n)
        e[j] = h
        H[:, j] = (grad(x + e) - grad(x - e)) / (2 * h)
    return H


def assert_star_coloring(P, colors):
    """Distance-1 proper, and no path on four vertices uses only two colours (brute force)."""
    n = P.shape[0]
    A = P & ~np.eye(n, dtype=bool)
    for i, j in zip(*np.nonzero(A)):
        assert colors[i] != colors[j], f"neighbours {i}, {j} share colour {colors[i]}"
    for b, c in zip(*np.nonzero(A)):
        for a in np.flatnonzero(A[b]):
            for d in np.flatnonzero(A[c]):
                if len({a, b, c, d}) == 4 and colors[a] == colors[c] and colors[b] == colors[d]:
                    raise AssertionError(f"path {a}-{b}-{c}-{d} has two colours")


def test_p1_hessian_is_tridiagonal_with_three_colours_and_exact():
    n = 30
    rng = np.random.default_rng(0)
    tape = ad.trace(p1, rng.uniform(-1, 1, n))
    P = tape.hessian_sparsity()
    np.testing.assert_array_equal(P.toarray() != 0, np.abs(np.subtract.outer(np.arange(n), np.arange(n))) <= 1)
    assert tape.hessian_coloring()["n_colors"] == 3
    x = rng.uniform(-1, 1, n)
    out = np.empty(P.nnz)
    for _ in range(2):
        H = tape.sparse_hessian(x)
        np.testing.assert_array_equal(H.indptr, P.indptr)
        np.testing.assert_array_equal(H.indices, P.indices)
        np.testing.assert_allclose(H.toarray(), p1_hessian(x), rtol=1e-13, atol=1e-12)
        assert tape.sparse_hessian_values(x, out=out) is out
        np.testing.assert_array_equal(out, H.data)
    np.testing.assert_allclose(tape.hessian(x), p1_hessian(x), rtol=1e-13, atol=1e-12)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_banded_hessians_need_at_most_2k_plus_1_colours(k):
    n = 16
    rng = np.random.default_rng(k)
    tape = ad.trace(lambda x: banded(x, k), rng.uniform(-1, 1, n))
    P = tape.hessian_sparsity().toarray() != 0
    np.testing.assert_array_equal(P, np.abs(np.subtract.outer(np.arange(n), np.arange(n))) <= k)
    coloring = tape.hessian_coloring()
    assert coloring["n_colors"] <= 2 * k + 1
    assert_star_coloring(P, coloring["colors"])
    x = rng.uniform(-1, 1, n)
    H = tape.sparse_hessian(x).toarray()
    np.testing.assert_allclose(H, fd_hessian(tape, x), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(H, tape.hvp(x, np.eye(n)), rtol=1e-13, atol=1e-13)


def test_arrowhead_takes_two_colours_where_a_distance_2_colouring_takes_n():
    nx = pytest.importorskip("networkx")
    n = 25
    tape = ad.trace(arrowhead, np.linspace(0.1, 1.0, n))
    P = tape.hessian_sparsity().toarray() != 0
    coloring = tape.hessian_coloring()
    assert coloring["n_colors"] == 2  # the optimum: a star graph
    assert_star_coloring(P, coloring["colors"])
    G = nx.from_numpy_array((P & ~np.eye(n, dtype=bool)).astype(int))
    distance2 = nx.greedy_color(nx.power(G, 2), strategy="largest_first")
    assert max(distance2.values()) + 1 == n  # what column grouping (CPR) would need
    x = np.linspace(-1.0, 0.5, n)
    for _ in range(2):
        np.testing.assert_allclose(tape.sparse_hessian(x).toarray(), arrowhead_hessian(x), rtol=1e-14, atol=1e-15)
        np.testing.assert_allclose(tape.hessian(x), arrowhead_hessian(x), rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("k", [1, 2, 4])
def test_colour_counts_against_networkx_on_banded_patterns(k):
    """Banded with half-bandwidth k: the Jacobian's columns need the optimum 2k + 1 colours (a
    row is a clique of 2k + 1), never more than networkx's greedy; the Hessian's star colouring
    needs no more than networkx's distance-2 colouring (2k + 1)."""
    nx = pytest.importorskip("networkx")
    n = 40
    D = np.abs(np.subtract.outer(np.arange(n), np.arange(n)))

    def residual(x):
        return np.array([sum(np.sin(x[j]) * x[i] for j in range(max(0, i - k), min(n, i + k + 1))) for i in range(n)])

    tape = ad.trace(residual, np.linspace(0.1, 1.0, n))
    P = tape.jacobian_sparsity().toarray() != 0
    np.testing.assert_array_equal(P, D <= k)
    columns = nx.from_numpy_array(((P.T.astype(int) @ P.astype(int)) > 0).astype(int) - np.eye(n, dtype=int))
    greedy = max(nx.greedy_color(columns, strategy="largest_first").values()) + 1
    ours = tape.jacobian_coloring()["n_column_colors"]
    assert ours == 2 * k + 1 and ours <= greedy
    htape = ad.trace(lambda x: banded(x, k), np.linspace(0.1, 1.0, n))
    band = nx.from_numpy_array(((D <= k) & (D > 0)).astype(int))
    distance2 = max(nx.greedy_color(nx.power(band, 2), strategy="largest_first").values()) + 1
    assert htape.hessian_coloring()["n_colors"] <= min(distance2, 2 * k + 1)


def _random_symmetric_pattern(rng, n, density):
    A = rng.random((n, n)) < density
    A = A | A.T
    np.fill_diagonal(A, rng.random(n) < 0.5)
    return A


@pytest.mark.parametrize("seed", range(6))
def test_star_colouring_and_recovery_on_random_patterns(seed):
    """The colouring kernel and the recovery alone, on random symmetric patterns: every stored
    entry of a random symmetric H comes back exactly from H S."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 30))
    P = _random_symmetric_pattern(rng, n, rng.uniform(0.05, 0.4))
    csr = sp.csr_array(P.astype(np.int8))
    indptr, indices = csr.indptr.astype(np.int64), csr.indices.astype(np.int64)
    order = np.argsort(-np.diff(indptr), kind="stable")
    colors = hs.star_coloring(indptr, indices, order)
    assert_star_coloring(P, colors)
    C = int(colors.max()) + 1
    src_row, src_col = hs.star_sources(indptr, indices, colors, C)
    H = np.where(P, rng.standard_normal((n, n)), 0.0)
    H = H + H.T
    S = np.zeros((n, C))
    S[np.arange(n), colors] = 1.0
    B = H @ S
    rows = np.repeat(np.arange(n), np.diff(indptr))
    np.testing.assert_allclose(B[src_row, src_col], H[rows, indices], rtol=0, atol=0)


def test_pattern_matches_the_set_based_reference_and_finite_differences():
    def f(x):
        return np.sum(np.tanh(x[:-2] * x[2:])) + x[1] * np.sum(x) + np.exp(x[3]) + x[0] ** 2 * x[4]

    n = 9
    tape = ad.trace(f, np.linspace(0.2, 0.8, n))
    P = tape.hessian_sparsity().toarray() != 0
    np.testing.assert_array_equal(P, hessian_reference.hessian_pattern(tape.arrays))
    x = np.linspace(-0.4, 0.6, n)
    H = tape.sparse_hessian(x).toarray()
    np.testing.assert_allclose(H, fd_hessian(tape, x), rtol=1e-6, atol=1e-7)
    assert np.all(H[~P] == 0.0)


def test_vector_tapes_take_weights_and_give_weights_aware_patterns():
    def g(x):
        return np.array([x[0] * x[1], np.sin(x[2]), x[3] ** 3 + x[0], x[1]])

    tape = ad.trace(g, np.linspace(0.1, 0.4, 4))
    x = np.array([0.3, -0.7, 1.1, 0.5])
    w = np.array([2.0, 0.0, -1.5, 3.0])
    P_all = tape.hessian_sparsity().toarray() != 0
    np.testing.assert_array_equal(P_all, hessian_reference.hessian_pattern(tape.arrays))
    P_w = tape.hessian_sparsity(weights=w).toarray() != 0
    np.testing.assert_array_equal(P_w, hessian_reference.hessian_pattern(tape.arrays, w != 0))
    assert not P_w[2, 2] and P_all[2, 2]  # sin(x2) has weight 0
    expected = np.zeros((4, 4))
    expected[0, 1] = expected[1, 0] = w[0]
    expected[2, 2] = -w[1] * np.sin(x[2])
    expected[3, 3] = 6 * w[2] * x[3]
    H = tape.sparse_hessian(x, weights=w)
    np.testing.assert_array_equal(H.indices, tape.hessian_sparsity().indices)  # one pattern for any weights
    np.testing.assert_allclose(H.toarray(), expected, rtol=1e-15, atol=0)
    with pytest.raises(ValueError, match=r"this tape has 4 outputs: pass weights= of shape \(4,\)"):
        tape.sparse_hessian(x)
    with pytest.raises(ValueError, match=r"weights must have shape \(4,\); got shape \(3,\)"):
        tape.hessian_sparsity(weights=np.ones(3))


def test_linear_functions_have_an_empty_hessian():
    tape = ad.trace(lambda x: 2.0 * x[0] - x[1] + np.sum(x), np.ones(3))
    assert tape.hessian_sparsity().nnz == 0 and tape.hessian_coloring()["n_colors"] == 0
    H = tape.sparse_hessian(np.array([0.3, 0.1, -2.0]))
    assert H.shape == (3, 3) and H.nnz == 0
    np.testing.assert_array_equal(tape.hessian(np.zeros(3)), np.zeros((3, 3)))


def test_branch_changes_and_bad_buffers_raise():
    tape = ad.trace(lambda x: x[0] ** 2 * x[1] if x[0] > 0 else -(x[1] ** 3), np.array([1.0, 2.0]))
    with pytest.raises(ad.BranchChangedError):
        tape.sparse_hessian(np.array([-1.0, 2.0]))
    nnz = tape.hessian_sparsity().nnz
    with pytest.raises(ValueError, match=rf"out must be a writeable, C-contiguous float64 array of shape \({nnz},\)"):
        tape.sparse_hessian_values(np.ones(2), out=np.empty(nnz + 1))


def test_fallbacks_for_dense_and_costly_patterns_stay_exact(monkeypatch):
    """Past the pair budget the pattern is dense; past the colouring budget each column gets
    its own colour. Both are safe supersets of the exact answer, and the values stay exact."""
    n = 8
    rng = np.random.default_rng(5)
    x = rng.uniform(-1, 1, n)
    monkeypatch.setattr(hs, "SMALL_PAIRS", 0)
    monkeypatch.setattr(hs, "DENSE_AFTER", 0)
    tape = ad.trace(p1, rng.uniform(-1, 1, n))
    assert tape.hessian_sparsity().nnz == n * n
    np.testing.assert_allclose(tape.sparse_hessian(x).toarray(), p1_hessian(x), rtol=1e-13, atol=1e-12)
    monkeypatch.undo()
    monkeypatch.setattr(sparse_api, "MAX_COLORING_WORK", 0)
    tape = ad.trace(p1, rng.uniform(-1, 1, n))
    assert tape.hessian_coloring()["n_colors"] == n and tape.hessian_sparsity().nnz == 3 * n - 2
    np.testing.assert_allclose(tape.sparse_hessian(x).toarray(), p1_hessian(x), rtol=1e-13, atol=1e-12)


def test_p1_at_n_20000_is_found_from_the_tape_not_from_n_squared():
    """A dense pass over n x n would be 400 M entries (3.2 GB as float64); the pattern,
    colouring and values here follow the tape."""
    n = 20000
    tape = ad.trace(p1, np.full(n, 0.5))
    x = np.linspace(-1.0, 1.0, n)
    H = tape.sparse_hessian(x)
    assert H.nnz == 3 * n - 2 and tape.hessian_coloring()["n_colors"] == 3
    i = np.arange(0, n - 1, 997)
    np.testing.assert_allclose(H[i, i + 1], -400 * x[i], rtol=1e-14)
    np.testing.assert_allclose(H[i, i], 1200 * x[i] ** 2 - 400 * x[i + 1] + 2 + np.where(i > 0, 200.0, 0.0))


def test_sparse_jacobian_many_matches_one_point_at_a_time():
    def residual(u, p):
        inner = u[:-2] - 2.0 * u[1:-1] + u[2:] + p[0] * np.exp(u[1:-1])
        return np.concatenate([u[:1], inner, u[-1:] - p[1]])

    n = 12
    rng = np.random.default_rng(2)
    tape = ad.trace(residual, np.zeros(n), params=np.array([0.1, 1.0]))
    X = rng.uniform(-1, 1, (5, n))
    P = rng.uniform(0, 1, (5, 2))
    for mode in ("forward", "reverse"):
        V = tape.sparse_jacobian_many(X, P, mode=mode)
        for k in range(5):
            np.testing.assert_allclose(V[k], tape.sparse_jacobian(X[k], P[k]).data, rtol=1e-15, atol=0)
            np.testing.assert_allclose(
                sp.csr_array((V[k], tape.jacobian_sparsity().indices, tape.jacobian_sparsity().indptr)).toarray(),
                tape.jacobian(X[k], params=P[k]),
                rtol=1e-15,
                atol=0,
            )
    shared = tape.sparse_jacobian_many(X, P[0])
    np.testing.assert_allclose(shared[3], tape.sparse_jacobian_values(X[3], P[0]), rtol=1e-15, atol=0)


def test_sparse_hessian_many_matches_one_point_at_a_time():
    def f(x, p):
        return np.array([np.sum(p[0] * x[:-1] ** 2 * x[1:]), np.sum(np.sin(x)) * p[1]])

    n = 7
    rng = np.random.default_rng(8)
    tape = ad.trace(f, rng.uniform(-1, 1, n), params=np.array([1.0, 2.0]))
    X = rng.uniform(-1, 1, (4, n))
    P = rng.uniform(0.5, 1.5, (4, 2))
    w = np.array([0.7, -1.3])
    plan = tape.sparse_hessian_plan()
    for _ in range(2):
        V = tape.sparse_hessian_many(X, P, weights=w)
        for k in range(4):
            H = sp.csr_array((V[k], plan.cols, plan.indptr), shape=(n, n)).toarray()
            np.testing.assert_allclose(H, tape.hessian(X[k], P[k], weights=w), rtol=1e-14, atol=1e-15)
            fd = fd_hessian_of(lambda z, k=k: tape.vjp(z, w, P[k]), X[k])
            np.testing.assert_allclose(H, fd, rtol=1e-6, atol=1e-7)
    with pytest.raises(ValueError, match=r"X must have shape \(N, 7\)"):
        tape.sparse_hessian_many(X[:, :3], P, weights=w)


def fd_hessian_of(grad, x, h=1e-5):
    H = np.empty((x.shape[0], x.shape[0]))
    for j in range(x.shape[0]):
        e = np.zeros(x.shape[0])
        e[j] = h
        H[:, j] = (grad(x + e) - grad(x - e)) / (2 * h)
    return H


@njit
def _refill(tape, work, jplan, hplan, X, JV, HV):
    for k in range(X.shape[0]):
        nb.sparse_jacobian_into(tape, work, jplan, X[k], JV[k])
        nb.sparse_hessian_into(tape, work, hplan, X[k], HV[k])


def test_nb_sparse_kernels_from_njit_code_match_the_tape_methods():
    def f(x):
        return np.array([np.sum(x**2 * x[0]), x[1] * x[2], np.sin(x[3])])

    n = 6
    tape = ad.trace(f, np.linspace(0.1, 0.6, n))
    work = tape.workspace(second_order=True)
    work.weights[:] = [1.0, -2.0, 0.5]
    jplan, hplan = tape.sparse_jacobian_plan(), tape.sparse_hessian_plan()
    X = np.random.default_rng(4).uniform(-1, 1, (3, n))
    JV = np.empty((3, jplan.rows.shape[0]))
    HV = np.empty((3, hplan.rows.shape[0]))
    for _ in range(2):
        _refill(tape.arrays, work, jplan, hplan, X, JV, HV)
        for k in range(3):
            np.testing.assert_allclose(JV[k], tape.sparse_jacobian_values(X[k]), rtol=1e-15, atol=0)
            np.testing.assert_allclose(
                HV[k], tape.sparse_hessian_values(X[k], weights=work.weights), rtol=1e-14, atol=1e-15
            )
    other = ad.trace(lambda x: np.sum(x**3), np.ones(2 * n))
    with pytest.raises(ValueError, match="plan was made for another tape"):
        _refill(tape.arrays, work, jplan, other.sparse_hessian_plan(), X, JV, np.empty((3, 4 * n)))


def test_function_sparse_methods_follow_the_branch():
    def f(x):
        if x[0] > 0:
            return np.array([x[0] * x[1], x[1] ** 2, x[2]])
        return np.array([x[0], x[1] * x[2], x[2] ** 3])

    fn = ad.function(f)
    w = np.array([1.0, 2.0, 3.0])
    for x in (np.array([1.0, 2.0, 3.0]), np.array([-1.0, 2.0, 3.0]), np.array([0.5, -1.0, 2.0])):
        tape = fn.tape_at(x)
        np.testing.assert_array_equal(fn.sparse_jacobian(x).toarray(), tape.jacobian(x))
        np.testing.assert_allclose(fn.sparse_hessian(x, weights=w).toarray(), tape.hessian(x, weights=w), rtol=1e-15)
    assert fn.stats()["traces"] == 2
    patterns = {tuple(fn.sparse_jacobian(x).indices) for x in (np.ones(3), -np.ones(3))}
    assert len(patterns) == 2


def test_star_colouring_is_valid_for_every_small_graph_order():
    """Exhaustively, on all 4-vertex paths, cycles and stars in every vertex order."""
    shapes = {
        "path": [(0, 1), (1, 2), (2, 3)],
        "cycle": [(0, 1), (1, 2), (2, 3), (3, 0)],
        "star": [(0, 1), (0, 2), (0, 3)],
        "paw": [(0, 1), (1, 2), (2, 0), (2, 3)],
    }
    for name, edges in shapes.items():
        P = np.eye(4, dtype=bool)
        for i, j in edges:
            P[i, j] = P[j, i] = True
        csr = sp.csr_array(P.astype(np.int8))
        for order in itertools.permutations(range(4)):
            colors = hs.star_coloring(csr.indptr.astype(np.int64), csr.indices.astype(np.int64), np.array(order))
            assert_star_coloring(P, colors)
