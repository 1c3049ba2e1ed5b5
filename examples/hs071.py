"""Hock-Schittkowski problem 71 through trust-constr, with exact constraint Jacobians and Hessians.

    .venv/bin/python examples/hs071.py

    minimise   x0 x3 (x0 + x1 + x2) + x2
    subject to x0 x1 x2 x3 >= 25,  x0^2 + x1^2 + x2^2 + x3^2 = 40,  1 <= x <= 5,

from x = (1, 5, 5, 1); the known optimum is 17.0140173. ``numba_ad.scipy.minimize`` gives
trust-constr the gradient and Hessian of the objective and, for each NonlinearConstraint given
without derivatives, its Jacobian and ``hess(x, v)``, the Hessian of sum_i v_i c_i: the
Lagrangian's second derivatives, which SciPy otherwise approximates by BFGS from
finite-difference Jacobians. Both runs use the same options; the counts are calls of the
user's functions (the traced call included).
"""

import warnings

import numpy as np
from scipy.optimize import Bounds, NonlinearConstraint
from scipy.optimize import minimize as scipy_minimize

import numba_ad.scipy as ads

OPTIONS = {"gtol": 1e-9, "initial_barrier_parameter": 1e-3}  # trust-constr's default 0.1 stops at 17.01403


class Counted:
    def __init__(self, f):
        self.f, self.calls = f, 0

    def __call__(self, x):
        self.calls += 1
        return self.f(x)


def objective(x):
    return x[0] * x[3] * (x[0] + x[1] + x[2]) + x[2]


def solve(minimize):
    f = Counted(objective)
    product = Counted(lambda x: x[0] * x[1] * x[2] * x[3])
    sphere = Counted(lambda x: x[0] ** 2 + x[1] ** 2 + x[2] ** 2 + x[3] ** 2)
    constraints = [NonlinearConstraint(product, 25, np.inf), NonlinearConstraint(sphere, 40, 40)]
    res = minimize(f, [1.0, 5.0, 5.0, 1.0], method="trust-constr", bounds=Bounds(1, 5), constraints=constraints,
                   options=OPTIONS)  # fmt: skip
    return res, f.calls, product.calls + sphere.calls


def main():
    ours, f_calls, c_calls = solve(ads.minimize)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SciPy's BFGS warns of zero steps near the end
        theirs, fd_f_calls, fd_c_calls = solve(scipy_minimize)
    print(f"exact derivatives:  f = {ours.fun:.7f} at x = {np.array2string(ours.x, precision=6)}")
    print(f"finite differences: f = {theirs.fun:.7f} at x = {np.array2string(theirs.x, precision=6)}")
    print("known optimum:      f = 17.0140173")
    print(f"exact derivatives:  {ours.nit} iterations, nfev {ours.nfev}, njev {ours.njev}, nhev {ours.nhev}; "
          f"objective calls {f_calls}, constraint calls {c_calls}")  # fmt: skip
    print(f"finite differences: {theirs.nit} iterations, nfev {theirs.nfev}, njev {theirs.njev}; "
          f"objective calls {fd_f_calls}, constraint calls {fd_c_calls}")  # fmt: skip


if __name__ == "__main__":
    main()
