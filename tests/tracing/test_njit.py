"""Tracing numba @njit kernels: math.*, helpers, closures, loops, branches, outputs.

Every test records at one point and replays at another, and checks that the kernel is still
a working numba function whose compiled value agrees with the tape's.
"""

import math
import types
from math import exp, sin

import numba
import numpy as np
import pytest
from numba import njit

import numba_ad as ad
from numba_ad.testing import check_grads
from numba_ad.tracing import njit as njit_tracing
from numba_ad.tracing.njit import MATH, python_version, traceable

THIS_FILE = __file__
LN2, LN10 = math.log(2.0), math.log(10.0)


def _math_kernel(source):
    """An @njit kernel `k(x)` whose body is `return <source>`, compiled from text so that
    every math function is reached as `math.<name>` in the kernel's own source."""
    scope = {"math": math}
    exec(f"def k(x):\n    return {source}\n", scope)  # noqa: S102 - test-local source
    return njit(scope["k"])


# name: (domain of x, derivative). The reference value is math.<name> itself.
UNARY = {
    "sin": ((-3.0, 3.0), np.cos),
    "cos": ((-3.0, 3.0), lambda x: -np.sin(x)),
    "tan": ((-1.2, 1.2), lambda x: 1.0 + np.tan(x) ** 2),
    "asin": ((-0.9, 0.9), lambda x: 1.0 / np.sqrt(1.0 - x * x)),
    "acos": ((-0.9, 0.9), lambda x: -1.0 / np.sqrt(1.0 - x * x)),
    "atan": ((-3.0, 3.0), lambda x: 1.0 / (1.0 + x * x)),
    "sinh": ((-3.0, 3.0), np.cosh),
    "cosh": ((-3.0, 3.0), np.sinh),
    "tanh": ((-3.0, 3.0), lambda x: 1.0 - np.tanh(x) ** 2),
    "asinh": ((-3.0, 3.0), lambda x: 1.0 / np.sqrt(x * x + 1.0)),
    "acosh": ((1.1, 4.0), lambda x: 1.0 / np.sqrt(x * x - 1.0)),
    "atanh": ((-0.9, 0.9), lambda x: 1.0 / (1.0 - x * x)),
    "exp": ((-3.0, 3.0), np.exp),
    "exp2": ((-3.0, 3.0), lambda x: LN2 * 2.0**x),
    "expm1": ((-3.0, 3.0), np.exp),
    "log": ((0.2, 4.0), lambda x: 1.0 / x),
    "log2": ((0.2, 4.0), lambda x: 1.0 / (x * LN2)),
    "log10": ((0.2, 4.0), lambda x: 1.0 / (x * LN10)),
    "log1p": ((-0.8, 4.0), lambda x: 1.0 / (1.0 + x)),
    "sqrt": ((0.2, 4.0), lambda x: 0.5 / np.sqrt(x)),
    "cbrt": ((0.2, 4.0), lambda x: 1.0 / (3.0 * np.cbrt(x) ** 2)),
    "fabs": ((0.2, 3.0), np.sign),
    "erf": ((-2.0, 2.0), lambda x: 2.0 / math.sqrt(math.pi) * np.exp(-x * x)),
    "erfc": ((-2.0, 2.0), lambda x: -2.0 / math.sqrt(math.pi) * np.exp(-x * x)),
    "floor": ((-3.0, 3.0), lambda x: 0.0),
    "ceil": ((-3.0, 3.0), lambda x: 0.0),
    "trunc": ((-3.0, 3.0), lambda x: 0.0),
    "degrees": ((-3.0, 3.0), lambda x: 180.0 / math.pi),
    "radians": ((-3.0, 3.0), lambda x: math.pi / 180.0),
    "lgamma": ((0.2, 5.0), lambda x: _psi(x)),
}


def _psi(x):
    return pytest.importorskip("scipy.special").psi(x)


NOT_IN_NUMBA = {"cbrt"}  # numba 0.68 has no math.cbrt: traced only, not compiled
STEPPED = {"floor", "ceil", "trunc"}  # finite differences see no step between x0 and x0 +- eps


