"""Taylor-mode rules of the special-function ops (values and partials: ops/special.py).

Each rule has the contract of a branch of `taylor` in ops/taylor.py: X is [n_slots, D + 1], row ia
(and ib) the complete series of the operand(s), row i the result, whose X[i, 0] (the value) and
X[i, 1] (the tangent d_a x_1 + d_b y_1) the caller has written; the rule writes X[i, 2..D] and
nothing else of X. S is scratch, at least [3, D + 1] (the rows each rule uses are in its
docstring). A product term is computed only where neither factor is zero (the sweeps'
structural-zero rule). Where the op has no series at the point (erfinv at +-1, a pole of
gammaln, a NaN or infinite operand) coefficients 2..D are NaN.

The series products are ops/series.py's, shared with ops/taylor.py.
"""

import math

from numba_ad._config import kernel, kernel_inline
from numba_ad.ops.series import conv as _conv
from numba_ad.ops.series import fill as _fill
from numba_ad.ops.series import wconv as _wconv
from numba_ad.ops.special import (
    LN2,
    SQRT_PI_OVER_2,
    d_expit,
    expit,
    polygamma,
    sinc_coefficient,
)


@kernel_inline
def _term(a, b):
    """a b, or 0 where a factor is 0 (the structural-zero rule)."""
    return a * b if a != 0.0 and b != 0.0 else 0.0


@kernel
def compose(A, a, U, u, Z, z):
    """Z[z, 0..D] = sum_j A[a, j] (x(t) - x_0)^j, the series of f(x(t)) from the Taylor coefficients
    A[a, j] = f^(j)(x_0) / j! of f at x_0 and the series x(t) in U[u] (U[u, 0] is not read).

    Horner's rule on series, in place: Z <- Z (x - x_0) + A_j for j = D..0; multiplying by
    x - x_0 (no constant term) reads only lower coefficients, so k runs downwards. Z[z] must be
    another row than U[u] and A[a]. O(D^3), D is small.
    """
    D = Z.shape[1] - 1
    _fill(Z, z, 0, 0.0)
    Z[z, 0] = A[a, D]
    for j in range(D - 1, -1, -1):
        for k in range(D, 0, -1):
            s = 0.0
            for l in range(1, k + 1):
                s += _term(U[u, l], Z[z, k - l])
            Z[z, k] = s
        Z[z, 0] = A[a, j]


@kernel
def _expit_series(U, u, Z, z, W, w, z0, w0, h, k0):
    """Z[z] = expit(U[u]) from z' = w u' with w = z (1 - z) in W[w]: w' = (1 - 2 z) z', so
    w_k = h z_k - sum_{j=1..k-1} z_j z_{k-j} with h = 1 - 2 z_0 (given, computed without
    cancellation). z0 = z_0 and w0 = w_0 are given; Z[z, k] is written for k >= k0 only (the
    caller's tangent is kept), W[w, 0..D] all."""
    Z[z, 0] = z0
    W[w, 0] = w0
    for k in range(1, W.shape[1]):
        zk = _wconv(U, u, W, w, k, 1, k) / k
        if k >= k0:
            Z[z, k] = zk
        W[w, k] = _term(h, Z[z, k]) - _conv(Z, z, Z, z, k, 1, k - 1)


@kernel
def taylor_expit(X, ia, i, S):
    """z = expit(x): z' = z (1 - z) x'. S[0] holds z (1 - z). At x_0 = +-inf, z (1 - z) = 0 and the
    series is constant; NaN gives NaN."""
    x0 = X[ia, 0]
    if x0 != x0:
        _fill(X, i, 2, math.nan)
        return
    _expit_series(X, ia, X, i, S, 0, X[i, 0], d_expit(x0, X[i, 0]), -math.tanh(0.5 * x0), 2)


