"""The special-function kernels (numba_ad/ops/special.py): values, first and second partials.

References are independent of the kernels: scipy.special and NumPy for values (and mpmath, when
installed, for the accuracy figures in ulp), finite differences of those references and closed
forms evaluated with them for the partials. Each test prints the worst error it saw (pytest -s).
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from numba_ad.ops import special as S

sp = pytest.importorskip("scipy.special")

EPS = np.finfo(float).eps
LN2 = math.log(2.0)


def vec(fn, *args):
    """fn applied elementwise (the kernels are scalar)."""
    flat = [np.ravel(a) for a in np.broadcast_arrays(*args)]
    return np.array([fn(*(v.item() for v in a)) for a in zip(*flat)], dtype=float)


def ulps(got, ref):
    """|got - ref| in units of ref's last place (0 where both are equal, infinities included)."""
    got = np.asarray(got, float)
    ref = np.asarray(ref, float)
    with np.errstate(invalid="ignore"):
        err = np.abs(got - ref) / np.spacing(np.abs(ref))
    return np.where(got == ref, 0.0, err)


def same(a, b):
    """Equal as IEEE values, NaN equal to NaN."""
    np.testing.assert_array_equal(np.asarray(a, float), np.asarray(b, float))


def fd1(f, x, h):
    """f'(x) by a 4th-order central difference."""
    return (8.0 * (f(x + h) - f(x - h)) - (f(x + 2 * h) - f(x - 2 * h))) / (12.0 * h)


def fd2(f, x, h):
    """f''(x) by a 4th-order central difference."""
    return (-f(x + 2 * h) + 16.0 * f(x + h) - 30.0 * f(x) + 16.0 * f(x - h) - f(x - 2 * h)) / (12.0 * h * h)


# ---------------------------------------------------------------------------------------
# erfinv
# ---------------------------------------------------------------------------------------
ERFINV_GRID = np.concatenate(
    [
        np.linspace(-1.0, 1.0, 4001)[1:-1],
        1.0 - np.logspace(-16, -1, 400),
        -(1.0 - np.logspace(-16, -1, 100)),
        1.0 - np.arange(1, 40) * 2.0**-53,
        np.logspace(-300, -1, 200),
        -np.logspace(-300, -1, 50),
        [0.5, -0.5, 0.5 + 2**-53, 0.5 - 2**-54, 1e-8, 5.6e-8, 1.0 - 5.6e-8],
    ]
)


def test_erfinv_values_against_scipy():
    got = vec(S.erfinv, ERFINV_GRID)
    err = ulps(got, sp.erfinv(ERFINV_GRID))
    print(f"erfinv vs scipy: max {err.max():.0f} ulp")
    assert err.max() <= 4  # scipy's own error is up to 3 ulp (mpmath test below)


def test_erfinv_ulp_against_mpmath():
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 40
    xs = ERFINV_GRID[::4]
    ref = np.array([float(mp.erfinv(mp.mpf(float(x)))) for x in xs])
    err = ulps(vec(S.erfinv, xs), ref)
    print(f"erfinv vs mpmath: max {err.max():.0f} ulp, mean {err.mean():.2f}")
    assert err.max() <= 2


def test_erfinv_edges():
    same(vec(S.erfinv, [1.0, -1.0]), [math.inf, -math.inf])
    same(vec(S.erfinv, [1.0 + 2**-52, -1.5, math.inf, -math.inf, math.nan]), [math.nan] * 5)
    assert math.copysign(1.0, S.erfinv(-0.0)) == -1.0 and S.erfinv(0.0) == 0.0
    tiny = np.array([5e-324, -5e-324, 1e-310, 1e-301])
    same(vec(S.erfinv, tiny), sp.erfinv(tiny))
    assert S.erfinv(1.0 - 2**-53) == pytest.approx(5.863584748755167, rel=2 * EPS)