def _points(domain, seed):
    lo, hi = domain
    rng = np.random.default_rng(seed)
    return rng.uniform(lo, hi, 1), rng.uniform(lo, hi, 1)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_every_unary_math_function(name):
    domain, derivative = UNARY[name]
    kernel = _math_kernel(f"math.{name}(x[0])")
    x0, x1 = _points(domain, seed=len(name))
    tape = ad.trace(kernel, x0)
    assert tape.n_guards == 0
    reference = float(getattr(math, name)(x1[0]))
    assert tape.eval(x1) == pytest.approx(reference, rel=1e-14, abs=1e-300)
    np.testing.assert_allclose(tape.gradient(x1), [derivative(x1[0])], rtol=1e-13)
    if name not in STEPPED:
        check_grads(traceable(kernel), x0)
    if name not in NOT_IN_NUMBA:  # the source is still numba: compiled value == tape value
        assert kernel(x1) == pytest.approx(tape.eval(x1), rel=1e-14)


BINARY = {  # source, x domain, analytic gradient
    "math.pow(x[0], x[1])": ((0.3, 2.0), lambda a, b: [b * a ** (b - 1), a**b * np.log(a)]),
    "math.pow(x[0], 2.5) + math.pow(x[1], 3)": ((0.3, 2.0), lambda a, b: [2.5 * a**1.5, 3 * b * b]),
    "math.pow(2.0, x[0]) * x[1]": ((-2.0, 2.0), lambda a, b: [LN2 * 2**a * b, 2**a]),
    "math.atan2(x[0], x[1])": ((-2.0, 2.0), lambda a, b: [b / (a * a + b * b), -a / (a * a + b * b)]),
    "math.hypot(x[0], x[1])": ((-2.0, 2.0), lambda a, b: [a / np.hypot(a, b), b / np.hypot(a, b)]),
    "math.copysign(x[0], -2.0) + x[1]": ((0.2, 2.0), lambda a, b: [-1.0, 1.0]),
    "math.pi * x[0] + math.e * x[1] + math.tau": ((-2.0, 2.0), lambda a, b: [math.pi, math.e]),
}


@pytest.mark.parametrize("source", sorted(BINARY))
def test_binary_math_functions_and_constants(source):
    domain, gradient = BINARY[source]
    kernel = _math_kernel(source)
    rng = np.random.default_rng(7)
    x0, x1 = rng.uniform(*domain, 2), rng.uniform(*domain, 2)
    tape = ad.trace(kernel, x0)
    assert tape.eval(x1) == pytest.approx(kernel(x1), rel=1e-14)
    np.testing.assert_allclose(tape.gradient(x1), gradient(*x1), rtol=1e-13)
    check_grads(kernel, x0)


def test_copysign_with_a_traced_sign_records_a_guard_on_its_sign_bit():
    kernel = _math_kernel("math.copysign(x[0], x[1])")
    tape = ad.trace(kernel, np.array([1.5, -2.0]))
    assert tape.n_guards == 1
    assert tape.eval(np.array([0.5, -3.0])) == kernel(np.array([0.5, -3.0])) == -0.5
    np.testing.assert_array_equal(tape.gradient(np.array([0.5, -3.0])), [-1.0, 0.0])
    with pytest.raises(ad.BranchChangedError):
        tape.eval(np.array([0.5, 3.0]))
    with pytest.raises(ad.BranchChangedError):  # +0.0 and -0.0 are told apart, as in math
        ad.trace(kernel, np.array([1.5, -0.0])).eval(np.array([1.5, 0.0]))


def test_log_with_a_base_records_even_where_numba_would_not_compile_it():
    kernel = _math_kernel("math.log(x[0], 3.0) + math.log(2.0, x[1]) + math.log(x[0], x[1])")
    x0, x1 = np.array([2.0, 5.0]), np.array([0.7, 1.9])
    tape = ad.trace(kernel, x0)  # tracing runs Python: numba never sees the two-argument log
    a, b = x1
    expected = math.log(a, 3.0) + math.log(2.0, b) + math.log(a, b)
    assert tape.eval(x1) == pytest.approx(expected, rel=1e-14)
    check_grads(traceable(kernel), x0)


@njit
def from_imports(x):
    return sin(x[0]) * exp(x[1])  # from math import sin, exp


