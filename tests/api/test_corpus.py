"""Every function of the corpus (tests/_support/corpus.py), recorded once and replayed elsewhere.

References are independent of numba_ad: values come from running the same Python function
on plain float64 NumPy arrays, derivatives from central finite differences of that plain
evaluation, and forward mode is checked against reverse mode through the dot-product
identity <w, J v> == <J^T w, v>, which holds to rounding with no step size involved.

Each function is recorded at a point x0 and evaluated at other points x1, x2 of its smooth
domain (and, with parameters, at other parameters p1): nothing here is evaluated where it
was recorded unless the test says so.
"""

import numpy as np
import pytest

import numba_ad as ad  # noqa: E402
from tests._support.corpus import C23, CASES  # noqa: E402
from tests._support.corpus_checks import (
    FD_STEP,
    MANY,
    all_cases,
    assert_fd_close,
    assert_tight,
    assert_values_close,
    fd_jacobian,
    jac2d,
    param_cases,
    params_kw,
    plain,
    points,
    tape_of,
)


# --- the tests ----------------------------------------------------------------------------
def test_corpus_is_smooth_and_plain_evaluable():
    """Sanity of the corpus itself: every function evaluates to finite numbers in plain NumPy."""
    assert len(CASES) >= 20
    for case in CASES:
        pts = points(case)
        for x, p in ((pts.x0, pts.p0), (pts.x1, pts.p1), (pts.x2, pts.p2)):
            assert np.all(np.isfinite(plain(case, x, p))), case.name


@all_cases
def test_tape_sizes(case):
    tape = tape_of(case)
    assert tape.n_inputs == case.n
    assert tape.n_outputs == (case.m or 1)
    assert tape.n_params == (len(case.p0) if case.has_params else 0)
    assert tape.n_guards == 0  # the corpus has no branches on traced values
    assert tape.scalar_output == (case.m is None)


@all_cases
def test_replay_value_matches_plain_numpy(case):
    tape, pts = tape_of(case), points(case)
    for x, p in ((pts.x1, pts.p1), (pts.x2, pts.p2), (pts.x0, pts.p0)):
        y = tape.eval(x, **params_kw(p))
        if case.m is None:
            assert isinstance(y, float)
        else:
            assert isinstance(y, np.ndarray) and y.shape == (case.m,)
        assert_values_close(y, plain(case, x, p), f"{case.name}: eval at a replay point")
        assert_values_close(tape(x, **params_kw(p)), plain(case, x, p), f"{case.name}: tape(x)")


@all_cases
def test_jacobian_matches_central_differences(case):
    tape, pts = tape_of(case), points(case)
    x, p = pts.x1, pts.p1
    J_fd = fd_jacobian(case, x, p)
    f_scale = float(np.max(np.abs(plain(case, x, p))))
    J = tape.jacobian(x, **params_kw(p))
    if case.m is None:
        assert J.shape == (case.n,)
        g = tape.gradient(x, **params_kw(p))
        assert g.shape == (case.n,)
        assert_fd_close(g, J_fd[0], f_scale, f"{case.name}: gradient vs FD")
    else:
        assert J.shape == (case.m, case.n)
    assert_fd_close(jac2d(case, J), J_fd, f_scale, f"{case.name}: jacobian vs FD")


def fd5_jacobian(case, x, p=None, h=1e-3):
    """Fourth-order central differences (5-point stencil): error O(h^4) + O(eps |f| / h)."""
    cols = []
    for j in range(case.n):
        step = h * max(1.0, abs(x[j]))

        def at(t):
            y = x.copy()
            y[j] += t
            return plain(case, y, p)

        cols.append((at(-2 * step) - 8 * at(-step) + 8 * at(step) - at(2 * step)) / (12 * step))
    return np.stack(cols, axis=1)


@all_cases
def test_jacobian_matches_fourth_order_differences(case):
    """A sharper reference than plain central differences: a local partial that is wrong by
    1e-6 relative (a slightly wrong constant, say) shows up here."""
    tape, pts = tape_of(case), points(case)
    x, p = pts.x2, pts.p2
    J = jac2d(case, tape.jacobian(x, **params_kw(p)))
    J_fd = fd5_jacobian(case, x, p)
    scale = max(1.0, float(np.max(np.abs(J_fd))), float(np.max(np.abs(plain(case, x, p)))))
    err = np.abs(J - J_fd)
    assert np.all(err <= 1e-8 * scale), f"{case.name}: worst |AD - FD5| / scale = {err.max() / scale:.2e}"


