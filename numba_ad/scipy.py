"""``numba_ad.scipy``: SciPy's optimisers, fitters and ODE solvers, fed exact derivatives from tapes.

Each adapter is one call with SciPy's own signature and returns SciPy's own result. What it adds
is the derivative arguments SciPy would otherwise estimate by finite differences (n extra
function calls per Jacobian, and truncation error): they come from a :class:`numba_ad.Function`
of the user's function, which records it once per branch and replays the tape at every new
point. Derivatives the user passes (``jac=``, ``hess=``, ``hessp=``) are used as given.

- :func:`minimize`: ``jac=True`` with the tape's ``value_and_gradient`` (one sweep gives both),
  ``hessp`` for Newton-CG, trust-ncg and trust-krylov, a dense ``hess`` for dogleg and
  trust-exact, and for trust-constr a ``hess`` (sparse when the Hessian's pattern is) plus exact
  Jacobians and Lagrangian Hessians of the nonlinear constraints; SLSQP gets dense constraint
  Jacobians.
- :func:`least_squares`: the exact Jacobian, a ``scipy.sparse.csr_array`` when its pattern is
  sparse (dense for method 'lm', which needs dense).
- :func:`curve_fit`: ``jac(xdata, *p)``, the model's Jacobian with respect to p.
- :func:`ivp_jacobian` and :func:`solve_ivp`: ``jac(t, y, *args)`` for ``rhs(t, y, *args)``
  (Python or ``@njit``) for the implicit methods BDF, Radau and LSODA.

``args`` are constants: numba_ad traces ``f(x)`` or ``f(x, p)`` with one float parameter
vector, and SciPy's ``args`` may be anything, so they are captured in the traced closure (a new
``args`` tuple is a new function, traced again). Where a value changes between calls of the
same problem (``t`` in an ODE, ``xdata`` in a fit) it is passed as the tape's parameter vector
instead, so one tape serves every call.

SciPy is imported when an adapter runs, not when this module is imported (it is the optional
``scipy`` extra), and ``import numba_ad`` does not import this module.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from numba_ad.api.function_cache import Function, function
from numba_ad.tracing import traceable

# A derivative matrix is returned sparse (csr) when at most this fraction of its entries is
# structurally nonzero. Measured here (n = 1000, SciPy 1.17): a CSR product A @ v cost 42 us
# at density 0.05 against 72 us dense, 112 us against 78 us at 0.1; CSR needs 12 bytes per
# stored entry against 8 per dense entry (7.5% of the dense memory at 0.05). Below 5% the
# sparse matrix is also cheaper to *compute*: a colouring needs about as many products as the
# densest row has entries, a dense Jacobian or Hessian n of them. Pass sparse=True/False to
# force either.
SPARSE_DENSITY = 0.05

_FD_STRINGS = ("2-point", "3-point", "cs")
# minimize's methods by what they take (SciPy 1.17 names, lower case).
_DERIVATIVE_FREE = {"nelder-mead", "powell", "cobyla", "cobyqa"}
_GRADIENT = {"cg", "bfgs", "l-bfgs-b", "tnc", "slsqp"}
_HESSP = {"newton-cg", "trust-ncg", "trust-krylov"}
_DENSE_HESS = {"dogleg", "trust-exact"}
_METHODS = _DERIVATIVE_FREE | _GRADIENT | _HESSP | _DENSE_HESS | {"trust-constr"}
_IMPLICIT = ("BDF", "Radau", "LSODA")


def _scipy_optimize():
    try:
        import scipy.optimize
    except ImportError:
        raise ImportError("numba_ad.scipy needs SciPy: pip install scipy (or numba_ad's 'scipy' extra)") from None
    return scipy.optimize


def _scipy_integrate():
    _scipy_optimize()  # the same clear ImportError when SciPy is missing
    import scipy.integrate

    return scipy.integrate


def _callable(f: Any, name: str) -> Callable:
    if not callable(f):
        raise TypeError(f"{name} must be callable; got {type(f).__name__}")
    return traceable(f)  # an @njit function is traced through its Python source


def _args_tuple(args: Any, name: str = "args") -> tuple:
    """SciPy's convention: a tuple of extra arguments, a single non-tuple value meaning (value,)."""
    if args is None:
        return ()
    return args if isinstance(args, tuple) else (args,)


