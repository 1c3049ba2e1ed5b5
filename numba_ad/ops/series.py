"""Products of Taylor series, coefficient by coefficient: what the recurrences of ops/taylor.py
and ops/special_taylor.py share.

A series is a row of a 2-D array, named by the array and the row: (X, i) holds in X[i, k] the
coefficient of t^k. A product of two factors is a term only where neither factor is zero (the
sweeps' structural-zero rule), so a zero coefficient times an inf or NaN one contributes 0.
"""

from numba_ad._config import kernel_inline


@kernel_inline
def conv(P, p, Q, q, k, lo, hi):
    """sum_{j=lo..hi} P[p, j] Q[q, k - j]: coefficient k of a product of series."""
    s = 0.0
    for j in range(lo, hi + 1):
        u = P[p, j]
        w = Q[q, k - j]
        if u != 0.0 and w != 0.0:
            s += u * w
    return s


@kernel_inline
def wconv(P, p, Q, q, k, lo, hi):
    """sum_{j=lo..hi} j P[p, j] Q[q, k - j]: the same with P differentiated (j P_j)."""
    s = 0.0
    for j in range(lo, hi + 1):
        u = P[p, j]
        w = Q[q, k - j]
        if u != 0.0 and w != 0.0:
            s += j * u * w
    return s


@kernel_inline
def fill(Z, z, k0, value):
    for k in range(k0, Z.shape[1]):
        Z[z, k] = value
