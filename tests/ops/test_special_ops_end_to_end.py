"""The six special-function ops (logaddexp, logaddexp2, expit, erfinv, gammaln, sinc) through every
path: array tracing, a traced @njit kernel, replay at other points, gradient_many, HVP and
Hessian, Taylor, compile(), and nb from @njit code; references are SciPy's and NumPy's.

(The per-op table tests, tests/ops/test_table.py, test_taylor.py, tests/tape/test_second_order.py
and tests/compile/test_compiled.py, cover each op on its own; this file checks them together.)
"""

import math

import numpy as np
import pytest
from numba import njit

import numba_ad as ad
from numba_ad import nb

special = pytest.importorskip("scipy.special")


def f(x):
    return (
        np.logaddexp(x[0], x[1])
        + np.logaddexp2(x[1], x[2])
        + np.sum(special.expit(x))
        + special.erfinv(0.3 * x[2])
        + np.sum(special.gammaln(x + 2.5))
        + np.sum(np.sinc(x))
    )


@njit
def f_njit(x):  # the same f as numba code: what numba can call (no scipy.special in @njit)
    return np.logaddexp(x[0], x[1]) + np.logaddexp2(x[1], x[2]) + math.lgamma(x[0] + 2.5) + np.sinc(x[2])


def f_njit_reference(x):
    return np.logaddexp(x[0], x[1]) + np.logaddexp2(x[1], x[2]) + special.gammaln(x[0] + 2.5) + np.sinc(x[2])


def grad_reference(x):
    """The analytic gradient of f, in SciPy's functions."""
    g = special.expit(x) * special.expit(-x) + special.psi(x + 2.5)
    pi_x = np.pi * x
    with np.errstate(all="ignore"):
        g += np.where(x == 0.0, 0.0, (np.cos(pi_x) * pi_x - np.sin(pi_x)) / (np.pi * x * x))
    s = special.expit(x[0] - x[1])
    g[0] += s
    g[1] += 1.0 - s
    s2 = special.expit(math.log(2.0) * (x[1] - x[2]))
    g[1] += s2
    g[2] += 1.0 - s2 + 0.3 * math.sqrt(math.pi) / 2 * math.exp(special.erfinv(0.3 * x[2]) ** 2)
    return g


X0 = np.array([0.3, -0.4, 0.8])
POINTS = np.array([[-0.2, 0.6, 1.7], [1.1, 1.1, -0.9], [0.0, -2.0, 0.4], [2.5, 0.7, -1.3]])


@pytest.fixture(scope="module")
def tape():
    return ad.trace(f, X0)


def test_replay_at_other_points_against_scipy(tape):
    for x in POINTS:
        for _ in range(2):  # twice on the same buffers
            assert tape.eval(x) == pytest.approx(f(x), rel=1e-14)
            np.testing.assert_allclose(tape.gradient(x), grad_reference(x), rtol=1e-12, atol=1e-14)


def test_gradient_many_equals_the_single_point_gradient(tape):
    G = tape.gradient_many(POINTS)
    for x, g in zip(POINTS, G):
        np.testing.assert_array_equal(g, tape.gradient(x))


def test_hessian_and_hvp_against_differences_of_the_analytic_gradient(tape):
    h = 1e-6
    for x in POINTS[:2]:
        H = tape.hessian(x)
        fd = np.array([(grad_reference(x + h * e) - grad_reference(x - h * e)) / (2 * h) for e in np.eye(3)])
        np.testing.assert_allclose(H, fd, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(H, H.T, rtol=1e-14, atol=1e-15)
        v = np.array([0.3, -1.2, 0.5])
        np.testing.assert_allclose(tape.hvp(x, v), H @ v, rtol=1e-13, atol=1e-14)


def test_taylor_degree_two_is_the_hessian_along_v(tape):
    x, v = POINTS[0], np.array([0.3, -1.2, 0.5])
    c = tape.taylor(x, v, 2)
    assert c[1] == pytest.approx(tape.gradient(x) @ v, rel=1e-13)
    assert 2 * c[2] == pytest.approx(v @ tape.hessian(x) @ v, rel=1e-12)


@pytest.mark.parametrize("straight", [True, False], ids=["straight", "loops"])
def test_compiled_tape_answers_as_the_tape(tape, straight):
    compiled = tape.compile(straight_line=straight)
    for x in POINTS:
        assert compiled.eval(x) == tape.eval(x)
        # loops may add the adjoint terms of a slot in another order: a few ulp
        np.testing.assert_allclose(compiled.gradient(x), tape.gradient(x), rtol=4e-16 if straight else 1e-15, atol=0)


def test_traced_njit_kernel_and_nb_from_njit_code():
    tape = ad.trace(f_njit, X0)
    assert tape.n_guards == 0
    work = tape.workspace()

    @njit
    def gradients(arrays, work, X, G):
        for i in range(X.shape[0]):
            nb.value_and_gradient_into(arrays, work, X[i], G[i])

    G = np.empty_like(POINTS)
    gradients(tape.arrays, work, POINTS, G)
    h = 1e-6
    for x, g in zip(POINTS, G):
        assert f_njit(x) == pytest.approx(f_njit_reference(x), rel=1e-14)
        assert tape.eval(x) == pytest.approx(f_njit(x), rel=1e-14)
        fd = [(f_njit_reference(x + h * e) - f_njit_reference(x - h * e)) / (2 * h) for e in np.eye(3)]
        np.testing.assert_allclose(g, fd, rtol=1e-7, atol=1e-8)
        np.testing.assert_array_equal(g, tape.gradient(x))


def f_scalars(x):
    """f on a list of scalars: SciPy's ufuncs have no object loops, numba_ad's wrappers take Duals."""
    return (
        np.logaddexp(x[0], x[1])
        + np.logaddexp2(x[1], x[2])
        + sum(ad.expit(v) for v in x)
        + ad.erfinv(0.3 * x[2])
        + sum(ad.gammaln(v + 2.5) for v in x)
        + sum(np.sinc(v) for v in x)
    )


def test_dual_numbers_in_python_agree_with_the_tape(tape):
    x = POINTS[0]
    for j in range(3):
        d = f_scalars([ad.Dual(v, 1.0 if k == j else 0.0) for k, v in enumerate(x)])
        assert d.value == pytest.approx(tape.eval(x), rel=1e-14)
        assert d.deriv == pytest.approx(tape.gradient(x)[j], rel=1e-13)
