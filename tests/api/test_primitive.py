"""User-defined primitives (numba_ad.primitive): one op on the tape, through every path.

Two primitives numba_ad lacks, with independent references from SciPy:

* Lambert W (principal branch) computed by Halley's iteration: an iterative solver whose
  op-by-op derivative would depend on the iteration count; its rules are the implicit
  derivative W' = e^-W / (1 + W), W'' = -e^-2W (2 + W) / (1 + W)^3;
* ln B(x, y) = lgamma(x) + lgamma(y) - lgamma(x + y), with partials psi(x) - psi(x + y)
  (digamma, numba_ad's own kernel) checked against scipy.special.psi and polygamma.

Every tape is recorded at one point and replayed at others; kernels run twice on the same
buffers; missing derivative orders raise.
"""

import math
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from numba import njit

import numba_ad as ad
from numba_ad import nb
from numba_ad.ops import Op, special
from numba_ad.testing import check_primitive
from tests._support import primitives

scipy_special = pytest.importorskip("scipy.special")


@njit
def lambertw(x):
    """W(x) for x >= -1/e, the principal branch, by Halley's iteration from log1p(x)."""
    w = math.log1p(x) if x > -0.3 else -0.5
    for _ in range(50):
        e = math.exp(w)
        f = w * e - x
        step = f / (e * (w + 1.0) - (w + 2.0) * f / (2.0 * w + 2.0))
        w -= step
        if abs(step) <= 1e-15 * (1.0 + abs(w)):
            break
    return w


@njit
def d_lambertw(x):
    w = lambertw(x)
    return math.exp(-w) / (1.0 + w)


@njit
def d2_lambertw(x):
    w = lambertw(x)
    return -math.exp(-2.0 * w) * (2.0 + w) / (1.0 + w) ** 3


def betaln(x, y):
    return math.lgamma(x) + math.lgamma(y) - math.lgamma(x + y)


@njit
def psi(x):
    return special.d_gammaln(x, 0.0)  # digamma: numba_ad's kernel (checked against SciPy below)


@njit
def trigamma(x):
    return special.d2_gammaln(x, 0.0)


W = ad.primitive(lambertw, d_lambertw, d2_lambertw, name="tests.lambertw")
BETALN = ad.primitive(
    betaln,
    (lambda x, y: psi(x) - psi(x + y), lambda x, y: psi(y) - psi(x + y)),
    (
        lambda x, y: trigamma(x) - trigamma(x + y),
        lambda x, y: -trigamma(x + y),
        lambda x, y: trigamma(y) - trigamma(x + y),
    ),
    name="tests.betaln",
)
W_FIRST_ONLY = ad.primitive(lambertw, d_lambertw, name="tests.lambertw_first_order")


def _w_ref(x):
    return np.real(scipy_special.lambertw(x))


def _dw_ref(x):
    w = _w_ref(x)
    return w / (np.asarray(x) * (1.0 + w))  # the other closed form, W / (x (1 + W))


def f(x):
    return W(x[0]) * x[1] + BETALN(x[1] ** 2 + 0.5, x[2]) + W(x[2] * x[0])


def f_reference(x):
    return _w_ref(x[0]) * x[1] + scipy_special.betaln(x[1] ** 2 + 0.5, x[2]) + _w_ref(x[2] * x[0])


def grad_reference(x):
    a, b = x[1] ** 2 + 0.5, x[2]
    d_a = scipy_special.psi(a) - scipy_special.psi(a + b)
    d_b = scipy_special.psi(b) - scipy_special.psi(a + b)
    u = x[2] * x[0]
    return np.array(
        [
            _dw_ref(x[0]) * x[1] + _dw_ref(u) * x[2],
            _w_ref(x[0]) + d_a * 2 * x[1],
            d_b + _dw_ref(u) * x[0],
        ]
    )


X0 = np.array([0.7, 1.3, 2.1])
X1 = np.array([1.9, 0.4, 0.8])  # replayed here, recorded at X0


