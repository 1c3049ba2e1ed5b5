"""The GMM objective of benchmarks/gmm.py: every version gives the same value, and numba_ad's
gradient matches finite differences and (when installed) JAX. Recorded at p_rec, replayed at p_rep."""

import sys
from pathlib import Path

import numpy as np
import pytest

import numba_ad as ad

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from gmm import (
    gmm_casadi,
    gmm_constant,
    gmm_floor,
    gmm_loops,
    gmm_numpy,
    gmm_torch,  # noqa: E402
    make_data,
    n_params,
)

D_, K_, N_ = 3, 4, 30
DATA = make_data(D_, K_, N_)
RTOL_VALUE = 1e-10


def dense_reference(p, x, K, d):
    """The objective straight from the formula, with each Q_k built as a dense matrix from
    ADBench's packing (log-diagonal, then the strictly lower triangle column by column)."""
    from scipy.special import logsumexp, multigammaln

    n = x.shape[0]
    alphas, means = p[:K], p[K : K + K * d].reshape(K, d)
    icf = p[K + K * d :].reshape(K, -1)
    main = np.empty((n, K))
    prior = 0.0
    for k in range(K):
        Q = np.diag(np.exp(icf[k, :d]))
        pos = d
        for c in range(d):
            for r in range(c + 1, d):
                Q[r, c] = icf[k, pos]
                pos += 1
        main[:, k] = alphas[k] + icf[k, :d].sum() - 0.5 * np.sum(((x - means[k]) @ Q.T) ** 2, axis=1)
        prior += 0.5 * (np.sum(np.exp(icf[k, :d]) ** 2) + np.sum(icf[k, d:] ** 2))  # gamma = 1, m = 0
    n_w = d + 1
    C = n_w * d * (0.0 - 0.5 * np.log(2.0)) - multigammaln(0.5 * n_w, d)
    return np.sum(logsumexp(main, axis=1)) - n * logsumexp(alphas) + prior - K * C - 0.5 * n * d * np.log(2 * np.pi)


def array_tape():
    return ad.trace(lambda p: gmm_numpy(p, DATA.x, K_, D_), DATA.p_rec)


def loop_tape():
    return ad.trace(lambda p: gmm_loops(p, DATA.x, K_, D_), DATA.p_rec)


TAPES = {"array": array_tape, "loops": loop_tape}


def test_constant_matches_scipy():
    pytest.importorskip("scipy")
    reference = dense_reference(np.zeros(n_params(K_, D_)), np.zeros((N_, D_)), K_, D_)
    # p = 0, x = 0: every main term is 0, so f = n log K - n log K + K d / 2 + constant
    np.testing.assert_allclose(gmm_constant(N_, D_, K_) + 0.5 * K_ * D_, reference, rtol=1e-13)


def test_floor_matches_dense_formula():
    pytest.importorskip("scipy")
    for p in (DATA.p_rec, DATA.p_rep):
        np.testing.assert_allclose(gmm_floor(p, DATA.x, K_, D_), dense_reference(p, DATA.x, K_, D_), rtol=RTOL_VALUE)


@pytest.mark.parametrize("version", ["numpy", "loops"])
def test_python_versions_match_floor(version):
    f = gmm_numpy if version == "numpy" else gmm_loops
    np.testing.assert_allclose(f(DATA.p_rep, DATA.x, K_, D_), gmm_floor(DATA.p_rep, DATA.x, K_, D_), rtol=RTOL_VALUE)


@pytest.mark.parametrize("style", list(TAPES))
def test_tape_value_matches_floor(style):
    tape = TAPES[style]()
    assert tape.n_inputs == n_params(K_, D_) and tape.scalar_output and tape.n_guards == 0
    for p in (DATA.p_rep, DATA.p_rec):
        np.testing.assert_allclose(tape.eval(p), gmm_floor(p, DATA.x, K_, D_), rtol=RTOL_VALUE)