@all_cases
def test_jvp_matches_directional_difference(case):
    tape, pts = tape_of(case), points(case)
    x, p, v = pts.x2, pts.p2, pts.v
    h = FD_STEP * max(1.0, float(np.max(np.abs(x))))
    fd = (plain(case, x + h * v, p) - plain(case, x - h * v, p)) / (2 * h)
    jv = tape.jvp(x, v, **params_kw(p))
    if case.m is None:
        assert isinstance(jv, float)
    else:
        assert jv.shape == (case.m,)
    assert_fd_close(jv, fd, float(np.max(np.abs(plain(case, x, p)))), f"{case.name}: jvp vs FD")


@all_cases
def test_dot_product_identity(case):
    """<w, J v> == <J^T w, v>: forward and reverse mode agree to rounding."""
    tape, pts = tape_of(case), points(case)
    x, p = pts.x1, pts.p1
    absJ = np.abs(jac2d(case, tape.jacobian(x, **params_kw(p))))
    rng = np.random.default_rng(7)
    for _ in range(3):
        v = rng.standard_normal(case.n)
        w = rng.standard_normal(case.m or 1)
        jv = np.atleast_1d(tape.jvp(x, v, **params_kw(p)))
        jtw = tape.vjp(x, w[0] if case.m is None else w, **params_kw(p))
        assert jtw.shape == (case.n,)
        lhs, rhs = float(w @ jv), float(jtw @ v)
        scale = float(np.abs(w) @ absJ @ np.abs(v))
        assert abs(lhs - rhs) <= 1e-12 * scale + 1e-300, (case.name, lhs, rhs)


@all_cases
def test_forward_and_reverse_jacobians_agree(case):
    tape, pts = tape_of(case), points(case)
    for x, p in ((pts.x1, pts.p1), (pts.x2, pts.p2)):
        J_fwd = tape.jacobian(x, mode="forward", **params_kw(p))
        J_rev = tape.jacobian(x, mode="reverse", **params_kw(p))
        J_auto = tape.jacobian(x, **params_kw(p))
        shape = (case.n,) if case.m is None else (case.m, case.n)
        assert J_fwd.shape == J_rev.shape == J_auto.shape == shape
        assert_tight(J_fwd, J_rev, f"{case.name}: forward vs reverse jacobian")
        assert_tight(J_auto, J_rev, f"{case.name}: auto vs reverse jacobian")


@all_cases
@pytest.mark.parametrize("K", [1, 3, MANY])
def test_jvp_with_k_directions_equals_k_single_jvps(case, K):
    tape, pts = tape_of(case), points(case)
    x, p, V = pts.x1, pts.p1, pts.V[:, :K]
    block = tape.jvp(x, V, **params_kw(p))
    assert block.shape == ((K,) if case.m is None else (case.m, K))
    singles = np.stack([np.atleast_1d(tape.jvp(x, V[:, k].copy(), **params_kw(p))) for k in range(K)], axis=-1)
    assert_tight(
        np.atleast_2d(block), singles.reshape(case.m or 1, K), f"{case.name}: jvp block vs singles", rtol=1e-14
    )


@all_cases
@pytest.mark.parametrize("K", [1, 3, MANY])
def test_vjp_with_k_cotangents_equals_k_single_vjps(case, K):
    tape, pts = tape_of(case), points(case)
    x, p = pts.x1, pts.p1
    if case.m is None:
        W = pts.W[0, :K].copy()  # (K,) for a scalar tape
        single = lambda k: tape.vjp(x, float(W[k]), **params_kw(p))  # noqa: E731
    else:
        W = pts.W[:, :K].copy()
        single = lambda k: tape.vjp(x, W[:, k].copy(), **params_kw(p))  # noqa: E731
    block = tape.vjp(x, W, **params_kw(p))
    assert block.shape == (case.n, K)
    singles = np.stack([single(k) for k in range(K)], axis=1)
    assert_tight(block, singles, f"{case.name}: vjp block vs singles", rtol=1e-14)


@all_cases
def test_vjp_with_unit_cotangents_gives_jacobian_rows(case):
    """vjp(x, e_i) is row i of the forward-mode Jacobian; scalar: vjp(x, 1.0) is the gradient."""
    tape, pts = tape_of(case), points(case)
    x, p = pts.x2, pts.p2
    J = jac2d(case, tape.jacobian(x, mode="forward", **params_kw(p)))
    for i in range(case.m or 1):
        if case.m is None:
            row = tape.vjp(x, 1.0, **params_kw(p))
            assert_tight(tape.gradient(x, **params_kw(p)), row, f"{case.name}: gradient vs vjp(1.0)")
            assert_tight(3.5 * row, tape.vjp(x, 3.5, **params_kw(p)), f"{case.name}: vjp linear in w")
        else:
            row = tape.vjp(x, np.eye(case.m)[i], **params_kw(p))
        assert_tight(row, J[i], f"{case.name}: vjp(e_{i}) vs forward jacobian row")


