"""Checking derivatives: what numba_ad's own tests use, shipped for users' functions."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from numba_ad.api.record import trace


def check_grads(
    f: Callable,
    x: ArrayLike,
    params: ArrayLike | None = None,
    n_directions: int = 3,
    eps: float = 1e-6,
    rtol: float = 1e-5,
    atol: float = 1e-8,
    seed: int = 0,
) -> None:
    """Check numba_ad's derivatives of f at x; raise AssertionError describing any mismatch.

    Three independent checks, cheap at any n:

    * the traced value equals f evaluated in plain Python/NumPy at x;
    * along `n_directions` random directions v, the JVP equals the central finite
      difference (f(x + eps v) - f(x - eps v)) / (2 eps) of plain f, within rtol/atol;
    * the dot-product identity <w, J v> == <J^T w, v> between forward and reverse mode,
      which holds to rounding with no step size involved.

    f is called as f(x) or f(x, params). Finite differences need f smooth near x: across a
    kink or a branch they disagree with any exact derivative.
    """
    x = np.asarray(x, dtype=np.float64)
    call = (lambda z: f(z)) if params is None else (lambda z: f(z, params))  # noqa: E731
    tape = trace(f, x, params=params)
    rng = np.random.default_rng(seed)
    value = np.atleast_1d(tape.eval(x, params=params))
    plain = np.atleast_1d(np.asarray(call(x), dtype=np.float64))
    _assert_close(value, plain, 1e-12, 1e-12, "traced value vs plain f(x)")
    for k in range(n_directions):
        v = rng.standard_normal(x.shape[0])
        w = rng.standard_normal(tape.n_outputs)
        jv = np.atleast_1d(tape.jvp(x, v, params=params))
        fd = (
            np.atleast_1d(np.asarray(call(x + eps * v), dtype=np.float64))
            - np.atleast_1d(np.asarray(call(x - eps * v), dtype=np.float64))
        ) / (2 * eps)
        _assert_close(jv, fd, rtol, atol, f"JVP vs central difference along random direction {k}")
        if tape.scalar_output:  # the gradient's own kernel, against the forward mode
            _assert_close(
                np.atleast_1d(tape.gradient(x, params=params) @ v),
                jv,
                1e-10,
                1e-12,
                f"gradient . v vs JVP along random direction {k}",
            )
        jtw = tape.vjp(x, w[0] if tape.scalar_output else w, params=params)
        lhs, rhs = float(w @ jv), float(jtw @ v)
        scale = np.abs(w) @ np.abs(jv) + np.abs(jtw) @ np.abs(v) + 1e-300
        if not abs(lhs - rhs) <= 1e-10 * scale:
            raise AssertionError(
                f"dot-product test failed along direction {k}: <w, J v> = {lhs!r} but <J^T w, v> = {rhs!r}"
            )


def _assert_close(actual: np.ndarray, expected: np.ndarray, rtol: float, atol: float, what: str) -> None:
    if actual.shape != expected.shape:
        raise AssertionError(f"{what}: shapes differ, {actual.shape} vs {expected.shape}")
    if not np.allclose(actual, expected, rtol=rtol, atol=atol, equal_nan=True):
        err = np.abs(actual - expected)
        i = int(np.nanargmax(err)) if np.isfinite(err).any() else 0
        raise AssertionError(
            f"{what}: mismatch at index {i}: {actual[i]!r} vs {expected[i]!r} (rtol={rtol}, atol={atol})"
        )
