"""Taylor mode: the recurrence of each op, written by hand beside the op rows (ops/defs.py).

``taylor(op, X, ia, ib, i, c, d_a, d_b, S)`` fills coefficients 2.. of one slot from its
operands' series. Every non-structural op has a branch (tests/ops/test_taylor.py checks each
against Cauchy coefficients of an independent complex reference, and tests/ops/
test_completeness.py that no op is missing from that check).
"""

import math

from numba_ad._config import kernel, kernel_inline
from numba_ad.ops import user
from numba_ad.ops.codes import Op
from numba_ad.ops.constants import LN2, LN10, TWO_OVER_SQRT_PI
from numba_ad.ops.series import conv as _conv
from numba_ad.ops.series import fill as _fill
from numba_ad.ops.series import wconv as _wconv
from numba_ad.ops.special_taylor import (
    taylor_erfinv,
    taylor_expit,
    taylor_gammaln,
    taylor_logaddexp,
    taylor_logaddexp2,
    taylor_sinc,
)


# ---------------------------------------------------------------------------------------
# Taylor mode: the recurrences of each op.
#
# A series is a row of a 2-D array, named by the array and the row: (X, i) holds in X[i, k]
# the coefficient of t^k of slot i along t -> x + t v. A product of two factors is a term
# only where neither factor is zero (the sweeps' structural-zero rule), so a zero
# coefficient times an inf or NaN one contributes 0. The helpers solve the ODE each op
# satisfies (exp: z' = z x'; log: x z' = x'; ...) coefficient by coefficient (Griewank and
# Walther, Evaluating Derivatives, ch. 13).
#
# Rows rather than 1-D views (a view costs a reference count), and the small helpers inlined:
# P2 (n = 1000) at degree 10 measured 228 ns/op with views passed to compiled helpers, 132
# with the recurrence helpers inlined, 85 with rows (4.7 s to compile `taylor`); inlining
# the per-op helpers too gave 78 ns/op for 8.8 s of compiling, and `taylor` itself 40 s.
# ---------------------------------------------------------------------------------------
@kernel_inline
def _exp_rec(U, u, W, w, k):
    """Coefficient k >= 1 of z with z' = u' w: (1/k) sum_{j=1..k} j u_j w_{k-j}."""
    return _wconv(U, u, W, w, k, 1, k) / k


@kernel_inline
def _log_rec(s, U, u, Q, q, q0, Z, z, k):
    """Coefficient k >= 1 of z with q z' = s u', where q's coefficient 0 is q0 (the others
    are Q[q, 1..]): z_k = (s u_k - (1/k) sum_{j=1..k-1} j z_j q_{k-j}) / q0."""
    return (s * U[u, k] - _wconv(Z, z, Q, q, k, 1, k - 1) / k) / q0


@kernel_inline
def _sqrt_rec(Q, q, Z, z, k):
    """Coefficient k >= 1 of z = sqrt(q): (q_k - sum_{j=1..k-1} z_j z_{k-j}) / (2 z_0)."""
    return (Q[q, k] - _conv(Z, z, Z, z, k, 1, k - 1)) / (2.0 * Z[z, 0])


@kernel_inline
def _power_rec(U, u, Z, z, r, k):
    """Coefficient k >= 1 of z = u^r, u_0 != 0: from u z' = r u' z,
    z_k = sum_{j=1..k} (j (r + 1) - k) u_j z_{k-j} / (k u_0). No logarithm: exact for a
    negative base with an integer r."""
    s = 0.0
    for j in range(1, k + 1):
        uj = U[u, j]
        zj = Z[z, k - j]
        if uj != 0.0 and zj != 0.0:
            s += (j * (r + 1.0) - k) * uj * zj
    return s / (k * U[u, 0])


@kernel_inline
def _taylor_linear(X, ia, ib, i, d_a, d_b):
    """z = d_a x + d_b y coefficient-wise: the ops whose partials are locally constant."""
    for k in range(2, X.shape[1]):
        xk = X[ia, k]
        yk = X[ib, k]
        X[i, k] = (d_a * xk if d_a != 0.0 and xk != 0.0 else 0.0) + (d_b * yk if d_b != 0.0 and yk != 0.0 else 0.0)


