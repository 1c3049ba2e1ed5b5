"""Functions as users write them (issue 18 items 1-4): several arguments, nested containers,
n-D arrays, auxiliary outputs, float32, and JAX's signatures.

References: the analytic derivative, central differences over the flattened leaves, and JAX
(float64) where it is installed. Every form is recorded at one point and replayed at another;
a replay at a point on a new branch would retrace, so these functions are smooth.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np
import pytest

import numba_ad as ad
from numba_ad import nb

RNG = np.random.default_rng(20261204)


class Params(NamedTuple):
    w: np.ndarray  # (3, 2)
    b: float


def model(params: Params, data: dict) -> float:
    """A two-output linear model's squared error, over a NamedTuple and a dict."""
    z = data["X"] @ params.w + params.b
    return np.sum((z - data["Y"]) ** 2) / data["X"].shape[0]


def model_gradient(params, data):
    z = data["X"] @ params.w + params.b
    r = 2.0 * (z - data["Y"]) / data["X"].shape[0]
    return Params(data["X"].T @ r, float(np.sum(r)))


def make_params(seed_shift=0.0):
    return Params(RNG.normal(size=(3, 2)) + seed_shift, float(RNG.normal()))


DATA = {"X": RNG.normal(size=(8, 3)), "Y": RNG.normal(size=(8, 2))}


def fd_gradient(f, tree, h=1e-6):
    """Central differences of scalar f with respect to every leaf of tree (as a flat vector)."""
    leaves, rebuild = _leaves_of(tree)
    flat = np.concatenate([np.ravel(np.asarray(v, dtype=float)) for v in leaves])
    out = np.empty_like(flat)
    for k in range(flat.size):
        up, down = flat.copy(), flat.copy()
        up[k] += h
        down[k] -= h
        out[k] = (f(rebuild(up)) - f(rebuild(down))) / (2 * h)
    return out


def _leaves_of(tree):
    """The leaves of a (NamedTuple, dict, tuple, list of arrays and floats) tree, and a function
    that builds the tree back from a flat vector."""
    if isinstance(tree, (np.ndarray, float, int, np.floating)):
        shape, array = np.shape(tree), isinstance(tree, np.ndarray)
        return [tree], lambda flat: flat.reshape(shape) if array else float(flat[0])
    if isinstance(tree, dict):
        keys = sorted(tree)
        parts = [_leaves_of(tree[k]) for k in keys]
        kind = lambda vals: dict(zip(keys, vals))  # noqa: E731
    else:
        parts = [_leaves_of(v) for v in tree]
        kind = (lambda vals: type(tree)(*vals)) if hasattr(tree, "_fields") else (lambda vals: type(tree)(vals))
    leaves = [leaf for p in parts for leaf in p[0]]
    sizes = [sum(int(np.size(v)) for v in p[0]) for p in parts]

    def rebuild(flat):
        out, at = [], 0
        for (_, build), size in zip(parts, sizes):
            out.append(build(flat[at : at + size]))
            at += size
        return kind(out)

    return leaves, rebuild


def flat_of(tree):
    leaves, _ = _leaves_of(tree)
    return np.concatenate([np.ravel(np.asarray(v, dtype=float)) for v in leaves])


def assert_same_structure(actual, expected, rtol=1e-12, atol=1e-13):
    """Same container types, keys and leaf shapes, and close leaves."""
    assert type(actual) is type(expected), (type(actual), type(expected))
    if expected is None:
        return
    if isinstance(expected, dict):
        assert sorted(actual) == sorted(expected)
        for k in expected:
            assert_same_structure(actual[k], expected[k], rtol, atol)
    elif isinstance(expected, (tuple, list)):
        assert len(actual) == len(expected)
        for a, e in zip(actual, expected):
            assert_same_structure(a, e, rtol, atol)
    else:
        assert np.shape(actual) == np.shape(expected)
        np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)


# -- several arguments, containers -----------------------------------------------------------


def test_gradient_of_a_namedtuple_with_a_dict_of_data():
    g = ad.grad(model)
    for params in (make_params(), make_params(1.0)):  # recorded at the first, replayed at the second
        grad = g(params, DATA)
        assert_same_structure(grad, model_gradient(params, DATA))
        np.testing.assert_allclose(flat_of(grad), fd_gradient(lambda q: model(q, DATA), params), rtol=1e-6)
        assert grad == grad  # noqa: PLR0124 (a NamedTuple of an array and a float)
    assert g.n_traces == 1


