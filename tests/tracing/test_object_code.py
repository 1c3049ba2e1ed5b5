"""The allow-list of NumPy functions whose own code runs on traced arrays
(numba_ad/tracing/object_code.py): each checked against NumPy, and every other function
refused with an error that names it (issue 18: np.nan_to_num once ran NumPy's object-array
code and returned NaN unchanged, silently wrong)."""

import numpy as np
import pytest

import numba_ad as ad
from numba_ad.tracing import numpy_protocol
from numba_ad.tracing.object_code import OBJECT_CODE

W = np.array([0.7, -1.3, 2.1, 0.4, 1.6, -0.2])
M = np.arange(6.0).reshape(2, 3) / 5 + 0.3
X0 = np.array([0.31, -0.72, 1.13, 0.52, 1.91, -0.14])
X1 = X0 + 0.01 * np.array([1.0, -2.0, 1.0, 3.0, -1.0, 2.0])  # the same order and signs as X0
# points across the data-dependent decisions (order, signs, NaN, inf)
ACROSS = [
    np.array([1.31, -0.72, -1.13, 0.52, 0.41, 2.14]),
    np.array([np.nan, -0.72, 1.13, 0.52, 1.91, -0.14]),
    np.array([0.31, np.inf, 1.13, 0.52, 1.91, -0.14]),
]

CASES = {
    "all": lambda x: x[0] * float(np.all(x > -10.0)),
    "any": lambda x: x[0] * float(np.any(x > 10.0) + 1),
    "array_equal": lambda x: x[0] * (2.0 if np.array_equal(x, x) else 1.0),
    "array_equiv": lambda x: x[0] * (2.0 if np.array_equiv(x[:2], x[:2]) else 1.0),
    "diff": lambda x: np.sum(np.diff(x, n=2) ** 2),
    "ediff1d": lambda x: np.sum(np.ediff1d(x) * W[:5]),
    "linalg.norm": lambda x: np.linalg.norm(x) + np.linalg.norm(x, 1) + np.linalg.norm(x.reshape(2, 3)),
    "pad": lambda x: np.sum(np.pad(x, 2, mode="edge") * np.arange(10.0)),
    "sort": lambda x: np.sum(np.sort(x) * W),
    "argsort": lambda x: np.sum(x[np.argsort(x)] * W),
    "argmax": lambda x: x[np.argmax(x)] * 3.0 + x[np.argmin(x)],
    "median": lambda x: np.median(x) * 2.0,
    "std": lambda x: np.std(x) + np.std(x.reshape(2, 3), axis=0).sum(),
    "var": lambda x: np.var(x, ddof=1),
    "average": lambda x: np.average(x, weights=np.abs(W)),
    "einsum": lambda x: np.einsum("ij,ij->", x.reshape(2, 3), M) + np.einsum("i,i", x, x),
    "polyval": lambda x: np.polyval(x, 0.7),
    "trapezoid": lambda x: np.trapezoid(x, dx=0.5),
    "cross": lambda x: np.sum(np.cross(x[:3], x[3:]) * W[:3]),
    "convolve": lambda x: np.sum(np.convolve(x, W[:3]) ** 2),
    "kron": lambda x: np.sum(np.kron(x[:2], x[2:4]) * W[:4]),
    "inner": lambda x: np.inner(x, W),
    "vdot": lambda x: np.vdot(x, x),
    "tensordot": lambda x: np.sum(np.tensordot(x.reshape(2, 3), M, axes=([1], [1]))),
    "trace": lambda x: np.trace(x[:4].reshape(2, 2) ** 2),
    "ptp": lambda x: np.ptp(x),
    "vander": lambda x: np.sum(np.vander(x[:3], 3) * M.ravel()[:3]),
    "real": lambda x: np.sum(np.real(x) * W),
    "imag": lambda x: np.sum(np.imag(x)) + x[0],
    "nansum": lambda x: np.nansum(x * W),
    "nanmean": lambda x: np.nanmean(x**2),
    "count_nonzero": lambda x: x[0] * np.count_nonzero(x > 0.5),
    "meshgrid": lambda x: np.sum(np.meshgrid(x[:2], x[2:5])[0] * np.meshgrid(x[:2], x[2:5])[1]),
    "block": lambda x: np.sum(np.block([x[:2], x[2:]]) * W),
    "broadcast_arrays": lambda x: np.sum(np.broadcast_arrays(x[:3], x[3:4])[1] * W[:3]),
    "multi_dot": lambda x: np.sum(np.linalg.multi_dot([x.reshape(2, 3), M.T, x[:4].reshape(2, 2)])),
    "searchsorted": lambda x: x[0] * np.searchsorted(x[1:4] * 0 + np.array([0.0, 1.0, 2.0]), 0.5),
    "unique": lambda x: np.sum(np.unique(x) * W),
    "nanmax": lambda x: np.nanmax(x),
    "flatnonzero": lambda x: x[0] * len(np.flatnonzero(x > 0.5)),
    "fix": lambda x: np.sum(np.fix(x) * x),
    "nanmin": lambda x: np.nanmin(x) * 2.0 + x[1],
}