@kernel
def _taylor_power(X, ia, i, r, S):
    """z = x^r. At x_0 = 0 the series exists when r is a non-negative integer: with x = t^m u,
    u_0 != 0, x^r = t^(m r) u^r (TaylorSeries.jl does the same); otherwise it is NaN."""
    D = X.shape[1] - 1
    if X[ia, 0] != 0.0:
        for k in range(2, D + 1):
            X[i, k] = _power_rec(X, ia, X, i, r, k)
        return
    if not (r >= 0.0 and r == math.floor(r)):
        _fill(X, i, 2, math.nan)
        return
    _fill(X, i, 2, 0.0)
    m = 1
    while m <= D and X[ia, m] == 0.0:
        m += 1
    if m > D or r == 0.0 or m * r > D:  # x constant (callers rule it out), x^0, or t^(m r) beyond degree D
        return
    e = int(m * r)
    for j in range(D - m + 1):  # u = x / t^m in S[0], u^r in S[1]
        S[0, j] = X[ia, m + j]
    S[1, 0] = S[0, 0] ** r
    for j in range(1, D - e + 1):
        S[1, j] = _power_rec(S, 0, S, 1, r, j)
    for k in range(max(e, 2), D + 1):
        X[i, k] = S[1, k - e]


@kernel
def _taylor_sin_cos(X, ia, i, aux0, s_z, s_aux, S):
    """The pairs sin/cos and sinh/cosh: z' = s_z aux x' and aux' = s_aux z x', with the
    other function of the pair carried in S[0] (aux0 its value)."""
    S[0, 0] = aux0
    for k in range(1, X.shape[1]):
        if k >= 2:
            X[i, k] = s_z * _exp_rec(X, ia, S, 0, k)
        S[0, k] = s_aux * _exp_rec(X, ia, X, i, k)


@kernel
def _taylor_tan(X, ia, i, sign, S):
    """z = tan x (sign = 1) or tanh x (sign = -1): z' = q x' with q = 1 + sign z^2 in S[0]."""
    S[0, 0] = 1.0 + sign * X[i, 0] * X[i, 0]
    for k in range(1, X.shape[1]):
        if k >= 2:
            X[i, k] = _exp_rec(X, ia, S, 0, k)
        S[0, k] = sign * _conv(X, i, X, i, k, 0, k)


@kernel
def _quadratic(X, ia, S, q, sign, q0):
    """S[q] = q0 + sign (x^2 - x_0^2): the series of sign x^2 + const with value q0 (given, as
    the caller computes it accurately: (1 - x_0)(1 + x_0) rather than 1 - x_0^2)."""
    S[q, 0] = q0
    for k in range(1, X.shape[1]):
        S[q, k] = sign * _conv(X, ia, X, ia, k, 0, k)


@kernel
def _taylor_inverse_sqrt(X, ia, i, s, r0, S):
    """z' = s x' / r with r = sqrt(q) in S[0] (r0 its value) and q in S[1]: arcsin, arccos
    (q = 1 - x^2), arcsinh (1 + x^2), arccosh (x^2 - 1)."""
    S[0, 0] = r0
    for k in range(1, X.shape[1]):
        if k >= 2:
            X[i, k] = _log_rec(s, X, ia, S, 0, r0, X, i, k)
        S[0, k] = _sqrt_rec(S, 1, S, 0, k)


@kernel
def _taylor_erf(X, ia, i, s, S):
    """z' = s (2/sqrt(pi)) e x' with e = exp(-x^2) in S[1] (S[0] holds -x^2)."""
    x0 = X[ia, 0]
    _quadratic(X, ia, S, 0, -1.0, -x0 * x0)
    S[1, 0] = math.exp(-x0 * x0)
    for k in range(1, X.shape[1]):
        if k >= 2:
            X[i, k] = s * TWO_OVER_SQRT_PI * _exp_rec(X, ia, S, 1, k)
        S[1, k] = _exp_rec(S, 0, S, 1, k)


