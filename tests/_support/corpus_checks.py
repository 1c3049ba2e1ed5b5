"""Every function of the corpus (tests/_support/corpus.py), recorded once and replayed elsewhere.

References are independent of numba_ad: values come from running the same Python function
on plain float64 NumPy arrays, derivatives from central finite differences of that plain
evaluation, and forward mode is checked against reverse mode through the dot-product
identity <w, J v> == <J^T w, v>, which holds to rounding with no step size involved.

Each function is recorded at a point x0 and evaluated at other points x1, x2 of its smooth
domain (and, with parameters, at other parameters p1): nothing here is evaluated where it
was recorded unless the test says so.
"""

import zlib

import numpy as np
import pytest

import numba_ad as ad  # noqa: E402
from tests._support.corpus import CASES  # noqa: E402

FD_STEP = 1e-6
MANY = 37  # directions in one call: more than one 32-lane block


# --- points and references ------------------------------------------------------------------
class Points:
    """Reproducible points of one case: x0 (recording), x1, x2 (replay), p0, p1."""

    def __init__(self, case):
        rng = np.random.default_rng(zlib.crc32(case.name.encode()))
        lo = np.broadcast_to(np.asarray(case.lo, dtype=float), (case.n,))
        hi = np.broadcast_to(np.asarray(case.hi, dtype=float), (case.n,))
        self.x0, self.x1, self.x2 = (rng.uniform(lo, hi) for _ in range(3))
        if case.has_params:
            self.p0 = np.array(case.p0, dtype=float)
            self.p1 = rng.uniform(np.asarray(case.p_lo, float), np.asarray(case.p_hi, float))
            self.p2 = rng.uniform(np.asarray(case.p_lo, float), np.asarray(case.p_hi, float))
        else:
            self.p0 = self.p1 = self.p2 = None
        m = case.m or 1
        self.v = rng.standard_normal(case.n)
        self.w = rng.standard_normal(m)
        self.V = rng.standard_normal((case.n, MANY))
        self.W = rng.standard_normal((m, MANY))


_POINTS = {}
_TAPES = {}


def points(case):
    if case.name not in _POINTS:
        _POINTS[case.name] = Points(case)
    return _POINTS[case.name]


def tape_of(case):
    """The case's tape, recorded at x0 (p0) once per session and shared by the tests."""
    if case.name not in _TAPES:
        pts = points(case)
        _TAPES[case.name] = ad.trace(case.f, pts.x0.copy(), params=None if pts.p0 is None else pts.p0.copy())
    return _TAPES[case.name]


def plain(case, x, p=None):
    """f evaluated on plain float64 arrays, as a 1-D array (length 1 for scalar f)."""
    x = np.array(x, dtype=np.float64)
    y = case.f(x) if p is None else case.f(x, np.array(p, dtype=np.float64))
    y = np.asarray(y, dtype=np.float64)
    assert y.ndim == (0 if case.m is None else 1)
    return np.atleast_1d(y)


def fd_jacobian(case, x, p=None, h=FD_STEP):
    """Central-difference Jacobian (m, n) of plain f at x."""
    cols = []
    for j in range(case.n):
        step = h * max(1.0, abs(x[j]))
        xp, xm = x.copy(), x.copy()
        xp[j] += step
        xm[j] -= step
        cols.append((plain(case, xp, p) - plain(case, xm, p)) / (xp[j] - xm[j]))
    return np.stack(cols, axis=1)


def assert_fd_close(ad_value, fd_value, f_scale, what):
    """AD vs finite differences: 1e-5 relative, plus an absolute floor set by the function's
    and the derivative's magnitudes (finite differences lose ~eps |f| / h to rounding)."""
    ad_value, fd_value = np.atleast_1d(ad_value), np.atleast_1d(fd_value)
    assert ad_value.shape == fd_value.shape, what
    scale = max(1.0, float(np.max(np.abs(fd_value))), f_scale)
    err = np.abs(ad_value - fd_value)
    tol = 1e-5 * np.abs(fd_value) + 1e-6 * scale
    assert np.all(err <= tol), (
        f"{what}: worst |AD - FD| = {err.max():.3e} at "
        f"{np.unravel_index(np.argmax(err - tol), err.shape)}\nAD={ad_value}\nFD={fd_value}"
    )


def assert_tight(actual, expected, what, rtol=1e-13):
    """Two computations of the same exact quantity that differ only by rounding order."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shapes {actual.shape} vs {expected.shape}"
    scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale, err_msg=what)


def assert_values_close(tape_value, reference, what):
    tape_value = np.atleast_1d(np.asarray(tape_value, dtype=np.float64))
    scale = max(1.0, float(np.max(np.abs(reference))))
    np.testing.assert_allclose(tape_value, reference, rtol=1e-12, atol=1e-13 * scale, err_msg=what)


def output_shape(case):
    return () if case.m is None else (case.m,)


def jac2d(case, J):
    """A Jacobian as (m, n), also for scalar f (whose jacobian is (n,))."""
    return np.asarray(J).reshape(case.m or 1, case.n)


def params_kw(p):
    return {} if p is None else {"params": p}


ids = [case.name for case in CASES]
all_cases = pytest.mark.parametrize("case", CASES, ids=ids)
scalar_cases = pytest.mark.parametrize(
    "case", [c for c in CASES if c.m is None], ids=[c.name for c in CASES if c.m is None]
)
param_cases = pytest.mark.parametrize(
    "case", [c for c in CASES if c.has_params], ids=[c.name for c in CASES if c.has_params]
)


def same_bits(a, b):
    """Equal as IEEE doubles: signed zeros apart, every NaN equal to every NaN."""
    a, b = np.atleast_1d(np.asarray(a, dtype=float)), np.atleast_1d(np.asarray(b, dtype=float))
    both_nan = np.isnan(a) & np.isnan(b)
    return a.shape == b.shape and bool(np.all(both_nan | (a.view(np.int64) == b.view(np.int64))))