@pytest.mark.parametrize("style", list(TAPES))
def test_gradient_matches_finite_differences(style):
    tape = TAPES[style]()
    value, g = tape.value_and_gradient(DATA.p_rep)
    np.testing.assert_allclose(value, gmm_floor(DATA.p_rep, DATA.x, K_, D_), rtol=RTOL_VALUE)
    rng = np.random.default_rng(3)
    h = 1e-5
    for _ in range(5):
        v = rng.normal(size=g.shape[0])
        fd = (gmm_floor(DATA.p_rep + h * v, DATA.x, K_, D_) - gmm_floor(DATA.p_rep - h * v, DATA.x, K_, D_)) / (2 * h)
        np.testing.assert_allclose(g @ v, fd, rtol=1e-7)


@pytest.mark.parametrize("nest", [False, True], ids=["one-loop", "nest"])
def test_compiled_array_tape_matches_the_tape_and_differences(nest):
    # (n, K, d) broadcasts record short runs: the compiler loops over the n data points, with
    # the K axis written out (one loop) or as inner loops (a nest: how GMM at d=10, K=25 compiles)
    tape = array_tape()
    compiled = tape.compile(straight_line=False, nest=nest)
    if nest:
        assert K_ in {g.trips for g in compiled.plan.groups if g.rows == N_}  # K inside n
    else:
        assert max(group.trips for group in compiled.plan.groups) == N_
    for p in (DATA.p_rep, DATA.p_rec, DATA.p_rep):
        value, g = compiled.value_and_gradient(p)
        want_value, want_g = tape.value_and_gradient(p)
        assert value == want_value
        np.testing.assert_allclose(g, want_g, rtol=1e-12, atol=1e-12)
    rng = np.random.default_rng(4)
    h = 1e-5
    for _ in range(3):
        v = rng.normal(size=g.shape[0])
        fd = (gmm_floor(DATA.p_rep + h * v, DATA.x, K_, D_) - gmm_floor(DATA.p_rep - h * v, DATA.x, K_, D_)) / (2 * h)
        np.testing.assert_allclose(compiled.gradient(DATA.p_rep) @ v, fd, rtol=1e-7)


def test_array_and_loop_tapes_agree():
    np.testing.assert_allclose(
        array_tape().gradient(DATA.p_rep), loop_tape().gradient(DATA.p_rep), rtol=1e-12, atol=1e-12
    )


def test_gradient_matches_jax():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    g_jax = jax.grad(lambda p: gmm_numpy(p, jnp.asarray(DATA.x), K_, D_, jnp))(jnp.asarray(DATA.p_rep))
    np.testing.assert_allclose(array_tape().gradient(DATA.p_rep), np.asarray(g_jax), rtol=1e-10, atol=1e-12)


def _peer_value(peer):
    if peer == "jax":
        jax = pytest.importorskip("jax")
        jax.config.update("jax_enable_x64", True)
        return float(gmm_numpy(jax.numpy.asarray(DATA.p_rep), jax.numpy.asarray(DATA.x), K_, D_, jax.numpy))
    if peer == "autograd":
        anp = pytest.importorskip("autograd.numpy")
        return float(gmm_numpy(DATA.p_rep, DATA.x, K_, D_, anp))
    if peer == "torch":
        torch = pytest.importorskip("torch")
        return float(gmm_torch(torch.from_numpy(DATA.p_rep), torch.from_numpy(DATA.x), K_, D_))
    pytest.importorskip("casadi")
    return float(gmm_casadi(K_, D_, DATA.x, expand=peer == "casadi-expanded")(DATA.p_rep))


@pytest.mark.parametrize("peer", ["jax", "autograd", "torch", "casadi", "casadi-expanded"])
def test_peer_versions_match_floor(peer):
    np.testing.assert_allclose(_peer_value(peer), gmm_floor(DATA.p_rep, DATA.x, K_, D_), rtol=RTOL_VALUE)