def test_erfinv_inverts_erf():
    xs = np.linspace(-5.8, 5.8, 1001)
    back = vec(S.erfinv, sp.erf(xs))
    ok = np.abs(sp.erf(xs)) < 1.0
    # erf's rounding near +-1 is amplified by 1 / erf'(z): compare where that is moderate
    cond = np.abs(xs) < 2.0
    assert np.allclose(back[cond], xs[cond], rtol=1e-14, atol=1e-300)
    assert np.all(np.isfinite(back[ok]))


def test_erfinv_partials():
    xs = np.concatenate([np.linspace(-0.99, 0.99, 199), [0.0, 0.999, -0.9999]])
    v = vec(S.erfinv, xs)
    d = vec(S.d_erfinv, xs, v)
    d2 = vec(S.d2_erfinv, xs, v)
    z = sp.erfinv(xs)
    dref = 0.5 * math.sqrt(math.pi) * np.exp(z * z)
    assert np.allclose(d, dref, rtol=1e-13)
    assert np.allclose(d2, 2.0 * z * dref * dref, rtol=1e-13, atol=1e-300)
    inner = np.abs(xs) < 0.95
    h = 1e-4
    assert np.allclose(d[inner], fd1(sp.erfinv, xs[inner], h)[...], rtol=1e-9)
    assert np.allclose(d2[inner], fd2(sp.erfinv, xs[inner], 1e-3), rtol=1e-6, atol=1e-7)
    assert np.allclose(d2[inner], fd1(lambda x: vec(S.d_erfinv, x, sp.erfinv(x)), xs[inner], h), rtol=1e-9, atol=1e-12)
    same(vec(S.d_erfinv, [1.0, -1.0], [math.inf, -math.inf]), [math.inf, math.inf])
    same(vec(S.d2_erfinv, [1.0, -1.0], [math.inf, -math.inf]), [math.inf, -math.inf])
    same(vec(S.d_erfinv, [1.5, math.nan], [math.nan, math.nan]), [math.nan, math.nan])


# ---------------------------------------------------------------------------------------
# digamma, polygamma, Hurwitz zeta, gammaln
# ---------------------------------------------------------------------------------------
PSI_POS = np.concatenate([np.linspace(1e-3, 30.0, 6000), np.logspace(-300, 300, 400), [1.4616321449683622]])
PSI_NEG = np.concatenate([-np.linspace(1e-3, 30.0, 3001) + 3e-4, -np.logspace(-300, 15, 200) - 0.25])


def test_digamma_positive_against_scipy():
    err = ulps(vec(S.digamma, PSI_POS), sp.psi(PSI_POS))
    print(f"digamma (x > 0) vs scipy: max {err.max():.0f} ulp")
    assert err.max() <= 4


def test_digamma_ulp_against_mpmath():
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 40
    xs = np.concatenate([np.linspace(1e-3, 30.0, 1500), [0.9116, 2.0116, 1.46163214496836, 1e-8, 1e8]])
    ref = np.array([float(mp.digamma(mp.mpf(float(x)))) for x in xs])
    err = ulps(vec(S.digamma, xs), ref)
    print(f"digamma (x > 0) vs mpmath: max {err.max():.0f} ulp")
    assert err.max() <= 3


def negative_psi_scale(x):
    """What the reflection psi(x) = psi(1 - x) - pi cot(pi x) can achieve in absolute terms: a few
    ulp of both terms, and of the rounding of 1 - x times psi'(1 - x)."""
    return np.abs(sp.psi(1.0 - x)) + np.abs(math.pi / np.tan(math.pi * x)) + np.abs(1.0 - x) * sp.polygamma(1, 1.0 - x)


def test_digamma_negative():
    got = vec(S.digamma, PSI_NEG)
    scale = negative_psi_scale(PSI_NEG)
    # scipy computes pi x before reducing it, and loses up to 5000 eps * scale near the poles
    assert np.all(np.abs(got - sp.psi(PSI_NEG)) <= 1e-11 * scale)


