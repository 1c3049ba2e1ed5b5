"""Numerical kernels of the special-function ops: erfinv, gammaln (with digamma and polygamma),
expit, sinc, logaddexp and logaddexp2, with their first and second partials.

Every function here is a numba kernel on float64 scalars (`kernel` from numba_ad._config: cached,
NumPy error model, no fastmath), callable from other kernels and, for tests and tracing, from
Python. This module imports nothing from the op table (the table imports it).

Names: `f(x)` is the value; `d_f(x, v)` the first partial and `d2_f(x, v)` the second (v = f(x),
taken for symmetry with `partials(op, x, y, c, v)` and used where it helps); the binary ops return
`(d_a, d_b)` and `(d_aa, d_ab, d_bb)`. The Taylor rules are in ops/special_taylor.py.

Conventions at edge points (see each function):
* logaddexp, logaddexp2: where both operands are infinite with the same sign (x - y is NaN) the
  partials are (1/2, 1/2) and the second partials (1/4, -1/4, 1/4) (logaddexp2: times ln 2), the
  limit along the diagonal x = y, where they are constant; a NaN operand gives NaN partials.
* gammaln = log|Gamma(x)| (math.lgamma: +inf at 0 and the negative integers, +inf at -inf where
  SciPy answers -inf); its partial is digamma, NaN at the poles except digamma(+0) = -inf and
  digamma(-0) = +inf, as scipy.special.psi.
* erfinv(+-1) = +-inf with infinite partials; outside [-1, 1] every answer is NaN.
"""

import math

import numpy as np

from numba_ad._config import kernel
from numba_ad.ops.constants import LN2, SQRT_PI_OVER_2, TWO_OVER_SQRT_PI

LOG2E = 1.4426950408889634074  # NPY_LOG2E, 1 / ln 2 as NumPy's logaddexp2 uses it


# ---------------------------------------------------------------------------------------
# erfinv
# ---------------------------------------------------------------------------------------
@kernel
def _erfinv_guess(a):
    """Giles' single-precision erfinv (M. Giles, "Approximating the erfinv function", GPU Computing
    Gems Jade, 2011) for 0 <= a < 1: relative error 1.3e-7 (measured) where w = -log(1 - a^2) < 16,
    its float range (1 - a > 5.6e-8); beyond that it degrades (12% at 1 - a = 1e-16)."""
    if a <= 0.5:
        w = -math.log1p(-a * a)
    else:
        w = -math.log((1.0 - a) * (1.0 + a))
    if w < 5.0:
        w -= 2.5
        p = 2.81022636e-08
        p = 3.43273939e-07 + p * w
        p = -3.5233877e-06 + p * w
        p = -4.39150654e-06 + p * w
        p = 0.00021858087 + p * w
        p = -0.00125372503 + p * w
        p = -0.00417768164 + p * w
        p = 0.246640727 + p * w
        p = 1.50140941 + p * w
    else:
        w = math.sqrt(w) - 3.0
        p = -0.000200214257
        p = 0.000100950558 + p * w
        p = 0.00134934322 + p * w
        p = -0.00367342844 + p * w
        p = 0.00573950773 + p * w
        p = -0.0076224613 + p * w
        p = 0.00943887047 + p * w
        p = 1.00167406 + p * w
        p = 2.83297682 + p * w
    return p * a


@kernel
def _erfinv_tail_guess(r):
    """erfinv(1 - r) for small r from erfc(z) ~ exp(-z^2) / (z sqrt(pi)) (1 - 1/(2 z^2)): three
    fixed-point steps on z^2 = -log(r) - log(z sqrt(pi)) + log(1 - 1/(2 z^2)) (1e-4 relative at
    r = 5.6e-8, better further out)."""
    L = -math.log(r)
    z = math.sqrt(L)
    for _ in range(3):
        z = math.sqrt(L - math.log(z * math.sqrt(math.pi)) + math.log1p(-0.5 / (z * z)))
    return z


