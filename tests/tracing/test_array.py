"""Array-speed tracing: traced arrays record whole blocks of ops, with the ops scalar tracing records.

Every function of the corpus is traced twice: on the slot-backed TracedArray that ad.trace
passes (bulk recording), and either on a NumPy object array of the same traced scalars, where
NumPy's object code runs Python arithmetic element by element, or as an equivalent loop over
x[i] (scalar recording, the reference semantics). Both tapes are recorded at x0 and replayed
at x1; they must give the same values to the bit, the same derivatives to rounding, and
NumPy's values on plain floats at x1.
"""

import math

import numpy as np
import pytest

import numba_ad as ad
from numba_ad.tracing.array import TracedArray
from numba_ad.tracing.scalar import Recording, Traced

N = 12
RNG = np.random.default_rng(7)
X0 = RNG.uniform(0.5, 1.5, N)
X1 = RNG.uniform(0.5, 1.5, N)
DATA = RNG.uniform(-1.0, 1.0, N)  # a constant array operand
D34 = RNG.uniform(-1.0, 1.0, (3, 4))
D4 = RNG.uniform(-1.0, 1.0, 4)
M43 = RNG.uniform(-1.0, 1.0, (4, 3))
MASK = RNG.uniform(size=N) > 0.5
IDX = np.array([3, 0, 11, 3, 7])
BASES = np.abs(DATA) + 0.5