def test_names_imported_from_math():
    x0, x1 = np.array([0.3, -0.4]), np.array([1.1, 0.6])
    tape = ad.trace(from_imports, x0)
    assert tape.eval(x1) == pytest.approx(from_imports(x1), rel=1e-15)
    np.testing.assert_allclose(tape.gradient(x1), [np.cos(1.1) * np.exp(0.6), np.sin(1.1) * np.exp(0.6)], rtol=1e-14)
    version = python_version(from_imports)
    assert version.__globals__["sin"] is MATH.sin and version.__globals__["exp"] is MATH.exp
    assert from_imports.py_func.__globals__["sin"] is math.sin  # the module itself is untouched


@njit
def _bump(v):
    return math.exp(-v * v)


@njit
def _mix(v, w):
    return _bump(v) * math.sin(w) + _bump(w)


@njit
def helper_chain(x):
    return _mix(x[0], x[1]) + np.sqrt(_mix(x[1], x[0]) + 1.0)


def test_kernel_calling_a_helper_calling_a_helper():
    x0, x1 = np.array([0.4, -0.3]), np.array([-0.8, 1.2])
    tape = ad.trace(helper_chain, x0)
    assert tape.eval(x1) == pytest.approx(helper_chain(x1), rel=1e-14)
    check_grads(traceable(helper_chain), x1)
    check_grads(helper_chain, x1)  # finite differences of the compiled kernel
    version = python_version(helper_chain)
    assert version.__globals__["_mix"] is python_version(_mix)
    assert python_version(_mix).__globals__["_bump"] is python_version(_bump)
    assert python_version(_mix).__globals__["math"] is MATH
    assert helper_chain.py_func.__globals__["math"] is math


@njit
def _power_rec(v, n):
    if n == 0:
        return 1.0
    return v * _power_rec(v, n - 1)


@njit
def _ping(v, n):
    if n <= 0:
        return v
    return math.sin(_pong(v, n - 1))


@njit
def _pong(v, n):
    if n <= 0:
        return v
    return math.cos(_ping(v, n - 1))


@njit
def recursive(x):
    return _power_rec(x[0], 3) + _ping(x[1], 3)


def test_recursion_and_mutual_recursion():
    x0, x1 = np.array([1.3, 0.2]), np.array([-0.7, 0.9])
    tape = ad.trace(recursive, x0)
    assert tape.n_guards == 0  # n is a plain int: the recursion depth does not depend on x
    assert tape.eval(x1) == pytest.approx(recursive(x1), rel=1e-14)
    expected = 3 * x1[0] ** 2, -np.cos(np.cos(np.sin(x1[1]))) * np.sin(np.sin(x1[1])) * np.cos(x1[1])
    np.testing.assert_allclose(tape.gradient(x1), expected, rtol=1e-13)
    assert python_version(_ping).__globals__["_pong"].__globals__["_ping"] is python_version(_ping)


def make_model(scale):
    """A factory: the kernel reaches its helper (and `scale`) through closure cells."""

    @njit
    def feature(v):
        return math.tanh(scale * v)

    @njit
    def model(x):
        s = 0.0
        for i in range(len(x)):
            s += feature(x[i]) ** 2
        return s

    return model


def test_closure_over_an_njit_helper():
    model = make_model(1.5)
    x0, x1 = np.array([0.1, -0.2, 0.3]), np.array([0.5, 0.9, -1.3])
    tape = ad.trace(model, x0)
    assert tape.eval(x1) == pytest.approx(model(x1), rel=1e-14)
    t = np.tanh(1.5 * x1)
    np.testing.assert_allclose(tape.gradient(x1), 2 * t * (1 - t * t) * 1.5, rtol=1e-13)
    cells = python_version(model).__closure__
    assert any(c.cell_contents is python_version(model.py_func.__closure__[0].cell_contents) for c in cells)
    assert make_model(2.0)(x1) != model(x1)  # each factory call is its own kernel
    assert ad.trace(make_model(2.0), x1).eval(x1) == pytest.approx(make_model(2.0)(x1), rel=1e-14)


@njit
def loops(x):
    s = 0.0
    for i in range(x.shape[0]):
        s += math.sin(x[i]) * (i + 1)
    for i in numba.prange(len(x) - 1):
        s += math.exp(x[i] - x[i + 1])
    return s