@kernel
def erfinv(x):
    """Inverse error function: erfinv(+-1) = +-inf, NaN outside [-1, 1] and for NaN.

    A guess, then Halley steps (cubic convergence). The guess: Giles' single-precision
    approximation, relative error 1.3e-7, for 1 - |x| > 5.6e-8 (w = -log(1 - x^2) < 16, its
    range); beyond, the erfc asymptotic series (_erfinv_tail_guess). The steps: for |x| <= 1/2
    on f(z) = erf(z) - |x| (f' = 2/sqrt(pi) exp(-z^2), f''/f' = -2z); for |x| > 1/2 on
    g(z) = log(erfc(z) / r) with r = 1 - |x| (exact there), which keeps full relative accuracy in
    the tail where erf(z) - |x| would be pure rounding and is nearly quadratic in z there
    (g' = -E / erfc(z), g'' = -2 z g' - g'^2). Two steps where the guess is Giles', three beyond.
    """
    a = abs(x)
    if not a < 1.0:  # 1, beyond, NaN
        if a == 1.0:
            return math.copysign(math.inf, x)
        return math.nan
    if a == 0.0:
        return x  # keeps the sign of zero
    if a < 1e-300:
        return SQRT_PI_OVER_2 * x  # erfinv(x) = sqrt(pi)/2 x (1 + pi x^2 / 12 + ...)
    r = 1.0 - a
    if a <= 0.5:
        z = _erfinv_guess(a)
        for _ in range(2):
            q = (math.erf(z) - a) / (TWO_OVER_SQRT_PI * math.exp(-z * z))
            z -= q / (1.0 + z * q)
        return math.copysign(z, x)
    steps = 2
    if r > 5.6e-8:
        z = _erfinv_guess(a)
    else:
        z = _erfinv_tail_guess(r)
        steps = 3
    for _ in range(steps):
        F = math.erfc(z)
        g = math.log(F / r)
        g1 = -TWO_OVER_SQRT_PI * math.exp(-z * z) / F
        g2 = -2.0 * z * g1 - g1 * g1
        q = g / g1
        z -= q / (1.0 - 0.5 * q * g2 / g1)
    return math.copysign(z, x)


@kernel
def d_erfinv(x, v):
    """d/dx erfinv = sqrt(pi)/2 exp(v^2); +inf at +-1, NaN outside."""
    if not abs(x) <= 1.0:
        return math.nan
    return SQRT_PI_OVER_2 * math.exp(v * v)


@kernel
def d2_erfinv(x, v):
    """d2/dx2 erfinv = 2 v (erfinv')^2."""
    d = d_erfinv(x, v)
    return 2.0 * v * d * d


# ---------------------------------------------------------------------------------------
# digamma, polygamma, Hurwitz zeta, gammaln
# ---------------------------------------------------------------------------------------
# B_2j / (2j)!, j = 1..12: the Euler-Maclaurin correction terms of the Hurwitz zeta function.
_B2J_OVER_FACT = np.array(
    [
        1.0 / 12.0,
        -1.0 / 720.0,
        1.0 / 30240.0,
        -1.0 / 1209600.0,
        1.0 / 47900160.0,
        -691.0 / 1307674368000.0,
        1.0 / 74724249600.0,
        -3617.0 / 10670622842880000.0,
        43867.0 / 5109094217170944000.0,
        -174611.0 / 802857662698291200000.0,
        77683.0 / 14101100039391805440000.0,
        -236364091.0 / 1693824136731743669452800000.0,
    ]
)
# B_2k / (2k), k = 1..8: digamma's asymptotic series psi(x) ~ log x - 1/(2x) - sum B_2k/(2k x^2k).
_B2K_OVER_2K = np.array(
    [1.0 / 12.0, -1.0 / 120.0, 1.0 / 252.0, -1.0 / 240.0, 1.0 / 132.0, -691.0 / 32760.0, 1.0 / 12.0, -3617.0 / 8160.0]
)
# The positive zero of digamma as a double-double, and psi's Taylor coefficients there,
# (-1)^(k+1) zeta(k + 1, x0), k = 1..48 (mpmath, 50 digits), used within 0.55 of x0 (the series
# converges like (0.55 / x0)^k): near the zero the recurrence would lose all relative accuracy
# (SciPy uses the same series within 0.3, its coefficients computed at run time).
_ROOT_HI = 1.4616321449683622
_ROOT_LO = 9.549995429965697e-17
_ROOT_SERIES = np.array(
    [
        0.9676722454476212,
        -0.4427631689835921,
        0.258499760955651,
        -0.16394270544240652,
        0.10782405069126237,
        -0.07219956125645471,
        0.04880428816414311,
        -0.03316112647484736,
        0.022597648232218104,
        -0.01542476590494896,
        0.010538791616612175,
        -0.007204534386356869,
        0.004926781395729853,
        -0.003369801655439328,
        0.002305126326734928,
        -0.0015769367714301972,
        0.0010788252019162967,
        -0.0007380709389960052,
        0.000504953265834602,
        -0.0003454680251063077,
        0.00023635601564027053,
        -0.00016170622091974803,
        0.0001106337276874741,
        -7.569179582195066e-05,
        5.178575795222081e-05,
        -3.5430070947659604e-05,
        2.424006611860132e-05,
        -1.6584242271854135e-05,
        1.134638458466385e-05,
        -7.762817668462094e-06,
        5.3110609208898636e-06,
        -3.6336507898010456e-06,
        2.486022733129538e-06,
        -1.7008538854332607e-06,
        1.1636675363548843e-06,
        -7.96142543124197e-07,
        5.446941930669446e-07,
        -3.7266161283438227e-07,
        2.549626552021554e-07,
        -1.7443695117727745e-07,
        1.1934394829830244e-07,
        -8.165115189488409e-08,
        5.586299683532171e-08,
        -3.821960061917494e-08,
        2.6148576951961865e-08,
        -1.788998486491149e-08,
        1.2239731403233662e-08,
        -8.37401629767179e-09,
    ]
)