def test_digamma_negative_against_mpmath():
    scale = negative_psi_scale(PSI_NEG)
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 40
    xs = PSI_NEG[::5]
    ref = np.array([float(mp.digamma(mp.mpf(float(x)))) for x in xs])
    err = np.abs(vec(S.digamma, xs) - ref) / (EPS * scale[::5])
    print(f"digamma (x < 0) vs mpmath: max {err.max():.1f} eps * (|psi(1-x)| + |pi cot(pi x)| + |1-x| psi'(1-x))")
    assert err.max() <= 4


def test_digamma_edges():
    xs = np.array([0.0, -0.0, -1.0, -2.0, -1e10, math.inf, -math.inf, math.nan, 1e-310, -1e-310])
    with np.errstate(all="ignore"):
        same(vec(S.digamma, xs), sp.psi(xs))


@pytest.mark.parametrize("n", [1, 2, 3, 4, 6])
def test_polygamma_positive_against_scipy(n):
    xs = np.concatenate([np.linspace(1e-3, 40.0, 1500), np.logspace(-5, 10, 60)])
    got = vec(S.polygamma, n, xs)
    err = ulps(got, sp.polygamma(n, xs))
    print(f"polygamma({n}, x > 0) vs scipy: max {err.max():.0f} ulp")
    assert err.max() <= 8


@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_polygamma_negative(n):
    """Reflection with the polynomials of cot's derivatives; the reference: psi^(n)(x) =
    psi^(n)(x + m) - (-1)^n n! sum_{k<m} (x + k)^(-n-1) with scipy at x + m > 0."""
    xs = -np.linspace(1e-2, 12.0, 601) + 3e-3
    got = vec(S.polygamma, n, xs)
    m = np.ceil(-xs) + 1.0
    ks = np.arange(0, 14)[None, :]
    terms = np.where(ks < m[:, None], (xs[:, None] + ks) ** (-n - 1.0), 0.0)
    ref = sp.polygamma(n, xs + m) - (-1.0) ** n * math.factorial(n) * terms.sum(axis=1)
    scale = sp.polygamma(n, xs + m).__abs__() + math.factorial(n) * np.abs(terms).sum(axis=1)
    assert np.all(np.abs(got - ref) <= 32 * EPS * scale)
    assert np.allclose(got, sp.polygamma(n, xs), rtol=1e-11, atol=1e-11 * scale)


def test_polygamma_edges():
    for n in (1, 2, 3):
        xs = np.array([0.0, -0.0, -1.0, -3.0, math.inf])
        with np.errstate(all="ignore"):
            same(vec(S.polygamma, n, xs), sp.polygamma(n, xs))
        same(vec(S.polygamma, n, [math.nan, -math.inf]), [math.nan, math.nan])  # scipy: inf at -inf for odd n
    same(vec(S.polygamma, 0, PSI_POS[:50]), vec(S.digamma, PSI_POS[:50]))
    same(vec(S.trigamma, PSI_POS[:50]), vec(S.polygamma, 1, PSI_POS[:50]))


def test_hurwitz_zeta_against_scipy():
    s = np.array([1.5, 2.0, 3.0, 4.0, 7.0, 12.0, 30.0])[:, None]
    q = np.concatenate([np.logspace(-3, 3, 80), [1.0, 2.5]])[None, :]
    got = vec(S.hurwitz_zeta, s, q)
    err = ulps(got, sp.zeta(*np.broadcast_arrays(s, q)).ravel())
    print(f"hurwitz_zeta vs scipy: max {err.max():.0f} ulp")
    assert err.max() <= 8


GAMMALN_GRID = np.concatenate(
    [np.linspace(1e-3, 60.0, 3000), np.logspace(-300, 300, 300), -np.linspace(1e-3, 40.0, 2001) + 3e-4]
)