def test_loops_over_shape_len_and_prange():
    x0, x1 = np.linspace(-1.0, 1.0, 5), np.linspace(0.3, -0.8, 5)
    tape = ad.trace(loops, x0)
    assert tape.eval(x1) == pytest.approx(loops(x1), rel=1e-14)
    g = np.cos(x1) * np.arange(1, 6)
    e = np.exp(x1[:-1] - x1[1:])
    g[:-1] += e
    g[1:] -= e
    np.testing.assert_allclose(tape.gradient(x1), g, rtol=1e-13)


@njit
def branchy(x):
    if x[0] > 0.5:  # the guard's line
        return math.sin(x[0]) * x[1]
    return math.exp(x[1]) - x[0]


def _branchy_gradient(x):
    if x[0] > 0.5:
        return np.array([np.cos(x[0]) * x[1], np.sin(x[0])])
    return np.array([-1.0, np.exp(x[1])])


def test_x_dependent_if_records_a_guard_and_wrappers_retrace():
    above, below = np.array([0.9, 2.0]), np.array([0.2, 2.0])
    tape = ad.trace(branchy, above)
    assert tape.n_guards == 1
    assert tape.eval(np.array([0.7, -1.0])) == pytest.approx(branchy(np.array([0.7, -1.0])), rel=1e-15)
    with pytest.raises(ad.BranchChangedError) as info:
        tape.eval(below)
    assert info.value.comparison == "x[0] > 0.5"
    line = branchy.py_func.__code__.co_firstlineno + 2
    assert info.value.location == f"{THIS_FILE}:{line}"  # the kernel's own source line
    grad = ad.grad(branchy)
    np.testing.assert_allclose(grad(above), _branchy_gradient(above), rtol=1e-14)
    np.testing.assert_allclose(grad(below), _branchy_gradient(below), rtol=1e-14)
    assert grad.n_traces == 2


def test_retracing_reuses_the_cached_python_version(monkeypatch):
    built = []
    monkeypatch.setattr(
        njit_tracing, "python_version", lambda d, build=njit_tracing.python_version: built.append(d) or build(d)
    )
    kernel = njit(branchy.py_func)  # a new dispatcher, nothing cached for it yet
    grad = ad.grad(kernel)
    for x in ([0.9, 2.0], [0.2, 2.0], [0.8, 1.0], [0.1, 1.0]):
        np.testing.assert_allclose(grad(np.array(x)), _branchy_gradient(np.array(x)), rtol=1e-14)
    ad.trace(kernel, np.array([0.3, 0.3]))
    assert built == [kernel]


@njit
def newton_sqrt(a):
    y = a if a > 1.0 else 1.0
    while abs(y * y - a) > 1e-14 * a:
        y = 0.5 * (y + a / y)
    return y


@njit
def newton_kernel(x):
    return newton_sqrt(x[0]) * x[1]


def test_while_loop_whose_trip_count_depends_on_x():
    small, large = np.array([2.0, 3.0]), np.array([400.0, 3.0])
    tape = ad.trace(newton_kernel, small)
    assert tape.n_guards >= 3
    assert tape.eval(np.array([2.0001, 3.0])) == pytest.approx(newton_kernel(np.array([2.0001, 3.0])), rel=1e-15)
    with pytest.raises(ad.BranchChangedError):
        tape.eval(large)  # more Newton steps are needed there
    grad = ad.grad(newton_kernel)
    for x in (small, large):
        np.testing.assert_allclose(grad(x), [0.5 * x[1] / math.sqrt(x[0]), math.sqrt(x[0])], rtol=1e-10)
    assert grad.n_traces == 2


@njit
def as_tuple(x):
    return x[0] * x[1], math.sin(x[0]), math.hypot(x[0], x[1])


@njit
def as_array(x):
    return np.array([x[0] * x[1], math.sin(x[0]), math.hypot(x[0], x[1])])


@njit
def into_empty(x):
    out = np.empty(3)
    out[0] = x[0] * x[1]
    out[1] = math.sin(x[0])
    out[2] = math.hypot(x[0], x[1])
    return out


@njit
def into_zeros_like(x):
    out = np.zeros_like(x)
    out[0] += x[0] * x[1]
    out[1] += math.sin(x[0])
    return np.append(out, math.hypot(x[0], x[1]))


def _expected_jacobian(x):
    a, b = x
    h = math.hypot(a, b)
    return np.array([[b, a], [math.cos(a), 0.0], [a / h, b / h]])


