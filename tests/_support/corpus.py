"""A corpus of test functions written the way users write them.

Every function runs on traced values (while numba_ad records it) and on plain float64
NumPy arrays: the plain evaluation is the independent reference for values, and finite
differences of it the reference for derivatives. No function branches on its input (no
Python ``if`` or ``while`` on x), and each is smooth on the box ``[lo, hi]`` given with it.

A ``Case`` says how to call the function: ``f(x)`` or, when ``p0`` is given, ``f(x, p)``
with parameters drawn from ``[p_lo, p_hi]``.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

import numba_ad as ad

try:  # SciPy's erf ufuncs record through the ufunc protocol; numba_ad's own stand in without it
    import scipy.special as sp
except ImportError:  # pragma: no cover - the test extra installs SciPy
    sp = ad


@dataclass(frozen=True)
class Case:
    name: str
    f: Callable
    n: int  # input dimension
    lo: object  # lower corner of the smooth domain (scalar or (n,))
    hi: object  # upper corner
    m: int | None = None  # number of outputs; None for a scalar function
    p0: tuple | None = None  # parameters used at the recording point (None: no params)
    p_lo: object = None  # domain of parameters at replay
    p_hi: object = None

    @property
    def has_params(self):
        return self.p0 is not None

    def __repr__(self):
        return f"Case({self.name})"


# Constant data, fixed once (a seeded generator: these are constants, not test inputs).
_C = np.random.default_rng(20240601)
Q5 = _C.standard_normal((5, 5))
B5 = _C.standard_normal(5)
W1 = 0.7 * _C.standard_normal((6, 4))
BIAS1 = 0.3 * _C.standard_normal(6)
W2 = 0.7 * _C.standard_normal((2, 6))
BIAS2 = 0.3 * _C.standard_normal(2)
C23 = _C.standard_normal((2, 3))
C5 = _C.standard_normal(5)
T_DATA = np.array([0.0, 0.5, 1.0, 1.5])


# --- scalar functions ---------------------------------------------------------------------
def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def quadratic_form(x):
    return x @ (Q5 @ x) + np.dot(B5, x) + 0.5


def loop_accumulate(x):
    s = 0.0
    for i in range(len(x)):
        s = s + x[i] * np.cos((i + 1) * x[i])
    for xi in x:
        s = s + xi * xi  # one input used twice by the same multiplication
    return s


def powers(x):  # positive domain
    return (
        x[0] ** 3
        + x[1] ** 0.5
        + 2 ** x[2]
        + 2.5 ** x[3]
        + x[3] ** x[4]
        + x[0] ** -2
        + np.float_power(x[1], 1.5)
        + x[2] ** -1
        + np.power(x[4], 2)
        + x[0] ** 2.75
        + np.cbrt(x[3])
        + np.sqrt(x[4])
        + x[1] ** 0 * x[2]
    )


def negative_base_powers(x):  # negative domain: integer exponents of negative numbers
    return x[0] ** 3 + x[1] ** -3 + x[0] ** 4 * x[1] ** 5 + np.cbrt(x[1]) + x[0] ** 2 / x[1] ** 1


def rational(x):
    return (
        (x[0] + x[1]) / (1.0 + x[2] ** 2)
        + 1.0 / x[3]
        - x[1] / x[0]
        + np.reciprocal(x[2])
        + np.true_divide(x[3], 3.0)
        + 7.0 / (x[0] * x[1])
    )


def polar(x):  # x[0] > 0, x[2] > 0: away from arctan2's cut and hypot's origin
    r = np.hypot(x[0], x[1])
    th = np.arctan2(x[1], x[0])
    return r * np.cos(th) + r**2 * np.sin(2 * th) + np.arctan2(x[2], x[1]) + np.hypot(x[2], 3.0)


def special(x):
    return np.sum(sp.erf(x) * x) + sp.erfc(x[0] * x[1]) + ad.erf(x[2] - 0.5) * ad.erfc(x[0])


def nested(x):
    u = np.sin(x[0] * x[1]) + np.exp(-(x[2] ** 2))
    v = np.log(1.0 + np.exp(u))
    w = np.tanh(v * np.cosh(x[0])) / (1.0 + np.sinh(x[1]) ** 2)
    return np.sqrt(1.0 + w**2) * np.arctan(u - v) + np.log1p(x[2] ** 2) * np.expm1(x[0])


def trig_hyperbolic(x):
    t = np.tanh(x)
    return (
        np.sum(np.arcsin(0.9 * t))
        + np.arccos(0.8 * t[0])
        + np.arctanh(0.9 * t[1])
        + np.arcsinh(x[2])
        + np.arccosh(1.5 + x[3] ** 2)
        + np.tan(0.5 * x[0])
        + np.sinh(x[1]) * np.cosh(x[2])
        - np.cos(x[3]) * np.sin(x[2])
    )


def logs_exps(x):  # positive domain
    return (
        np.log2(x[0])
        + np.log10(x[1] * x[2])
        + np.log(x[3])
        + np.exp2(x[0] - x[1])
        + np.expm1(-x[2])
        + np.log1p(x[3])
        + np.square(x[0])
        + np.deg2rad(x[1])
        + np.sin(np.rad2deg(x[2]) / 100.0)
        + np.exp(-x[3])
    )


def logsumexp(x):
    m = np.max(x)  # max-shifted: smooth everywhere, ties included
    return m + np.log(np.sum(np.exp(x - m)))


def norms(x):  # positive domain: abs is smooth there
    return np.sqrt(np.dot(x, x)) + np.sum(np.abs(x)) ** 0.5 + x.dot(C5) + np.mean(x**2)


def horner(x):  # n = 1
    y = 0.0
    for c in (0.5, -1.0, 2.0, 0.3, -0.7):
        y = y * x[0] + c
    return y


def chain40(x):  # n = 40: more inputs than the 32 lanes of one tangent block
    s = x[0]
    for i in range(1, len(x)):
        s = 0.9 * np.sin(s) + x[i] * np.cos(x[i - 1])
    return s + 0.01 * np.sum(x**2)


def piecewise_constant_parts(x):  # floor, %, //, sign, abs, trunc, ceil: constant pieces in the domain
    return (
        (x[0] % 2.0) * x[1]
        + (x[0] // 1.0) * x[1] ** 2
        + np.floor(x[1])
        + np.sign(x[0]) * x[0]
        + abs(x[1] - 1.0)
        + np.fabs(x[0]) * np.trunc(x[0])
        + np.ceil(x[1]) * x[0]
        + np.remainder(x[1], 0.5)
        + np.floor_divide(x[0], 0.95)
    )


def clipped(x):  # minimum / maximum without ties on the domain [0, 1]^3
    return (
        np.minimum(x[0], x[1] + 2.0)
        + np.maximum(2.0 * x[2] - 5.0, x[1])
        + np.sum(np.maximum(x, -1.0))
        + np.min(x + np.array([0.0, 3.0, 6.0]))
    )


def unused_input(x):  # x[1] cancels, x[3] is never read
    return x[0] * np.exp(x[2]) - x[2] + x[0] * x[0] + (x[1] - x[1]) * 3.0 + 0.0 * x[1]


# --- scalar functions with parameters ---------------------------------------------------
def gaussian_nll(x, p):  # p = (mu, log sigma)
    mu, s = p[0], np.exp(p[1])
    return np.sum(0.5 * ((x - mu) / s) ** 2) + len(x) * p[1]


def least_squares(x, p):  # model x0 exp(x1 t); data (t, y) in params
    t, y = p[:4], p[4:]
    r = x[0] * np.exp(x[1] * t) - y
    return np.dot(r, r)


# --- vector functions ---------------------------------------------------------------------
def lorenz(x, p):  # ODE right-hand side with parameters (sigma, rho, beta)
    sigma, rho, beta = p[0], p[1], p[2]
    return [sigma * (x[1] - x[0]), x[0] * (rho - x[2]) - x[1], x[0] * x[1] - beta * x[2]]


def pendulum(x):  # ODE right-hand side, returned as a NumPy array
    return np.array([x[1], -np.sin(x[0]) - 0.1 * x[1]])


def lotka_volterra(x):
    return (1.1 * x[0] - 0.4 * x[0] * x[1], 0.1 * x[0] * x[1] - 0.4 * x[1])


def softmax(x):
    z = x - np.max(x)
    e = np.exp(z)
    return e / np.sum(e)


def tanh_network(x):
    return W2 @ np.tanh(W1 @ x + BIAS1) + BIAS2


def features(x):  # m > n, one output constant
    return [x[0], x[1], x[0] * x[1], np.sin(x[0]), np.exp(0.5 * x[1]) / (1 + x[0] ** 2), 3.0]


def spiral(x):  # n = 1
    return (np.cos(x[0]), np.sin(x[0]), x[0] ** 2)


def cumulative(x):
    c = np.cumsum(x)
    return c * np.prod(x) / np.mean(x)


def matrix_ops(x):  # x as a 2 x 3 matrix
    X = x.reshape((2, 3))
    G = X @ X.T
    return np.array([G[0, 0] * G[1, 1] - G[0, 1] * G[1, 0], np.sum(X * C23), X[1, 2] ** 2, G[0, 1]])


def discrete_laplacian(x):  # n = m = 40: Jacobians need more than one 32-lane block
    xp = np.concatenate([[0.0], x, [0.0]])
    return xp[:-2] - 2.0 * xp[1:-1] + xp[2:] + 0.1 * np.sin(x) ** 3


def repeated_outputs(x):  # the same value returned twice, and an input returned as is
    y = x[0] * np.exp(x[1])
    return [y, x[1], y, np.log(1.0 + x[0] ** 2)]


CASES = [
    Case("rosenbrock", rosenbrock, 6, -1.5, 1.5),
    Case("quadratic_form", quadratic_form, 5, -2.0, 2.0),
    Case("loop_accumulate", loop_accumulate, 4, -2.0, 2.0),
    Case("powers", powers, 5, 0.3, 2.0),
    Case("negative_base_powers", negative_base_powers, 2, -2.0, -0.4),
    Case("rational", rational, 4, 0.5, 2.0),
    Case("polar", polar, 3, [0.5, -2.0, 0.5], [2.0, 2.0, 2.0]),
    Case("special", special, 3, -2.0, 2.0),
    Case("nested", nested, 3, -1.0, 1.0),
    Case("trig_hyperbolic", trig_hyperbolic, 4, -1.5, 1.5),
    Case("logs_exps", logs_exps, 4, 0.3, 3.0),
    Case("logsumexp", logsumexp, 6, -3.0, 3.0),
    Case("norms", norms, 5, 0.2, 1.5),
    Case("horner", horner, 1, -1.5, 1.5),
    Case("chain40", chain40, 40, -1.0, 1.0),
    Case("piecewise_constant_parts", piecewise_constant_parts, 2, [2.1, 0.1], [2.7, 0.4]),
    Case("clipped", clipped, 3, 0.0, 1.0),
    Case("unused_input", unused_input, 4, -1.0, 1.0),
    Case("gaussian_nll", gaussian_nll, 4, -2.0, 2.0, p0=(0.1, -0.2), p_lo=[-1.0, -0.5], p_hi=[1.0, 0.5]),
    Case(
        "least_squares",
        least_squares,
        2,
        [0.5, -1.0],
        [2.0, 0.5],
        p0=(0.0, 0.5, 1.0, 1.5, 1.0, 1.4, 2.1, 2.9),
        p_lo=[0.0, 0.4, 0.9, 1.4, 0.5, 1.0, 1.5, 2.0],
        p_hi=[0.1, 0.6, 1.1, 1.6, 1.5, 2.0, 2.5, 3.5],
    ),
    Case(
        "lorenz", lorenz, 3, -5.0, 5.0, m=3, p0=(10.0, 28.0, 8.0 / 3.0), p_lo=[5.0, 10.0, 1.0], p_hi=[15.0, 40.0, 4.0]
    ),
    Case("pendulum", pendulum, 2, -3.0, 3.0, m=2),
    Case("lotka_volterra", lotka_volterra, 2, 0.1, 5.0, m=2),
    Case("softmax", softmax, 5, -3.0, 3.0, m=5),
    Case("tanh_network", tanh_network, 4, -2.0, 2.0, m=2),
    Case("features", features, 2, -1.5, 1.5, m=6),
    Case("spiral", spiral, 1, -3.0, 3.0, m=3),
    Case("cumulative", cumulative, 4, 0.5, 1.5, m=4),
    Case("matrix_ops", matrix_ops, 6, -1.5, 1.5, m=4),
    Case("discrete_laplacian", discrete_laplacian, 40, -1.0, 1.0, m=40),
    Case("repeated_outputs", repeated_outputs, 2, -1.0, 1.0, m=4),
]

BY_NAME = {case.name: case for case in CASES}