def test_gammaln_against_scipy():
    got = vec(S.gammaln, GAMMALN_GRID)
    ref = sp.gammaln(GAMMALN_GRID)
    pos = GAMMALN_GRID > 1e-300
    err = ulps(got[pos], ref[pos])
    print(f"gammaln (x > 0) vs scipy: max {err.max():.0f} ulp")
    # log|Gamma| has zeros at 1 and 2 (and between negative integers): absolute error there
    assert np.all(np.abs(got - ref) <= 16 * EPS * np.maximum(np.abs(ref), 1.0))
    with np.errstate(all="ignore"):
        xs = np.array([0.0, -0.0, -1.0, -7.0, math.inf, math.nan, 1e-310])
        same(vec(S.gammaln, xs), [math.inf, math.inf, math.inf, math.inf, math.inf, math.nan, -math.log(1e-310)])
    assert S.gammaln(-math.inf) == math.inf  # the C library's lgamma; scipy says -inf


def test_gammaln_partials():
    xs = np.concatenate([np.linspace(0.05, 20.0, 200), -np.linspace(0.1, 6.0, 60) + 0.013])
    v = vec(S.gammaln, xs)
    d = vec(S.d_gammaln, xs, v)
    d2 = vec(S.d2_gammaln, xs, v)
    assert np.allclose(d, sp.psi(xs), rtol=1e-13, atol=1e-13)
    assert np.allclose(d2, sp.polygamma(1, xs), rtol=1e-13)
    h = 1e-4 * np.minimum(1.0, np.abs(xs - np.round(xs)) + (xs > 0))
    assert np.allclose(d, fd1(sp.gammaln, xs, h), rtol=1e-7, atol=1e-7)
    assert np.allclose(d2, fd1(sp.psi, xs, h), rtol=1e-7)
    with np.errstate(all="ignore"):
        poles = np.array([0.0, -0.0, -1.0, -4.0])
        same(vec(S.d_gammaln, poles, np.inf), sp.psi(poles))
        same(vec(S.d2_gammaln, poles, np.inf), sp.polygamma(1, poles))


# ---------------------------------------------------------------------------------------
# expit
# ---------------------------------------------------------------------------------------
def test_expit_against_scipy():
    xs = np.concatenate([np.linspace(-708.0, 708.0, 20001), np.linspace(-50, 50, 4001), [-0.0, 36.0, 37.0, 1e300]])
    same(vec(S.expit, xs), sp.expit(xs))  # bit for bit
    low = np.linspace(-745.2, -708.01, 500)
    assert np.allclose(vec(S.expit, low), np.exp(low), rtol=0, atol=0)  # scipy underflows to 0 below -709.79
    same(vec(S.expit, [math.inf, -math.inf, math.nan, -1e300]), [1.0, 0.0, math.nan, 0.0])


def test_expit_partials():
    xs = np.linspace(-40.0, 40.0, 801)
    v = vec(S.expit, xs)
    d = vec(S.d_expit, xs, v)
    d2 = vec(S.d2_expit, xs, v)
    s, t = sp.expit(xs), sp.expit(-xs)  # t = 1 - s without cancellation
    assert np.allclose(d, s * t, rtol=4 * EPS, atol=0)
    assert np.allclose(d2, s * t * (t - s), rtol=1e-13, atol=1e-300)
    mid = np.abs(xs) < 10
    assert np.allclose(d[mid], fd1(sp.expit, xs[mid], 1e-3), rtol=1e-10)
    assert np.allclose(d2[mid], fd2(sp.expit, xs[mid], 1e-3), rtol=1e-5, atol=1e-8)
    assert S.d_expit(40.0, 1.0) == pytest.approx(math.exp(-40.0), rel=1e-15)  # not 1 - 1 = 0
    same(vec(S.d_expit, [math.inf, -math.inf, 800.0], 0.0), [0.0, 0.0, 0.0])
    assert math.isnan(S.d_expit(math.nan, math.nan)) and math.isnan(S.d2_expit(math.nan, math.nan))


# ---------------------------------------------------------------------------------------
# sinc
# ---------------------------------------------------------------------------------------
def sinc_series(x, j, terms=12):
    """sinc^(j)(x) from sum_m (-1)^m pi^2m x^(2m) / (2m+1)! differentiated j times (small |x|)."""
    total = 0.0
    for m in range(terms):
        e = 2 * m - j
        if e < 0:
            continue
        total += (-1) ** m * math.pi ** (2 * m) * math.perm(2 * m, j) * x**e / math.factorial(2 * m + 1)
    return total


