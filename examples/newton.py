"""Newton's method from Hessian-vector products: trust-region Newton-CG on Rosenbrock.

    .venv/bin/python examples/newton.py [n]        (default n = 100)

Each Newton step solves H p = -g approximately by conjugate gradients (Steihaug-Toint),
inside a trust region, and CG needs H only through products H v: ``tape.hvp(x, v)``, exact,
one forward and one backward sweep over the recorded tape, no Hessian ever formed. CG stops
when its residual is below min(0.5, |g|) |g|, which makes the outer iteration converge
quadratically: near the minimum the gradient norm roughly squares at every step.
"""

import math
import sys
import time

import numpy as np

import numba_ad as ad


def rosenbrock(x):
    return sum(100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2 for i in range(len(x) - 1))


def _to_boundary(z, d, radius):
    """z + tau d with tau >= 0 on the sphere |.| = radius."""
    a, b, c = d @ d, 2 * (z @ d), z @ z - radius**2
    tau = (-b + math.sqrt(b * b - 4 * a * c)) / (2 * a)
    return z + tau * d


def steihaug_cg(hvp, g, radius, tol):
    """(p, products): p approximately minimises g.p + p.Hp / 2 over |p| <= radius."""
    z = np.zeros_like(g)
    r = g.copy()
    d = -r
    if np.linalg.norm(r) < tol:
        return z, 0
    for j in range(1, 2 * g.shape[0] + 1):
        Hd = hvp(d)
        dHd = d @ Hd
        if dHd <= 0:  # negative curvature: go to the boundary along d
            return _to_boundary(z, d, radius), j
        alpha = (r @ r) / dHd
        z_next = z + alpha * d
        if np.linalg.norm(z_next) >= radius:
            return _to_boundary(z, d, radius), j
        r_next = r + alpha * Hd
        if np.linalg.norm(r_next) < tol:
            return z_next, j
        d = -r_next + (r_next @ r_next) / (r @ r) * d
        z, r = z_next, r_next
    return z, 2 * g.shape[0]


def newton_cg(tape, x, gtol=1e-10, max_iter=1000, verbose=True):
    """Minimise the scalar tape from x; returns (x, list of gradient norms)."""
    radius = 1.0
    norms, rows = [], []
    products = 0
    for k in range(max_iter):
        f, g = tape.value_and_gradient(x)
        gnorm = float(np.linalg.norm(g))
        norms.append(gnorm)
        if gnorm < gtol:
            rows.append((k, f, gnorm, radius, 0))
            break
        p, used = steihaug_cg(lambda v: tape.hvp(x, v), g, radius, min(0.5, gnorm) * gnorm)
        products += used + 1
        predicted = -(g @ p + 0.5 * p @ tape.hvp(x, p))
        rho = (f - tape.eval(x + p)) / predicted if predicted > 0 else -1.0
        rows.append((k, f, gnorm, radius, used))
        if rho < 0.25:
            radius *= 0.25
        elif rho > 0.75 and np.linalg.norm(p) > 0.99 * radius:
            radius = min(2 * radius, 1e4)
        if rho > 0.1:
            x = x + p
    if verbose:  # every 50th iteration, and all of the last 8
        print(f"{'it':>4} {'f(x)':>12} {'|grad|':>10} {'radius':>9} {'CG steps':>8}")
        for k, f, gnorm, radius, used in rows:
            if k % 50 == 0 or k >= len(rows) - 8:
                print(f"{k:4d} {f:12.5e} {gnorm:10.3e} {radius:9.2e} {used:8d}")
        print(f"{len(rows) - 1} iterations, {products} Hessian-vector products")
    return x, norms


def main(n=100):
    x0 = np.tile([-1.2, 1.0], n // 2 + 1)[:n]  # the classic start
    t0 = time.perf_counter()
    tape = ad.trace(rosenbrock, x0)
    tape.hvp(x0, x0), tape.value_and_gradient(x0), tape.eval(x0)  # compile (cached on disk for the next run)
    print(f"Rosenbrock, n = {n}: {tape}, traced and compiled in {time.perf_counter() - t0:.1f} s")
    t0 = time.perf_counter()
    x, norms = newton_cg(tape, x0)
    print(f"minimised in {time.perf_counter() - t0:.3f} s; max |x - 1| = {np.max(np.abs(x - 1)):.1e}")
    tail = [v for v in norms if v > 0][-4:]
    rates = [math.log(b) / math.log(a) for a, b in zip(tail, tail[1:]) if 0 < a < 1]
    if rates:
        print(
            "last steps: log|g_k+1| / log|g_k| = "
            + ", ".join(f"{q:.2f}" for q in rates)
            + "  (2 is quadratic convergence)"
        )
    # From @njit code, numba_ad.nb.hvp_into (drivers.hvp_into) runs the same products
    # without the Python calls; see tests/tape/test_second_order.py for a loop calling it.


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100)
