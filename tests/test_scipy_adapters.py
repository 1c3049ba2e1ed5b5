"""numba_ad.scipy: each adapter reaches the known solution, and the derivatives it hands SciPy are right.

The derivative callables are caught on their way into SciPy (a spy around the SciPy function)
and compared, at points other than the one first traced, with analytic formulas and with
central differences. Compile time dominates the file's run time; the kernels are shared by all
tests (they are compiled per driver, not per function), so each kind compiles once.
"""

import subprocess
import sys
import warnings

import numba
import numpy as np
import pytest

pytest.importorskip("scipy")
import scipy.integrate  # noqa: E402
import scipy.optimize as so  # noqa: E402
import scipy.sparse as sp  # noqa: E402

import numba_ad.scipy as ads  # noqa: E402

RNG = np.random.default_rng(17)


def central(f, x, h=1e-6):
    """Central differences of f at x: (n,) for scalar f, (m, n) for vector f."""
    cols = [
        (np.asarray(f(x + h * e), dtype=float) - np.asarray(f(x - h * e), dtype=float)) / (2 * h)
        for e in np.eye(x.size)
    ]
    return np.stack(cols, axis=-1)


def dense(a):
    return a.toarray() if sp.issparse(a) else np.asarray(a)


@pytest.fixture
def spy(monkeypatch):
    """spy("minimize") wraps scipy.optimize.minimize (or another name) and records its calls' kwargs."""

    def install(name, module=so):
        calls = []
        real = getattr(module, name)

        def wrapper(*args, **kwargs):
            calls.append((args, kwargs))
            return real(*args, **kwargs)

        monkeypatch.setattr(module, name, wrapper)
        return calls

    return install


# -- minimize: Rosenbrock --------------------------------------------------------------------------
def rosen(x):
    return np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


X0 = np.array([-1.2, 1.0, -1.2, 1.0, -1.2])


@pytest.mark.parametrize(
    "method",
    ["BFGS", "CG", "L-BFGS-B", "Newton-CG", "trust-ncg", "trust-krylov", "trust-exact", "dogleg", "trust-constr"],
)
def test_minimize_reaches_the_rosenbrock_minimum(method):
    x0 = np.full(5, 1.2) if method == "dogleg" else X0  # dogleg needs a positive definite Hessian
    options = {"gtol": 1e-10, "xtol": 1e-12} if method == "trust-constr" else None
    res = ads.minimize(rosen, x0, method=method, options=options)
    assert res.success, res.message
    np.testing.assert_allclose(res.x, np.ones(5), atol=1e-4)


def test_minimize_uses_fewer_evaluations_than_finite_differences():
    ours = ads.minimize(rosen, X0, method="BFGS")
    theirs = so.minimize(rosen, X0, method="BFGS")
    assert ours.success and theirs.success
    assert ours.nfev < theirs.nfev / 3  # FD spends n + 1 = 6 calls per gradient


@pytest.mark.parametrize(
    "method, supplied",
    [
        ("BFGS", set()),
        ("Newton-CG", {"hessp"}),
        ("trust-krylov", {"hessp"}),
        ("trust-exact", {"hess"}),
        ("dogleg", {"hess"}),
        ("trust-constr", {"hess"}),
    ],
)
def test_minimize_supplies_exact_derivatives_the_method_wants(spy, method, supplied):
    calls = spy("minimize")
    x0 = np.full(5, 1.2) if method == "dogleg" else X0
    ads.minimize(rosen, x0, method=method, options={"maxiter": 3})
    (fun, _), kwargs = calls[0][0], calls[0][1]
    assert kwargs["jac"] is True and {"hess", "hessp"} & kwargs.keys() == supplied
    x = RNG.normal(size=5)  # not the traced point
    value, g = fun(x)
    assert value == pytest.approx(so.rosen(x), rel=1e-14)
    np.testing.assert_allclose(g, so.rosen_der(x), rtol=1e-12)
    np.testing.assert_allclose(g, central(rosen, x), rtol=1e-6)
    v = RNG.normal(size=5)
    if "hessp" in supplied:
        np.testing.assert_allclose(kwargs["hessp"](x, v), so.rosen_hess_prod(x, v), rtol=1e-12)
    if "hess" in supplied:
        np.testing.assert_allclose(dense(kwargs["hess"](x)), so.rosen_hess(x), rtol=1e-12)


