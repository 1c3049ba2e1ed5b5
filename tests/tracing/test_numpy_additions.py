"""NumPy spellings users reach for that tracing did not know (issue 18's corpus table):
np.degrees / np.radians, np.conjugate of real values, np.fmax / np.fmin / np.heaviside as
selects (NaN tests recorded as masks, so one tape serves NaN and finite points), and
arithmetic between a traced scalar and a list. Each is recorded at one point and replayed at
others, in scalar style (x[0]) and array style, against NumPy's value and a reference
derivative (central differences away from kinks, the analytic one at NaN)."""

import numpy as np
import pytest

import numba_ad as ad

X0 = np.array([0.3, -0.7, 1.2, 0.1])
POINTS = [np.array([-0.4, 0.9, 2.2, -1.3]), np.array([1.7, -0.2, -0.5, 0.6])]


def _fd_gradient(f, x, h=1e-6):
    g = np.empty_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = h
        g[i] = (f(x + e) - f(x - e)) / (2 * h)
    return g


def _scalar_style(elementwise):
    """The same function written one traced scalar at a time."""
    return lambda x: sum(elementwise(x[i], 0.3 * x[(i + 1) % x.size]) * (i + 1.0) for i in range(x.size))


def _array_style(elementwise):
    return lambda x: np.sum(elementwise(x, 0.3 * np.roll(x, -1)) * np.arange(1.0, x.size + 1))


SMOOTH = {
    "degrees": lambda x, y: np.degrees(x) * y,
    "radians": lambda x, y: np.radians(x) + y * y,
    "conjugate": lambda x, y: np.conjugate(x) * np.conj(y),
    "fmax": lambda x, y: np.fmax(x, y) ** 2,
    "fmin": lambda x, y: np.fmin(x, y) * 3.0 - y,
    "heaviside": lambda x, y: np.heaviside(x, 0.5) * y + x,
}


