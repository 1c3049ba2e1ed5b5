"""Taylor rules of the special-function ops (numba_ad/ops/special_taylor.py).

The reference is independent of the recurrences: Cauchy's integral formula, the coefficients of
f(x(t)) from an FFT of f on the circle |t| = r, with f's complex form from NumPy and SciPy
(1 / (1 + exp(-z)), np.sinc, scipy.special.loggamma or log(+-Gamma), log(exp(x) + exp(y))).
erfinv has no complex reference: its series z(t) is checked by composing it with SciPy's complex
erf, which must give back x(t). Degree D = 6, input series random with a known bound on
|x(t) - x_0| (half the distance to the nearest singularity).
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from numba_ad.ops import special as S
from numba_ad.ops import special_taylor as T

sp = pytest.importorskip("scipy.special")

D = 6
N = 128  # points on the circle
EPS = np.finfo(float).eps
LN2 = math.log(2.0)
CIRCLE = np.exp(2j * np.pi * np.arange(N) / N)
ROWS = 4  # X: slot 0 the constant zero, 1 x, 2 y, 3 the result


def series(x0, coef):
    return np.concatenate([[x0], coef])


def on_circle(s, r=1.0):
    t = r * CIRCLE
    return sum(c * t**k for k, c in enumerate(s))


def coefficients(values, r=1.0):
    """Taylor coefficients 0..D from values on |t| = r."""
    return (np.fft.fft(values) / N)[: D + 1].real / r ** np.arange(D + 1)


def unary(rule, f, df, xs):
    """Run a unary rule as taylor() does: X[i, 0] and X[i, 1] written first."""
    X = np.zeros((ROWS, D + 1))
    X[1] = xs
    X[3, 0] = f(xs[0])
    d = df(xs[0], X[3, 0])
    X[3, 1] = d * xs[1] if xs[1] != 0.0 else 0.0
    rule(X, 1, 3, np.full((4, D + 1), np.nan))  # scratch starts as garbage
    return X


def binary(rule, f, df, xs, ys):
    X = np.zeros((ROWS, D + 1))
    X[1] = xs
    X[2] = ys
    X[3, 0] = f(xs[0], ys[0])
    da, db = df(xs[0], ys[0], X[3, 0])
    X[3, 1] = (da * xs[1] if xs[1] != 0.0 else 0.0) + (db * ys[1] if ys[1] != 0.0 else 0.0)
    rule(X, 1, 2, 3, np.full((4, D + 1), np.nan))
    return X


def random_coef(rng, radius):
    """Coefficients 1..D with sum |c_k| = radius: |x(t) - x_0| <= radius on |t| = 1."""
    c = rng.uniform(-1.0, 1.0, D)
    return c * (radius / np.abs(c).sum())


def check(got, ref, scale, tol=64):
    err = np.abs(got[2:] - ref[2:])
    assert np.all(err <= tol * EPS * scale), (got, ref, err / (EPS * scale))
    return float(err.max() / (EPS * scale))


def expit_c(z):
    return 1.0 / (1.0 + np.exp(-z))


def test_expit_against_cauchy():
    rng = np.random.default_rng(1)
    worst = 0.0
    for x0 in [-30.0, -2.0, -0.1, 0.0, 0.3, 5.0, 12.0]:
        xs = series(x0, random_coef(rng, 1.0))  # poles at i pi (2k + 1): distance >= pi
        vals = expit_c(on_circle(xs))
        worst = max(worst, check(unary(T.taylor_expit, S.expit, S.d_expit, xs)[3], coefficients(vals), 1.0))
    print(f"expit Taylor: max {worst:.1f} eps")


def test_expit_keeps_relative_accuracy_far_out():
    """At x_0 = 40 the coefficients are about e^-40: 1 - s would be pure rounding. Reference:
    expit(x) = 1 - expit(-x), with expit(-z) = exp(-z) / (1 + exp(-z)) accurate there."""
    rng = np.random.default_rng(2)
    for x0 in [40.0, 200.0, -40.0]:
        xs = series(x0, random_coef(rng, 1.0))
        got = unary(T.taylor_expit, S.expit, S.d_expit, xs)[3]
        if x0 > 0:
            z = -on_circle(xs)
            ref = -coefficients(np.exp(z) / (1.0 + np.exp(z)))
        else:
            z = on_circle(xs)
            ref = coefficients(np.exp(z) / (1.0 + np.exp(z)))
        scale = np.abs(ref[1:]).max()
        assert np.allclose(got[2:], ref[2:], rtol=1e-12, atol=1e-12 * scale)


def test_sinc_against_cauchy():
    rng = np.random.default_rng(3)
    worst = 0.0
    for x0 in [0.0, 1e-9, -1e-4, 0.3, 0.999, 1.0, 1.5, -2.0, 7.25, -40.5]:
        xs = series(x0, random_coef(rng, 1.0))
        vals = np.sinc(on_circle(xs))
        scale = np.abs(vals).max()
        worst = max(worst, check(unary(T.taylor_sinc, S.sinc, S.d_sinc, xs)[3], coefficients(vals), scale, tol=256))
    print(f"sinc Taylor: max {worst:.1f} eps * max|f|")


def test_sinc_series_at_zero_is_the_even_series():
    """x(t) = t: sinc's own series, (-1)^m pi^2m / (2m+1)! at t^2m, exactly zero at odd degrees."""
    xs = np.zeros(D + 1)
    xs[1] = 1.0
    got = unary(T.taylor_sinc, S.sinc, S.d_sinc, xs)[3]
    ref = [(-1) ** (k // 2) * math.pi**k / math.factorial(k + 1) if k % 2 == 0 else 0.0 for k in range(D + 1)]
    assert np.allclose(got, ref, rtol=4 * EPS, atol=0)
    assert np.all(got[1::2] == 0.0)


@pytest.mark.parametrize("x0", [0.05, 0.7, 1.0, 1.4616321449683622, 2.0, 3.5, 30.0, 1e3])
def test_gammaln_against_cauchy_positive(x0):
    rng = np.random.default_rng(int(x0 * 1000) % 2**32)
    xs = series(x0, random_coef(rng, min(1.0, x0 / 2)))
    vals = sp.loggamma(on_circle(xs))  # analytic off the negative real axis
    ref = coefficients(vals)
    # scipy's complex loggamma is the weaker side (7.8e-14 off at x_0 = 1, t = 0): allow for
    # the reference's own error, estimated by its miss of the real value at t = 0
    noise = abs(ref[0] - sp.gammaln(x0)) / EPS
    scale = max(1.0, np.abs(vals).max())
    err = check(unary(T.taylor_gammaln, S.gammaln, S.d_gammaln, xs)[3], ref, scale, tol=64 + 4 * noise / scale)
    print(f"gammaln Taylor at {x0}: {err:.1f} eps * max|f| (reference noise {noise / scale:.0f})")


@pytest.mark.parametrize("x0", [0.7, 1.0, 2.0, -2.5])
def test_gammaln_against_mpmath(x0):
    """Where scipy's complex loggamma is the noisier side: mpmath's Taylor coefficients of
    log|Gamma(x(t))| at 30 digits."""
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 30
    rng = np.random.default_rng(13)
    xs = series(x0, random_coef(rng, 0.3))
    got = unary(T.taylor_gammaln, S.gammaln, S.d_gammaln, xs)[3]

    def f(t):
        return mp.log(abs(mp.gamma(sum(mp.mpf(float(c)) * t**k for k, c in enumerate(xs)))))

    ref = np.array([float(c) for c in mp.taylor(f, 0, D)])
    err = np.abs(got[2:] - ref[2:]) / (EPS * np.maximum(1.0, np.abs(ref[2:])))
    print(f"gammaln Taylor at {x0} vs mpmath: max {err.max():.1f} eps")
    assert err.max() <= 16


@pytest.mark.parametrize("x0", [-0.5, -1.3, -2.5, -2.95, -7.2])
def test_gammaln_against_cauchy_negative(x0):
    """log|Gamma| near a negative x_0 continues analytically as log(sign(Gamma(x_0)) Gamma(z))."""
    rng = np.random.default_rng(5)
    dist = abs(x0 - round(x0))
    xs = series(x0, random_coef(rng, dist / 2))
    sign = np.sign(sp.gamma(x0))
    vals = np.log(sign * sp.gamma(on_circle(xs)))
    scale = np.abs(vals).max()
    check(unary(T.taylor_gammaln, S.gammaln, S.d_gammaln, xs)[3], coefficients(vals), max(scale, 1.0), tol=256)


def lae_reference(xs, ys, base):
    """Coefficients of log_base(base^x + base^y) with m = max(x_0, y_0) taken out before the
    circle (x(t) - m is evaluated without rounding to m's size; np.log of a sum near the
    positive reals, analytic there)."""
    m = max(xs[0], ys[0])
    lb = math.log(base)
    xo, yo = xs.copy(), ys.copy()
    xo[0] -= m
    yo[0] -= m
    vals = np.log(np.exp(lb * on_circle(xo)) + np.exp(lb * on_circle(yo))) / lb
    ref = coefficients(vals)
    ref[0] += m
    return ref, max(np.abs(vals).max(), 1.0)


LAE = [
    (T.taylor_logaddexp, S.logaddexp, S.d_logaddexp, math.e),
    (T.taylor_logaddexp2, S.logaddexp2, S.d_logaddexp2, 2.0),
]


@pytest.mark.parametrize("rule, f, df, base", LAE)
def test_logaddexp_against_cauchy(rule, f, df, base):
    rng = np.random.default_rng(6)
    worst = 0.0
    for x0, y0 in [(0.0, 0.0), (1.0, -2.0), (-3.0, 4.0), (30.0, -1.0), (-700.0, -699.5), (1e3, 1e3 + 0.25)]:
        # singular where base^x + base^y = 0: x - y = i pi (2k + 1) / ln(base); keep |u - u_0| <= 1
        xs = series(x0, random_coef(rng, 0.5))
        ys = series(y0, random_coef(rng, 0.5))
        ref, scale = lae_reference(xs, ys, base)
        worst = max(worst, check(binary(rule, f, df, xs, ys)[3], ref, scale))
    print(f"logaddexp (base {base:.3g}) Taylor: max {worst:.1f} eps")


@pytest.mark.parametrize("x0", [0.0, 0.5, -0.9, 0.99, 0.999999, 1.0 - 1e-12, -(1.0 - 1e-15)])
def test_erfinv_series_inverts_erf(x0):
    rng = np.random.default_rng(7)
    xs = series(x0, random_coef(rng, (1.0 - abs(x0)) / 2))
    got = unary(T.taylor_erfinv, S.erfinv, S.d_erfinv, xs)[3]
    # erf(z(t)) = x(t) + O(t^(D+1)); on |t| = 1/2 the truncation terms alias by less than 2^-128
    r = 0.5
    back = coefficients(sp.erf(on_circle(got, r)), r)
    scale = (1.0 - abs(x0)) / 2
    err = np.abs(back[1:] - xs[1:]) * r ** np.arange(1, D + 1)  # each term's size on the circle
    assert np.all(err <= 1e-12 * scale + 64 * EPS), err
    # and the series against erf's own derivatives composed with it, at degree 2:
    # x_2 = erf'(z0) z_2 + erf''(z0) z_1^2 / 2, erf'' = -2 z erf'
    z0, z1, z2 = got[:3]
    e1 = 2.0 / math.sqrt(math.pi) * math.exp(-z0 * z0)
    assert e1 * z2 - z0 * e1 * z1 * z1 == pytest.approx(xs[2], rel=1e-12, abs=1e-14 * abs(xs[1]))


def test_degree_two_matches_second_partials():
    """z_2 = d_a x_2 + d_b y_2 + (d_aa x_1^2 + 2 d_ab x_1 y_1 + d_bb y_1^2) / 2 for every op."""
    rng = np.random.default_rng(8)
    cases = [
        (T.taylor_erfinv, S.erfinv, S.d_erfinv, S.d2_erfinv, 0.3),
        (T.taylor_erfinv, S.erfinv, S.d_erfinv, S.d2_erfinv, -0.97),
        (T.taylor_gammaln, S.gammaln, S.d_gammaln, S.d2_gammaln, 2.7),
        (T.taylor_gammaln, S.gammaln, S.d_gammaln, S.d2_gammaln, -1.4),
        (T.taylor_expit, S.expit, S.d_expit, S.d2_expit, -1.2),
        (T.taylor_sinc, S.sinc, S.d_sinc, S.d2_sinc, 0.0),
        (T.taylor_sinc, S.sinc, S.d_sinc, S.d2_sinc, 2.3),
    ]
    for rule, f, df, d2f, x0 in cases:
        xs = series(x0, rng.normal(size=D) * 0.1)
        z = unary(rule, f, df, xs)[3]
        v = f(x0)
        ref = df(x0, v) * xs[2] + 0.5 * d2f(x0, v) * xs[1] ** 2
        assert z[2] == pytest.approx(ref, rel=1e-13, abs=1e-16), rule
    for rule, f, df, base in LAE:
        d2f = S.d2_logaddexp if base == math.e else S.d2_logaddexp2
        for x0, y0 in [(0.3, -0.4), (2.0, 2.0), (-math.inf, -math.inf)]:
            xs = series(x0, rng.normal(size=D) * 0.1)
            ys = series(y0, rng.normal(size=D) * 0.1)
            z = binary(rule, f, df, xs, ys)[3]
            v = f(x0, y0)
            da, db = df(x0, y0, v)
            aa, ab, bb = d2f(x0, y0, v)
            ref = da * xs[2] + db * ys[2] + 0.5 * (aa * xs[1] ** 2 + 2 * ab * xs[1] * ys[1] + bb * ys[1] ** 2)
            assert z[2] == pytest.approx(ref, rel=1e-13, abs=1e-16)


def test_no_series_gives_nan():
    nan, inf = math.nan, math.inf
    tail = np.arange(1, D + 1) * 0.01
    for rule, f, df, x0 in [
        (T.taylor_erfinv, S.erfinv, S.d_erfinv, 1.0),
        (T.taylor_erfinv, S.erfinv, S.d_erfinv, -1.0),
        (T.taylor_erfinv, S.erfinv, S.d_erfinv, 1.5),
        (T.taylor_gammaln, S.gammaln, S.d_gammaln, 0.0),
        (T.taylor_gammaln, S.gammaln, S.d_gammaln, -3.0),
        (T.taylor_gammaln, S.gammaln, S.d_gammaln, inf),
        (T.taylor_gammaln, S.gammaln, S.d_gammaln, nan),
        (T.taylor_sinc, S.sinc, S.d_sinc, inf),
        (T.taylor_sinc, S.sinc, S.d_sinc, nan),
        (T.taylor_expit, S.expit, S.d_expit, nan),
    ]:
        assert np.all(np.isnan(unary(rule, f, df, series(x0, tail))[3, 2:])), (rule, x0)
    for rule, f, df, _ in LAE:
        for x0, y0 in [(nan, 1.0), (1.0, nan), (nan, -inf)]:
            assert np.all(np.isnan(binary(rule, f, df, series(x0, tail), series(y0, tail))[3, 2:]))


def test_infinite_operands():
    rng = np.random.default_rng(9)
    inf = math.inf
    tail = rng.normal(size=D)
    for x0 in (inf, -inf):  # expit is constant out there
        assert np.all(unary(T.taylor_expit, S.expit, S.d_expit, series(x0, tail))[3, 1:] == 0.0)
    xt, yt = rng.normal(size=D), rng.normal(size=D)
    for rule, f, df, _ in LAE:
        # one side -inf (or the other +inf): the other's series exactly
        assert np.array_equal(binary(rule, f, df, series(-inf, xt), series(1.0, yt))[3, 1:], yt)
        assert np.array_equal(binary(rule, f, df, series(inf, xt), series(-inf, yt))[3, 1:], xt)
        assert np.array_equal(binary(rule, f, df, series(2.0, xt), series(inf, yt))[3, 1:], yt)
        # equal infinities: the symmetric limit, the series at any finite tie
        for a in (-inf, inf):
            tie = binary(rule, f, df, series(0.0, xt), series(0.0, yt))[3, 1:]
            assert np.array_equal(binary(rule, f, df, series(a, xt), series(a, yt))[3, 1:], tie)


ALL_UNARY = [
    (T.taylor_erfinv, S.erfinv, S.d_erfinv, 0.4),
    (T.taylor_gammaln, S.gammaln, S.d_gammaln, -2.4),
    (T.taylor_expit, S.expit, S.d_expit, 0.7),
    (T.taylor_sinc, S.sinc, S.d_sinc, 0.2),
]


def test_writes_only_coefficients_two_and_up_of_its_row():
    rng = np.random.default_rng(10)
    for rule, f, df, x0 in ALL_UNARY:
        X = rng.normal(size=(ROWS, D + 1))
        X[1, 0] = x0
        before = X.copy()
        rule(X, 1, 3, np.zeros((4, D + 1)))
        assert np.array_equal(np.delete(X, 3, axis=0), np.delete(before, 3, axis=0))
        assert np.array_equal(X[3, :2], before[3, :2])
    for rule, *_ in LAE:
        X = rng.normal(size=(ROWS, D + 1))
        before = X.copy()
        rule(X, 1, 2, 3, np.zeros((3, D + 1)))  # three scratch rows are enough
        assert np.array_equal(X[:3], before[:3]) and np.array_equal(X[3, :2], before[3, :2])


def test_constant_operand_gives_a_constant():
    z = np.zeros(D)
    for rule, f, df, x0 in ALL_UNARY:
        assert np.all(unary(rule, f, df, series(x0, z))[3, 1:] == 0.0)
    for rule, f, df, _ in LAE:
        assert np.all(binary(rule, f, df, series(0.5, z), series(-1.0, z))[3, 1:] == 0.0)


def test_other_degrees():
    """The rules read the degree from X's shape: degree 1 writes nothing, degree 10 agrees with
    degree 6 on the common coefficients."""
    rng = np.random.default_rng(11)
    for rule, f, df, x0 in ALL_UNARY:
        c = rng.normal(size=10) * 0.05
        Xs = []
        for d in (1, 6, 10):
            X = np.zeros((ROWS, d + 1))
            X[1, 0] = x0
            X[1, 1:] = c[:d]
            X[3, 0] = f(x0)
            X[3, 1] = df(x0, X[3, 0]) * c[0]
            before = X.copy()
            rule(X, 1, 3, np.zeros((4, d + 1)))
            Xs.append(X[3])
            if d == 1:
                assert np.array_equal(X, before)
        assert np.allclose(Xs[1], Xs[2][:7], rtol=1e-14, atol=1e-17)


def test_same_bits_twice():
    rng = np.random.default_rng(12)
    for rule, f, df, x0 in ALL_UNARY:
        xs = series(x0, rng.normal(size=D) * 0.1)
        assert unary(rule, f, df, xs).tobytes() == unary(rule, f, df, xs).tobytes()
    for rule, f, df, _ in LAE:
        xs, ys = series(0.3, rng.normal(size=D)), series(-0.8, rng.normal(size=D))
        assert binary(rule, f, df, xs, ys).tobytes() == binary(rule, f, df, xs, ys).tobytes()


@settings(max_examples=25, deadline=None, derandomize=True)
@given(
    st.sampled_from(["expit", "sinc", "logaddexp", "logaddexp2"]),
    st.floats(-8.0, 8.0, allow_nan=False),
    st.floats(-8.0, 8.0, allow_nan=False),
    st.integers(0, 2**31 - 1),
)
def test_random_points_against_cauchy(op, x0, y0, seed):
    rng = np.random.default_rng(seed)
    xs = series(x0, random_coef(rng, 0.5))
    ys = series(y0, random_coef(rng, 0.5))
    if op == "expit":
        got = unary(T.taylor_expit, S.expit, S.d_expit, xs)[3]
        vals = expit_c(on_circle(xs))
    elif op == "sinc":
        got = unary(T.taylor_sinc, S.sinc, S.d_sinc, xs)[3]
        vals = np.sinc(on_circle(xs))
    else:
        rule, f, df, base = LAE[0] if op == "logaddexp" else LAE[1]
        got = binary(rule, f, df, xs, ys)[3]
        ref, scale = lae_reference(xs, ys, base)
        check(got, ref, scale, tol=256)
        return
    check(got, coefficients(vals), max(np.abs(vals).max(), 1.0), tol=256)