def test_minimize_keeps_a_user_jac_and_captures_args(spy):
    calls = spy("minimize")

    def shifted(x, c):
        return np.sum((x - c) ** 2)

    def my_jac(x, c):
        return 2 * (x - c)

    res = ads.minimize(shifted, np.zeros(3), args=(np.array([1.0, 2.0, 3.0]),), method="Newton-CG", jac=my_jac)
    assert calls[0][1]["jac"] is my_jac
    np.testing.assert_allclose(res.x, [1, 2, 3], atol=1e-6)
    x, v = RNG.normal(size=3), RNG.normal(size=3)
    np.testing.assert_allclose(calls[0][1]["hessp"](x, v, np.zeros(3)), 2 * v, rtol=1e-14)  # args: captured


def test_minimize_passes_derivative_free_methods_through(spy):
    calls = spy("minimize")
    res = ads.minimize(rosen, np.full(2, 0.5), method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-14})
    assert calls[0][0][0] is rosen and calls[0][1].get("jac") is None
    np.testing.assert_allclose(res.x, np.ones(2), atol=1e-6)


# -- minimize: HS071 through trust-constr ------------------------------------------------------------
HS071_OPT = 17.0140173  # Hock and Schittkowski problem 71
HS071_OPTIONS = {"gtol": 1e-9, "initial_barrier_parameter": 1e-3}


def hs071(x):
    return x[0] * x[3] * (x[0] + x[1] + x[2]) + x[2]


def hs071_constraints():
    return [
        so.NonlinearConstraint(lambda x: x[0] * x[1] * x[2] * x[3], 25, np.inf),
        so.NonlinearConstraint(lambda x: x[0] ** 2 + x[1] ** 2 + x[2] ** 2 + x[3] ** 2, 40, 40),
    ]


def hs071_hessian(x):
    return np.array(
        [
            [2 * x[3], x[3], x[3], 2 * x[0] + x[1] + x[2]],
            [x[3], 0, 0, x[0]],
            [x[3], 0, 0, x[0]],
            [2 * x[0] + x[1] + x[2], x[0], x[0], 0],
        ]
    )


def product_hessian(x):
    H = np.zeros((4, 4))
    for i in range(4):
        for j in range(4):
            if i != j:
                H[i, j] = np.prod([x[k] for k in range(4) if k not in (i, j)])
    return H