def p1_array(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def p1_loop(x):
    return sum(100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2 for i in range(len(x) - 1))


def p2_array(x):
    return np.sum(np.sin(x[:-1]) * np.exp(np.cos(x[1:])) / (1 + x[:-1] ** 2) + np.log(1 + x[:-1] ** 2))


def p2_loop(x):
    return sum(
        np.sin(x[i]) * np.exp(np.cos(x[i + 1])) / (1 + x[i] ** 2) + np.log(1 + x[i] ** 2) for i in range(len(x) - 1)
    )


def _setitem(x):
    y = x.copy()
    y[::2] = x[1::2] * 2.0
    y[1] = 3.0
    y[MASK] = np.sin(y[MASK])
    y[IDX[:2]] = x[0]
    Y = y.reshape(3, 4)
    Y[:, 1] = DATA[:3]
    Y[2] = Y[0] * Y[1]
    view = y[4:8]
    view += x[:4]  # in place: writes into y
    view *= 0.5
    return y


def _binary_ufuncs(x, i=slice(None)):  # the array form, or element i of it from scalars (loop form)
    r = x[::-1][i]
    x, data = x[i], DATA[i]
    return (
        np.arctan2(x, data)
        + np.hypot(data, x)
        + np.minimum(x, 1.0)
        + np.maximum(1.1, x)
        + np.arctan2(r, x)
        + np.maximum(x, r)
        + np.minimum(data, r)
    )


def _selects(x, i=slice(None), first_big=None):
    first_big = x[0] > 1 if first_big is None else first_big  # one comparison, one mask
    first, r = x[0], x[::-1][i]
    x, data, mask = x[i], DATA[i], MASK[i]
    return (
        ad.where(x > 1.0, x**2, 1.0 - x)
        + ad.where((x < 0.8) | ~(x > 1.3), x, data)
        + ad.clip(x, 0.7, 1.2)
        + ad.clip(x, first, None)
        + np.clip(x, None, r)
        + ad.where(first_big, x, -x)
        + ad.where(mask, x, 2.0 * x)
        + ad.where(np.logical_xor(x > 1, r > 1), x, 0.0)
        + np.where(np.logical_and(x > 0.9, np.logical_not(r < 0.7)), 1.0, x)
    )


def _selects_loop(x):
    first_big = x[0] > 1
    return [_selects(x, i, first_big) for i in range(N)]


def _max_loop(x):  # a chain of np.maximum, as np.max of a traced array records
    x = np.asarray(x)
    return (
        [_chain(np.maximum, x), _chain(np.minimum, x * DATA)]
        + [_chain(np.maximum, row) for row in x.reshape(3, 4)]
        + [_chain(np.minimum, col) for col in x.reshape(3, 4).T]
    )


def _chain(ufunc, values):
    values = list(values)
    result = values[0]
    for v in values[1:]:
        result = ufunc(result, v)
    return result


def _max_array(x):
    X = x.reshape(3, 4)
    return np.concatenate([[np.max(x), (x * DATA).min()], np.amax(X, axis=1), np.amin(X, axis=0)])


# name -> (array-style f, the same function under object semantics or None to feed f an object
# array, vector output?)
CORPUS = {
    "p1": (p1_array, p1_loop, False),
    "p2": (p2_array, p2_loop, False),
    "p1 on objects": (p1_array, None, False),
    "scalars both sides": (lambda x: (2.0 * x - 1.5) / (0.5 + x) + 3.0**x - x / 4.0 + 1.0 - x, None, True),
    "arrays both sides": (lambda x: DATA * x + x / (2.0 + DATA) - (DATA - x) * 3.0 + DATA**2 * x, None, True),
    "traced scalar with array": (lambda x: x[0] * x + x / x[1] - x[2] ** x, None, True),
    "powers": (
        lambda x: x**2 + x**-1 + x**3 + x**0.5 + x**1 + x**0 + x**-2.5 + np.power(x, x) + 2.0**x + BASES**2**x,
        None,
        True,
    ),
    "float_power": (
        lambda x: np.float_power(x, 1.5) + np.float_power(BASES, x) + np.float_power(x, x[::-1]),
        lambda x: [
            np.float_power(x[i], 1.5) + np.float_power(BASES[i], x[i]) + np.float_power(x[i], x[N - 1 - i])
            for i in range(N)
        ],
        True,
    ),
    "array exponents": (
        lambda x: x ** np.array([0, 1, 2, -1, 3, 0.5, -2, 2.5, 1, 0, 4, -1.0]) + x ** x[:1],
        None,
        True,
    ),
    "binary ufuncs": (_binary_ufuncs, lambda x: [_binary_ufuncs(x, i) for i in range(N)], True),
    "floor divide and remainder": (
        lambda x: np.floor_divide(3.0 * x, 0.7) + (3.0 * x) % 0.7 + 2.0 % x + x // 0.3 + np.remainder(x, x[::-1]),
        None,
        True,
    ),
    "broadcast 2-D": (lambda x: (x.reshape(3, 4) * D4 + x[:4] - D34.T.T * x.reshape(3, 4)[:, :1]).ravel(), None, True),
    "sum prod mean axes": (
        lambda x: np.concatenate(
            [
                np.atleast_1d(np.sum(x)),
                np.sum(x.reshape(3, 4), axis=0),
                x.reshape(3, 4).sum(axis=1),
                np.sum(x.reshape(2, 3, 2), axis=(0, 2)),
                np.prod(x.reshape(3, 4), axis=-1),
                np.mean(x.reshape(3, 4), axis=1),
                np.mean(x.reshape(3, 4), axis=0, keepdims=True).ravel(),
                [np.prod(x), x.mean()],
            ]
        ),
        None,
        True,
    ),
    "cumsum cumprod": (
        lambda x: np.concatenate(
            [
                np.cumsum(x),
                np.cumprod(x / 1.1),
                np.cumsum(x.reshape(3, 4), axis=0).ravel(),
                x.reshape(3, 4).cumprod(axis=1).ravel(),
            ]
        ),
        None,
        True,
    ),
    "dot and matmul": (
        lambda x: np.concatenate(
            [
                np.atleast_1d(np.dot(x, x)),
                np.atleast_1d(x @ DATA),
                D34 @ x[:4],
                x[:3] @ D34,
                x.reshape(3, 4) @ M43 @ x[:3],
                (x.reshape(3, 4) @ x.reshape(4, 3)).ravel(),
                x[:4].dot(M43),
                np.dot(D34, x.reshape(4, 3)).ravel(),
                np.outer(x[:3], DATA[:2]).ravel(),
            ]
        ),
        None,
        True,
    ),
    "max min": (_max_array, _max_loop, True),
    "where and clip": (_selects, _selects_loop, True),
    "indexing": (
        lambda x: np.concatenate(
            [
                x[MASK],
                x[IDX],
                x[::3],
                x[::-2],
                x[-1:2:-4],
                x.reshape(3, 4)[1],
                x.reshape(3, 4)[:, 2],
                x.reshape(3, 4)[[0, 2], [1, 3]],
                x.reshape(3, 4)[..., None, 1:3].ravel(),
                x.reshape(3, 4).T[1],
            ]
        ),
        None,
        True,
    ),
    "setitem": (_setitem, None, True),
    "moves": (
        lambda x: np.concatenate(
            [
                np.flip(x),
                np.roll(x, 3),
                np.tile(x[:2], 3),
                np.diag(x[:3]).ravel(),
                np.triu(x.reshape(3, 4)).ravel(),
                np.stack([x[:2], x[2:4]]).ravel(),
                np.transpose(x.reshape(3, 4)).ravel(),
                np.repeat(x[:2], 2),
                np.append(x[:2], 5.0),
            ]
        ),
        None,
        True,
    ),
}


def _trace_both(f, reference):
    array_tape = ad.trace(f, X0)
    object_tape = ad.trace(reference if reference is not None else (lambda x: f(np.array(x))), X0)
    return array_tape, object_tape


@pytest.mark.parametrize("name", list(CORPUS))
def test_array_and_object_tracing_agree_at_another_point(name):
    f, reference, vector = CORPUS[name]
    array_tape, object_tape = _trace_both(f, reference)
    assert array_tape.n_guards == object_tape.n_guards == 0
    if name != "setitem":  # there a product of two stored constants is an op, folded on objects
        assert array_tape.n_ops == object_tape.n_ops  # the same ops, in blocks
    expected = np.asarray(f(X1), dtype=np.float64)
    # The same ops on the same operands: the replayed values agree to the bit.
    np.testing.assert_array_equal(array_tape.eval(X1), object_tape.eval(X1))
    np.testing.assert_allclose(array_tape.eval(X1), expected, rtol=1e-11)
    if vector:
        J = array_tape.jacobian(X1)
        np.testing.assert_allclose(J, object_tape.jacobian(X1), rtol=1e-12, atol=1e-12 * np.abs(J).max())
        np.testing.assert_allclose(array_tape.jacobian(X1, mode="forward"), J, rtol=1e-12, atol=1e-300)
    else:
        g = array_tape.gradient(X1)
        np.testing.assert_allclose(g, object_tape.gradient(X1), rtol=1e-12, atol=1e-12 * np.abs(g).max())


@pytest.mark.parametrize("name", [n for n in CORPUS if n != "floor divide and remainder"])  # no jumps
def test_array_directional_derivative_matches_finite_differences(name):
    f = CORPUS[name][0]
    tape = ad.trace(f, X0)
    v = np.random.default_rng(11).standard_normal(N)
    h = 1e-6
    fd = (np.asarray(f(X1 + h * v)) - np.asarray(f(X1 - h * v))) / (2 * h)
    np.testing.assert_allclose(tape.jvp(X1, v), fd, rtol=1e-5, atol=1e-5 * max(1.0, np.abs(fd).max()))


UNARY = [
    "negative",
    "positive",
    "absolute",
    "fabs",
    "sqrt",
    "cbrt",
    "exp",
    "exp2",
    "expm1",
    "log",
    "log2",
    "log10",
    "log1p",
    "sin",
    "cos",
    "tan",
    "arcsin",
    "arccos",
    "arctan",
    "sinh",
    "cosh",
    "tanh",
    "arcsinh",
    "arccosh",
    "arctanh",
    "square",
    "reciprocal",
    "floor",
    "ceil",
    "trunc",
    "sign",
    "deg2rad",
    "rad2deg",
]
_SMALL = lambda x: 0.4 * np.sin(x)  # noqa: E731
_DOMAIN = {
    "arcsin": _SMALL,
    "arccos": _SMALL,
    "arctanh": _SMALL,
    "arccosh": lambda x: 1.5 + x * x,
    "tan": lambda x: 0.5 * x,
}


@pytest.mark.parametrize("name", UNARY)
def test_every_unary_ufunc_in_bulk_matches_scalar_tracing_and_numpy(name):
    ufunc = getattr(np, name)
    inner = _DOMAIN.get(name, lambda x: x - 0.3)

    def f(x):
        return ufunc(inner(x)) * 1.5

    def loop(x):
        return [ufunc(inner(x[i])) * 1.5 for i in range(len(x))]

    array_tape, loop_tape = _trace_both(f, loop)
    assert np.bincount(array_tape.arrays.op).tolist() == np.bincount(loop_tape.arrays.op).tolist()  # same ops
    np.testing.assert_allclose(array_tape.eval(X1), f(X1), rtol=1e-14)
    np.testing.assert_allclose(array_tape.jacobian(X1), loop_tape.jacobian(X1), rtol=1e-14, atol=0)


def test_scipy_erf_and_erfc_record_in_bulk():
    sp = pytest.importorskip("scipy.special")
    f = lambda x: sp.erf(x - 1.0) * sp.erfc(0.5 * x)  # noqa: E731
    array_tape, loop_tape = _trace_both(f, lambda x: [f(x[i]) for i in range(N)])
    assert np.bincount(array_tape.arrays.op).tolist() == np.bincount(loop_tape.arrays.op).tolist()
    np.testing.assert_array_equal(array_tape.eval(X1), loop_tape.eval(X1))
    np.testing.assert_allclose(array_tape.jacobian(X1), loop_tape.jacobian(X1), rtol=1e-14, atol=0)


def _recorded_values(f, x0):
    """What f returns while traced: the values held at the recording point."""
    seen = []

    def probe(x):
        out = f(x)
        seen.append(out)
        return out

    ad.trace(probe, x0)
    out = seen[0]
    if type(out) is TracedArray:
        return out.values
    if type(out) is Traced:
        return out.value
    return np.array([v.value if type(v) is Traced else v for v in out])


@pytest.mark.parametrize("name", [n for n in CORPUS if CORPUS[n][1] is None])
def test_record_time_values_are_the_replays_and_numpys_to_rounding(name):
    """The values held while tracing are the sweeps' own (ops/value_map.py): a replay at the
    recording point gives them bit for bit. NumPy's exp, tanh ... differ in the last bit."""
    f = CORPUS[name][0]
    recorded = _recorded_values(f, X0)
    np.testing.assert_array_equal(recorded, np.atleast_1d(ad.trace(f, X0).eval(X0)).reshape(np.shape(recorded)))
    with np.errstate(all="ignore"):
        expected = f(X0)
    np.testing.assert_allclose(recorded, expected, rtol=1e-13, atol=0)


def test_a_guard_within_an_ulp_replays_at_its_recording_point():
    """exp at these points differs between NumPy and the C library; the guard compares with the
    value NumPy gives, so a tape whose values came from NumPy failed at x0 itself."""
    x = np.random.default_rng(0).uniform(-5, 5, 4000)
    below = x[np.array([math.exp(v) for v in x]) < np.exp(x)]  # where the C library's exp is lower
    if not below.size:
        pytest.skip("NumPy's exp is never above the C library's here")
    x0 = below[:8]
    thresholds = np.exp(x0)  # NumPy's values: one ulp above what the sweeps compute

    def f(x):
        e = np.exp(x)
        return np.sum(e) if bool(np.all(e >= thresholds)) else -np.sum(e)

    tape = ad.trace(f, x0)
    tape.eval(x0)  # raised BranchChangedError when the recorded values were NumPy's
    np.testing.assert_array_equal(tape.gradient(x0), ad.trace(f, x0).gradient(x0))


def test_tracing_array_code_runs_no_python_per_element(monkeypatch):
    pushes, scalars = [0], [0]
    real_push, real_init = Recording.push, Traced.__init__

    def counting_push(self, *args):
        pushes[0] += 1
        return real_push(self, *args)

    def counting_init(self, *args):
        scalars[0] += 1
        real_init(self, *args)

    monkeypatch.setattr(Recording, "push", counting_push)
    monkeypatch.setattr(Traced, "__init__", counting_init)
    sizes = {}
    for n in (1000, 20000):
        pushes[0] = scalars[0] = 0
        tape = ad.trace(p1_array, np.linspace(-1.0, 1.0, n))
        sizes[n] = tape.n_ops
        assert pushes[0] <= 4  # the constants 100.0 and 1.0, nothing per element
        assert scalars[0] <= 4  # no Traced scalar is made for an element
    assert sizes[20000] - sizes[1000] == 9 * (20000 - 1000)  # 9 ops per element: O(n), nothing else
    # The loop form records the same ops one by one, a Traced scalar each
    scalars[0] = 0
    loop_tape = ad.trace(p1_loop, np.linspace(-1.0, 1.0, 1000))
    assert scalars[0] >= 8 * 999 and loop_tape.n_ops == sizes[1000]


def test_loop_style_indexing_gives_traced_scalars_and_guards_as_before():
    def f(x):
        total = 0.0
        for i, xi in enumerate(x):
            assert type(xi) is Traced and type(x[i]) is Traced and type(x[np.int64(i)]) is Traced
            total = total + (xi if xi > 1.0 else -x[i])
        return total

    tape = ad.trace(f, X0)
    assert tape.n_guards == N
    np.testing.assert_allclose(tape.gradient(X0), np.where(X0 > 1.0, 1.0, -1.0))
    with pytest.raises(ad.BranchChangedError):
        tape.eval(X0 + (1.0 - X0) * 2.0)


def test_condition_arrays_are_lazy_and_guard_per_element_when_asked():
    def f(x):
        c = x > 1.0
        with pytest.raises(ValueError, match="ambiguous"):
            bool(c)
        first = 2.0 * x[0] if c[0] else 3.0 * x[0]  # one guard
        return first + (x[1] if np.all(c[1:3]) else 0.0)  # two guards

    tape = ad.trace(f, np.array([1.5, 2.0, 3.0]))
    assert tape.n_guards == 3
    counted = ad.trace(lambda x: np.sum((x > 1.0) * x), X0)  # conditions as numbers: one guard each
    assert counted.n_guards == N
    assert counted.eval(X0) == pytest.approx(np.sum((X0 > 1.0) * X0), rel=1e-14)
    assert tape.eval(np.array([1.2, 2.5, 3.5])) == pytest.approx(2.4 + 2.5)
    with pytest.raises(ad.BranchChangedError, match=">|<"):
        tape.eval(np.array([0.5, 2.0, 3.0]))


def test_mixed_scalars_user_built_arrays_and_out_filling():
    def f(x):
        pair = np.array([x[0], x[1] * 2.0])  # an object array the user builds
        out = np.zeros(3) + x[:3]  # a traced array from a NumPy one
        out[2] = pair[0] * pair[1]
        return np.concatenate([out, pair * x[3:5], [np.sum(pair)]])

    array_tape = ad.trace(f, X0)
    np.testing.assert_allclose(array_tape.eval(X1), np.asarray(f(X1), dtype=float), rtol=1e-14)
    J = array_tape.jacobian(X1)
    assert J[2, 0] == pytest.approx(2 * X1[1]) and J[2, 1] == pytest.approx(2 * X1[0])


def test_zero_d_and_vector_returns():
    assert ad.trace(lambda x: np.sum(x, keepdims=True).reshape(()), X0).scalar_output
    tape = ad.trace(lambda x: x * 2.0, X0)
    assert not tape.scalar_output and tape.n_outputs == N
    square = ad.trace(lambda x: x.reshape(3, 4), X0)  # an n-D output is raveled on the tape
    assert square.n_outputs == 12 and square.output.main.shape == (3, 4)


@pytest.mark.parametrize(
    "bad, error, pattern",
    [
        (lambda x: x[x > 1.0], TypeError, "index"),
        (lambda x: x[np.array([x[0]], dtype=object)], (TypeError, IndexError), "index"),
        (lambda x: x[:3] + x[:4], ValueError, r"\(3,\).*\(4,\)"),
        (lambda x: x.reshape(3, 4) * DATA[:3], ValueError, r"\(3, 4\).*\(3,\)"),
        (lambda x: np.isnan(x), TypeError, "isnan"),
        (lambda x: np.fmod(x, 0.5), TypeError, "fmod"),
        (lambda x: np.sum(x > 0.0) if bool(x > 0.0) else 0.0, ValueError, "ambiguous"),
        (lambda x: x > 1.0, TypeError, "comparison"),
        (lambda x: x + "s", TypeError, "str"),
        (lambda x: np.add(x, 1.0, out=np.empty(N)), TypeError, "out="),
        (lambda x: np.max(x, initial=0.0), TypeError, "axis and keepdims"),
    ],
)
def test_bad_array_code_fails_clearly(bad, error, pattern):
    with pytest.raises(error, match=pattern):
        ad.trace(bad, X0)


def test_fallback_functions_record_elementwise_and_stay_correct():
    # No bulk version: NumPy's object code runs on the traced scalars, the result is an array again.
    def f(x):
        scattered = np.zeros(4) + x[:4]
        np.add.at(scattered, [0, 0, 3], x[4:7])  # in place, as on NumPy arrays
        return np.linalg.norm(x) + np.std(x) + np.diff(x.reshape(3, 4), axis=0).sum() + scattered @ DATA[:4]

    tape = ad.trace(f, X0)
    assert tape.n_guards == 0
    assert tape.eval(X1) == pytest.approx(f(X1), rel=1e-13)
    ad.testing.check_grads(f, X1)


def test_a_traced_array_as_condition_means_nonzero():
    tape = ad.trace(lambda x: ad.where(x - 1.0, x, 3.0 * x), X0)
    x = X1.copy()
    x[::3] = 1.0
    np.testing.assert_array_equal(tape.eval(x), np.where(x != 1.0, x, 3.0 * x))
    np.testing.assert_array_equal(tape.jacobian(x), np.diag(np.where(x != 1.0, 1.0, 3.0)))


def test_where_records_exactly_the_ops_of_scalar_where():
    def array_form(x):
        return ad.where((x > 1.0) & (x < 1.4), np.sqrt(x), x)

    def scalar_form(x):
        return [ad.where((xi > 1.0) & (xi < 1.4), np.sqrt(xi), xi) for xi in x]

    array_tape, scalar_tape = _trace_both(array_form, scalar_form)
    assert (
        np.bincount(array_tape.arrays.op, minlength=len(ad.Op)).tolist()
        == np.bincount(scalar_tape.arrays.op, minlength=len(ad.Op)).tolist()
    )
    for x in (X1, X1 * 0.5 + 0.5):
        np.testing.assert_array_equal(array_tape.eval(x), scalar_tape.eval(x))
        np.testing.assert_array_equal(array_tape.jacobian(x), scalar_tape.jacobian(x))


def test_large_arrays_record_in_linear_size():
    n = 200_000
    tape = ad.trace(p1_array, np.linspace(-1.0, 1.0, n))
    # n inputs, 3 constants (0, 100, 1), 7 ops per term (n - 1 terms), a chain of n - 2 additions
    assert tape.n_ops == n + 3 + 7 * (n - 1) + (n - 2)
    x = np.linspace(-0.5, 0.5, n)
    assert tape.eval(x) == pytest.approx(p1_array(x), rel=1e-12)
    assert math.isfinite(tape.gradient(x)[0])