@pytest.mark.parametrize("kernel", [as_tuple, as_array, into_empty, into_zeros_like], ids=lambda k: k.__name__)
def test_jacobian_of_a_vector_kernel(kernel):
    x0, x1 = np.array([0.6, -1.1]), np.array([1.3, 0.4])
    tape = ad.trace(kernel, x0)
    np.testing.assert_allclose(tape.eval(x1), np.asarray(kernel(x1)), rtol=1e-15)
    for mode in ("forward", "reverse"):
        np.testing.assert_allclose(ad.jacobian(kernel, mode=mode)(x1), _expected_jacobian(x1), rtol=1e-14)
    check_grads(traceable(kernel), x0)


@njit
def rosenbrock_residuals(x):
    n = x.shape[0]
    out = np.empty(2 * (n - 1))
    for i in range(n - 1):
        out[2 * i] = 10.0 * (x[i + 1] - x[i] ** 2)
        out[2 * i + 1] = 1.0 - x[i]
    return out


def test_allocated_output_array_and_integer_arrays_stay_real():
    x0, x1 = np.array([0.5, -0.2, 1.1]), np.array([1.2, 0.3, -0.4])
    J = ad.jacobian(rosenbrock_residuals)(x1)
    expected = np.zeros((4, 3))
    for i in range(2):
        expected[2 * i, i], expected[2 * i, i + 1] = -20.0 * x1[i], 10.0
        expected[2 * i + 1, i] = -1.0
    np.testing.assert_allclose(J, expected, rtol=1e-15)
    np.testing.assert_allclose(ad.trace(rosenbrock_residuals, x0).eval(x1), rosenbrock_residuals(x1), rtol=1e-15)

    @njit
    def gather(x):
        idx = np.zeros(2, dtype=np.int64)  # an int array: real, so it can index
        idx[1] = 2
        return x[idx[0]] * x[idx[1]]

    assert ad.trace(gather, x0).eval(x1) == pytest.approx(gather(x1), rel=1e-15)


@njit
def with_params(x, p):
    return p[0] * math.sin(x[0]) + math.exp(p[1] * x[1])


@njit
def with_default(x, scale=3.0):
    return scale * math.atan(x[0])


def test_parameters_and_default_arguments():
    x0, x1, p0, p1 = np.array([0.2, 0.3]), np.array([1.0, -0.5]), np.array([2.0, 0.5]), np.array([-1.0, 2.0])
    tape = ad.trace(with_params, x0, params=p0)
    assert tape.eval(x1, params=p1) == pytest.approx(with_params(x1, p1), rel=1e-15)
    np.testing.assert_allclose(tape.gradient(x1, params=p1), [-np.cos(1.0), 2.0 * np.exp(-1.0)], rtol=1e-14)
    tape = ad.trace(with_default, x0)
    assert tape.eval(x1) == pytest.approx(with_default(x1), rel=1e-15)


helpers = types.ModuleType("njit_helpers")  # a module of kernels, reached as helpers.cube
helpers.cube = njit(lambda v: v * v * v)


@njit
def via_module(x):
    return helpers.cube(x[0]) + math.sin(x[1])


def test_helper_reached_through_a_module_attribute():
    x0, x1 = np.array([0.5, 0.1]), np.array([-1.5, 2.0])
    tape = ad.trace(via_module, x0)
    assert tape.eval(x1) == pytest.approx(via_module(x1), rel=1e-15)
    np.testing.assert_allclose(tape.gradient(x1), [3 * 2.25, np.cos(2.0)], rtol=1e-14)


_FUNCS = (njit(lambda v: math.sin(v)), njit(lambda v: v * v))  # first-class functions


@njit
def via_tuple(x):
    return _FUNCS[0](x[0]) + _FUNCS[1](x[1])


@njit
def filled(x):
    return np.full(2, x[0]) * np.ones(2) + np.full(2, 2.0) * x[1]