def test_hs071_trust_constr_reaches_the_optimum_with_exact_constraint_derivatives(spy):
    calls = spy("minimize")
    res = ads.minimize(
        hs071, [1, 5, 5, 1], method="trust-constr", bounds=so.Bounds(1, 5), constraints=hs071_constraints(),
        options=HS071_OPTIONS,
    )  # fmt: skip
    assert res.success and abs(res.fun - HS071_OPT) < 1e-6
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SciPy's BFGS warns about zero steps near the end
        fd = so.minimize(
            hs071, [1, 5, 5, 1], method="trust-constr", bounds=so.Bounds(1, 5), constraints=hs071_constraints(),
            options=HS071_OPTIONS,
        )  # fmt: skip
    assert abs(fd.fun - HS071_OPT) < 1e-6 and res.nfev < fd.nfev / 10

    kwargs = calls[0][1]
    x, v = RNG.uniform(1, 5, size=4), RNG.normal(size=2)
    np.testing.assert_allclose(kwargs["hess"](x), hs071_hessian(x), rtol=1e-13, atol=1e-13)
    product, sphere = kwargs["constraints"]
    np.testing.assert_allclose(product.jac(x), [[np.prod(x) / xi for xi in x]], rtol=1e-13)
    np.testing.assert_allclose(product.jac(x), np.atleast_2d(central(product.fun, x)), rtol=1e-6)
    np.testing.assert_allclose(sphere.jac(x), [2 * x], rtol=1e-14)
    np.testing.assert_allclose(dense(product.hess(x, v[:1])), v[0] * product_hessian(x), rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(dense(sphere.hess(x, v[1:])), 2 * v[1] * np.eye(4), rtol=1e-14)


def test_hs071_dict_constraints_for_slsqp_and_trust_constr(spy):
    calls = spy("minimize")
    cons = [
        {"type": "ineq", "fun": lambda x, c: x[0] * x[1] * x[2] * x[3] - c, "args": (25.0,)},
        {"type": "eq", "fun": lambda x: x @ x - 40},
    ]
    slsqp = ads.minimize(hs071, [1, 5, 5, 1], method="SLSQP", bounds=so.Bounds(1, 5), constraints=cons)
    assert slsqp.success and abs(slsqp.fun - HS071_OPT) < 1e-6
    tc = ads.minimize(
        hs071, [1, 5, 5, 1], method="trust-constr", bounds=so.Bounds(1, 5), constraints=cons, options=HS071_OPTIONS
    )
    assert tc.success and abs(tc.fun - HS071_OPT) < 1e-6
    x = RNG.uniform(1, 5, size=4)
    filled = calls[0][1]["constraints"]
    np.testing.assert_allclose(filled[0]["jac"](x, 25.0), [[np.prod(x) / xi for xi in x]], rtol=1e-13)
    np.testing.assert_allclose(filled[1]["jac"](x), [2 * x], rtol=1e-14)
    converted = calls[1][1]["constraints"]
    assert isinstance(converted[0], so.NonlinearConstraint)
    assert (converted[0].lb, converted[0].ub, converted[1].lb, converted[1].ub) == (0, np.inf, 0, 0)
    assert converted[0].fun(x) == pytest.approx(np.prod(x) - 25.0, rel=1e-14)


def test_a_users_constraint_jacobian_and_hessian_are_kept(spy):
    calls = spy("minimize")
    jac = lambda x: np.atleast_2d(2 * x)  # noqa: E731
    hess = so.SR1()
    con = so.NonlinearConstraint(lambda x: x @ x, 40, 40, jac=jac, hess=hess)
    ads.minimize(hs071, [1, 5, 5, 1], method="trust-constr", bounds=so.Bounds(1, 5), constraints=con,
                 options={"maxiter": 5})  # fmt: skip
    kept = calls[0][1]["constraints"][0]
    assert kept.jac is jac and kept.hess is hess


# -- least_squares ---------------------------------------------------------------------------------
def broyden_tridiagonal(x):
    z = np.concatenate([[0.0], x, [0.0]])
    return (3 - 2 * x) * x + 1 - z[:-2] - 2 * z[2:]


def broyden_jacobian(x):
    n = x.size
    return np.diag(3 - 4 * x) - np.eye(n, k=-1) - 2 * np.eye(n, k=1)


def test_least_squares_solves_a_sparse_residual_with_a_sparse_exact_jacobian(spy):
    calls = spy("least_squares")
    n = 200
    res = ads.least_squares(broyden_tridiagonal, -np.ones(n))
    assert res.success and np.abs(res.fun).max() < 1e-8
    assert sp.issparse(res.jac) and res.jac.nnz == 3 * n - 2
    jac = calls[0][1]["jac"]
    x = RNG.normal(size=n)
    J = jac(x)
    assert sp.issparse(J)
    np.testing.assert_allclose(J.toarray(), broyden_jacobian(x), rtol=1e-14)
    np.testing.assert_allclose(J.toarray(), central(broyden_tridiagonal, x), atol=1e-7)


def test_least_squares_lm_gets_a_dense_jacobian_and_user_jac_is_kept(spy):
    calls = spy("least_squares")
    x0 = -np.ones(20)
    res = ads.least_squares(broyden_tridiagonal, x0, method="lm")
    assert res.success and np.abs(res.fun).max() < 1e-8 and isinstance(res.jac, np.ndarray)
    ads.least_squares(broyden_tridiagonal, x0, jac="3-point")
    assert calls[1][1]["jac"] == "3-point"
    with pytest.raises(ValueError, match="sparse=True needs method 'trf' or 'dogbox'"):
        ads.least_squares(broyden_tridiagonal, x0, method="lm", sparse=True)


# -- curve_fit -------------------------------------------------------------------------------------
def decay(t, a, k, c):
    return a * np.exp(-k * t) + c


def test_curve_fit_recovers_decay_parameters_with_the_exact_model_jacobian(spy):
    calls = spy("curve_fit")
    t = np.linspace(0, 4, 40)
    y = decay(t, 2.5, 1.3, 0.5)
    for method in ("lm", "trf"):
        popt, _ = ads.curve_fit(decay, t, y, p0=[1.0, 1.0, 0.0], method=method)
        np.testing.assert_allclose(popt, [2.5, 1.3, 0.5], rtol=1e-9)
    popt, _ = ads.curve_fit(decay, t, y, p0=[1.0, 1.0, 0.0], sigma=np.full(t.size, 0.1))
    np.testing.assert_allclose(popt, [2.5, 1.3, 0.5], rtol=1e-9)
    _, _, info, _, _ = ads.curve_fit(decay, t, y, p0=[1.0, 1.0, 0.0], full_output=True)
    _, _, fd_info, _, _ = so.curve_fit(decay, t, y, p0=[1.0, 1.0, 0.0], full_output=True)
    assert info["nfev"] < fd_info["nfev"]  # 'lm' counts its difference quotients

    jac = calls[0][1]["jac"]
    p = np.array([1.7, 0.4, -0.2])
    t2 = np.linspace(-1, 2, 7)  # another t, same tape shape or not: both must be right
    for tt in (t, t2):
        expected = np.stack([np.exp(-p[1] * tt), -p[0] * tt * np.exp(-p[1] * tt), np.ones_like(tt)], axis=1)
        np.testing.assert_allclose(jac(tt, *p), expected, rtol=1e-14)
        np.testing.assert_allclose(jac(tt, *p), central(lambda q: decay(tt, *q), p), rtol=1e-7, atol=1e-9)


# -- solve_ivp: Robertson, t-dependence, @njit, sparse ------------------------------------------------
K = (0.04, 3e7, 1e4)


def robertson(t, y, k1, k2, k3):
    return np.array(
        [-k1 * y[0] + k3 * y[1] * y[2], k1 * y[0] - k2 * y[1] ** 2 - k3 * y[1] * y[2], k2 * y[1] ** 2]
    )  # fmt: skip


@numba.njit
def robertson_njit(t, y, k1, k2, k3):
    out = np.empty(3)
    out[0] = -k1 * y[0] + k3 * y[1] * y[2]
    out[1] = k1 * y[0] - k2 * y[1] ** 2 - k3 * y[1] * y[2]
    out[2] = k2 * y[1] ** 2
    return out


def robertson_jacobian(y, k1, k2, k3):
    return np.array(
        [[-k1, k3 * y[2], k3 * y[1]], [k1, -2 * k2 * y[1] - k3 * y[2], -k3 * y[1]], [0, 2 * k2 * y[1], 0]]
    )  # fmt: skip


def test_robertson_bdf_matches_scipys_finite_difference_bdf(spy):
    calls = spy("solve_ivp", scipy.integrate)
    kw = dict(method="BDF", args=K, rtol=1e-6, atol=1e-10, t_eval=[1.0, 1e2, 1e4, 1e5])
    ours = ads.solve_ivp(robertson, (0, 1e5), [1.0, 0, 0], **kw)
    reference = scipy.integrate.solve_ivp(robertson, (0, 1e5), [1.0, 0, 0], **kw)
    assert ours.success and ours.njev > 0
    np.testing.assert_allclose(ours.y, reference.y, rtol=1e-4, atol=1e-12)
    np.testing.assert_allclose(ours.y.sum(axis=0), 1.0, rtol=1e-8)  # mass is conserved
    jac = calls[0][1]["jac"]
    y = RNG.uniform(0, 1, size=3)
    np.testing.assert_allclose(jac(3.0, y, *K), robertson_jacobian(y, *K), rtol=1e-14)
    # rhs is quadratic in y, so central differences are exact but for rounding (|f| ~ 1e7): a large step
    fd = central(lambda z: robertson(3.0, z, *K), y, h=1e-3)
    np.testing.assert_allclose(jac(3.0, y, *K), fd, rtol=1e-7, atol=1e-4)


def test_ivp_jacobian_of_an_njit_rhs_and_lsoda_dense(spy):
    jac = ads.ivp_jacobian(robertson_njit, n=3, args=K)
    y = RNG.uniform(0, 1, size=3)
    np.testing.assert_allclose(jac(0.5, y), robertson_jacobian(y, *K), rtol=1e-14)
    calls = spy("solve_ivp", scipy.integrate)
    res = ads.solve_ivp(robertson_njit, (0, 1e3), [1.0, 0, 0], method="LSODA", args=K, rtol=1e-6, atol=1e-10)
    assert res.success
    assert isinstance(calls[0][1]["jac"](1.0, y, *K), np.ndarray)
    with pytest.raises(ValueError, match=r"y must have shape \(3,\).*got shape \(4,\)"):
        jac(0.0, np.ones(4))


def test_ivp_jacobian_follows_t_on_one_tape():
    def rhs(t, y):
        return -t * y**2 + np.sin(t) * y[::-1]

    jac = ads.ivp_jacobian(rhs)
    y = RNG.normal(size=4)
    for t in (0.0, 0.7, 2.5):
        expected = np.diag(-2 * t * y) + np.sin(t) * np.eye(4)[::-1]
        np.testing.assert_allclose(jac(t, y), expected, rtol=1e-14, atol=1e-15)
    assert jac.function_for(()).n_traces == 1


def heat(t, u, d):
    z = np.concatenate([[0.0], u, [0.0]])
    return d * (z[:-2] - 2 * u + z[2:]) - u**3


def test_solve_ivp_gives_bdf_a_sparse_jacobian_for_a_sparse_problem(spy):
    n = 200
    calls = spy("solve_ivp", scipy.integrate)
    u0 = np.sin(np.linspace(0, np.pi, n))
    res = ads.solve_ivp(heat, (0, 0.1), u0, args=(100.0,), rtol=1e-6, atol=1e-9)
    fd = scipy.integrate.solve_ivp(heat, (0, 0.1), u0, method="BDF", args=(100.0,), rtol=1e-6, atol=1e-9)
    assert res.success
    np.testing.assert_allclose(res.y[:, -1], fd.y[:, -1], rtol=1e-4, atol=1e-7)
    J = calls[0][1]["jac"](0.0, u0, 100.0)
    assert sp.issparse(J) and J.nnz == 3 * n - 2
    expected = 100.0 * (np.eye(n, k=-1) - 2 * np.eye(n) + np.eye(n, k=1)) - np.diag(3 * u0**2)
    np.testing.assert_allclose(J.toarray(), expected, rtol=1e-13, atol=1e-12)


# -- sparse Hessians (the lead's Tape.sparse_hessian) -------------------------------------------------
def test_trust_constr_gets_a_sparse_hessian_for_a_sparse_problem(spy):
    calls = spy("minimize")
    n = 100
    x0 = np.full(n, 0.5)  # from (-1.2, 1, ...) chained Rosenbrock has a local minimum near x[0] = -1
    con = so.NonlinearConstraint(lambda x: x[:-1] ** 2 + x[1:] ** 2, 0, 10)
    res = ads.minimize(rosen, x0, method="trust-constr", constraints=[con], options={"gtol": 1e-8, "maxiter": 2000})
    assert res.success
    np.testing.assert_allclose(res.x, np.ones(n), atol=1e-4)
    kwargs = calls[0][1]
    x, v = RNG.normal(size=n), RNG.normal(size=n - 1)
    H = kwargs["hess"](x)
    assert sp.issparse(H)
    np.testing.assert_allclose(H.toarray(), so.rosen_hess(x), rtol=1e-12)
    C = kwargs["constraints"][0].hess(x, v)
    expected = np.diag(2 * np.concatenate([v, [0]]) + 2 * np.concatenate([[0], v]))
    assert sp.issparse(C)
    np.testing.assert_allclose(C.toarray(), expected, rtol=1e-14)


# -- errors and imports ------------------------------------------------------------------------------
def test_bad_input_names_what_was_expected():
    with pytest.raises(ValueError, match=r"x0 must be a 1-D array of shape \(n,\); got shape \(2, 2\)"):
        ads.minimize(rosen, np.ones((2, 2)))
    with pytest.raises(ValueError, match="unknown method 'newton'"):
        ads.minimize(rosen, X0, method="newton")
    with pytest.raises(TypeError, match="fun must be callable"):
        ads.minimize(3.0, X0)
    with pytest.raises(TypeError, match="constraints must be dicts .* got int"):
        ads.minimize(rosen, X0, method="trust-constr", constraints=[3])
    with pytest.raises(ValueError, match="'type' 'eq' or 'ineq'; got 'le'"):
        ads.minimize(rosen, X0, method="trust-constr", constraints={"type": "le", "fun": rosen})
    with pytest.raises(ValueError, match="method must be 'trf', 'dogbox' or 'lm'; got 'exact'"):
        ads.least_squares(broyden_tridiagonal, X0, method="exact")
    with pytest.raises(ValueError, match="n must be a positive integer"):
        ads.ivp_jacobian(robertson, n=0)
    with pytest.raises(TypeError, match="rhs must be callable"):
        ads.ivp_jacobian("robertson")


def test_import_numba_ad_does_not_import_the_adapters():
    code = "import sys, numba_ad; print('numba_ad.scipy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
