"""The GMM objective of ADBench (Srajer, Kukelova, Fitzgibbon 2018), in every form the benchmarks use.

Not collected by pytest (its name matches neither test_*.py nor bench_*.py).

Negative log-likelihood of a Gaussian mixture with a Wishart prior (gamma = 1, m = 0) on the
precision factors, exactly as ADBench's gmm_objective (src/python/modules/PyTorch):

    f = sum_i logsumexp_k(alpha_k + sum(q_k) - 1/2 |Q_k (x_i - mu_k)|^2) - n logsumexp(alpha)
        + sum_k [1/2 gamma^2 (|exp(q_k)|^2 + |L_k|^2) - m sum(q_k)] - K C(d, m, gamma)
        - n d / 2 log(2 pi)

with Q_k = diag(exp(q_k)) + strictly-lower(L_k). Every implementation includes the constant
terms (``gmm_constant``), so all of them return the same value.

Parameters are one flat vector p = [alphas (K), means (K*d, row-major), icf (K * d(d+1)/2)],
each icf row packed as ADBench does: d log-diagonal entries q_k, then the strictly lower
triangle L_k column by column. The data x (n, d) is a constant: gradients are with respect to
p only.

Versions:

* ``gmm_floor(p, x, K, d)``: plain @njit loops, the figure every timing is divided by;
* ``gmm_numpy(p, x, K, d, xp=np)``: vectorised NumPy on the flat vector; ``xp`` may be
  numpy, jax.numpy or autograd.numpy; numba_ad traces it with xp=np (array style);
* ``gmm_torch(p, x, K, d)``: the same for PyTorch tensors;
* ``gmm_loops(p, x, K, d)``: loop style on scalars p[j], for numba_ad's scalar tracing;
* ``gmm_casadi(K, d, x, expand)``: a CasADi Function (p -> f).
"""

import math
from typing import NamedTuple

import numpy as np
from numba import njit

SEED = 20240612
GAMMA, M = 1.0, 0  # Wishart prior parameters, ADBench's defaults
SIZES = {"small": (2, 5, 1000), "big": (10, 25, 10_000)}  # (d, K, n)


class GMMData(NamedTuple):
    d: int
    K: int
    n: int
    x: np.ndarray  # (n, d) data points
    p_rec: np.ndarray  # parameters where a tape is recorded
    p_rep: np.ndarray  # other parameters, where it is replayed