def test_sinc_against_numpy():
    xs = np.concatenate([np.linspace(-50, 50, 20001), np.logspace(-300, 5, 400), -np.logspace(-300, 5, 100)])
    got = vec(S.sinc, xs)
    err = ulps(got, np.sinc(xs))
    print(f"sinc vs numpy: max {err.max():.0f} ulp, {np.mean(got != np.sinc(xs)):.4f} of points differ")
    assert err.max() <= 1
    same(vec(S.sinc, [0.0, -0.0, math.inf, -math.inf, math.nan]), [1.0, 1.0, math.nan, math.nan, math.nan])


def test_sinc_partials():
    xs = np.concatenate([np.linspace(-6.0, 6.0, 1201), [0.9999, 1.0001, -1.0]])
    v = vec(S.sinc, xs)
    d = vec(S.d_sinc, xs, v)
    d2 = vec(S.d2_sinc, xs, v)
    far = np.abs(xs) > 0.5
    x = xs[far]
    c, s = np.cos(math.pi * x), np.sinc(x)
    dref = (c - s) / x
    assert np.allclose(d[far], dref, rtol=1e-13, atol=1e-14)
    assert np.allclose(d2[far], -(math.pi**2) * s - 2.0 * dref / x, rtol=1e-12, atol=1e-13)
    assert np.allclose(d, fd1(np.sinc, xs, 1e-3), rtol=1e-9, atol=1e-10)
    assert np.allclose(d2, fd2(np.sinc, xs, 1e-3), rtol=1e-5, atol=1e-6)
    # near 0 the closed forms cancel; the power series is exact there
    small = np.concatenate([[0.0, -0.0], np.logspace(-12, -0.5, 60), -np.logspace(-12, -0.5, 20)])
    for x in small:
        assert S.d_sinc(x, S.sinc(x)) == pytest.approx(sinc_series(x, 1, 30), rel=4 * EPS, abs=1e-300)
        assert S.d2_sinc(x, S.sinc(x)) == pytest.approx(sinc_series(x, 2, 30), rel=4 * EPS)
    assert S.d2_sinc(0.0, 1.0) == pytest.approx(-(math.pi**2) / 3.0, rel=EPS)
    assert math.isnan(S.d_sinc(math.inf, math.nan)) and math.isnan(S.d2_sinc(math.nan, math.nan))


def test_sinc_coefficients_continuous_at_the_switch():
    """|x0| < 1 uses the power series, |x0| >= 1 Leibniz: both agree across x0 = 1."""
    for j in range(7):
        below = S.sinc_coefficient(np.nextafter(1.0, 0.0), j)
        at = S.sinc_coefficient(1.0, j)
        assert below == pytest.approx(at, rel=1e-13, abs=1e-14)


# ---------------------------------------------------------------------------------------
# logaddexp, logaddexp2
# ---------------------------------------------------------------------------------------
SPECIAL = [0.0, -0.0, 1.0, -1.0, 1e300, -1e300, 710.0, -746.0, math.inf, -math.inf, math.nan]


def lae_grid():
    rng = np.random.default_rng(7)
    a = np.concatenate([rng.normal(0, 3, 3000), rng.normal(0, 300, 1000), np.repeat(SPECIAL, len(SPECIAL))])
    b = np.concatenate([rng.normal(0, 3, 3000), rng.normal(0, 300, 1000), np.tile(SPECIAL, len(SPECIAL))])
    b[:200] = a[:200]  # ties
    b[200:400] = a[200:400] + rng.normal(0, 1e-12, 200)
    return a, b


@pytest.mark.parametrize("kern, ref", [(S.logaddexp, np.logaddexp), (S.logaddexp2, np.logaddexp2)])
def test_logaddexp_values_bit_for_bit(kern, ref):
    a, b = lae_grid()
    with np.errstate(all="ignore"):
        same(vec(kern, a, b), ref(a, b))