@kernel
def taylor(op, X, ia, ib, i, c, d_a, d_b, S):
    """Taylor coefficients 2..D of slot i of X ([n_slots, D + 1]), a non-structural op, from
    the complete series of its operands in rows ia (x) and ib (y).

    The caller has written X[i, 0] (the value) and X[i, 1] (d_a x_1 + d_b y_1, the tangent,
    so that degree 1 follows the first-order conventions); d_a, d_b are the op's first
    partials. S is scratch [4, D + 1] for the auxiliary series some recurrences carry (cos
    for sin, 1 + tan^2 for tan, sqrt(1 - x^2) for arcsin, ...). Where an op has no series
    (sqrt, cbrt, x**c at 0, a pole) coefficients 2.. are NaN or inf, except that an integer
    power at 0 gives its exact polynomial coefficients.
    """
    D = X.shape[1] - 1
    if op == Op.ADD:
        _taylor_linear(X, ia, ib, i, 1.0, 1.0)
    elif op == Op.SUB:
        _taylor_linear(X, ia, ib, i, 1.0, -1.0)
    elif op == Op.MUL:
        for k in range(2, D + 1):
            X[i, k] = _conv(X, ia, X, ib, k, 0, k)
    elif op == Op.DIV:
        for k in range(2, D + 1):  # z y = x: z_k = (x_k - sum_{j<k} z_j y_{k-j}) / y_0
            X[i, k] = (X[ia, k] - _conv(X, i, X, ib, k, 0, k - 1)) / X[ib, 0]
    elif op == Op.POW:
        y_constant = True
        for k in range(1, D + 1):
            if X[ib, k] != 0.0:
                y_constant = False
        if y_constant:  # x^(y_0): the power recurrence (negative bases, x = 0 included)
            _taylor_power(X, ia, i, X[ib, 0], S)
        elif X[ia, 0] == 0.0:
            _fill(X, i, 2, math.nan)
        else:  # exp(w) with w = y log x: S[0] = log x, S[1] = w
            S[0, 0] = math.log(X[ia, 0])
            for k in range(1, D + 1):
                S[0, k] = _log_rec(1.0, X, ia, X, ia, X[ia, 0], S, 0, k)
            for k in range(D + 1):
                S[1, k] = _conv(X, ib, S, 0, k, 0, k)
            for k in range(2, D + 1):
                X[i, k] = _exp_rec(S, 1, X, i, k)
    elif op == Op.ARCTAN2:
        for k in range(D):  # q z' = y x' - x y' with q = x^2 + y^2 in S[0]
            S[0, k] = _conv(X, ia, X, ia, k, 0, k) + _conv(X, ib, X, ib, k, 0, k)
        for k in range(2, D + 1):
            num = _wconv(X, ia, X, ib, k, 1, k) - _wconv(X, ib, X, ia, k, 1, k) - _wconv(X, i, S, 0, k, 1, k - 1)
            X[i, k] = num / (k * S[0, 0])
    elif op == Op.HYPOT:
        for k in range(D + 1):  # z = sqrt(q), q = x^2 + y^2 in S[0]
            S[0, k] = _conv(X, ia, X, ia, k, 0, k) + _conv(X, ib, X, ib, k, 0, k)
        if X[i, 0] == 0.0:
            _fill(X, i, 2, math.nan)  # |t| at the origin: no series
        else:
            for k in range(2, D + 1):
                X[i, k] = _sqrt_rec(S, 0, X, i, k)
    elif op == Op.MINIMUM:
        _taylor_linear(X, ia, ib, i, d_a, d_b)  # the selected series; at a tie their mean
    elif op == Op.MAXIMUM:
        _taylor_linear(X, ia, ib, i, d_a, d_b)
    elif op == Op.POWI:
        _taylor_power(X, ia, i, c, S)
    elif op == Op.POWC:
        _taylor_power(X, ia, i, c, S)
    elif op == Op.CPOW:
        if X[i, 0] == 0.0:
            _fill(X, i, 2, 0.0)  # as partials(): zero where c^x is zero
        else:
            lc = math.log(c)  # c^x = exp(x log c)
            for k in range(2, D + 1):
                X[i, k] = lc * _exp_rec(X, ia, X, i, k)
    elif op == Op.NEG:
        _taylor_linear(X, ia, ib, i, -1.0, 0.0)
    elif op == Op.ABS:
        _taylor_linear(X, ia, ib, i, d_a, 0.0)  # sign(x_0) x; zeros at x_0 = 0, as abs'(0) = 0
    elif op == Op.SQRT:
        if X[i, 0] == 0.0:
            _fill(X, i, 2, math.nan)
        else:
            for k in range(2, D + 1):
                X[i, k] = _sqrt_rec(X, ia, X, i, k)
    elif op == Op.CBRT:
        _taylor_power(X, ia, i, 1.0 / 3.0, S)
    elif op == Op.EXP:
        for k in range(2, D + 1):
            X[i, k] = _exp_rec(X, ia, X, i, k)
    elif op == Op.EXP2:
        for k in range(2, D + 1):
            X[i, k] = LN2 * _exp_rec(X, ia, X, i, k)
    elif op == Op.EXPM1:
        for k in range(2, D + 1):
            X[i, k] = _exp_rec(X, ia, X, i, k) + X[ia, k]  # z' = (z + 1) x'
    elif op == Op.LOG:
        for k in range(2, D + 1):
            X[i, k] = _log_rec(1.0, X, ia, X, ia, X[ia, 0], X, i, k)
    elif op == Op.LOG2:
        for k in range(2, D + 1):
            X[i, k] = _log_rec(1.0 / LN2, X, ia, X, ia, X[ia, 0], X, i, k)
    elif op == Op.LOG10:
        for k in range(2, D + 1):
            X[i, k] = _log_rec(1.0 / LN10, X, ia, X, ia, X[ia, 0], X, i, k)
    elif op == Op.LOG1P:
        for k in range(2, D + 1):
            X[i, k] = _log_rec(1.0, X, ia, X, ia, 1.0 + X[ia, 0], X, i, k)
    elif op == Op.SIN:
        _taylor_sin_cos(X, ia, i, math.cos(X[ia, 0]), 1.0, -1.0, S)
    elif op == Op.COS:
        _taylor_sin_cos(X, ia, i, math.sin(X[ia, 0]), -1.0, 1.0, S)
    elif op == Op.TAN:
        _taylor_tan(X, ia, i, 1.0, S)
    elif op == Op.ARCSIN:
        q0 = (1.0 - X[ia, 0]) * (1.0 + X[ia, 0])
        _quadratic(X, ia, S, 1, -1.0, q0)
        _taylor_inverse_sqrt(X, ia, i, 1.0, math.sqrt(q0), S)
    elif op == Op.ARCCOS:
        q0 = (1.0 - X[ia, 0]) * (1.0 + X[ia, 0])
        _quadratic(X, ia, S, 1, -1.0, q0)
        _taylor_inverse_sqrt(X, ia, i, -1.0, math.sqrt(q0), S)
    elif op == Op.ARCTAN:
        _quadratic(X, ia, S, 0, 1.0, 1.0 + X[ia, 0] * X[ia, 0])
        for k in range(2, D + 1):
            X[i, k] = _log_rec(1.0, X, ia, S, 0, S[0, 0], X, i, k)
    elif op == Op.SINH:
        _taylor_sin_cos(X, ia, i, math.cosh(X[ia, 0]), 1.0, 1.0, S)
    elif op == Op.COSH:
        _taylor_sin_cos(X, ia, i, math.sinh(X[ia, 0]), 1.0, 1.0, S)
    elif op == Op.TANH:
        _taylor_tan(X, ia, i, -1.0, S)
    elif op == Op.ARCSINH:
        _quadratic(X, ia, S, 1, 1.0, 1.0 + X[ia, 0] * X[ia, 0])
        _taylor_inverse_sqrt(X, ia, i, 1.0, math.hypot(X[ia, 0], 1.0), S)
    elif op == Op.ARCCOSH:
        x0 = X[ia, 0]
        _quadratic(X, ia, S, 1, 1.0, (x0 - 1.0) * (x0 + 1.0))
        _taylor_inverse_sqrt(X, ia, i, 1.0, math.sqrt(x0 - 1.0) * math.sqrt(x0 + 1.0), S)
    elif op == Op.ARCTANH:
        _quadratic(X, ia, S, 0, -1.0, (1.0 - X[ia, 0]) * (1.0 + X[ia, 0]))
        for k in range(2, D + 1):
            X[i, k] = _log_rec(1.0, X, ia, S, 0, S[0, 0], X, i, k)
    elif op == Op.ERF:
        _taylor_erf(X, ia, i, 1.0, S)
    elif op == Op.ERFC:
        _taylor_erf(X, ia, i, -1.0, S)
    elif op == Op.SQUARE:
        for k in range(2, D + 1):
            X[i, k] = _conv(X, ia, X, ia, k, 0, k)
    elif op == Op.RECIPROCAL:
        for k in range(2, D + 1):  # z x = 1: z_k = -sum_{j<k} z_j x_{k-j} / x_0
            X[i, k] = -_conv(X, i, X, ia, k, 0, k - 1) / X[ia, 0]
    elif op == Op.LOGADDEXP:
        taylor_logaddexp(X, ia, ib, i, S)
    elif op == Op.LOGADDEXP2:
        taylor_logaddexp2(X, ia, ib, i, S)
    elif op == Op.EXPIT:
        taylor_expit(X, ia, i, S)
    elif op == Op.ERFINV:
        taylor_erfinv(X, ia, i, S)
    elif op == Op.GAMMALN:
        taylor_gammaln(X, ia, i, S)
    elif op == Op.SINC:
        taylor_sinc(X, ia, i, S)
    elif op == Op.USER1 or op == Op.USER2:
        user.taylor_user(X, ia, ib, i, c, d_a, d_b, op == Op.USER2)
    elif op == Op.IF_TRUE:
        _taylor_linear(X, ia, ib, i, 0.0, d_b)  # y's series where the mask holds, else zeros
    elif op == Op.IF_FALSE:
        _taylor_linear(X, ia, ib, i, 0.0, d_b)
    else:
        _fill(X, i, 2, 0.0)  # FLOOR, CEIL, TRUNC, SIGN and the comparisons: piecewise constant
