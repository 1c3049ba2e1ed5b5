"""Checking derivatives: what numba_ad's own tests use, shipped for users' functions."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from numba_ad.api.primitive import Primitive
from numba_ad.api.record import trace
from numba_ad.ops import user


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


def check_primitive(p: Primitive, points: ArrayLike, rtol: float = 1e-6, atol: float = 1e-8) -> None:
    """Check a primitive's rules against central differences of its lower-order rules at
    `points` ((k,) for one argument, (k, 2) for two); raise AssertionError naming the rule
    and the point of any mismatch. numba_ad never checks the rules it is given: a wrong
    partial gives a wrong derivative without an error, so check each primitive once.

    First partials are differenced from the value, second partials from the first partials
    (rules not given are skipped). The step is eps^(1/3) max(1, |x|), the usual choice for
    central differences; points must be where the function is smooth.
    """
    if not isinstance(p, Primitive):
        raise TypeError(f"check_primitive takes a numba_ad.primitive; got {type(p).__name__}")
    pts = np.asarray(points, dtype=np.float64).reshape(-1, p.arity)
    rules = user.registered(p.index).rules
    # (rule checked, rule differenced, the argument it is differenced in)
    if p.arity == 1:
        pairs = [(user.D_A, user.VALUE, 0), (user.D_AA, user.D_A, 0)]
    else:
        pairs = [
            (user.D_A, user.VALUE, 0),
            (user.D_B, user.VALUE, 1),
            (user.D_AA, user.D_A, 0),
            (user.D_AB, user.D_A, 1),
            (user.D_BB, user.D_B, 1),
        ]
    for point in pts:
        for checked, base, arg in pairs:
            if rules[checked] is None:
                continue
            h = float(np.finfo(float).eps ** (1 / 3) * max(1.0, abs(point[arg])))
            up, down = point.tolist(), point.tolist()
            up[arg] += h
            down[arg] -= h
            fd = (float(rules[base](*up)) - float(rules[base](*down))) / (2 * h)
            exact = float(rules[checked](*point.tolist()))
            if not abs(exact - fd) <= atol + rtol * max(abs(fd), abs(exact)):
                raise AssertionError(
                    f"primitive {p.name!r}: rule {user.RULE_NAMES[checked]} at {tuple(point.tolist())} gives "
                    f"{exact!r}; central differences of {user.RULE_NAMES[base]} give {fd!r}"
                )