def test_helpers_in_a_tuple_and_arrays_filled_with_traced_values():
    x0, x1 = np.array([0.5, 0.1]), np.array([-1.5, 2.0])
    with pytest.warns(numba.NumbaExperimentalFeatureWarning):
        compiled = via_tuple(x1)
    tape = ad.trace(via_tuple, x0)
    assert tape.eval(x1) == pytest.approx(compiled, rel=1e-15)
    np.testing.assert_allclose(tape.gradient(x1), [np.cos(-1.5), 4.0], rtol=1e-14)
    tape = ad.trace(filled, x0)
    np.testing.assert_allclose(tape.eval(x1), filled(x1), rtol=1e-15)
    np.testing.assert_allclose(ad.jacobian(filled)(x1), [[1.0, 2.0], [1.0, 2.0]], rtol=1e-15)


@njit
def nan_aware(x):
    if math.isnan(x[0]) or math.isinf(x[1]):
        return 0.0
    return 2.0 * x[0] * x[1] if math.isfinite(x[0]) else 1.0


def test_isnan_isinf_isfinite_record_exact_guards():
    x0 = np.array([1.0, 2.0])
    tape = ad.trace(nan_aware, x0)
    assert tape.n_guards == 3
    np.testing.assert_allclose(tape.gradient(np.array([3.0, -1.0])), [-2.0, 6.0])
    for x in ([np.nan, 1.0], [1.0, -np.inf], [np.inf, 1.0]):
        with pytest.raises(ad.BranchChangedError):
            tape.eval(np.array(x))
    assert nan_aware(np.array([np.nan, 1.0])) == traceable(nan_aware)(np.array([np.nan, 1.0])) == 0.0


@njit
def constant_math(x):
    m, e = math.frexp(8.0)  # no traced argument: the real math function runs
    return x[0] * m * e + max(math.log(0.0), -5.0) + math.floor(2.5)


def test_math_on_constants_runs_math_and_gives_ieee_results_as_numba_does():
    x0 = np.array([1.5])
    tape = ad.trace(constant_math, x0)
    assert tape.eval(x0) == constant_math(x0) == 1.5 * 0.5 * 4 - 5.0 + 2.0


def test_what_cannot_be_recorded_is_refused_by_name():
    with pytest.raises(TypeError, match=r"math\.frexp cannot be applied to traced values"):
        ad.trace(_math_kernel("math.frexp(x[0])[0]"), np.array([1.0]))
    with pytest.raises(TypeError, match=r"math\.fsum .*use sum\(values\)"):
        ad.trace(_math_kernel("math.fsum([x[0], x[1]])"), np.array([1.0, 2.0]))
    with pytest.raises(TypeError, match=r"math\.gamma .*no op for it") as info:
        ad.trace(_math_kernel("math.gamma(x[0])"), np.array([1.0]))
    assert "math functions recorded: acos" in str(info.value)
    assert not getattr(info.value, "__notes__", None)  # the message is complete as it is

    @njit
    def to_float(x):
        return float(x[0]) * 2.0

    with pytest.raises(TypeError, match=r"float\(\)") as info:
        ad.trace(to_float, np.array([1.0]))
    assert any("@njit kernel to_float" in note for note in info.value.__notes__)

    @njit
    def into_float32(x):
        out = np.empty(1, dtype=np.float32)
        out[0] = x[0]
        return out

    with pytest.raises(TypeError) as info:
        ad.trace(into_float32, np.array([1.0]))
    assert any("np.empty/np.zeros (float64)" in note for note in info.value.__notes__)


@numba.vectorize
def _vec(v):
    return v * 2.0


@njit
def calls_vectorize(x):
    return _vec(x[0])


def test_vectorize_is_refused_with_a_clear_message():
    with pytest.raises(TypeError, match="vectorize/guvectorize functions cannot be traced"):
        ad.trace(_vec, np.array([1.0]))
    with pytest.raises(TypeError, match="vectorize/guvectorize functions cannot be traced"):
        ad.trace(calls_vectorize, np.array([1.0]))
    assert calls_vectorize(np.array([1.5])) == 3.0


def test_plain_functions_pass_through_and_versions_are_cached():
    plain = lambda x: np.sin(x[0])  # noqa: E731
    assert traceable(plain) is plain
    assert traceable(helper_chain) is traceable(helper_chain)
    assert traceable(helper_chain).__wrapped__ is python_version(helper_chain)
    assert njit_tracing._PYTHON_VERSIONS[_bump] is python_version(_bump)
    x = np.array([0.1, 0.2])
    assert traceable(helper_chain)(x) == pytest.approx(helper_chain(x), rel=1e-15)  # floats: real math