def n_params(K, d):
    return K + K * d + K * (d * (d + 1) // 2)


def make_data(d, K, n, seed=SEED):
    """ADBench-like random data: x ~ N(0, 1); alphas, means, icf ~ U(0, 1); fixed seed."""
    rng = np.random.default_rng([seed, d, K, n])
    x = rng.normal(size=(n, d))
    p_rec, p_rep = (rng.uniform(0.0, 1.0, n_params(K, d)) for _ in range(2))
    return GMMData(d, K, n, x, p_rec, p_rep)


def lower_rows(d):
    """For each row j of L, the positions in the packed strictly-lower part of its entries L[j, 0..j-1]."""
    col_start = [c * d - c * (c + 1) // 2 for c in range(d)]  # column c holds rows c+1..d-1
    return [np.array([col_start[c] + j - c - 1 for c in range(j)], dtype=np.int64) for j in range(d)]


@njit(cache=True)
def gmm_constant(n, d, K):
    """-n d/2 log(2 pi) - K C(d, m, gamma): the terms that do not depend on p."""
    n_w = d + M + 1
    log_gamma_p = 0.25 * d * (d - 1) * math.log(math.pi)  # multivariate log-gamma of n_w/2, order d
    for j in range(1, d + 1):
        log_gamma_p += math.lgamma(0.5 * n_w + 0.5 * (1 - j))
    C = n_w * d * (math.log(GAMMA) - 0.5 * math.log(2.0)) - log_gamma_p
    return -0.5 * n * d * math.log(2.0 * math.pi) - K * C


# ---------------------------------------------------------------------------------------
# Floor: plain @njit loops (ADBench's C++ gmm_objective, with max-subtracted logsumexp)
# ---------------------------------------------------------------------------------------
@njit(cache=True, error_model="numpy")
def gmm_floor(p, x, K, d):
    n = x.shape[0]
    m_icf = d * (d + 1) // 2
    a0, i0 = K, K + K * d  # offsets of means and icf in p
    qdiag = np.empty((K, d))
    sum_qs = np.zeros(K)
    prior = 0.0
    for k in range(K):
        for j in range(d):
            q = p[i0 + k * m_icf + j]
            qdiag[k, j] = math.exp(q)
            sum_qs[k] += q
            prior += qdiag[k, j] * qdiag[k, j]
        for j in range(d, m_icf):
            prior += p[i0 + k * m_icf + j] ** 2
    prior = 0.5 * GAMMA * GAMMA * prior - M * np.sum(sum_qs)
    main = np.empty(K)
    xc = np.empty(d)
    qx = np.empty(d)
    slse = 0.0
    for i in range(n):
        for k in range(K):
            for j in range(d):
                xc[j] = x[i, j] - p[a0 + k * d + j]
                qx[j] = qdiag[k, j] * xc[j]
            pos = i0 + k * m_icf + d
            for c in range(d):  # strictly lower part, column by column
                for r in range(c + 1, d):
                    qx[r] += p[pos] * xc[c]
                    pos += 1
            sq = 0.0
            for j in range(d):
                sq += qx[j] * qx[j]
            main[k] = p[k] + sum_qs[k] - 0.5 * sq
        slse += _logsumexp(main)
    return slse - n * _logsumexp(p[:K]) + prior + gmm_constant(n, d, K)


@njit(cache=True, error_model="numpy")
def _logsumexp(v):
    mx = v[0]
    for j in range(1, v.shape[0]):
        mx = max(mx, v[j])
    s = 0.0
    for j in range(v.shape[0]):
        s += math.exp(v[j] - mx)
    return math.log(s) + mx


# ---------------------------------------------------------------------------------------
# Array style: NumPy, jax.numpy, autograd.numpy (and numba_ad tracing with xp=np)
# ---------------------------------------------------------------------------------------
def _unpack(p, K, d, reshape):
    m_icf = d * (d + 1) // 2
    alphas = p[:K]
    means = reshape(p[K : K + K * d], (K, d))
    icf = reshape(p[K + K * d :], (K, m_icf))
    return alphas, means, icf[:, :d], icf[:, d:]


def dense_index(d):
    """(d, d) positions into [0, L packed]: the strictly lower part of Q in ADBench's packing, 0 elsewhere."""
    index = np.zeros((d, d), dtype=np.int64)
    for j, cols in enumerate(lower_rows(d)):
        index[j, :j] = cols + 1
    return index


def gmm_numpy(p, x, K, d, xp=np, dense=False):
    """The objective on the flat vector p with array operations of the namespace xp.

    dense=False computes Q_k (x_i - mu_k) row by row, each row a gather of the packed L and
    a sum (d(d+1)/2 products, as the floor); dense=True builds each Q_k as a dense (d, d)
    matrix and calls einsum (d^2 products, but one fused kernel: 7x faster under jax.jit
    at d=10, K=25).
    """
    n = x.shape[0]
    alphas, means, qs, Ls = _unpack(p, K, d, xp.reshape)
    qdiag = xp.exp(qs)
    sum_qs = xp.sum(qs, axis=1)
    xc = x[:, None, :] - means[None, :, :]  # (n, K, d)
    if dense:
        Q = xp.concatenate([0.0 * Ls[:, :1], Ls], axis=1)[:, dense_index(d)] + qdiag[:, :, None] * xp.eye(d)
        Qx = xp.einsum("kij,nkj->nki", Q, xc)
        sq = xp.sum(Qx * Qx, axis=2)
    else:
        sq = 0.0
        for j, cols in enumerate(lower_rows(d)):  # row j of Q_k (x_i - mu_k), for all i, k at once
            row = qdiag[:, j] * xc[:, :, j]
            if j:
                row = row + xp.sum(Ls[:, cols] * xc[:, :, :j], axis=2)
            sq = sq + row * row
    main = alphas + sum_qs - 0.5 * sq  # (n, K)
    mx = xp.max(main, axis=1, keepdims=True)
    slse = xp.sum(xp.log(xp.sum(xp.exp(main - mx), axis=1)) + mx[:, 0])
    mxa = xp.max(alphas)
    lse_alphas = xp.log(xp.sum(xp.exp(alphas - mxa))) + mxa
    prior = 0.5 * GAMMA * GAMMA * (xp.sum(qdiag * qdiag) + xp.sum(Ls * Ls)) - M * xp.sum(sum_qs)
    return slse - n * lse_alphas + prior + gmm_constant(n, d, K)


def gmm_torch(p, x, K, d, dense=True):
    """gmm_numpy for PyTorch tensors (p and x float64 tensors)."""
    import torch

    n = x.shape[0]
    alphas, means, qs, Ls = _unpack(p, K, d, torch.reshape)
    qdiag = torch.exp(qs)
    sum_qs = qs.sum(1)
    xc = x[:, None, :] - means[None, :, :]
    if dense:
        Q = torch.cat([0.0 * Ls[:, :1], Ls], 1)[:, torch.from_numpy(dense_index(d))] + torch.diag_embed(qdiag)
        Qx = torch.einsum("kij,nkj->nki", Q, xc)
        sq = (Qx * Qx).sum(2)
    else:
        sq = 0.0
        for j, cols in enumerate(lower_rows(d)):
            row = qdiag[:, j] * xc[:, :, j]
            if j:
                row = row + (Ls[:, torch.from_numpy(cols)] * xc[:, :, :j]).sum(2)
            sq = sq + row * row
    main = alphas + sum_qs - 0.5 * sq
    slse = torch.logsumexp(main, 1).sum()  # max-subtracted inside
    prior = 0.5 * GAMMA * GAMMA * ((qdiag * qdiag).sum() + (Ls * Ls).sum()) - M * sum_qs.sum()
    return slse - n * torch.logsumexp(alphas, 0) + prior + gmm_constant(n, d, K)


# ---------------------------------------------------------------------------------------
# Loop style: Python loops over scalars, for numba_ad's scalar tracing
# ---------------------------------------------------------------------------------------
def _lse_scalars(v):
    mx = v[0]
    for e in v[1:]:
        mx = np.maximum(mx, e)  # recorded as MAXIMUM ops: no branch, no guard
    return np.log(sum(np.exp(e - mx) for e in v)) + mx


def gmm_loops(p, x, K, d):
    """The objective written on scalars p[j]; x is read as Python floats."""
    n = x.shape[0]
    m_icf = d * (d + 1) // 2
    a0, i0 = K, K + K * d
    rows = x.tolist()
    qdiag, sum_qs, prior = [], [], 0.0
    for k in range(K):
        qs = [p[i0 + k * m_icf + j] for j in range(d)]
        qdiag.append([np.exp(q) for q in qs])
        sum_qs.append(sum(qs))
        prior = prior + sum(e * e for e in qdiag[k]) + sum(p[i0 + k * m_icf + j] ** 2 for j in range(d, m_icf))
    prior = 0.5 * GAMMA * GAMMA * prior - M * sum(sum_qs)
    means = [[p[a0 + k * d + j] for j in range(d)] for k in range(K)]
    slse = 0.0
    for xi in rows:
        main = []
        for k in range(K):
            xc = [xi[j] - means[k][j] for j in range(d)]
            qx = [qdiag[k][j] * xc[j] for j in range(d)]
            pos = i0 + k * m_icf + d
            for c in range(d):
                for r in range(c + 1, d):
                    qx[r] = qx[r] + p[pos] * xc[c]
                    pos += 1
            main.append(p[k] + sum_qs[k] - 0.5 * sum(e * e for e in qx))
        slse = slse + _lse_scalars(main)
    return slse - n * _lse_scalars([p[k] for k in range(K)]) + prior + gmm_constant(n, d, K)


# ---------------------------------------------------------------------------------------
# CasADi
# ---------------------------------------------------------------------------------------
def gmm_casadi(K, d, x, expand=True):
    """A casadi.Function p -> f.

    The per-point term logsumexp_k(...) is an SX function of (p, x_i), mapped over the n
    points (Function.map, serial) inside an MX graph; expand=True then expands the whole
    graph into one SX function (CasADi's fastest VM), which costs memory proportional to n.
    """
    import casadi as ca

    n = x.shape[0]
    P = n_params(K, d)
    m_icf = d * (d + 1) // 2
    p = ca.SX.sym("p", P)
    xi = ca.SX.sym("xi", d)
    a0, i0 = K, K + K * d
    main = []
    for k in range(K):
        q = p[i0 + k * m_icf : i0 + k * m_icf + d]
        xc = xi - p[a0 + k * d : a0 + (k + 1) * d]
        qx = [ca.exp(q[j]) * xc[j] for j in range(d)]
        pos = i0 + k * m_icf + d
        for c in range(d):
            for r in range(c + 1, d):
                qx[r] = qx[r] + p[pos] * xc[c]
                pos += 1
        main.append(p[k] + ca.sum1(q) - 0.5 * ca.sumsqr(ca.vertcat(*qx)))
    point = ca.Function("gmm_point", [p, xi], [_casadi_lse(ca.vertcat(*main))])

    pm = ca.MX.sym("p", P)
    slse = ca.sum2(point.map(n, "serial")(pm, ca.DM(x.T)))
    icf = ca.reshape(pm[i0:], m_icf, K)  # column k = icf row k
    qs, Ls = icf[:d, :], icf[d:, :]
    prior = 0.5 * GAMMA * GAMMA * (ca.sumsqr(ca.exp(qs)) + ca.sumsqr(Ls)) - M * ca.sum1(ca.sum2(qs))
    f = slse - n * _casadi_lse(pm[:K]) + prior + gmm_constant(n, d, K)
    fn = ca.Function("gmm", [pm], [f])
    return fn.expand() if expand else fn


def _casadi_lse(v):
    import casadi as ca

    mx = v[0]
    for j in range(1, v.shape[0]):
        mx = ca.fmax(mx, v[j])
    return ca.log(ca.sum1(ca.exp(v - mx))) + mx
