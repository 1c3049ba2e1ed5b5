"""ad.vmap: a transformation at many points through the tape's *_many kernels, with rows on
other branches served one by one; every answer equals the row-by-row call."""

import numpy as np
import pytest

import numba_ad as ad

RNG = np.random.default_rng(4)


def piecewise(x):
    if x[0] > 0:  # a guard: rows with x[0] <= 0 need another tape
        return np.sum(np.sin(x) * x[1])
    return np.sum(x**3)


def test_gradients_of_rows_on_two_branches_equal_the_row_by_row_calls():
    X = RNG.normal(size=(40, 3))
    g = ad.grad(piecewise)
    G = ad.vmap(g)(X)
    assert G.shape == (40, 3)
    for i in range(40):
        np.testing.assert_allclose(G[i], ad.grad(piecewise)(X[i]), rtol=1e-14)
    values, G2 = ad.vmap(ad.value_and_grad(piecewise))(X)
    np.testing.assert_allclose(values, [piecewise(x) for x in X], rtol=1e-14)
    np.testing.assert_array_equal(G2, G)
    assert g.function.stats()["traces"] == 2  # one tape per branch, whatever the number of rows


def test_values_and_jacobians_with_shared_arguments_and_matrix_rows():
    M = RNG.normal(size=(5, 2, 3))

    def f(A, s):
        return np.sin(A) * s

    J = ad.vmap(ad.jacobian(f), in_axes=(0, None))(M, 1.5)
    assert J.shape == (5, 2, 3, 2, 3)
    for i in range(5):
        np.testing.assert_allclose(J[i], ad.jacobian(f)(M[i], 1.5), rtol=1e-14)
    values = ad.vmap(ad.function(f))(M, 1.5)
    np.testing.assert_allclose(values, np.sin(M) * 1.5, rtol=1e-15)
    G = ad.vmap(ad.grad(lambda A, s: np.sum(A**2) * s))(M.astype(np.float32), 2.0)
    assert G.dtype == np.float32 and G.shape == (5, 2, 3)
    np.testing.assert_allclose(G, 4.0 * M.astype(np.float32), rtol=1e-6)


def test_other_forms_run_row_by_row_and_stack_their_structure():
    X = RNG.normal(size=(4, 2))
    grads = ad.vmap(ad.grad(lambda x, y: x[0] * y, argnums=(0, 1)))(X, 3.0)
    assert isinstance(grads, tuple) and grads[0].shape == (4, 2) and grads[1].shape == (4,)
    np.testing.assert_allclose(grads[1], X[:, 0])
    aux = ad.vmap(ad.grad(lambda x: (np.sum(x**2), {"twice": 2 * x}), has_aux=True))(X)
    np.testing.assert_allclose(aux[0], 2 * X)
    np.testing.assert_allclose(aux[1]["twice"], 2 * X)


def test_bad_calls():
    with pytest.raises(TypeError, match="vmap takes"):
        ad.vmap(lambda x: x)
    with pytest.raises(ValueError, match="in_axes"):
        ad.vmap(ad.grad(piecewise), in_axes=1)
    with pytest.raises(ValueError, match="axis 0"):
        ad.vmap(ad.grad(piecewise))(np.float64(1.0))
    with pytest.raises(ValueError, match="2 entries for 1"):
        ad.vmap(ad.grad(piecewise), in_axes=(0, None))(np.ones((2, 3)))