@kernel
def _taylor_logaddexp_scaled(X, ia, ib, i, scale, S):
    """z = logaddexp(x, y) (scale 1) or logaddexp2 (scale ln 2): z' = s x' + (1 - s) y' with
    s = expit(u), u = scale (x - y). S[0] = u, S[1] = s, S[2] = s (1 - s). Then
    z_k = s_0 x_k + (1 - s_0) y_k + (1/k) sum_{j=1..k-1} j (x_j - y_j) s_{k-j}, with 1 - s_0
    computed as expit(-u_0) (no cancellation when x >> y)."""
    D = X.shape[1] - 1
    x0 = X[ia, 0]
    y0 = X[ib, 0]
    if x0 != x0 or y0 != y0:
        _fill(X, i, 2, math.nan)
        return
    u0 = scale * (x0 - y0)
    if u0 != u0:
        u0 = 0.0  # both infinite with one sign: the symmetric limit, as the partials (1/2, 1/2)
    S[0, 0] = u0
    for k in range(1, D + 1):
        S[0, k] = scale * (X[ia, k] - X[ib, k])
    s0 = expit(u0)
    t0 = expit(-u0)
    _expit_series(S, 0, S, 1, S, 2, s0, d_expit(u0, s0), -math.tanh(0.5 * u0), 1)
    for k in range(2, D + 1):
        acc = 0.0
        for j in range(1, k):
            acc += j * _term(X[ia, j] - X[ib, j], S[1, k - j])
        X[i, k] = _term(s0, X[ia, k]) + _term(t0, X[ib, k]) + acc / k


@kernel
def taylor_logaddexp(X, ia, ib, i, S):
    """z = logaddexp(x, y). S[0..2]. Where x and y are infinite with one sign (-inf, -inf), the
    series is that of the symmetric limit (s = expit(x - y) taken as 1/2 at degree 0): the mean
    of both series at degree 1, as the partials (1/2, 1/2)."""
    _taylor_logaddexp_scaled(X, ia, ib, i, 1.0, S)


@kernel
def taylor_logaddexp2(X, ia, ib, i, S):
    """z = logaddexp2(x, y): as logaddexp with s = expit(ln2 (x - y)). S[0..2]."""
    _taylor_logaddexp_scaled(X, ia, ib, i, LN2, S)


@kernel
def taylor_erfinv(X, ia, i, S):
    """z = erfinv(x): z' = (sqrt(pi)/2) E x' with E = exp(z^2), E' = q' E, q = z^2.
    S[0] = q, S[1] = E. NaN from degree 2 at x_0 = +-1 (z_0 infinite) and outside [-1, 1]."""
    z0 = X[i, 0]
    if not abs(z0) < math.inf:
        _fill(X, i, 2, math.nan)
        return
    S[0, 0] = z0 * z0
    S[1, 0] = math.exp(z0 * z0)
    for k in range(1, X.shape[1]):
        if k >= 2:
            X[i, k] = SQRT_PI_OVER_2 * _wconv(X, ia, S, 1, k, 1, k) / k
        S[0, k] = _conv(X, i, X, i, k, 0, k)
        S[1, k] = _wconv(S, 0, S, 1, k, 1, k) / k


@kernel
def _copy_from(Z, z, X, i):
    for k in range(2, X.shape[1]):
        X[i, k] = Z[z, k]


@kernel
def taylor_gammaln(X, ia, i, S):
    """z = log|Gamma(x)|: composed from its derivatives at x_0, psi^(j-1)(x_0) / j! (polygamma),
    with x(t) - x_0. S[0] the coefficients, S[1] the composition. NaN at the poles (x_0 = 0, -1,
    -2, ...), at +-inf and NaN."""
    x0 = X[ia, 0]
    if not abs(x0) < math.inf or (x0 <= 0.0 and x0 == math.floor(x0)):
        _fill(X, i, 2, math.nan)
        return
    D = X.shape[1] - 1
    S[0, 0] = X[i, 0]
    fact = 1.0
    for j in range(1, D + 1):
        fact *= j
        S[0, j] = polygamma(j - 1, x0) / fact
    compose(S, 0, X, ia, S, 1)
    _copy_from(S, 1, X, i)


@kernel
def taylor_sinc(X, ia, i, S):
    """z = sinc(x), entire: composed from sinc^(j)(x_0) / j! (sinc_coefficient, its power series
    for |x_0| < 1, stable at 0) with x(t) - x_0. S[0] the coefficients, S[1] the composition.
    NaN for a non-finite x_0."""
    x0 = X[ia, 0]
    if not abs(x0) < math.inf:
        _fill(X, i, 2, math.nan)
        return
    D = X.shape[1] - 1
    S[0, 0] = X[i, 0]
    for j in range(1, D + 1):
        S[0, j] = sinc_coefficient(x0, j)
    compose(S, 0, X, ia, S, 1)
    _copy_from(S, 1, X, i)
