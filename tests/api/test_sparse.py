"""Sparse Jacobians: the structural pattern, its colourings, and the compressed evaluation,
each against the dense Jacobian (itself tested against finite differences elsewhere) at a
point other than the recording one, and every kernel run twice."""

import numpy as np
import pytest

import numba_ad as ad

pytest.importorskip("scipy.sparse")


def residual(u):
    """A 1-D nonlinear diffusion residual with boundary rows: tridiagonal."""
    inner = u[:-2] - 2.0 * u[1:-1] + u[2:] + 0.1 * np.exp(u[1:-1])
    return np.concatenate([u[:1] - 0.0, inner, u[-1:] - 1.0])


def banded(x, w=2):
    """f_i = sum over |j - i| <= w of sin(x_j) x_i: bandwidth 2w + 1."""
    n = x.shape[0]
    return np.array([sum(np.sin(x[j]) * x[i] for j in range(max(0, i - w), min(n, i + w + 1))) for i in range(n)])


def _assert_valid_coloring(pattern, colors, axis):
    """No two columns (axis 0: rows) of one colour share a row (column)."""
    P = pattern.toarray() != 0
    if axis == 1:
        P = P.T
    for c in np.unique(colors):
        group = P[:, colors == c] if axis == 0 else P[:, colors == c]
        assert (group.sum(axis=1) <= 1).all(), f"colour {c} groups lines that share an entry"


@pytest.mark.parametrize("mode", ["auto", "forward", "reverse"])
def test_tridiagonal_residual_matches_the_dense_jacobian_with_three_colours(mode):
    n = 40
    tape = ad.trace(residual, np.linspace(0.0, 1.0, n))
    x = np.linspace(0.0, 1.0, n) + 0.05 * np.sin(np.arange(n))
    dense = tape.jacobian(x)
    pattern = tape.jacobian_sparsity()
    np.testing.assert_array_equal(pattern.toarray() != 0, dense != 0)
    assert pattern.nnz == 3 * n - 4
    coloring = tape.jacobian_coloring()
    assert coloring["n_column_colors"] == 3 and coloring["n_row_colors"] == 3
    for _ in range(2):
        J = tape.sparse_jacobian(x, mode=mode)
        assert J.shape == (n, n) and J.nnz == pattern.nnz
        np.testing.assert_array_equal(J.indptr, pattern.indptr)
        np.testing.assert_array_equal(J.indices, pattern.indices)
        np.testing.assert_allclose(J.toarray(), dense, rtol=1e-15, atol=0)


@pytest.mark.parametrize("w", [1, 2, 3])
def test_banded_jacobians_take_their_bandwidth_in_colours(w):
    n = 15
    tape = ad.trace(lambda x: banded(x, w), np.linspace(0.1, 1.0, n))
    x = np.linspace(-0.5, 0.7, n)
    coloring = tape.jacobian_coloring()
    assert coloring["n_column_colors"] == 2 * w + 1  # the optimum: a row holds 2w + 1 columns
    pattern = tape.jacobian_sparsity()
    _assert_valid_coloring(pattern, coloring["column_colors"], 0)
    _assert_valid_coloring(pattern, coloring["row_colors"], 1)
    np.testing.assert_allclose(tape.sparse_jacobian(x).toarray(), tape.jacobian(x), rtol=1e-14, atol=1e-15)


def test_arrowhead_needs_n_colours_one_sided_and_stays_exact():
    def arrow(x):
        return np.concatenate([np.reshape(np.sum(x * x), (1,)), x[1:] * x[0]])

    n = 8
    tape = ad.trace(arrow, np.linspace(0.5, 1.5, n))
    coloring = tape.jacobian_coloring()
    # a dense row and a dense column: one-sided colourings cannot compress it
    assert coloring["n_column_colors"] == n and coloring["n_row_colors"] == n
    x = np.linspace(-1.0, 2.0, n)
    np.testing.assert_allclose(tape.sparse_jacobian(x).toarray(), tape.jacobian(x), rtol=1e-15)


def test_random_sparse_structures_agree_with_the_dense_jacobian():
    rng = np.random.default_rng(11)
    for trial in range(6):
        n, m = rng.integers(3, 12, 2)
        mask = rng.random((m, n)) < 0.3
        cubes = rng.random(n) < 0.5

        def f(x, mask=mask, cubes=cubes):
            y = np.where(cubes, x**3, np.tanh(x))
            return np.array([np.sum(y[mask[r]]) + 0.5 * np.prod(x[mask[r]]) for r in range(mask.shape[0])])

        tape = ad.trace(f, rng.uniform(0.5, 1.5, n))
        x = rng.uniform(0.5, 1.5, n)
        dense = tape.jacobian(x)
        pattern = tape.jacobian_sparsity().toarray() != 0
        assert np.array_equal(pattern, mask), trial  # every masked entry really depends on its input
        coloring = tape.jacobian_coloring()
        _assert_valid_coloring(tape.jacobian_sparsity(), coloring["column_colors"], 0)
        _assert_valid_coloring(tape.jacobian_sparsity(), coloring["row_colors"], 1)
        for mode in ("forward", "reverse"):
            np.testing.assert_allclose(tape.sparse_jacobian(x, mode=mode).toarray(), dense, rtol=1e-13, atol=1e-14)