@kernel
def hurwitz_zeta(s, q):
    """zeta(s, q) = sum_{k>=0} (q + k)^(-s) for s > 1, q > 0, by Euler-Maclaurin: the first N terms
    summed (smallest first), then the integral, half the next term and 12 Bernoulli corrections at
    w = q + N >= s + 10, where the 13th is below 1e-20 relative for every s."""
    if q != q or s != s:
        return math.nan
    if q == math.inf:
        return 0.0
    n = 0
    if q < s + 10.0:
        n = int(math.ceil(s + 10.0 - q))
    total = 0.0
    for k in range(n - 1, -1, -1):
        total += (q + k) ** -s
    w = q + n
    wp = w**-s  # w^(-s)
    tail = w * wp / (s - 1.0) + 0.5 * wp
    fac = s * wp / w  # s (s+1) ... (s+2j-2) w^(-s-2j+1), j = 1
    w2 = 1.0 / (w * w)
    corr = 0.0
    for j in range(12):
        corr += _B2J_OVER_FACT[j] * fac
        fac *= (s + 2 * j + 1) * (s + 2 * j + 2) * w2
    return total + tail + corr


@kernel
def _digamma_positive(x):
    """psi(x) for x > 0 (NaN and +inf too). On [x0 - 0.55, x0 + 0.55] = [0.91, 2.01] the Taylor
    series at the zero x0; below, psi(x) = psi(x + 1) - 1/x; up to 10, psi(x) = psi(x - m) +
    sum_k 1/(x - k) down into [1.01, 2.01) (downward: the terms then have one sign, where the
    upward recurrence from 10 cancelled to 12 ulp near 2); from 10 on, the asymptotic series
    (8 terms: below 1e-17 relative at 10)."""
    acc = 0.0
    if x < _ROOT_HI - 0.55:
        acc = -1.0 / x
        x += 1.0
    elif x < 10.0 and x >= _ROOT_HI + 0.55:
        while x >= _ROOT_HI + 0.55:
            x -= 1.0
            acc += 1.0 / x
    if abs(x - _ROOT_HI) <= 0.55:
        d = (x - _ROOT_HI) - _ROOT_LO
        p = 0.0
        for k in range(_ROOT_SERIES.shape[0] - 1, -1, -1):
            p = p * d + _ROOT_SERIES[k]
        return p * d + acc
    r = 1.0 / (x * x)
    p = 0.0
    for k in range(7, -1, -1):
        p = p * r + _B2K_OVER_2K[k]
    return math.log(x) - 0.5 / x - p * r


@kernel
def _cot_pi(x):
    """cot(pi x), the argument reduced by the period first (so that pi x is not rounded)."""
    r = x - math.floor(x + 0.5)  # in [-1/2, 1/2)
    return 1.0 / math.tan(math.pi * r)


@kernel
def digamma(x):
    """psi(x) = d/dx log|Gamma(x)|, as scipy.special.psi: -inf at +0, +inf at -0, NaN at the
    negative integers and at -inf, +inf at +inf. Negative x by reflection,
    psi(x) = psi(1 - x) - pi cot(pi x)."""
    if x == 0.0:
        return math.copysign(math.inf, -x)
    if x < 0.0:
        if x == math.floor(x):  # the poles, -inf included
            return math.nan
        return _digamma_positive(1.0 - x) - math.pi * _cot_pi(x)
    return _digamma_positive(x)  # NaN and +inf too