def test_argnums_tuple_and_parameters_change_without_retracing():
    def loss(w, b, X, y):
        return np.mean((X @ w + b - y) ** 2)

    g = ad.grad(loss, argnums=(0, 1))
    for _ in range(3):
        w, b = RNG.normal(size=4), float(RNG.normal())
        X, y = RNG.normal(size=(10, 4)), RNG.normal(size=10)  # new data: parameters
        gw, gb = g(w, b, X, y)
        r = 2 * (X @ w + b - y) / 10
        np.testing.assert_allclose(gw, X.T @ r, rtol=1e-12)
        assert isinstance(gb, float) and gb == pytest.approx(np.sum(r), rel=1e-12)
    assert g.n_traces == 1
    # argnums may be negative and may pick a data argument
    gX = ad.grad(loss, argnums=-2)(w, b, X, y)
    np.testing.assert_allclose(gX, np.outer(2 * (X @ w + b - y) / 10, w), rtol=1e-12)


def test_static_arguments_record_a_new_tape_per_value():
    def power_sum(x, k, name):
        assert isinstance(k, int) and name in ("a", "b")
        return np.sum(x**k) * (2.0 if name == "a" else 1.0)

    fn = ad.function(power_sum)
    x = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(fn.gradient(x, 2, "a"), 4 * x)
    np.testing.assert_allclose(fn.gradient(x + 1, 2, "a"), 4 * (x + 1))
    assert fn.n_traces == 1
    np.testing.assert_allclose(fn.gradient(x, 3, "a"), 6 * x**2)
    np.testing.assert_allclose(fn.gradient(x, 3, "b"), 3 * x**2)
    assert fn.n_traces == 3
    np.testing.assert_allclose(fn.gradient(x, 2, "a"), 4 * x)  # the first tape again, from the cache
    assert fn.n_traces == 3


def test_integer_arrays_of_other_arguments_are_static_indices():
    def picked(x, idx):
        return np.sum(x[idx] ** 2)

    g = ad.grad(picked)
    x = RNG.normal(size=5)
    np.testing.assert_allclose(g(x, np.array([0, 2])), [2 * x[0], 0, 2 * x[2], 0, 0])
    np.testing.assert_allclose(g(x, np.array([1, 4])), [0, 2 * x[1], 0, 0, 2 * x[4]])
    assert g.n_traces == 2  # a new index array is a new tape, never the old one's choice


def test_lists_tuples_none_and_nesting():
    def f(tree):
        (a, b), rest = tree["pair"], tree["rest"]
        assert tree["nothing"] is None
        return a * b + np.sum(rest[0] ** 3) + rest[1][0] * a

    tree = {"pair": (2.0, np.float64(3.0)), "rest": [np.array([1.0, 2.0]), [np.array(0.5)]], "nothing": None}
    grad = ad.grad(f)(tree)
    expected = {"pair": (3.0 + 0.5, 2.0), "rest": [np.array([3.0, 12.0]), [np.array(2.0)]], "nothing": None}
    assert_same_structure(grad, expected)
    # a list of plain numbers is an array, as NumPy reads it (the form before structure)
    np.testing.assert_allclose(ad.grad(lambda x: x[0] * x[1])([2.0, 5.0]), [5.0, 2.0])


def test_dict_order_does_not_matter():
    g = ad.grad(lambda d: d["a"] * 2.0 + d["b"] ** 2)
    first, second = g({"a": 1.0, "b": 3.0}), g({"b": 4.0, "a": 1.0})
    assert first == {"a": 2.0, "b": 6.0} and second == {"a": 2.0, "b": 8.0}
    assert g.n_traces == 1


# -- n-D arrays, Jacobians and Hessians in structure -------------------------------------------


def test_jacobian_of_matrix_to_matrix_has_out_shape_plus_in_shape():
    A = RNG.normal(size=(2, 3))

    def f(M):
        return np.sin(M) * M[0, 0]

    for mode in ("auto", "forward", "reverse"):
        J = ad.jacobian(f, mode=mode)(A)
        assert J.shape == (2, 3, 2, 3)
        expected = np.zeros((2, 3, 2, 3))
        for i in range(2):
            for j in range(3):
                expected[i, j, i, j] = np.cos(A[i, j]) * A[0, 0]
                expected[i, j, 0, 0] += np.sin(A[i, j])
        np.testing.assert_allclose(J, expected, rtol=1e-13)
    np.testing.assert_allclose(ad.jacfwd(f)(A + 0.1), ad.jacrev(f)(A + 0.1), rtol=1e-13)