def _start(x0: ArrayLike, name: str = "x0") -> np.ndarray:
    try:
        x = np.asarray(x0, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a 1-D array of floats; got {type(x0).__name__}") from None
    if x.ndim == 0:
        x = x.reshape(1)
    if x.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of shape (n,); got shape {x.shape}")
    return x


def _dense_enough(pattern: Any) -> bool:
    """True when the pattern is too dense to be worth a sparse matrix (see SPARSE_DENSITY)."""
    m, n = pattern.shape
    return pattern.nnz > SPARSE_DENSITY * m * n


class Jacobian:
    """The Jacobian of a Function as SciPy wants it: (m, n) dense, or csr when sparse.

    Whether it is sparse is decided at the first call, from the pattern of the tape there
    (``sparse=None``), and then kept: SciPy's solvers choose their linear algebra from the first
    matrix they see. A scalar function gives (1, n) when ``rows`` is true (constraints), (n,)
    otherwise. Called as ``jac(x, *args, **kwargs)`` by SciPy, it ignores what follows x: SciPy's
    args are captured in the traced function already. ``at(x, params)`` is for callers (the ODE
    adapter) whose tape has a parameter vector.
    """

    def __init__(self, fn: Function, sparse: bool | None = None, rows: bool = False) -> None:
        self.fn = fn
        self.sparse = sparse
        self.rows = rows

    def __call__(self, x: ArrayLike, *ignored: Any, **ignored_kw: Any) -> Any:
        return self.at(x)

    def at(self, x: ArrayLike, *params: ArrayLike) -> Any:
        fn = self.fn
        if self.sparse is None:
            self.sparse = not _dense_enough(fn.tape_at(x, *params).jacobian_sparsity())
        if self.sparse:
            return fn.sparse_jacobian(x, *params)
        J = fn.jacobian(x, *params)
        return J.reshape(1, -1) if self.rows and J.ndim == 1 else J


class Hessian:
    """The Hessian of a scalar Function, or of sum_i v_i f_i for a vector one (a Lagrangian's
    constraint part): dense (n, n) or csr with the tape's fixed pattern.

    Sparse is decided at the first call from ``tape.hessian_sparsity`` (``sparse=None``) and then
    kept.
    """

    def __init__(self, fn: Function, sparse: bool | None = None) -> None:
        self.fn = fn
        self.sparse = sparse

    def __call__(self, x: ArrayLike, v: ArrayLike | None = None) -> Any:
        return self.at(x, v)

    def objective(self, x: ArrayLike, *ignored: Any) -> Any:
        """hess(x, *args) for minimize: args are captured, so ignored here."""
        return self.at(x, None)

    def at(self, x: ArrayLike, weights: ArrayLike | None = None) -> Any:
        fn = self.fn
        if self.sparse is None:  # the pattern of all outputs, which sparse_hessian keeps
            self.sparse = not _dense_enough(fn.tape_at(x).hessian_sparsity())
        if self.sparse:
            return fn.sparse_hessian(x, weights=weights)
        return fn.hessian(x, weights=weights)


def _closure(f: Callable, args: tuple, kwargs: dict | None = None) -> Callable:
    """x -> f(x, *args, **kwargs): the constants captured, for ad.function."""
    if not args and not kwargs:
        return f
    kwargs = kwargs or {}
    return lambda x: f(x, *args, **kwargs)


# -- minimize ------------------------------------------------------------------------------------
def _method_name(method: Any, bounds: Any, constraints: Any) -> str:
    """minimize's method in lower case, chosen as SciPy chooses it when None."""
    if method is None:
        return "slsqp" if constraints else ("l-bfgs-b" if bounds is not None else "bfgs")
    if callable(method):
        return "_custom"
    if not isinstance(method, str):
        raise TypeError(f"method must be a string, a callable or None; got {type(method).__name__}")
    name = method.lower()
    if name not in _METHODS:
        raise ValueError(f"unknown method {method!r}; expected one of {sorted(_METHODS)} or a callable")
    return name


def _is_default_quasi_newton(hess: Any) -> bool:
    """True for a BFGS with default settings: what NonlinearConstraint makes of hess=None.

    Its state is not looked at: SciPy updates the object in place, so a constraint reused after
    another solve would otherwise keep its quasi-Newton Hessian here. A user who wants one kept
    passes another strategy (SR1(), or BFGS with a setting of its own).
    """
    from scipy.optimize import BFGS

    return (
        type(hess) is BFGS
        and getattr(hess, "exception_strategy", None) == "skip_update"
        and getattr(hess, "min_curvature", None) == 1e-8
        and isinstance(getattr(hess, "init_scale", None), str)
        and hess.init_scale == "auto"
    )


def _constraint_list(constraints: Any) -> list:
    if constraints is None:
        return []
    if isinstance(constraints, (dict,)) or not isinstance(constraints, (list, tuple)):
        return [constraints]
    return list(constraints)


def _nonlinear_for_trust_constr(con: Any, sparse: bool | None) -> Any:
    """con (a dict or NonlinearConstraint) as a NonlinearConstraint with the derivatives it lacks."""
    opt = _scipy_optimize()
    if isinstance(con, dict):
        kind = con.get("type")
        if kind not in ("eq", "ineq"):
            raise ValueError(f"a constraint dict needs 'type' 'eq' or 'ineq'; got {kind!r}")
        if "fun" not in con:
            raise ValueError("a constraint dict needs 'fun'")
        cargs = _args_tuple(con.get("args", ()))
        cfun = con["fun"]
        fn = function(_closure(_callable(cfun, "constraint 'fun'"), cargs))
        user_jac = con.get("jac")
        if callable(user_jac):
            jac = (lambda x, j=user_jac: np.atleast_2d(j(x, *cargs))) if cargs else user_jac
        else:
            jac = Jacobian(fn, sparse, rows=True)
        lb, ub = (0.0, 0.0) if kind == "eq" else (0.0, np.inf)
        return opt.NonlinearConstraint(
            (lambda x: cfun(x, *cargs)) if cargs else cfun, lb, ub, jac=jac, hess=Hessian(fn, sparse)
        )
    fn = function(_callable(con.fun, "NonlinearConstraint.fun"))
    jac = Jacobian(fn, sparse, rows=True) if isinstance(con.jac, str) and con.jac in _FD_STRINGS else con.jac
    hess = con.hess
    if (isinstance(hess, str) and hess in _FD_STRINGS) or _is_default_quasi_newton(hess):
        hess = Hessian(fn, sparse)
    return opt.NonlinearConstraint(
        con.fun,
        con.lb,
        con.ub,
        jac=jac,
        hess=hess,
        keep_feasible=con.keep_feasible,
        finite_diff_rel_step=con.finite_diff_rel_step,
        finite_diff_jac_sparsity=con.finite_diff_jac_sparsity,
    )


def _for_slsqp(con: Any) -> Any:
    """con with a dense exact 'jac' when it has none (SLSQP needs dense Jacobians)."""
    opt = _scipy_optimize()
    if isinstance(con, dict):
        if callable(con.get("jac")) or "fun" not in con:
            return con
        cargs = _args_tuple(con.get("args", ()))
        fn = function(_closure(_callable(con["fun"], "constraint 'fun'"), cargs))
        return dict(con, jac=Jacobian(fn, sparse=False, rows=True))
    if isinstance(con, opt.NonlinearConstraint) and isinstance(con.jac, str) and con.jac in _FD_STRINGS:
        fn = function(_callable(con.fun, "NonlinearConstraint.fun"))
        return opt.NonlinearConstraint(
            con.fun, con.lb, con.ub, jac=Jacobian(fn, sparse=False, rows=True), keep_feasible=con.keep_feasible
        )
    return con


def _with_exact_constraints(constraints: Any, method: str, sparse: bool | None) -> Any:
    if method not in ("trust-constr", "slsqp"):
        return constraints  # COBYLA, COBYQA take no derivatives; others take no constraints
    opt = _scipy_optimize()
    out = []
    for con in _constraint_list(constraints):
        if isinstance(con, (opt.LinearConstraint, opt.Bounds)):
            out.append(con)
        elif isinstance(con, dict) or isinstance(con, opt.NonlinearConstraint):
            out.append(_nonlinear_for_trust_constr(con, sparse) if method == "trust-constr" else _for_slsqp(con))
        else:
            raise TypeError(
                "constraints must be dicts {'type': 'eq'/'ineq', 'fun': ...}, NonlinearConstraint, "
                f"LinearConstraint or a list of them; got {type(con).__name__}"
            )
    return out


def minimize(
    fun: Callable,
    x0: ArrayLike,
    args: Any = (),
    method: str | Callable | None = None,
    *,
    jac: Any = None,
    hess: Any = None,
    hessp: Any = None,
    bounds: Any = None,
    constraints: Any = (),
    tol: float | None = None,
    options: dict | None = None,
    callback: Callable | None = None,
    sparse: bool | None = None,
) -> Any:
    """``scipy.optimize.minimize`` with exact derivatives of ``fun(x, *args)`` from its tape.

    Supplies what the method uses and the user did not give: the gradient, through ``jac=True``
    and the tape's ``value_and_gradient`` (the value comes from the same sweep, so ``fun`` runs
    only when a branch is first recorded); ``hessp`` (exact Hessian-vector products) for
    Newton-CG, trust-ncg and trust-krylov; the dense Hessian for dogleg and trust-exact; for
    trust-constr the Hessian (a csr matrix when at most SPARSE_DENSITY of it is structurally
    nonzero, else dense; ``sparse=`` forces either) and, for each nonlinear constraint given as a
    ``NonlinearConstraint`` or a dict ``{'type': 'eq'/'ineq', 'fun': ...}``, its exact Jacobian
    and ``hess(x, v)``, the Hessian of ``sum_i v_i c_i(x)``; for SLSQP dense constraint Jacobians.
    A constraint's own callable ``jac`` or ``hess`` is kept; a ``NonlinearConstraint`` whose
    hess is a ``BFGS()`` with default settings (what ``hess=None`` becomes) counts as not given.
    Derivative-free methods (Nelder-Mead, Powell, COBYLA, COBYQA) are called unchanged.

    Returns SciPy's ``OptimizeResult``.
    """
    if not callable(fun):
        raise TypeError(f"fun must be callable f(x, *args) -> float; got {type(fun).__name__}")
    opt = _scipy_optimize()
    x0 = _start(x0)
    args = _args_tuple(args)
    name = _method_name(method, bounds, constraints)
    common = dict(method=method, bounds=bounds, tol=tol, options=options, callback=callback)
    if name in _DERIVATIVE_FREE:
        return opt.minimize(fun, x0, args=args, constraints=constraints, **common)
    traced = _closure(_callable(fun, "fun"), args)
    if jac is True:  # fun gives (value, gradient): Hessians are of its value
        fn = function(lambda x: traced(x)[0])
    else:
        fn = function(traced)
    if jac is None:

        def fun_and_grad(x: np.ndarray, *ignored: Any) -> tuple[float, np.ndarray]:
            return fn.value_and_gradient(x)

        target, jac = fun_and_grad, True
    else:
        target = fun
    if name in _HESSP and hess is None and hessp is None:

        def hessp(x: np.ndarray, v: np.ndarray, *ignored: Any) -> np.ndarray:
            return fn.hvp(x, v)

    elif name in _DENSE_HESS and hess is None:
        hess = Hessian(fn, sparse=False).objective
    elif name == "trust-constr" and hess is None and hessp is None:
        hess = Hessian(fn, sparse).objective
    constraints = _with_exact_constraints(constraints, name, sparse)
    extra = {k: v for k, v in (("hess", hess), ("hessp", hessp)) if v is not None}
    return opt.minimize(target, x0, args=args, jac=jac, constraints=constraints, **common, **extra)


# -- least_squares -------------------------------------------------------------------------------
def least_squares(
    fun: Callable,
    x0: ArrayLike,
    args: Any = (),
    *,
    method: str = "trf",
    bounds: Any = (-np.inf, np.inf),
    jac_sparsity: Any = None,
    sparse: bool | None = None,
    **kwargs: Any,
) -> Any:
    """``scipy.optimize.least_squares`` with the exact Jacobian of the residual ``fun(x, *args)``.

    The Jacobian is a csr matrix when at most SPARSE_DENSITY of it is structurally nonzero (or
    when ``sparse=True`` or a ``jac_sparsity`` is given), so that 'trf' and 'dogbox' solve with
    LSMR and never form a dense (m, n) matrix; dense for method 'lm' (MINPACK needs dense) and
    for ``tr_solver='exact'``. ``jac_sparsity`` is passed on, but SciPy reads it only to group
    columns for finite differences, which an exact Jacobian replaces: it changes nothing else.
    A user's ``jac=`` (callable or a finite-difference string) is passed to SciPy unchanged.
    Other keywords are SciPy's (``kwargs=`` for fun's keyword arguments, ``loss``, ``x_scale``...).

    Returns SciPy's ``OptimizeResult``.
    """
    if not callable(fun):
        raise TypeError(f"fun must be callable fun(x, *args) -> residuals (m,); got {type(fun).__name__}")
    opt = _scipy_optimize()
    x0 = _start(x0)
    args = _args_tuple(args)
    options = dict(kwargs, method=method, bounds=bounds, args=args)
    if jac_sparsity is not None:
        options["jac_sparsity"] = jac_sparsity
    if "jac" in kwargs:
        return opt.least_squares(fun, x0, **options)
    if method not in ("trf", "dogbox", "lm"):
        raise ValueError(f"method must be 'trf', 'dogbox' or 'lm'; got {method!r}")
    if method == "lm" or kwargs.get("tr_solver") == "exact":
        if sparse:
            raise ValueError(f"sparse=True needs method 'trf' or 'dogbox' with tr_solver 'lsmr'; got method {method!r}")
        sparse = False
    elif sparse is None and jac_sparsity is not None:
        sparse = True
    fun_kwargs = kwargs.get("kwargs") or {}
    fn = function(_closure(_callable(fun, "fun"), args, fun_kwargs))
    return opt.least_squares(fun, x0, jac=Jacobian(fn, sparse), **options)


# -- curve_fit -----------------------------------------------------------------------------------
class ModelJacobian:
    """``jac(t, *p)``: the Jacobian (M, k) of ``model(t, *p)`` with respect to p, for curve_fit.

    A numeric ``t`` (any shape) is the tape's parameter vector (flattened, reshaped inside), so
    one tape serves every t of one shape; other t (objects, lists of arrays) are captured as
    constants, one Function per t object.
    """

    def __init__(self, model: Callable) -> None:
        self.model = _callable(model, "model")
        self._functions: dict = {}  # key -> (Function, the t it was made for, kept alive for id keys)

    def __call__(self, t: Any, *p: float) -> np.ndarray:
        if not p:
            raise ValueError("jac(t, *p) needs the model's parameters after t; got none")
        q = _start(np.asarray(p, dtype=np.float64).ravel(), "p")
        data = np.asarray(t) if isinstance(t, np.ndarray) else None
        if data is None:
            try:
                data = np.asarray(t, dtype=np.float64)
            except (TypeError, ValueError):
                data = None
        if data is not None and data.dtype.kind in "fiu" and data.size:
            shape = data.shape
            fn = self._function(("array", shape), t, lambda q, d: self.model(d.reshape(shape), *q))
            J = fn.jacobian(q, np.ascontiguousarray(data, dtype=np.float64).ravel())
        else:
            fn = self._function(("object", id(t)), t, lambda q: self.model(t, *q))
            J = fn.jacobian(q)
        return J.reshape(-1, 1) if J.ndim == 1 else J

    def _function(self, key: tuple, t: Any, f: Callable) -> Function:
        entry = self._functions.get(key)
        if entry is None:
            entry = self._functions[key] = (function(f), t)
        return entry[0]


def curve_fit(
    model: Callable,
    xdata: Any,
    ydata: ArrayLike,
    p0: ArrayLike | None = None,
    sigma: ArrayLike | None = None,
    absolute_sigma: bool = False,
    bounds: Any = (-np.inf, np.inf),
    method: str | None = None,
    **kwargs: Any,
) -> Any:
    """``scipy.optimize.curve_fit`` with ``jac=`` the exact Jacobian of ``model(xdata, *p)`` in p.

    ``model(t, *p)`` is SciPy's signature, unchanged. The Jacobian comes from a tape of the
    model in p whose parameter vector is xdata, so the fit's every Jacobian is a replay. Works
    with every method (lm, trf, dogbox) and with sigma (SciPy scales the Jacobian as it scales
    the residuals). A user's ``jac=`` is passed to SciPy unchanged.

    Returns what SciPy's curve_fit returns: ``(popt, pcov)``, or more with ``full_output=True``.
    """
    if not callable(model):
        raise TypeError(f"model must be callable model(t, *p) -> (M,); got {type(model).__name__}")
    opt = _scipy_optimize()
    if kwargs.get("jac") is None:
        kwargs["jac"] = ModelJacobian(model)
    return opt.curve_fit(
        model, xdata, ydata, p0, sigma=sigma, absolute_sigma=absolute_sigma, bounds=bounds, method=method, **kwargs
    )


# -- solve_ivp -----------------------------------------------------------------------------------
class IVPJacobian:
    """``jac(t, y, *args)``: d rhs(t, y, *args) / dy, for ``scipy.integrate.solve_ivp``.

    t is the tape's one parameter, so one tape (per branch) serves every step; ``args`` are
    captured constants, one Function per distinct args tuple (solve_ivp passes the same tuple at
    every call). Dense (n, n), or csr when ``sparse`` is True or, for ``sparse=None``, when at
    most SPARSE_DENSITY of the Jacobian is structurally nonzero (decided at the first call).
    BDF and Radau accept csr (they factorise with SuperLU); LSODA needs dense: pass
    ``sparse=False`` there (:func:`solve_ivp` does).
    """

    def __init__(self, rhs: Callable, n: int | None = None, args: Any = (), sparse: bool | None = None) -> None:
        if not callable(rhs):
            raise TypeError(f"rhs must be callable rhs(t, y, *args) -> (n,); got {type(rhs).__name__}")
        if n is not None and (isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1):
            raise ValueError(f"n must be a positive integer (the length of y) or None; got {n!r}")
        if sparse not in (None, True, False):
            raise ValueError(f"sparse must be None, True or False; got {sparse!r}")
        self.rhs = rhs
        self.n = None if n is None else int(n)
        self.args = _args_tuple(args)
        self.sparse = sparse
        self._traceable = _callable(rhs, "rhs")
        self._functions: dict = {}  # ids of args -> (Jacobian, args kept alive)

    def function_for(self, args: tuple) -> Function:
        """The Function of y, params [t] -> rhs(t, y, *args) (made at the first call with these args)."""
        return self._jacobian(args).fn

    def __call__(self, t: float, y: ArrayLike, *args: Any) -> Any:
        args = args or self.args
        y = _start(y, "y")
        if self.n is not None and y.shape[0] != self.n:
            raise ValueError(f"y must have shape ({self.n},) (n given to ivp_jacobian); got shape {y.shape}")
        try:
            time = np.array([float(t)])
        except (TypeError, ValueError):
            raise TypeError(f"t must be a float; got {type(t).__name__}") from None
        return self._jacobian(args).at(y, time)

    def _jacobian(self, args: tuple) -> Jacobian:
        key = tuple(id(a) for a in args)
        entry = self._functions.get(key)
        if entry is None:
            r = self._traceable

            def rhs_of_y(y: Any, p: Any) -> Any:
                return r(p[0], y, *args)

            rhs_of_y.__name__ = getattr(self.rhs, "__name__", "rhs")
            entry = self._functions[key] = (Jacobian(function(rhs_of_y), self.sparse), args)
        return entry[0]


def ivp_jacobian(rhs: Callable, n: int | None = None, args: Any = (), sparse: bool | None = None) -> IVPJacobian:
    """``jac(t, y, *args)`` for ``solve_ivp(rhs, ..., jac=jac)``, exact, from a tape of rhs.

    `rhs(t, y, *args)` may be a Python function or a numba ``@njit`` one (traced through its
    Python source). `n` (optional) is checked against len(y). `sparse`: None (csr when the
    Jacobian's pattern is at most SPARSE_DENSITY full), True (csr) or False (dense; LSODA).
    """
    return IVPJacobian(rhs, n, args, sparse)


def solve_ivp(
    rhs: Callable,
    t_span: Sequence[float],
    y0: ArrayLike,
    method: str | type = "BDF",
    args: Any = (),
    **kwargs: Any,
) -> Any:
    """``scipy.integrate.solve_ivp`` with, for the implicit methods BDF, Radau and LSODA, the
    exact Jacobian ``jac`` of ``rhs(t, y, *args)`` in y (dense for LSODA, csr for BDF and Radau
    when the pattern is sparse). Without it those methods difference rhs n times (or once per
    column group given ``jac_sparsity``) per Jacobian. A user's ``jac=`` is kept; explicit
    methods (RK45, ...) are called unchanged. Returns SciPy's ``OdeResult``.
    """
    integrate = _scipy_integrate()
    y0 = _start(y0, "y0")
    args = _args_tuple(args)
    name = method if isinstance(method, str) else getattr(method, "__name__", "")
    if name in _IMPLICIT and kwargs.get("jac") is None:
        if name == "LSODA":
            sparse = False
        else:
            sparse = True if kwargs.get("jac_sparsity") is not None else None
        kwargs["jac"] = IVPJacobian(rhs, y0.shape[0], args, sparse)
    return integrate.solve_ivp(rhs, t_span, y0, method=method, args=args or None, **kwargs)


__all__ = [
    "SPARSE_DENSITY",
    "Hessian",
    "IVPJacobian",
    "Jacobian",
    "ModelJacobian",
    "curve_fit",
    "ivp_jacobian",
    "least_squares",
    "minimize",
    "solve_ivp",
]