@pytest.mark.parametrize(
    "kern, dk, d2k, ref, scale",
    [
        (S.logaddexp, S.d_logaddexp, S.d2_logaddexp, np.logaddexp, 1.0),
        (S.logaddexp2, S.d_logaddexp2, S.d2_logaddexp2, np.logaddexp2, LN2),
    ],
)
def test_logaddexp_partials(kern, dk, d2k, ref, scale):
    rng = np.random.default_rng(3)
    x = rng.uniform(-20, 20, 300)
    y = np.concatenate([rng.uniform(-20, 20, 250), x[250:]])
    z = ref(x, y)
    parts = np.array([dk(a, b, c) for a, b, c in zip(x, y, z)])
    seconds = np.array([d2k(a, b, c) for a, b, c in zip(x, y, z)])
    base = 2.0 if scale != 1.0 else math.e
    assert np.allclose(parts[:, 0], base ** (x - z), rtol=1e-12)  # d/dx = exp(x - z) (2^(x - z))
    assert np.allclose(parts[:, 1], base ** (y - z), rtol=1e-12)
    assert np.allclose(parts.sum(axis=1), 1.0, rtol=2 * EPS)
    h = 1e-3
    # rounding in the differences: eps |z| / h, about 4e-12 here
    assert np.allclose(parts[:, 0], fd1(lambda u: ref(u, y), x, h), rtol=1e-9, atol=1e-10)
    assert np.allclose(parts[:, 1], fd1(lambda u: ref(x, u), y, h), rtol=1e-9, atol=1e-10)
    w = scale * parts[:, 0] * parts[:, 1]
    same(seconds[:, 1], -seconds[:, 0])
    same(seconds[:, 2], seconds[:, 0])
    assert np.allclose(seconds[:, 0], w, rtol=1e-14, atol=0)
    h = 1e-2  # rounding in second differences: eps |z| / h^2
    assert np.allclose(seconds[:, 0], fd2(lambda u: ref(u, y), x, h), rtol=1e-5, atol=1e-8)
    mixed = (ref(x + h, y + h) - ref(x + h, y - h) - ref(x - h, y + h) + ref(x - h, y - h)) / (4 * h * h)
    assert np.allclose(seconds[:, 1], mixed, rtol=1e-3, atol=1e-7)  # 2nd order in h


@pytest.mark.parametrize(
    "dk, d2k, scale", [(S.d_logaddexp, S.d2_logaddexp, 1.0), (S.d_logaddexp2, S.d2_logaddexp2, LN2)]
)
def test_logaddexp_partials_at_the_edges(dk, d2k, scale):
    inf, nan = math.inf, math.nan
    # equal infinities: the symmetric limit along x = y
    for a in (-inf, inf):
        assert dk(a, a, a) == (0.5, 0.5)
        assert d2k(a, a, a) == (0.25 * scale, -0.25 * scale, 0.25 * scale)
    assert dk(-inf, 1.0, 1.0) == (0.0, 1.0) and dk(2.0, -inf, 2.0) == (1.0, 0.0)
    assert dk(inf, -inf, inf) == (1.0, 0.0) and dk(3.0, inf, inf) == (0.0, 1.0)
    assert d2k(-inf, 1.0, 1.0) == (0.0, -0.0, 0.0)
    assert dk(5.0, 5.0, 0.0) == (0.5, 0.5)
    for args in ((nan, 1.0), (1.0, nan), (nan, -inf), (nan, nan)):
        assert all(math.isnan(p) for p in dk(*args, nan) + d2k(*args, nan))
    # far apart: the small partial keeps its relative accuracy (not 1 - 1)
    assert dk(0.0, 50.0, 50.0)[0] == pytest.approx(math.exp(-50.0 * scale), rel=1e-13)