@pytest.mark.parametrize("style", [_scalar_style, _array_style], ids=["scalar", "array"])
@pytest.mark.parametrize("name", sorted(SMOOTH))
def test_recorded_once_replayed_at_other_points(name, style):
    f = style(SMOOTH[name])
    tape = ad.trace(f, X0)
    for x in [X0, *POINTS]:
        for _ in range(2):  # twice on the same buffers
            np.testing.assert_allclose(tape.eval(x), f(x), rtol=1e-14)
            np.testing.assert_allclose(tape.gradient(x), _fd_gradient(f, x), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("ufunc", [np.fmax, np.fmin])
def test_fmax_fmin_ignore_nan_on_a_tape_recorded_without_any(ufunc):
    """The NaN tests are masks, not guards: a finite recording serves NaN points, NaN where
    NumPy gives NaN, and the derivative goes to the operand that is not NaN."""
    f = lambda v: ufunc(v[0], v[1]) * 2.0  # noqa: E731
    tape = ad.trace(f, np.array([0.5, 0.25]))
    cases = [
        (np.array([np.nan, 0.25]), [0.0, 2.0]),
        (np.array([0.5, np.nan]), [2.0, 0.0]),
        (np.array([-1.0, 3.0]), [0.0, 2.0] if ufunc is np.fmax else [2.0, 0.0]),
    ]
    for x, gradient in cases:
        assert tape.eval(x) == f(x)
        np.testing.assert_array_equal(tape.gradient(x), gradient)
    both = np.array([np.nan, np.nan])
    assert np.isnan(tape.eval(both)) and np.isnan(f(both))
    array_tape = ad.trace(lambda v: np.sum(ufunc(v[:2], v[2:])), np.array([0.5, 0.25, 0.1, 0.9]))
    x = np.array([np.nan, 0.25, 0.1, np.nan])
    assert array_tape.eval(x) == np.sum(ufunc(x[:2], x[2:]))
    np.testing.assert_array_equal(array_tape.gradient(x), [0.0, 1.0, 1.0, 0.0])


def test_heaviside_at_zero_and_nan():
    f = lambda v: np.heaviside(v[0], v[1]) * 4.0  # noqa: E731
    tape = ad.trace(f, np.array([1.0, 0.5]))
    for x, gradient in [
        (np.array([0.0, 0.25]), [0.0, 4.0]),
        (np.array([-2.0, 0.25]), [0.0, 0.0]),
        (np.array([3.0, 0.25]), [0.0, 0.0]),
    ]:
        assert tape.eval(x) == f(x)
        np.testing.assert_array_equal(tape.gradient(x), gradient)
    assert np.isnan(tape.eval(np.array([np.nan, 0.5])))


@pytest.mark.parametrize(
    "f",
    [
        lambda x: np.sum((x[0] - [1.0, 2.0]) ** 2),
        lambda x: np.sum(([1.0, 2.0] - x[1]) * x[0]),
        lambda x: np.sum(x[0] / (3.0, 4.0) + x[1] / [2.0, 5.0]),
        lambda x: np.sum([2.0, 1.0] + x[0] * x[1]),
        lambda x: np.sum(x[0] - [x[1], 2.0]),
    ],
    ids=["minus", "reflected minus", "tuple", "plus", "list of traced"],
)
def test_traced_scalar_with_a_list_is_elementwise_as_for_a_float(f):
    tape = ad.trace(f, X0[:2])
    for x in [X0[:2], POINTS[0][:2]]:
        np.testing.assert_allclose(tape.eval(x), f(x), rtol=1e-14)
        np.testing.assert_allclose(tape.gradient(x), _fd_gradient(f, x), rtol=1e-7, atol=1e-8)


def test_what_numpy_refuses_for_a_float_is_refused():
    with pytest.raises(TypeError):
        ad.trace(lambda x: x[0] - ["a", "b"], X0)
    for f in (lambda x: x[0] * [1.0, 2.0], lambda x: [1.0, 2.0] * x[0]):  # sequence repetition
        with pytest.raises(TypeError, match="can't multiply sequence"):
            f(np.float64(0.5) + X0)
        with pytest.raises(TypeError, match="can't multiply sequence|as an index of a traced value"):
            ad.trace(f, X0)


def test_unsupported_ufuncs_are_named_with_the_new_ones_listed():
    with pytest.raises(TypeError, match=r"np.fmod is not supported on traced values; supported ufuncs: .*fmax"):
        ad.trace(lambda x: np.sum(np.fmod(x, 0.5)), X0)


# -- np.round / np.around / ndarray.round and np.angle (issue 18 item 5) ------------------------
_ROUNDING_POINTS = np.concatenate(
    [
        np.random.default_rng(18).normal(size=40) * 10,
        np.arange(-5.0, 5.5, 0.5),  # every half: ties go to the even neighbour
        [0.49999999999999994, -0.49999999999999994, -0.0, 0.0, -0.4, 2.0**53 + 1.0, 1e300],
        [np.nan, np.inf, -np.inf],
    ]
)


def _same_bits(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return bool(np.all((a.view(np.int64) == b.view(np.int64)) | (np.isnan(a) & np.isnan(b))))


@pytest.mark.parametrize("decimals", [0, 1, 3, -1])
def test_round_is_numpys_bit_for_bit_at_the_recording_and_at_a_replay(decimals):
    x = _ROUNDING_POINTS
    tape = ad.trace(lambda x: np.round(x, decimals), x)
    assert _same_bits(tape.eval(x), np.round(x, decimals))
    moved = x[::-1] + 0.25  # other points: other halves, other choices
    assert _same_bits(tape.eval(moved), np.round(moved, decimals))
    finite = x[np.isfinite(x)]
    np.testing.assert_array_equal(ad.grad(lambda x: np.sum(np.round(x, decimals)))(finite), np.zeros(finite.size))


def test_round_forms_and_their_derivatives():
    x = np.array([2.5, -1.26, 0.74])
    f = lambda x: np.sum(np.around(x, 1) * x) + x.round()[0] * x[1] + np.round(x[2])  # noqa: E731
    np.testing.assert_allclose(ad.grad(f)(x), [np.around(x[0], 1) + 0.0, np.around(x[1], 1) + 2.0, np.around(x[2], 1)])
    tape = ad.trace(f, x)
    other = np.array([3.5, 0.05, -0.5])
    assert tape.eval(other) == pytest.approx(f(other), rel=1e-15)
    with pytest.raises(TypeError, match="integer decimals"):
        ad.trace(lambda x: np.sum(np.round(x, 1.5)), x)
    with pytest.raises(TypeError, match="out="):
        ad.trace(lambda x: np.sum(np.round(x, out=np.empty(3))), x)


def test_angle_of_real_input():
    x = np.array([1.5, -2.0, 0.0, -0.0, np.nan])
    tape = ad.trace(lambda x: np.angle(x) + np.angle(x, deg=True) + np.angle(x[1]), x)
    for point in (x, -x):
        assert _same_bits(tape.eval(point), np.angle(point) + np.angle(point, deg=True) + np.angle(point[1]))
    np.testing.assert_array_equal(ad.grad(lambda x: np.sum(np.angle(x) * x))(x[:2]), np.angle(x[:2]))


# -- what NumPy's code asks of a traced scalar: .dtype, .shape, .ndim ------------------------------
def test_a_traced_scalar_has_numpys_scalar_attributes():
    seen = {}

    def f(x):
        s = x[0]
        seen.update(dtype=s.dtype, shape=s.shape, ndim=s.ndim, size=s.size)
        assert s.dtype == np.float64 and s.dtype == np.dtype("float64") and np.dtype(s.dtype) == np.float64
        assert s.dtype.type(s) is s and s.dtype.type(2) == 2.0
        return s * 2.0

    ad.trace(f, np.ones(2))
    assert seen == {"dtype": np.dtype(np.float64), "shape": (), "ndim": 0, "size": 1}


@pytest.mark.parametrize(
    "f",
    [
        lambda x: np.var(x[0]) + x[1] * np.mean(x[0]),
        lambda x: np.std(x[0]) * x[1] + x[0],
        lambda x: np.linalg.norm(x, ord=3),
        lambda x: np.linalg.norm(x[:2], ord=1.5) * x[2],
        lambda x: np.sinc(x[0]) + np.var(x[1:]),
    ],
)
def test_numpy_code_that_reads_dtype_records(f):
    x, other = np.array([0.5, -1.5, 2.0]), np.array([1.25, 0.75, -0.5])
    tape = ad.trace(f, x)
    for point in (x, other):
        assert tape.eval(point) == pytest.approx(f(point), rel=1e-14)
        h, g = 1e-6, tape.gradient(point)
        for k in range(3):
            e = np.eye(3)[k] * h
            assert g[k] == pytest.approx((f(point + e) - f(point - e)) / (2 * h), rel=1e-6, abs=1e-8)
