"""The stiff Robertson kinetics through BDF, with the exact Jacobian of an @njit right-hand side.

    .venv/bin/python examples/robertson_bdf.py

    y0' = -0.04 y0 + 1e4 y1 y2,   y1' = 0.04 y0 - 1e4 y1 y2 - 3e7 y1^2,   y2' = 3e7 y1^2,

y(0) = (1, 0, 0), to t = 1e5. Rate constants span nine orders of magnitude, so an explicit method
would need millions of steps; BDF needs the Jacobian df/dy, which SciPy otherwise forms by
differencing rhs once per component. ``numba_ad.scipy.solve_ivp`` passes ``jac(t, y, *args)``
from a tape of rhs (traced through its Python source, t as the tape's parameter, so one tape
serves every step). SciPy's nfev does not count the differencing calls, so the finite-difference
run counts its rhs calls itself; with the exact Jacobian nfev is every call of the kernel (the
trace runs its Python source once, not the kernel).
"""

import numba
import numpy as np
import scipy.integrate

import numba_ad.scipy as ads

K = (0.04, 3e7, 1e4)
T_EVAL = [1e-2, 1.0, 1e2, 1e4, 1e5]


@numba.njit
def robertson(t, y, k1, k2, k3):
    out = np.empty(3)
    out[0] = -k1 * y[0] + k3 * y[1] * y[2]
    out[1] = k1 * y[0] - k2 * y[1] ** 2 - k3 * y[1] * y[2]
    out[2] = k2 * y[1] ** 2
    return out


class Counted:
    def __init__(self, f):
        self.f, self.calls = f, 0

    def __call__(self, t, y, *args):
        self.calls += 1
        return self.f(t, y, *args)


def main():
    kw = dict(method="BDF", args=K, rtol=1e-6, atol=1e-10, t_eval=T_EVAL)
    sol = ads.solve_ivp(robertson, (0.0, 1e5), [1.0, 0.0, 0.0], **kw)
    theirs = Counted(robertson)
    ref = scipy.integrate.solve_ivp(theirs, (0.0, 1e5), [1.0, 0.0, 0.0], **kw)
    print("      t        y0            y1            y2        (exact Jacobian)")
    for i, t in enumerate(sol.t):
        print(f"{t:9.0e}  {sol.y[0, i]:.6e}  {sol.y[1, i]:.6e}  {sol.y[2, i]:.6e}")
    rel = np.abs(sol.y - ref.y).max(axis=1) / np.abs(ref.y).max(axis=1)
    print(f"largest difference from SciPy's BDF with finite differences, relative to each component: "
          f"{rel.max():.1e}")  # fmt: skip
    print(f"y2 at t = 1e5: {sol.y[2, -1]:.6f}")
    print(f"exact Jacobian:     nfev {sol.nfev}, njev {sol.njev}, nlu {sol.nlu}, rhs calls {sol.nfev}")
    print(f"finite differences: nfev {ref.nfev}, njev {ref.njev}, nlu {ref.nlu}, rhs calls {theirs.calls}")


if __name__ == "__main__":
    main()