def _fd_gradient(f, x, h=1e-6):
    return np.array([(f(x + h * e) - f(x - h * e)) / (2 * h) for e in np.eye(x.size)])


@pytest.mark.parametrize("name", sorted(CASES))
def test_allowed_object_code_matches_numpy(name):
    f = CASES[name]
    tape = ad.trace(f, X0)
    for _ in range(2):  # twice on the same buffers
        np.testing.assert_allclose(tape.eval(X1), f(X1), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(tape.gradient(X1), _fd_gradient(f, X1), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(CASES))
def test_allowed_object_code_is_never_silently_wrong_across_its_decisions(name):
    f = CASES[name]
    tape = ad.trace(f, X0)
    for x in ACROSS:
        with np.errstate(all="ignore"):
            expected = f(x)
        try:
            value = tape.eval(x)
        except ad.BranchChangedError:
            continue
        if np.isnan(expected):
            assert np.isnan(value), (name, x)
        else:
            np.testing.assert_allclose(value, expected, rtol=1e-12, err_msg=f"{name} at {x}")


def test_every_allowed_function_has_a_case(monkeypatch):
    seen = set()
    original = numpy_protocol.fallback

    def recording(func, args, kwargs):
        seen.add(func)
        return original(func, args, kwargs)

    monkeypatch.setattr(numpy_protocol, "fallback", recording)
    for f in CASES.values():
        ad.trace(f, X0)
    assert set(OBJECT_CODE) - seen == set()


@pytest.mark.parametrize(
    "f, name, hint",
    [
        (lambda x: np.interp(0.5, [0.0, 1.0], x[:2]), "np.interp", "piecewise-linear"),
        (lambda x: x[0] * float(np.allclose(x, x)), "np.allclose", "np.abs"),
        (lambda x: np.sum(np.gradient(x) ** 2), "np.gradient", "differences of slices"),
        (lambda x: np.sum(np.cov(x.reshape(2, 3))), "np.cov", ""),
        (lambda x: np.linalg.det(x[:4].reshape(2, 2)), "np.linalg.det", ""),
        (lambda x: np.sum(np.histogram(x, bins=3)[0]) * x[0], "np.histogram", ""),
    ],
)
def test_other_functions_are_refused_by_name(f, name, hint):
    with pytest.raises(TypeError, match=rf"^{name} is not supported on traced values: .*{hint}"):
        ad.trace(f, X0)


def test_the_allow_list_holds_for_traced_scalars():
    with pytest.raises(TypeError, match=r"^np.interp is not supported on traced values"):
        ad.trace(lambda x: np.interp(x[0], [0.0, 1.0], [1.0, 2.0]) * x[1], X0)
    f = lambda x: np.median(x[0]) + np.sum(x[1]) * np.nan_to_num(x[2])  # noqa: E731
    tape = ad.trace(f, X0)
    np.testing.assert_allclose(tape.eval(X1), f(X1), rtol=1e-14)
