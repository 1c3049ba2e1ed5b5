"""softplus, logsumexp, log_softmax, xlogy and the special-function wrappers, against SciPy.

Each is recorded at one point and replayed at others; derivatives are checked against the
analytic formula (softmax for logsumexp, expit for softplus) or central differences of SciPy.
"""

import math

import numpy as np
import pytest

import numba_ad as ad

special = pytest.importorskip("scipy.special")
RNG = np.random.default_rng(5)


def test_softplus_values_and_gradient_at_the_extremes():
    x = np.array([-800.0, -30.0, -1.0, 0.0, 1e-9, 2.0, 40.0, 800.0])
    np.testing.assert_array_equal(ad.softplus(x), np.logaddexp(x, 0.0))
    tape = ad.trace(lambda v: np.sum(ad.softplus(v)), np.zeros(len(x)))
    assert tape.n_ops == len(x) + 1 + len(x) + len(x) - 1  # inputs, the constant 0, one op each, the sum
    for _ in range(2):  # twice on the same buffers
        assert tape.eval(x) == pytest.approx(np.sum(np.logaddexp(x, 0.0)), rel=1e-15)
        np.testing.assert_allclose(tape.gradient(x), special.expit(x), rtol=1e-15, atol=0)


@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 1)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_logsumexp_matches_scipy_and_its_gradient_is_softmax(axis, keepdims):
    shape = (3, 4)
    x0, x1 = RNG.normal(size=(2, 12)) * 30  # large enough that exp alone would overflow at 800
    x1[3] = 700.0

    def f(v):
        return np.ravel(ad.logsumexp(v.reshape(shape), axis=axis, keepdims=keepdims))

    tape = ad.trace(f, x0)
    want = np.ravel(special.logsumexp(x1.reshape(shape), axis=axis, keepdims=keepdims))
    np.testing.assert_allclose(tape.eval(x1), want, rtol=1e-14)
    # row k of the Jacobian is softmax over the entries reduced into output k
    J = tape.jacobian(x1)
    a = x1.reshape(shape)
    soft = np.exp(a - special.logsumexp(a, axis=axis, keepdims=True))
    np.testing.assert_allclose(J.sum(axis=0), soft.ravel(), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(J.sum(axis=1), np.ones(J.shape[0]), rtol=1e-12)


@pytest.mark.parametrize(
    "row",
    [[-np.inf, -np.inf, -np.inf], [-np.inf, 0.0, 1.0], [np.inf, 0.0, 1.0], [np.nan, 0.0, 1.0], [1.0, 1.0, 1.0]],
    ids=["all -inf", "one -inf", "+inf", "nan", "ties"],
)
def test_logsumexp_edge_cases_as_scipy(row):
    x = np.array(row)
    with np.errstate(all="ignore"):
        want = special.logsumexp(x)
        got = ad.logsumexp(x)
        tape = ad.trace(lambda v: ad.logsumexp(v), np.array([0.1, 0.2, 0.3]))
        replayed = tape.eval(x)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(replayed, want)


def test_log_softmax_matches_scipy_and_passes_the_dot_product_test():
    x0, x1 = RNG.normal(size=(2, 6)) * 5
    tape = ad.trace(lambda v: ad.log_softmax(v.reshape(2, 3), axis=1).ravel(), x0)
    # atol: an entry near 0 is log(1 - small), where a few ulps of 1 are a large relative error
    expected = special.log_softmax(x1.reshape(2, 3), axis=1).ravel()
    np.testing.assert_allclose(tape.eval(x1), expected, rtol=1e-14, atol=1e-15)
    v, w = RNG.normal(size=(2, 6))
    assert w @ tape.jvp(x1, v) == pytest.approx(tape.vjp(x1, w) @ v, rel=1e-13)
    h = 1e-6
    fd = special.log_softmax((x1 + h * v).reshape(2, 3), axis=1) - special.log_softmax(
        (x1 - h * v).reshape(2, 3), axis=1
    )
    np.testing.assert_allclose(tape.jvp(x1, v), fd.ravel() / (2 * h), rtol=1e-7, atol=1e-8)


POINTS = [
    (0.0, 0.0),
    (0.0, 2.0),
    (0.0, 0.5),
    (1.5, 0.0),
    (2.0, 3.0),
    (-1.0, 0.25),
    (0.0, np.nan),
    (0.0, -1.0),
    (0.0, np.inf),
]


@pytest.mark.parametrize("x, y", POINTS)
def test_xlogy_values_are_scipys_bit_for_bit(x, y):
    with np.errstate(all="ignore"):
        want = special.xlogy(x, y)
        assert np.array_equal(ad.xlogy(x, y), want, equal_nan=True)
        tape = ad.trace(lambda v: ad.xlogy(v[0], v[1]), np.array([0.7, 1.3]))
        got = tape.eval(np.array([x, y]))
    assert np.array_equal(got, want, equal_nan=True) and math.copysign(1, got) == math.copysign(1, want)


def test_xlogy_gradient_is_analytic_also_at_x_zero():
    tape = ad.trace(lambda v: ad.xlogy(v[0], v[1]), np.array([0.7, 1.3]))
    for x, y in [(0.0, 2.0), (0.0, 0.5), (2.0, 3.0), (-1.0, 0.25)]:
        np.testing.assert_allclose(tape.gradient(np.array([x, y])), [math.log(y), x / y], rtol=1e-15)


DERIVATIVES = {  # the analytic derivatives, in SciPy's functions
    "expit": lambda x: special.expit(x) * special.expit(-x),
    "erfinv": lambda x: math.sqrt(math.pi) / 2 * np.exp(special.erfinv(x) ** 2),
    "gammaln": special.psi,
}


@pytest.mark.parametrize("name, lo, hi", [("expit", -8.0, 8.0), ("erfinv", -0.95, 0.95), ("gammaln", 0.1, 7.0)])
def test_special_wrappers_on_numbers_arrays_traced_values_and_duals(name, lo, hi):
    fn, ref = getattr(ad, name), getattr(special, name)
    x = np.linspace(lo, hi, 9)
    np.testing.assert_allclose(fn(x), ref(x), rtol=1e-14)
    assert fn(float(x[2])) == pytest.approx(ref(x[2]), rel=1e-14)
    tape = ad.trace(lambda v: np.sum(fn(v)), x[::-1].copy())
    assert tape.eval(x) == pytest.approx(np.sum(ref(x)), rel=1e-13)
    np.testing.assert_allclose(tape.gradient(x), DERIVATIVES[name](x), rtol=1e-13)
    d = fn(ad.Dual(float(x[3]), 1.0))
    assert d.value == pytest.approx(ref(x[3]), rel=1e-14)
    assert d.deriv == pytest.approx(tape.gradient(x)[3], rel=1e-13)