@kernel
def _cot_derivative_poly(n, c):
    """P_n(c) with d^n/dx^n [pi cot(pi x)] = pi^(n+1) P_n(cot(pi x)): P_0 = c,
    P_(n+1) = -(1 + c^2) P_n'(c)."""
    p = np.zeros(n + 2)
    p[1] = 1.0
    for m in range(n):
        q = np.zeros(n + 2)  # -(1 + c^2) p'
        for e in range(1, m + 2):
            q[e - 1] -= e * p[e]
            q[e + 1] -= e * p[e]
        p = q
    total = 0.0
    for e in range(n + 1, -1, -1):
        total = total * c + p[e]
    return total


@kernel
def _polygamma_positive(n, x):
    """(-1)^(n+1) n! zeta(n + 1, x), x > 0, n >= 1."""
    fact = 1.0
    for k in range(2, n + 1):
        fact *= k
    return (1.0 if n % 2 == 1 else -1.0) * fact * hurwitz_zeta(n + 1.0, x)


@kernel
def polygamma(n, x):
    """psi^(n)(x), the n-th derivative of digamma (n >= 0; n = 0 is digamma):
    (-1)^(n+1) n! zeta(n + 1, x) for x > 0; for x < 0 the reflection
    psi^(n)(x) = (-1)^n psi^(n)(1 - x) - pi^(n+1) P_n(cot(pi x)). At the poles (0 and the negative
    integers) (-1)^(n+1) inf, as scipy.special.polygamma; NaN at -inf and NaN; 0 at +inf."""
    if n == 0:
        return digamma(x)
    sign = 1.0 if n % 2 == 1 else -1.0  # (-1)^(n+1)
    if x != x or x == -math.inf:
        return math.nan
    if x <= 0.0 and x == math.floor(x):
        return sign * math.inf
    if x < 0.0:
        refl = _polygamma_positive(n, 1.0 - x)
        return -sign * refl - math.pi ** (n + 1) * _cot_derivative_poly(n, _cot_pi(x))
    return _polygamma_positive(n, x)


@kernel
def trigamma(x):
    """psi'(x) = polygamma(1, x)."""
    return polygamma(1, x)


@kernel
def gammaln(x):
    """log|Gamma(x)| (math.lgamma, the C library's): +inf at 0, the negative integers and +-inf."""
    return math.lgamma(x)


@kernel
def d_gammaln(x, v):
    """d/dx log|Gamma(x)| = psi(x)."""
    return digamma(x)


@kernel
def d2_gammaln(x, v):
    """d2/dx2 log|Gamma(x)| = psi'(x)."""
    return polygamma(1, x)


# ---------------------------------------------------------------------------------------
# expit
# ---------------------------------------------------------------------------------------
@kernel
def expit(x):
    """1 / (1 + exp(-x)), as scipy.special.expit to the bit for x >= -708; below, where exp(-x)
    overflows and SciPy returns 0 from x = -709.79 on, exp(x) (correctly rounded, subnormal down to
    -745.1). Exact 0 at -inf and 1 from x > 36.7 on."""
    if x < -708.0:
        return math.exp(x)  # = exp(x) / (1 + exp(x)) to rounding
    return 1.0 / (1.0 + math.exp(-x))


@kernel
def d_expit(x, v):
    """d/dx expit = s (1 - s) = e / (1 + e)^2 with e = exp(-|x|): no cancellation in 1 - s."""
    e = math.exp(-abs(x))
    u = 1.0 + e
    return e / (u * u)


@kernel
def d2_expit(x, v):
    """d2/dx2 expit = s (1 - s) (1 - 2 s), with 1 - 2 s = -tanh(x / 2)."""
    return -d_expit(x, v) * math.tanh(0.5 * x)


# ---------------------------------------------------------------------------------------
# sinc
# ---------------------------------------------------------------------------------------
@kernel
def sinc(x):
    """sin(pi x) / (pi x), 1 at 0: NumPy's formula, so that it agrees with np.sinc."""
    if x == 0.0:
        return 1.0
    y = math.pi * x
    return math.sin(y) / y