def test_rules_agree_with_scipy_and_with_finite_differences():
    x = np.linspace(-0.3, 6.0, 13)
    np.testing.assert_allclose(W(x), _w_ref(x), rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose([d_lambertw(v) for v in x], _dw_ref(x), rtol=1e-12)
    np.testing.assert_allclose([psi(v) for v in x + 1.0], scipy_special.psi(x + 1.0), rtol=1e-13)
    np.testing.assert_allclose([trigamma(v) for v in x + 1.0], scipy_special.polygamma(1, x + 1.0), rtol=1e-12)
    check_primitive(W, x)
    check_primitive(BETALN, np.column_stack([x + 1.0, x[::-1] + 0.5]))
    check_primitive(primitives.UNARY, x)
    check_primitive(primitives.BINARY, np.column_stack([x, x[::-1]]))


def test_check_primitive_catches_a_wrong_rule():
    wrong = ad.primitive(lambda x: x * x * x, lambda x: 3.0 * x * x, lambda x: 3.0 * x, name="tests.wrong")
    with pytest.raises(
        AssertionError, match=r"rule d_aa at \(2.0,\) gives 6.0; central differences of d_a give 11.99999"
    ):
        check_primitive(wrong, [2.0])


def test_one_op_per_call_and_values_on_numbers_arrays_and_duals():
    tape = ad.trace(f, X0)
    ops = tape.arrays.op
    assert np.count_nonzero(ops == Op.USER1) == 2 and np.count_nonzero(ops == Op.USER2) == 1
    assert isinstance(W(0.5), float) and W(0.5) == lambertw(0.5)
    assert BETALN(2.0, 3.0) == pytest.approx(scipy_special.betaln(2.0, 3.0), rel=1e-14)
    np.testing.assert_allclose(BETALN(np.array([1.5, 2.5]), 3.0), scipy_special.betaln([1.5, 2.5], 3.0), rtol=1e-13)
    d = W(ad.Dual(0.5, 2.0))
    assert d.value == lambertw(0.5) and d.deriv == pytest.approx(2.0 * _dw_ref(0.5), rel=1e-14)
    d = BETALN(ad.Dual(2.0, 1.0), 3.0)
    assert d.deriv == pytest.approx(scipy_special.psi(2.0) - scipy_special.psi(5.0), rel=1e-13)


def test_replay_gradient_jacobian_and_jvp_against_scipy():
    tape = ad.trace(f, X0)
    for x in (X1, X0, X1):  # the same buffers twice
        assert tape.eval(x) == pytest.approx(f_reference(x), rel=1e-13)
        np.testing.assert_allclose(tape.gradient(x), grad_reference(x), rtol=1e-11)
    v = np.array([0.3, -1.0, 0.5])
    assert tape.jvp(X1, v) == pytest.approx(grad_reference(X1) @ v, rel=1e-11)
    ad.testing.check_grads(f, X1)


def test_second_order_and_taylor_degree_two():
    tape = ad.trace(f, X0)
    H = tape.hessian(X1)
    h = 1e-5
    fd = np.array([(grad_reference(X1 + h * e) - grad_reference(X1 - h * e)) / (2 * h) for e in np.eye(3)])
    np.testing.assert_allclose(H, fd, rtol=1e-6, atol=1e-8)
    V = np.random.default_rng(3).standard_normal((3, 4))
    np.testing.assert_allclose(tape.hvp(X1, V), H @ V, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(tape.hvp(X1, V[:, 0]), H @ V[:, 0], rtol=1e-12, atol=1e-12)
    z = tape.taylor(X1, V[:, 0], 2)
    np.testing.assert_allclose(z, [tape.eval(X1), tape.jvp(X1, V[:, 0]), V[:, 0] @ H @ V[:, 0] / 2], rtol=1e-11)


def test_missing_orders_raise_instead_of_returning_numbers():
    tape = ad.trace(lambda x: W_FIRST_ONLY(x[0]) * x[1], np.array([0.5, 2.0]))
    x = np.array([0.9, 1.5])
    np.testing.assert_allclose(tape.gradient(x), [_dw_ref(0.9) * 1.5, _w_ref(0.9)], rtol=1e-12)
    assert tape.taylor(x, np.array([1.0, 0.0]), 1)[1] == pytest.approx(_dw_ref(0.9) * 1.5, rel=1e-12)
    second = r"primitive 'tests.lambertw_first_order' was registered without them; pass second"
    for call in (
        lambda: tape.hvp(x, np.ones(2)),
        lambda: tape.hessian(x),
        lambda: tape.taylor(x, np.ones(2), 2),
        lambda: ad.hessian(lambda z: W_FIRST_ONLY(z[0]) * z[1])(x),
    ):
        with pytest.raises(ValueError, match=second):
            call()
    with pytest.raises(ValueError, match=r"taylor of degree 3 needs derivatives of order 3, and primitive"):
        ad.trace(f, X0).taylor(X1, np.ones(3), 3)
    work = tape.workspace(second_order=True)
    with pytest.raises(ValueError, match="registered without second partials"):
        nb.hvp_into(tape.arrays, work, x, np.ones(2), np.empty(2))


def test_array_tracing_records_one_block_and_matches_scalar_tracing():
    def g(x):
        return np.sum(W(x * x) * BETALN(x + 1.0, 2.0))

    x0 = np.linspace(0.2, 2.0, 7)
    x1 = np.linspace(1.5, 0.1, 7)
    tape = ad.trace(g, x0)
    assert np.count_nonzero(tape.arrays.op == Op.USER1) == 7 and np.count_nonzero(tape.arrays.op == Op.USER2) == 7
    loop = ad.trace(lambda x: sum(W(x[i] * x[i]) * BETALN(x[i] + 1.0, 2.0) for i in range(7)), x0)
    np.testing.assert_allclose(tape.gradient(x1), loop.gradient(x1), rtol=1e-13)
    dw = 2 * x1 * _dw_ref(x1 * x1) * scipy_special.betaln(x1 + 1.0, 2.0)
    db = _w_ref(x1 * x1) * (scipy_special.psi(x1 + 1.0) - scipy_special.psi(x1 + 3.0))
    np.testing.assert_allclose(tape.gradient(x1), dw + db, rtol=1e-11)


def test_batches_and_function_cache():
    tape = ad.trace(f, X0)
    X = np.array([X1, X0, [1.1, 0.9, 1.7]])
    np.testing.assert_allclose(tape.gradient_many(X), [grad_reference(x) for x in X], rtol=1e-11)
    np.testing.assert_allclose(tape.eval_many(X), [f_reference(x) for x in X], rtol=1e-13)
    J = ad.trace(lambda x: np.array([W(x[0]), BETALN(x[0] + 1.0, x[1])]), X0[:2]).jacobian_many(X[:, :2])
    assert J.shape == (3, 2, 2)
    np.testing.assert_allclose(J[:, 0, 0], _dw_ref(X[:, 0]), rtol=1e-12)
    np.testing.assert_allclose(ad.grad(f)(X1), grad_reference(X1), rtol=1e-11)
    fn = ad.function(f)
    np.testing.assert_allclose(fn.gradient(X1), grad_reference(X1), rtol=1e-11)


def test_compiled_tape_agrees_with_the_replay():
    tape = ad.trace(f, X0)
    compiled = tape.compile()
    for x in (X1, X1):
        assert compiled.eval(x) == tape.eval(x)
        np.testing.assert_allclose(compiled.gradient(x), tape.gradient(x), rtol=1e-14)
    X = np.array([X1, X0])
    np.testing.assert_allclose(compiled.gradient_many(X), tape.gradient_many(X), rtol=1e-14)


def test_from_njit_code_the_primitive_is_its_value_and_nb_differentiates_it():
    @njit
    def model(x):
        return W(x[0]) * x[1] + W(x[2] * x[0])

    x = np.array([0.7, 1.3, 2.1])
    assert model(x) == pytest.approx(_w_ref(0.7) * 1.3 + _w_ref(2.1 * 0.7), rel=1e-14)
    tape = ad.trace(model, X0)  # a traced @njit kernel: the primitive records one op
    assert np.count_nonzero(tape.arrays.op == Op.USER1) == 2
    work = tape.workspace(second_order=True)

    @njit
    def descend(tape, work, x, g):
        return nb.value_and_gradient_into(tape, work, x, g)

    g = np.empty(3)
    for _ in range(2):
        value = descend(tape.arrays, work, X1, g)
        assert value == pytest.approx(_w_ref(1.9) * 0.4 + _w_ref(0.8 * 1.9), rel=1e-13)
        np.testing.assert_allclose(g, [_dw_ref(1.9) * 0.4 + _dw_ref(1.52) * 0.8, _w_ref(1.9), _dw_ref(1.52) * 1.9])
    out = np.empty(3)
    nb.hvp_into(tape.arrays, work, X1, np.array([1.0, 0.0, 0.0]), out)
    np.testing.assert_allclose(out, tape.hvp(X1, np.array([1.0, 0.0, 0.0])), rtol=1e-14)


def test_save_and_load_by_name_in_another_process(tmp_path):
    tape = ad.trace(f, X0)
    path = tape.save(tmp_path / "primitive.npz")
    with np.load(path) as raw:
        assert int(raw["format_version"]) == 2
        assert raw["primitive_names"].tolist() == ["tests.lambertw", "tests.betaln"]
    np.testing.assert_array_equal(ad.load(path).gradient(X1), tape.gradient(X1))
    # another process registers other primitives first: the names, not the indices, decide
    script = textwrap.dedent(
        f"""
        import math, numpy as np, numba_ad as ad
        from tests.api import test_primitive as t  # registers tests.lambertw and tests.betaln
        other = ad.primitive(lambda x: x, lambda x: 1.0, name="unrelated")
        tape = ad.load({str(path)!r})
        np.save({str(tmp_path / "g.npy")!r}, tape.gradient(np.array({X1.tolist()!r})))
        """
    )
    script = "from numba_ad import primitive\nprimitive(lambda x: 2.0 * x, lambda x: 2.0, name='first')\n" + script
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    np.testing.assert_array_equal(np.load(tmp_path / "g.npy"), tape.gradient(X1))


def test_loading_an_unregistered_primitive_is_refused(tmp_path):
    path = ad.trace(f, X0).save(tmp_path / "t.npz")
    with np.load(path) as raw:
        contents = dict(raw)
    contents["primitive_names"] = np.array(["tests.lambertw", "nobody.registered.this"])
    np.savez(tmp_path / "renamed.npz", **contents)
    with pytest.raises(ValueError, match=r"user primitive 'nobody.registered.this', which is not registered"):
        ad.load(tmp_path / "renamed.npz")


def test_tapes_naming_a_missing_or_mismatched_primitive_are_refused():
    arrays = ad.trace(lambda x: W(x[0]), np.array([0.5])).arrays
    at = int(np.flatnonzero(arrays.op == Op.USER1)[0])
    for c, pattern in ((1e6, r"calls user primitive 1000000.0, but this process has"), (0.5, "user primitive 0.5")):
        bad = arrays._replace(c=arrays.c.copy())
        bad.c[at] = c
        with pytest.raises(ValueError, match=pattern):
            ad.Tape.from_arrays(bad)
    bad = arrays._replace(c=arrays.c.copy())
    bad.c[at] = BETALN.index
    with pytest.raises(ValueError, match=r"USER1 op, but primitive 'tests.betaln' .* takes 2 argument"):
        ad.Tape.from_arrays(bad)


def test_registering_bad_rules_is_refused_clearly():
    with pytest.raises(TypeError, match="partials must be d/dx"):
        ad.primitive(lambertw, 3.0)
    with pytest.raises(TypeError, match=r"fn takes 1 argument\(s\) but partials gives 2"):
        ad.primitive(lambda x: x, (lambda x: 1.0, lambda x: 0.0))
    with pytest.raises(TypeError, match=r"second must be \(d2/dx2, d2/dxdy, d2/dy2\)"):
        ad.primitive(lambda x, y: x * y, (lambda x, y: y, lambda x, y: x), lambda x, y: 0.0)
    with pytest.raises(TypeError, match="must compile with numba"):
        ad.primitive(lambda x: x.no_such_attribute, lambda x: 1.0, name="tests.not_numba")
    with pytest.raises(TypeError, match=r"takes 1 argument\(s\); got 2"):
        W(1.0, 2.0)


def test_redefining_a_name_replaces_its_rules_everywhere():
    first = ad.primitive(lambda x: 2.0 * x, lambda x: 2.0, name="tests.redefined")
    tape = ad.trace(lambda x: first(x[0]), np.array([1.0]))
    assert tape.gradient(np.array([3.0]))[0] == 2.0
    second = ad.primitive(lambda x: 5.0 * x, lambda x: 5.0, name="tests.redefined")
    assert second.index == first.index
    assert tape.eval(np.array([3.0])) == 15.0 and tape.gradient(np.array([3.0]))[0] == 5.0
    with pytest.raises(ValueError, match="cannot be redefined with 2"):
        ad.primitive(lambda x, y: x, (lambda x, y: 1.0, lambda x, y: 0.0), name="tests.redefined")