@all_cases
def test_repeated_and_interleaved_replays_are_bit_identical(case):
    tape, pts = tape_of(case), points(case)
    x1, x2, p1, p2 = pts.x1, pts.x2, pts.p1, pts.p2
    x1_copy = x1.copy()
    kw1, kw2 = params_kw(p1), params_kw(p2)
    w1 = float(pts.w[0]) if case.m is None else pts.w
    W = pts.W[0] if case.m is None else pts.W

    def everything(x, kw):
        out = [
            np.atleast_1d(tape.eval(x, **kw)),
            tape.jacobian(x, mode="forward", **kw),
            tape.jacobian(x, mode="reverse", **kw),
            np.atleast_1d(tape.jvp(x, pts.v, **kw)),
            tape.vjp(x, w1, **kw),
            np.atleast_1d(tape.jvp(x, pts.V, **kw)),
            tape.vjp(x, W, **kw),
        ]
        if case.m is None:
            value, g = tape.value_and_gradient(x, **kw)
            out += [np.atleast_1d(value), g, tape.gradient(x, **kw)]
        return out

    first = everything(x1, kw1)
    saved = [a.copy() for a in first]
    again = everything(x1, kw1)
    other = everything(x2, kw2)
    back = everything(x1, kw1)
    for k, (a, b, c, s) in enumerate(zip(first, again, back, saved)):
        np.testing.assert_array_equal(a, s, err_msg=f"{case.name}: result {k} changed by later calls")
        np.testing.assert_array_equal(b, s, err_msg=f"{case.name}: result {k} differs on a repeat")
        np.testing.assert_array_equal(c, s, err_msg=f"{case.name}: result {k} differs after x2")
    assert not all(np.array_equal(a, b) for a, b in zip(first, other)), "x2 gave x1's results"
    np.testing.assert_array_equal(x1, x1_copy)  # the point itself is not modified
    if case.m is None:  # value_and_gradient's value is eval's value
        assert first[7][0] == first[0][0]
        np.testing.assert_array_equal(first[8], first[9])


@all_cases
def test_input_layouts_do_not_change_results(case):
    """Strided views, Fortran order and Python lists are read as the same numbers."""
    tape, pts = tape_of(case), points(case)
    x, p = pts.x1, pts.p1
    x_strided = np.repeat(x, 2)[::2]  # a non-contiguous view with x's values
    p_list = None if p is None else list(p)
    V = np.asfortranarray(pts.V[:, :5])
    W = np.ascontiguousarray(pts.W[:, :5].T).T  # a transposed (F-ordered) view
    if case.m is None:
        W = W[0]
    np.testing.assert_array_equal(
        np.atleast_1d(tape.eval(list(x), **params_kw(p_list))), np.atleast_1d(tape.eval(x, **params_kw(p)))
    )
    np.testing.assert_array_equal(
        tape.jvp(x_strided, V, **params_kw(p)), tape.jvp(x, np.ascontiguousarray(V), **params_kw(p))
    )
    np.testing.assert_array_equal(
        tape.vjp(x_strided, W, **params_kw(p_list)), tape.vjp(x, np.ascontiguousarray(W), **params_kw(p))
    )


@param_cases
def test_params_replay(case):
    tape, pts = tape_of(case), points(case)
    x = pts.x1
    for p in (pts.p1, pts.p2, pts.p0, pts.p1):
        assert_values_close(tape.eval(x, params=p), plain(case, x, p), f"{case.name}: eval with params {p}")
    # the parameters change the function: the values at p1 and p2 differ
    assert not np.allclose(plain(case, x, pts.p1), plain(case, x, pts.p2))
    for p in (pts.p2, pts.p1):
        J = tape.jacobian(x, params=p)
        f_scale = float(np.max(np.abs(plain(case, x, p))))
        assert_fd_close(jac2d(case, J), fd_jacobian(case, x, p), f_scale, f"{case.name}: jacobian at params {p}")
    # interleaved parameters: p1's results come back bit for bit
    first = tape.jacobian(x, params=pts.p1)
    tape.jacobian(x, params=pts.p2)
    np.testing.assert_array_equal(tape.jacobian(x, params=pts.p1), first)


@param_cases
def test_params_are_required_and_checked(case):
    tape, pts = tape_of(case), points(case)
    with pytest.raises(ValueError):
        tape.eval(pts.x1)
    with pytest.raises(ValueError):
        tape.eval(pts.x1, params=np.zeros(len(case.p0) + 1))


