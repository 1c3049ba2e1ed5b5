"""Problems shared by the numba_ad benchmarks (bench_core.py) and the report (report.py).

Not collected by pytest (its name matches neither test_*.py nor bench_*.py).

Each problem comes in four versions:

* ``traced``: the function as a user writes it for ``numba_ad.trace`` (loop style, Python
  operators and NumPy ufuncs on traced scalars);
* ``floor``: a plain ``@njit`` value of f, the figure every timing is divided by;
* ``value_and_grad``: a hand-written ``@njit`` value and gradient, the practical limit of any
  gradient (writes the gradient into ``g`` and returns the value);
* ``reference``: vectorised NumPy over the last axis; it also accepts complex input, which
  gives an independent complex-step gradient (``complex_step_gradient``) for the tests.
"""

import math
import os
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from numba import njit, prange

SEED = 20240611
FULL_SIZES = (10, 1000, 100_000)
QUICK_SIZES = (10, 1000)


def quick_mode():
    """True when NUMBA_AD_BENCH_QUICK is set to anything but "" or "0" (how `make test` runs)."""
    return os.environ.get("NUMBA_AD_BENCH_QUICK", "") not in ("", "0")


def sizes(quick=None):
    return QUICK_SIZES if (quick_mode() if quick is None else quick) else FULL_SIZES


def points(n):
    """(x_rec, x_rep): the recording point and a different replay point, uniform in [-1, 1)."""
    rng = np.random.default_rng([SEED, n])
    return rng.uniform(-1.0, 1.0, n), rng.uniform(-1.0, 1.0, n)


# ---------------------------------------------------------------------------------------
# P1: chained Rosenbrock
# ---------------------------------------------------------------------------------------
def p1_traced(x):
    return sum(100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2 for i in range(len(x) - 1))


@njit
def p1_floor(x):
    s = 0.0
    for i in range(x.shape[0] - 1):
        xi = x[i]
        t = x[i + 1] - xi * xi
        u = 1.0 - xi
        s += 100.0 * (t * t) + u * u
    return s


@njit
def p1_value_and_grad(x, g):
    n = x.shape[0]
    for i in range(n):
        g[i] = 0.0
    s = 0.0
    for i in range(n - 1):
        xi = x[i]
        t = x[i + 1] - xi * xi
        u = 1.0 - xi
        s += 100.0 * (t * t) + u * u
        g[i] += -400.0 * xi * t - 2.0 * u
        g[i + 1] += 200.0 * t
    return s


def p1_reference(x):
    head, tail = x[..., :-1], x[..., 1:]
    return np.sum(100.0 * (tail - head**2) ** 2 + (1.0 - head) ** 2, axis=-1)


# ---------------------------------------------------------------------------------------
# P2: sum sin(x_i) exp(cos(x_{i+1})) / (1 + x_i^2) + log(1 + x_i^2)
# ---------------------------------------------------------------------------------------
def p2_traced(x):
    return sum(
        np.sin(x[i]) * np.exp(np.cos(x[i + 1])) / (1 + x[i] ** 2) + np.log(1 + x[i] ** 2) for i in range(len(x) - 1)
    )


@njit
def p2_floor(x):
    s = 0.0
    for i in range(x.shape[0] - 1):
        xi = x[i]
        q = 1.0 + xi * xi
        s += math.sin(xi) * math.exp(math.cos(x[i + 1])) / q + math.log(q)
    return s


@njit
def p2_value_and_grad(x, g):
    # sin and cos of x[i + 1] are carried to the next term: 4 transcendentals per term, as the floor.
    n = x.shape[0]
    for i in range(n):
        g[i] = 0.0
    s = 0.0
    if n < 2:
        return s
    si = math.sin(x[0])
    ci = math.cos(x[0])
    for i in range(n - 1):
        xi = x[i]
        xj = x[i + 1]
        sj = math.sin(xj)
        cj = math.cos(xj)
        q = 1.0 + xi * xi
        e = math.exp(cj)
        a = si * e / q
        s += a + math.log(q)
        g[i] += (ci * e - a * 2.0 * xi) / q + 2.0 * xi / q
        g[i + 1] += -a * sj
        si = sj
        ci = cj
    return s


def p2_reference(x):
    head, tail = x[..., :-1], x[..., 1:]
    q = 1.0 + head**2
    return np.sum(np.sin(head) * np.exp(np.cos(tail)) / q + np.log(q), axis=-1)


class Problem(NamedTuple):
    name: str
    traced: Callable
    floor: Callable
    value_and_grad: Callable
    reference: Callable


PROBLEMS = {
    "P1": Problem("P1", p1_traced, p1_floor, p1_value_and_grad, p1_reference),
    "P2": Problem("P2", p2_traced, p2_floor, p2_value_and_grad, p2_reference),
}


def complex_step_gradient(reference, x, h=1e-30):
    """Gradient of an analytic `reference` by the complex step: exact to rounding, no cancellation."""
    n = x.shape[0]
    X = np.tile(x.astype(np.complex128), (n, 1))
    X[np.arange(n), np.arange(n)] += 1j * h
    return reference(X).imag / h


def driver_buffers(tape):
    """Preallocated arguments for drivers.eval_into / drivers.value_and_gradient_into."""
    n_slots = tape.n_ops
    return dict(
        p=np.empty(0),
        w=np.empty(n_slots),
        d_a=np.empty(n_slots),
        d_b=np.empty(n_slots),
        w_bar=np.empty(n_slots),
        out=np.empty(tape.n_outputs),
        g=np.empty(tape.n_inputs),
    )


@njit(parallel=True)
def p2_gradient_many_hand(X, G):
    """The P2 gradient at each row of X, hand-written, on every core: the floor of gradient_many."""
    for i in prange(X.shape[0]):
        p2_value_and_grad(X[i], G[i])


@njit
def p2_floor_many(X, out):
    """P4's floor: the P2 floor at each row of X, serially."""
    for i in range(X.shape[0]):
        out[i] = p2_floor(X[i])


# ---------------------------------------------------------------------------------------
# Branch problems (bench_branches.py, report_branches.py)
# ---------------------------------------------------------------------------------------
def p1_guarded(x):
    """P1 with one guard per term (x[i] < 2 holds on the benchmark points, in [-1, 1))."""
    s = 0.0
    for i in range(len(x) - 1):
        term = 100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2
        if x[i] < 2.0:
            s = s + term
        else:
            s = s - term
    return s


def p1_two_pieces(x):
    """P1 on one side of x[0] = 0, twice P1 on the other: two tapes for ad.function."""
    s = p1_traced(x)
    return s if x[0] > 0 else 2.0 * s


def two_piece_points(n):
    """(x_a, x_b): points on either side of x[0] = 0."""
    x_a, x_b = points(n)[1].copy(), points(n)[1].copy()
    x_a[0], x_b[0] = 0.5, -0.5
    return x_a, x_b


def without_guard_checks(tape):
    """The same tape with its guards unlisted: the comparison ops stay, nobody checks them."""
    from numba_ad import Tape

    arrays = tape.arrays._replace(guards=tape.arrays.guards[:0])
    return Tape.from_arrays(arrays, scalar_output=tape.scalar_output)