def test_jacobian_with_structured_output_and_tuple_argnums():
    def f(x, s):
        return {"scaled": x * s, "total": np.sum(x) * s**2}

    x, s = np.array([1.0, 2.0]), 3.0
    J = ad.jacobian(f, argnums=(0, 1))(x, s)
    assert set(J) == {"scaled", "total"}
    np.testing.assert_allclose(J["scaled"][0], s * np.eye(2))
    np.testing.assert_allclose(J["scaled"][1], x)
    np.testing.assert_allclose(J["total"][0], [s**2, s**2])
    assert J["total"][1] == pytest.approx(2 * s * 3.0)


def test_hessian_nested_by_arguments_against_differences_of_the_gradient():
    def f(a, B):
        return np.sum(a[:, None] * np.exp(B)) + np.sum(a**3)

    a, B = RNG.normal(size=2), RNG.normal(size=(2, 3))
    H = ad.hessian(f, argnums=(0, 1))(a, B)
    assert H[0][0].shape == (2, 2) and H[0][1].shape == (2, 2, 3) and H[1][0].shape == (2, 3, 2)
    assert H[1][1].shape == (2, 3, 2, 3)
    g = ad.grad(f, argnums=(0, 1))
    flat_H = np.zeros((8, 8))
    # the flat Hessian from the blocks, against central differences of the gradient
    flat_H[:2, :2], flat_H[:2, 2:] = H[0][0], H[0][1].reshape(2, 6)
    flat_H[2:, :2], flat_H[2:, 2:] = H[1][0].reshape(6, 2), H[1][1].reshape(6, 6)
    h = 1e-6
    point = np.concatenate([a, B.ravel()])
    for k in range(8):
        up, down = point.copy(), point.copy()
        up[k] += h
        down[k] -= h
        diff = flat_of(g(up[:2], up[2:].reshape(2, 3))) - flat_of(g(down[:2], down[2:].reshape(2, 3)))
        np.testing.assert_allclose(flat_H[:, k], diff / (2 * h), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(flat_H, flat_H.T, rtol=1e-13)


# -- has_aux -------------------------------------------------------------------------------------


def with_aux(x, scale):
    r = np.tanh(x) * scale
    return np.sum(r**2), {"residuals": r, "label": "tanh", "max": np.max(r)}


def test_aux_is_replayed_at_each_point_not_frozen():
    vg = ad.value_and_grad(with_aux, has_aux=True)
    for x in (np.array([0.1, -0.4, 0.7]), np.array([0.3, 0.2, -0.9])):
        (value, aux), grad = vg(x, 2.0)
        r = np.tanh(x) * 2.0
        assert value == pytest.approx(np.sum(r**2), rel=1e-14)
        np.testing.assert_allclose(aux["residuals"], r, rtol=1e-14)
        assert aux["label"] == "tanh" and aux["max"] == pytest.approx(np.max(r), rel=1e-14)
        np.testing.assert_allclose(grad, 2 * r * 2.0 * (1 - np.tanh(x) ** 2), rtol=1e-13)
    assert vg.n_traces == 1
    grad, aux = ad.grad(with_aux, has_aux=True)(x, 2.0)
    np.testing.assert_allclose(aux["residuals"], np.tanh(x) * 2.0, rtol=1e-14)
    H, aux = ad.hessian(with_aux, has_aux=True)(x, 2.0)
    np.testing.assert_allclose(H, ad.hessian(lambda x, s: with_aux(x, s)[0])(x, 2.0), rtol=1e-13)
    J, aux = ad.jacobian(lambda x: (np.sin(x), np.cos(x)), has_aux=True)(x)
    np.testing.assert_allclose(J, np.diag(np.cos(x)), rtol=1e-14)
    np.testing.assert_allclose(aux, np.cos(x), rtol=1e-14)


def test_has_aux_needs_a_pair_and_grad_needs_a_scalar():
    with pytest.raises(TypeError, match="pair"):
        ad.grad(lambda x: np.sum(x), has_aux=True)(np.ones(2))
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        ad.grad(lambda x: x * 2)(np.ones(2))
    with pytest.raises(ValueError, match="one scalar"):
        ad.grad(lambda x: (x * 2, 1.0), has_aux=True)(np.ones(2))


# -- JAX's jvp and vjp, and the forms before them ---------------------------------------------


def test_jvp_and_vjp_in_jax_form():
    def f(a, p):
        return {"out": np.sin(a) * p.b, "sum": np.sum(p.w) * a[0]}

    a, p = np.array([0.3, -1.2]), make_params()
    ta, tp = np.array([1.0, 0.5]), Params(np.ones((3, 2)), 2.0)
    out, tangent = ad.jvp(f, (a, p), (ta, tp))
    np.testing.assert_allclose(out["out"], np.sin(a) * p.b)
    np.testing.assert_allclose(tangent["out"], np.cos(a) * ta * p.b + np.sin(a) * 2.0, rtol=1e-14)
    assert tangent["sum"] == pytest.approx(6.0 * a[0] + np.sum(p.w) * 1.0, rel=1e-14)

    out, pullback = ad.vjp(f, a, p)
    a_bar, p_bar = pullback({"out": np.array([1.0, 0.0]), "sum": 1.0})
    np.testing.assert_allclose(a_bar, [np.cos(a[0]) * p.b + np.sum(p.w), 0.0], rtol=1e-14)
    assert isinstance(p_bar, Params)
    np.testing.assert_allclose(p_bar.w, np.full((3, 2), a[0]))
    assert p_bar.b == pytest.approx(np.sin(a[0]), rel=1e-14)
    # the dot-product identity between the two
    out, tangent = ad.jvp(f, (a, p), (ta, tp))
    w = {"out": np.array([0.7, -0.2]), "sum": 0.4}
    a_bar, p_bar = pullback(w)
    lhs = np.dot(flat_of(w), flat_of(tangent))
    rhs = np.dot(flat_of((a_bar, p_bar)), flat_of((ta, tp)))
    assert lhs == pytest.approx(rhs, rel=1e-13)


def test_jvp_tangent_of_wrong_structure_names_the_leaf():
    with pytest.raises(ValueError, match=r"tangents\[0\]\.w has shape \(2, 2\); expected \(3, 2\)"):
        ad.jvp(model, (make_params(), DATA), (Params(np.ones((2, 2)), 1.0), DATA))
    with pytest.raises(ValueError, match="one tangent per primal"):
        ad.jvp(model, (make_params(), DATA), (Params(np.ones((3, 2)), 1.0),))
    with pytest.raises(TypeError, match="tuple or list"):
        ad.jvp(model, {"params": make_params()}, {"params": make_params()})
    _, pullback = ad.vjp(lambda x: x * 2, np.ones(3))
    with pytest.raises(ValueError, match=r"cotangent has shape \(2,\); expected \(3,\)"):
        pullback(np.ones(2))


def test_the_forms_before_jax_signatures_warn_and_still_work():
    x, v, p = np.array([0.5, 1.5]), np.array([1.0, 0.0]), np.array([3.0])

    def f(x, p):
        return x * p[0]

    with pytest.warns(DeprecationWarning, match="jvp"):
        y, t = ad.jvp(f, x, v, params=p)
    np.testing.assert_allclose(t, [3.0, 0.0])
    with pytest.warns(DeprecationWarning, match="vjp"):
        y, pullback = ad.vjp(f, x, params=p)
    np.testing.assert_allclose(pullback(np.array([1.0, 1.0])), [3.0, 3.0])  # an array, as before
    with pytest.warns(DeprecationWarning, match="mode"):
        J = ad.jacobian(f, "forward")(x, p)
    np.testing.assert_allclose(J, 3.0 * np.eye(2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # today's Function forms are not deprecated
        fn = ad.function(f)
        np.testing.assert_allclose(fn.jvp(x, v, p), [3.0, 0.0])
        np.testing.assert_allclose(fn.vjp(x, np.array([1.0, 1.0]), p), [3.0, 3.0])
        np.testing.assert_allclose(fn.jvp(x, np.eye(2), p), 3.0 * np.eye(2))  # K directions at once


# -- dtypes ----------------------------------------------------------------------------------------


def test_float32_in_float32_out_computed_in_float64():
    x32 = np.array([0.1, 0.2, 0.3], dtype=np.float32)
    value, grad = ad.value_and_grad(lambda x: np.sum(np.exp(x)))(x32)
    assert grad.dtype == np.float32 and isinstance(value, np.float32)
    np.testing.assert_allclose(grad, np.exp(x32.astype(np.float64)), rtol=1e-7)
    grad64 = ad.grad(lambda x: np.sum(np.exp(x)))(x32.astype(np.float64))
    np.testing.assert_array_equal(grad, grad64.astype(np.float32))  # float64 inside, rounded once
    J = ad.jacobian(lambda x: x**2)(x32)
    assert J.dtype == np.float32
    # integers are differentiated as floats; their derivatives are float64
    g = ad.grad(lambda x: np.sum(x**2))(np.array([1, 2, 3]))
    assert g.dtype == np.float64 and list(g) == [2.0, 4.0, 6.0]
    # mixed: each leaf in its own dtype
    ga, gb = ad.grad(lambda a, b: np.sum(a * b), argnums=(0, 1))(x32, np.ones(3))
    assert ga.dtype == np.float32 and gb.dtype == np.float64


def test_a_float32_call_replays_the_float64_tape():
    fn = ad.function(lambda x: np.sum(np.sin(x)))
    fn.gradient(np.ones(4))
    assert fn.gradient(np.ones(4, dtype=np.float32)).dtype == np.float32
    assert fn.n_traces == 1


def test_complex_and_boolean_input_are_refused_with_the_reason():
    with pytest.raises(TypeError, match=r"argument 0\['z'\] is complex.*real and imaginary parts"):
        ad.grad(lambda d: np.sum(d["z"]))({"z": np.ones(2, dtype=complex)})
    with pytest.raises(TypeError, match="boolean"):
        ad.grad(lambda x: 1.0)(np.ones(2, dtype=bool))
    with pytest.raises(TypeError, match="not hashable"):
        ad.grad(lambda x, s: np.sum(x))(np.ones(2), {"a": {1, 2}})
    with pytest.raises(TypeError, match="real numbers"):
        ad.grad(lambda x: np.sum(x[0]))(["a", "b"])
    with pytest.raises(ValueError, match="argnums 2 is out of range"):
        ad.grad(lambda x: np.sum(x), argnums=2)(np.ones(2))
    with pytest.raises(TypeError, match="argnums must be"):
        ad.grad(lambda x: np.sum(x), argnums=1.5)(np.ones(2))


# -- tapes stay flat ----------------------------------------------------------------------------


def test_a_traced_tape_is_flat_and_its_signature_flattens_new_arguments():
    tape = ad.trace(model, make_params(), DATA)
    assert tape.n_inputs == 7 and tape.n_params == 8 * 3 + 8 * 2
    params = make_params(0.5)
    x, p = tape.signature.flatten(params, DATA)
    grad = tape.signature.unflatten(tape.gradient(x, p))
    assert_same_structure(grad, model_gradient(params, DATA))
    # the nb kernels take the flat vectors from @njit code
    work, g = tape.workspace(), np.empty(tape.n_inputs)
    work.params[:] = p
    for _ in range(2):  # twice on the same buffers
        value = nb.value_and_gradient_into(tape.arrays, work, x, g)
        assert value == pytest.approx(model(params, DATA), rel=1e-13)
        np.testing.assert_allclose(g, flat_of(model_gradient(params, DATA)), rtol=1e-12)
    with pytest.raises(ValueError, match=r"argument 0\.w has shape \(2, 2\); the tape was recorded with \(3, 2\)"):
        tape.signature.flatten(Params(np.ones((2, 2)), 1.0), DATA)
    with pytest.raises(ValueError, match=r"argument 1 is a dict with keys \['X'\]"):
        tape.signature.flatten(params, {"X": DATA["X"]})
    # a tape keeps its signature through optimize and pickling
    import pickle

    for copy in (tape.optimize(), pickle.loads(pickle.dumps(tape))):
        np.testing.assert_allclose(copy.gradient(*copy.signature.flatten(params, DATA)), g, rtol=1e-13)


def test_structured_calls_are_the_flat_calls_bit_for_bit():
    params = make_params()
    flat_tape = ad.trace(
        lambda x, p: model(Params(x[:6].reshape(3, 2), x[6]), {"X": DATA["X"], "Y": DATA["Y"]}),
        flat_of(params),
        params=flat_of(DATA),
    )
    grad = ad.grad(model)(params, DATA)
    np.testing.assert_array_equal(flat_of(grad), flat_tape.gradient(flat_of(params), flat_of(DATA)))


# -- against JAX -------------------------------------------------------------------------------


def test_against_jax():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy

    def f(params, data, np_=np):
        z = data["X"] @ params["w"] + params["b"]
        return np_.sum(np_.tanh(z) ** 2) + np_.sum(params["w"] ** 4), z

    params = {"w": RNG.normal(size=(3, 2)), "b": RNG.normal(size=2)}
    data = {"X": RNG.normal(size=(5, 3))}
    ours_g, ours_aux = ad.grad(f, has_aux=True)(params, data)
    theirs_g, theirs_aux = jax.grad(lambda p, d: f(p, d, jnp), has_aux=True)(params, data)
    for k in params:
        np.testing.assert_allclose(ours_g[k], np.asarray(theirs_g[k]), rtol=1e-12)
    np.testing.assert_allclose(ours_aux, np.asarray(theirs_aux), rtol=1e-13)

    def h(a, B, np_=np):
        return np_.sum(np_.sin(a) * (B @ a)) + a[0] * np_.sum(B**2)

    a, B = RNG.normal(size=3), RNG.normal(size=(3, 3))
    ours = ad.hessian(h, argnums=(0, 1))(a, B)
    theirs = jax.hessian(lambda a, B: h(a, B, jnp), argnums=(0, 1))(a, B)
    for i in range(2):
        for j in range(2):
            np.testing.assert_allclose(ours[i][j], np.asarray(theirs[i][j]), rtol=1e-11, atol=1e-12)
    ours_J = ad.jacobian(lambda M: {"s": np.sin(M), "t": np.sum(M, axis=0)})(B)
    theirs_J = jax.jacrev(lambda M: {"s": jnp.sin(M), "t": jnp.sum(M, axis=0)})(B)
    for k in ("s", "t"):
        np.testing.assert_allclose(ours_J[k], np.asarray(theirs_J[k]), rtol=1e-13, atol=1e-15)


# -- random structures -------------------------------------------------------------------------
def _random_tree(rng, depth=0):
    """A random nest of dicts, tuples, lists and NamedTuples around arrays and floats."""
    kind = rng.integers(0, 6) if depth < 2 else rng.integers(4, 6)
    if kind == 0:
        return {f"k{i}": _random_tree(rng, depth + 1) for i in range(rng.integers(1, 3))}
    if kind == 1:
        return tuple(_random_tree(rng, depth + 1) for _ in range(rng.integers(1, 3)))
    if kind == 2:
        return [_random_tree(rng, depth + 1) for _ in range(rng.integers(1, 3))]
    if kind == 3:
        return Params(rng.normal(size=(3, 2)), float(rng.normal()))
    if kind == 4:
        return rng.normal(size=tuple(rng.integers(1, 3, size=rng.integers(0, 3))))
    return float(rng.normal())


@pytest.mark.parametrize("seed", range(8))
def test_random_structures_give_gradients_in_their_structure(seed):
    rng = np.random.default_rng(seed)
    tree = _random_tree(rng)
    flat_weights = RNG.normal(size=flat_of(tree).size)
    weights = _leaves_of(_leaves_of(tree)[1](flat_weights))[0]  # one weight per element, leaf by leaf

    def leaves(t):  # the leaves of a traced tree, in _leaves_of's order
        if isinstance(t, dict):
            return [leaf for k in sorted(t) for leaf in leaves(t[k])]
        if isinstance(t, (tuple, list)):
            return [leaf for v in t for leaf in leaves(v)]
        return [t]

    def f(t):
        return sum(np.sum(np.sin(leaf) * w) + 0.5 * np.sum(leaf**2) for leaf, w in zip(leaves(t), weights))

    grad = ad.grad(f)(tree)
    expected = _leaves_of(tree)[1](np.cos(flat_of(tree)) * flat_weights + flat_of(tree))
    assert_same_structure(grad, expected, rtol=1e-13, atol=1e-14)
    moved = _leaves_of(tree)[1](flat_of(tree) + 0.3)  # replayed at another point
    assert_same_structure(
        ad.grad(f)(moved), _leaves_of(tree)[1](np.cos(flat_of(moved)) * flat_weights + flat_of(moved))
    )


def test_a_function_with_structured_calls_pickles_with_its_tapes():
    import pickle

    fn = ad.function(model)
    params = make_params()
    first = fn.gradient(params, DATA)
    copy = pickle.loads(pickle.dumps(fn))
    assert_same_structure(copy.gradient(params, DATA), first, rtol=0, atol=0)
    assert copy.n_traces == 1  # the cached tape came along, keyed by its signature