# ---------------------------------------------------------------------------------------
# Determinism and random points
# ---------------------------------------------------------------------------------------
UNARY = [
    (S.erfinv, S.d_erfinv, S.d2_erfinv, np.linspace(-0.999, 0.999, 101)),
    (S.gammaln, S.d_gammaln, S.d2_gammaln, np.linspace(-9.9, 30.0, 101)),
    (S.expit, S.d_expit, S.d2_expit, np.linspace(-50.0, 50.0, 101)),
    (S.sinc, S.d_sinc, S.d2_sinc, np.linspace(-3.0, 3.0, 101)),
]


def test_same_bits_twice():
    for f, d, d2, xs in UNARY:
        v1, v2 = vec(f, xs), vec(f, xs)
        assert v1.tobytes() == v2.tobytes()
        assert vec(d, xs, v1).tobytes() == vec(d, xs, v2).tobytes()
        assert vec(d2, xs, v1).tobytes() == vec(d2, xs, v2).tobytes()
    for n in (1, 2, 5):
        assert vec(S.polygamma, n, xs).tobytes() == vec(S.polygamma, n, xs).tobytes()
    a, b = lae_grid()
    for f in (S.logaddexp, S.logaddexp2, S.d_logaddexp, S.d2_logaddexp, S.d_logaddexp2, S.d2_logaddexp2):
        args = (a, b) if f in (S.logaddexp, S.logaddexp2) else (a, b, a)
        r1 = np.array([f(*t) for t in zip(*args)], dtype=float)
        r2 = np.array([f(*t) for t in zip(*args)], dtype=float)
        assert r1.tobytes() == r2.tobytes()


SETTINGS = settings(max_examples=40, deadline=None, derandomize=True)
finite = dict(allow_nan=False, allow_infinity=False)


@SETTINGS
@given(st.floats(-1.0, 1.0, exclude_min=True, exclude_max=True, **finite))
def test_erfinv_random(x):
    z = S.erfinv(x)
    assert ulps(z, sp.erfinv(x)) <= 4
    assert S.d_erfinv(x, z) == pytest.approx(0.5 * math.sqrt(math.pi) * math.exp(z * z), rel=1e-15)


@SETTINGS
@given(st.floats(-30.0, 200.0, **finite))
def test_gammaln_digamma_random(x):
    if x <= 0 and (x == math.floor(x) or abs(x - round(x)) < 1e-6):
        return
    assert S.gammaln(x) == pytest.approx(sp.gammaln(x), rel=1e-13, abs=1e-13)
    scale = float(negative_psi_scale(x)) if x < 0 else abs(sp.psi(x))
    assert abs(S.digamma(x) - sp.psi(x)) <= (1e-11 if x < 0 else 8 * EPS) * scale
    assert S.trigamma(x) == pytest.approx(sp.polygamma(1, x), rel=1e-11)


@SETTINGS
@given(st.floats(-800.0, 800.0, **finite))
def test_expit_random(x):
    s = S.expit(x)
    if x >= -708.0:
        assert s == sp.expit(x)
    assert S.d_expit(x, s) == pytest.approx(sp.expit(x) * sp.expit(-x), rel=4 * EPS, abs=1e-320)


@SETTINGS
@given(st.floats(-1e4, 1e4, **finite))
def test_sinc_random(x):
    assert ulps(S.sinc(x), np.sinc(x)) <= 1
    h = 1e-4
    d = S.d_sinc(x, S.sinc(x))
    assert d == pytest.approx(float(fd1(np.sinc, np.float64(x), h)), rel=1e-6, abs=1e-6 * (1 + abs(x)))


@SETTINGS
@given(st.floats(-1e3, 1e3, **finite), st.floats(-1e3, 1e3, **finite))
def test_logaddexp_random(x, y):
    assert S.logaddexp(x, y) == np.logaddexp(x, y)
    assert S.logaddexp2(x, y) == np.logaddexp2(x, y)
    da, db = S.d_logaddexp(x, y, S.logaddexp(x, y))
    assert da + db == pytest.approx(1.0, rel=2 * EPS)
    assert da == pytest.approx(math.exp(x - np.logaddexp(x, y)), rel=1e-12, abs=1e-300)