@all_cases
def test_function_wrappers_agree_with_tape_methods(case):
    tape, pts = tape_of(case), points(case)
    kw1, kw2 = params_kw(pts.p1), params_kw(pts.p2)
    extra1 = () if pts.p1 is None else (pts.p1,)
    extra2 = () if pts.p2 is None else (pts.p2,)
    x1, x2 = pts.x1, pts.x2

    jac = ad.jacobian(case.f)
    assert_tight(jac(x1, *extra1), tape.jacobian(x1, **kw1), f"{case.name}: ad.jacobian", rtol=1e-14)
    assert_tight(jac(x2, *extra2), tape.jacobian(x2, **kw2), f"{case.name}: ad.jacobian replay", rtol=1e-14)
    for mode in ("forward", "reverse"):
        assert_tight(
            ad.jacobian(case.f, mode=mode)(x1, *extra1),
            tape.jacobian(x1, mode=mode, **kw1),
            f"{case.name}: ad.jacobian {mode}",
            rtol=1e-14,
        )

    zero_tangents = tuple(np.zeros_like(p) for p in extra1)  # parameters do not move
    y, ydot = ad.jvp(case.f, (x1, *extra1), (pts.v, *zero_tangents))
    assert_tight(y, tape.eval(x1, **kw1), f"{case.name}: ad.jvp value", rtol=1e-14)
    assert_tight(ydot, tape.jvp(x1, pts.v, **kw1), f"{case.name}: ad.jvp tangent", rtol=1e-14)

    x_mut = x1.copy()
    y, pullback = ad.vjp(case.f, x_mut, *extra1)
    x_mut[:] = x2  # the pullback keeps its own copy of the point
    w = float(pts.w[0]) if case.m is None else pts.w
    assert_tight(y, tape.eval(x1, **kw1), f"{case.name}: ad.vjp value", rtol=1e-14)
    x_bar = pullback(w)[0]  # JAX's form: one cotangent per primal
    assert_tight(x_bar, tape.vjp(x1, w, **kw1), f"{case.name}: ad.vjp pullback", rtol=1e-14)

    if case.m is None:
        g = ad.grad(case.f)
        assert_tight(g(x1, *extra1), tape.gradient(x1, **kw1), f"{case.name}: ad.grad", rtol=1e-14)
        assert_tight(g(x2, *extra2), tape.gradient(x2, **kw2), f"{case.name}: ad.grad replay", rtol=1e-14)
        assert g.n_traces == 1  # no branches: one recording serves both points
        value, grad = ad.value_and_grad(case.f)(x2, *extra2)
        assert_tight(value, tape.eval(x2, **kw2), f"{case.name}: ad.value_and_grad value", rtol=1e-14)
        assert_tight(grad, tape.gradient(x2, **kw2), f"{case.name}: ad.value_and_grad grad", rtol=1e-14)
    else:
        with pytest.raises(ValueError):
            tape.gradient(x1, **kw1)


# --- NumPy method spellings ----------------------------------------------------------------
def _reshape_varargs(x):  # ndarray.reshape accepts the shape as separate integers
    X = x.reshape(2, 3)
    return np.sum(X @ X.T * C23[:, :2])


def _transpose_varargs(x):  # ndarray.transpose accepts the axes as separate integers
    X = x.reshape((2, 3)).transpose(1, 0)
    return np.sum(X[0] * X[2]) + np.sum(X * C23.T)


def test_reshape_with_separate_integers():
    _check_spelling(_reshape_varargs)


def test_transpose_with_separate_integers():
    _check_spelling(_transpose_varargs)


def test_reshape_and_transpose_with_tuples():
    """The same functions as the two above, shapes and axes spelled as tuples."""
    _check_spelling(_reshape_tuple)
    _check_spelling(_transpose_tuple)


def _reshape_tuple(x):
    X = x.reshape((2, 3))
    return np.sum(X @ X.T * C23[:, :2])


def _transpose_tuple(x):
    X = x.reshape((2, 3)).transpose((1, 0))
    return np.sum(X[0] * X[2]) + np.sum(X * C23.T)


def test_var_and_std_of_traced_arrays():
    _check_spelling(lambda x: np.var(x) + np.std(x[1:]) * x[0])


def _check_spelling(f):
    rng = np.random.default_rng(3)
    x0, x1 = rng.uniform(-1, 1, 6), rng.uniform(-1, 1, 6)
    tape = ad.trace(f, x0)
    assert tape.eval(x1) == pytest.approx(float(f(x1)), rel=1e-12, abs=1e-13)
    h = FD_STEP
    fd = np.array([(f(x1 + h * e) - f(x1 - h * e)) / (2 * h) for e in np.eye(6)])
    assert_fd_close(tape.gradient(x1), fd, abs(float(f(x1))), "gradient vs FD")
