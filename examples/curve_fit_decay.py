"""Fit an exponential decay y = a exp(-k t) + c with SciPy's curve_fit and the exact Jacobian.

    .venv/bin/python examples/curve_fit_decay.py

``numba_ad.scipy.curve_fit`` is scipy.optimize.curve_fit with the same signature,
``model(t, *p)``, plus ``jac=``: the Jacobian of the model in p at xdata, from a tape of the model
recorded once (xdata is the tape's parameter vector). SciPy's default instead differences the
model once per parameter for each Jacobian. The data are noiseless, so the fit must recover the
parameters to rounding; the counts are every call of the model, tracing included.
"""

import numpy as np
import scipy.optimize

import numba_ad.scipy as ads

TRUE = (2.5, 1.3, 0.5)
P0 = (1.0, 1.0, 0.0)


class Counted:
    """model with a count of its calls (the traced call included)."""

    def __init__(self, f):
        self.f, self.calls = f, 0

    def __call__(self, t, *p):
        self.calls += 1
        return self.f(t, *p)


def decay(t, a, k, c):
    return a * np.exp(-k * t) + c


def main():
    t = np.linspace(0.0, 4.0, 50)
    y = decay(t, *TRUE)
    ours, theirs = Counted(decay), Counted(decay)
    popt, pcov, info, _, _ = ads.curve_fit(ours, t, y, p0=P0, full_output=True)
    fd_popt, _, fd_info, _, _ = scipy.optimize.curve_fit(theirs, t, y, p0=P0, full_output=True)
    print(f"true parameters      a, k, c = {TRUE}")
    print(f"exact Jacobian:      a, k, c = {popt[0]:.12f} {popt[1]:.12f} {popt[2]:.12f}")
    print(f"finite differences:  a, k, c = {fd_popt[0]:.12f} {fd_popt[1]:.12f} {fd_popt[2]:.12f}")
    print(f"max |error| exact: {np.abs(popt - TRUE).max():.1e}, finite differences: {np.abs(fd_popt - TRUE).max():.1e}")
    print(f"exact Jacobian:     {ours.calls} model calls (nfev {info['nfev']}, njev {info['njev']})")
    print(f"finite differences: {theirs.calls} model calls (nfev {fd_info['nfev']})")


if __name__ == "__main__":
    main()