@kernel
def sinc_coefficient(x0, j):
    """sinc^(j)(x0) / j!, the coefficient of (x - x0)^j in sinc's Taylor series at x0.

    |x0| < 1: differentiate sinc(x) = sum_m (-1)^m (pi x)^(2m) / (2m+1)! term by term,
    sum_{2m >= j} (-1)^m pi^j (pi x0)^p / (j! p! (2m + 1)) with p = 2m - j (no cancellation at 0,
    where the closed form below divides small differences by x0^(j+1)).
    |x0| >= 1: Leibniz on (sin(pi x) / pi) (1 / x), sum_l pi^(l-1) sin(pi x0 + l pi/2) / l!
    (-1)^(j-l) x0^(l-j-1). NaN for non-finite x0.
    """
    if not abs(x0) < math.inf:
        return math.nan
    if abs(x0) < 1.0:
        m = (j + 1) // 2
        p = 2 * m - j
        y = math.pi * x0
        term = math.pi**j / math.gamma(j + 1.0) / (2 * m + 1)
        if m % 2 == 1:
            term = -term
        if p == 1:
            term *= y
        total = term
        for _ in range(60):
            term *= -y * y / ((p + 1) * (p + 2)) * (2 * m + 1) / (2 * m + 3)
            m += 1
            p += 2
            total += term
            if abs(term) <= 1e-18 * abs(total):
                break
        return total
    y = math.pi * x0
    s = math.sin(y)
    c = math.cos(y)
    total = 0.0
    g = 1.0 / math.pi  # pi^(l-1) / l!
    h = (1.0 if j % 2 == 0 else -1.0) * x0 ** -(j + 1.0)  # (-1)^(j-l) x0^(l-j-1) at l = 0
    for l in range(j + 1):
        r = l % 4
        sl = s if r == 0 else (c if r == 1 else (-s if r == 2 else -c))
        total += g * sl * h
        g *= math.pi / (l + 1)
        h *= -x0
    return total


@kernel
def d_sinc(x, v):
    """d/dx sinc = (cos(pi x) - sinc(x)) / x, by its series for |x| < 1 (0 at 0)."""
    return sinc_coefficient(x, np.int64(1))  # np.int64: a literal 1 would compile a version of its own


@kernel
def d2_sinc(x, v):
    """d2/dx2 sinc = -pi^2 sinc(x) - 2 sinc'(x) / x, by its series for |x| < 1 (-pi^2/3 at 0)."""
    return 2.0 * sinc_coefficient(x, np.int64(2))


# ---------------------------------------------------------------------------------------
# logaddexp, logaddexp2
# ---------------------------------------------------------------------------------------
@kernel
def logaddexp(x, y):
    """log(exp(x) + exp(y)), NumPy's npy_logaddexp step for step (so the same bits)."""
    if x == y:
        return x + LN2  # infinities of the same sign too
    d = x - y
    if d > 0.0:
        return x + math.log1p(math.exp(-d))
    elif d <= 0.0:
        return y + math.log1p(math.exp(d))
    return d  # NaN


@kernel
def logaddexp2(x, y):
    """log2(2^x + 2^y), NumPy's npy_logaddexp2 step for step."""
    if x == y:
        return x + 1.0
    d = x - y
    if d > 0.0:
        return x + LOG2E * math.log1p(np.exp2(-d))
    elif d <= 0.0:
        return y + LOG2E * math.log1p(np.exp2(d))
    return d


@kernel
def _logaddexp_weights(x, y, scale):
    """(s, 1 - s, s (1 - s)) with s = expit(scale (x - y)) = exp(x - z) (logaddexp, scale 1) or
    2^(x - z) (logaddexp2, scale ln 2). Both operands infinite with one sign: (1/2, 1/2, 1/4), the
    limit along x = y. A NaN operand: NaN."""
    d = x - y
    if d != d:
        if x != x or y != y:
            return math.nan, math.nan, math.nan
        return 0.5, 0.5, 0.25
    u = scale * d
    s = expit(u)
    t = expit(-u)
    return s, t, d_expit(u, s)


@kernel
def d_logaddexp(x, y, v):
    """(exp(x - v), exp(y - v)), computed as (expit(x - y), expit(y - x)): (1/2, 1/2) at equal
    infinities."""
    s, t, _ = _logaddexp_weights(x, y, 1.0)
    return s, t


@kernel
def d2_logaddexp(x, y, v):
    """(w, -w, w) with w = s (1 - s), s = expit(x - y)."""
    _, _, w = _logaddexp_weights(x, y, 1.0)
    return w, -w, w


@kernel
def d_logaddexp2(x, y, v):
    """(2^(x - v), 2^(y - v)) = (expit(ln2 (x - y)), expit(ln2 (y - x)))."""
    s, t, _ = _logaddexp_weights(x, y, LN2)
    return s, t


@kernel
def d2_logaddexp2(x, y, v):
    """ln 2 (w, -w, w) with w = s (1 - s), s = expit(ln2 (x - y))."""
    _, _, w = _logaddexp_weights(x, y, LN2)
    w *= LN2
    return w, -w, w