def test_where_keeps_both_branches_in_the_pattern():
    tape = ad.trace(lambda x: np.array([ad.where(x[0] > 0, x[1], x[2]), x[0]]), np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(tape.jacobian_sparsity().toarray(), [[0, 1, 1], [1, 0, 0]])
    x = np.array([-1.0, 2.0, 3.0])  # the other branch: same pattern, values of that branch
    np.testing.assert_array_equal(tape.sparse_jacobian(x).toarray(), tape.jacobian(x))


def test_scalar_tape_gives_the_gradient_as_one_row():
    tape = ad.trace(lambda x: np.sum(x[1:] * x[:-1]), np.ones(5))
    x = np.arange(5.0)
    J = tape.sparse_jacobian(x)
    assert J.shape == (1, 5)
    np.testing.assert_array_equal(J.toarray()[0], tape.gradient(x))


def test_values_into_a_buffer_and_bad_arguments():
    tape = ad.trace(residual, np.linspace(0.0, 1.0, 10))
    x = np.linspace(0.2, 0.9, 10)
    out = np.empty(tape.jacobian_sparsity().nnz)
    assert tape.sparse_jacobian_values(x, out=out) is out
    np.testing.assert_array_equal(out, tape.sparse_jacobian(x).data)
    want = r"out must be a writeable, C-contiguous float64 array of shape \(26,\) \(the pattern.s nnz\)"
    with pytest.raises(ValueError, match=want + ".*got float32"):
        tape.sparse_jacobian_values(x, out=np.empty(26, dtype=np.float32))
    # a strided buffer was once written as if contiguous (the entry point was found for one)
    strided = np.zeros(52)
    with pytest.raises(ValueError, match=want + "; got a strided one"):
        tape.sparse_jacobian_values(x, out=strided[::2])
    np.testing.assert_array_equal(strided, 0.0)
    readonly = np.zeros(26)
    readonly.flags.writeable = False
    with pytest.raises(ValueError, match=want + "; got a read-only one"):
        tape.sparse_jacobian_values(x, out=readonly)
    with pytest.raises(ValueError, match=r"mode must be 'auto', 'forward' or 'reverse'; got 'sideways'"):
        tape.sparse_jacobian(x, mode="sideways")
    with pytest.raises(ValueError, match=r"x must have shape \(10,\)"):
        tape.sparse_jacobian(x[:-1])


def test_leaving_the_recorded_branch_raises():
    def f(x):
        return np.array([x[0] * x[1] if x[0] > 0 else -x[1], x[1] ** 2])

    tape = ad.trace(f, np.array([1.0, 2.0]))
    with pytest.raises(ad.BranchChangedError):
        tape.sparse_jacobian(np.array([-1.0, 2.0]))


def test_long_reductions_do_not_blow_up_the_pattern():
    """A sum of n terms is a chain of n adds: forward index sets would copy n^2 / 2 entries;
    the backward output sets share one range. n = 20000 must be quick and exact."""
    n = 20000
    tape = ad.trace(lambda x: np.array([np.sum(x * x), x[0] * x[-1]]), np.ones(n))
    P = tape.jacobian_sparsity()
    assert P.nnz == n + 2
    x = np.linspace(-1.0, 1.0, n)
    J = tape.sparse_jacobian(x)
    np.testing.assert_allclose(J.toarray()[0], 2 * x, rtol=1e-15)
    np.testing.assert_array_equal(J.toarray()[1, [0, -1]], [x[-1], x[0]])


def test_five_point_stencil_takes_the_optimal_five_colours():
    """Column order colours the 2-D 5-point stencil with 7; DSATUR finds the optimum 5 (as
    networkx's DSATUR does on the column intersection graph)."""
    nx = pytest.importorskip("networkx")
    N = 12

    def residual2d(u):
        U = u.reshape(N, N)
        P = np.pad(U, 1)
        return (P[:-2, 1:-1] + P[2:, 1:-1] + P[1:-1, :-2] + P[1:-1, 2:] - 4.0 * U + np.exp(U)).ravel()

    tape = ad.trace(residual2d, np.full(N * N, 0.1))
    pattern = tape.jacobian_sparsity()
    coloring = tape.jacobian_coloring()
    assert coloring["n_column_colors"] == 5 and coloring["n_row_colors"] == 5
    _assert_valid_coloring(pattern, coloring["column_colors"], axis=0)
    _assert_valid_coloring(pattern, coloring["row_colors"], axis=1)
    P = pattern.toarray().astype(int)
    G = nx.from_numpy_array(((P.T @ P) > 0).astype(int) - np.eye(N * N, dtype=int))
    assert max(nx.greedy_color(G, strategy="saturation_largest_first").values()) + 1 == 5
    x = np.linspace(-0.3, 0.4, N * N)
    for mode in ("forward", "reverse"):
        np.testing.assert_allclose(tape.sparse_jacobian(x, mode=mode).toarray(), tape.jacobian(x), rtol=1e-15, atol=0)


@pytest.mark.parametrize("seed", range(5))
def test_dsatur_colourings_of_random_patterns_are_valid(seed):
    sp = pytest.importorskip("scipy.sparse")
    from numba_ad.tape import jacobian_sparsity as js

    rng = np.random.default_rng(seed)
    m, n = (int(v) for v in rng.integers(3, 40, 2))
    A = sp.random_array((m, n), density=rng.uniform(0.05, 0.5), rng=rng, format="csr")
    csc = A.tocsc()
    ptr, idx = csc.indptr.astype(np.int64), csc.indices.astype(np.int64)
    t_ptr, t_idx = A.indptr.astype(np.int64), A.indices.astype(np.int64)
    for colors in (js.dsatur_coloring(ptr, idx, t_ptr, t_idx, n), js.best_coloring(ptr, idx, t_ptr, t_idx)):
        assert colors.shape == (n,) and colors.min() >= 0
        _assert_valid_coloring(A, colors, axis=0)
    assert js.best_coloring(ptr, idx, t_ptr, t_idx).max() <= js.greedy_coloring(ptr, idx, t_ptr, t_idx).max()
