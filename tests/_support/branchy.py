"""Branchy functions for the branch tests: each written once, run by numba_ad and as plain Python.

Every entry gives f (for tracing and for plain NumPy floats alike), a sampler of points that
covers every branch, the number of pieces (tapes) f can need at most, and whether f is smooth
enough between its kinks for a central-difference check of the gradient.
"""

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

import numba_ad as ad


class Branchy(NamedTuple):
    f: Callable
    n: int
    low: float
    high: float
    max_pieces: int  # distinct tapes f can need (0: unbounded in principle, e.g. loops)
    fd_step: float = 1e-6


def abs_chain(x):
    return sum(abs(x[i]) * x[i + 1] + abs(x[i] - x[i + 1]) for i in range(len(x) - 1))


def max_min(x):
    return max(x[0], x[1]) * min(x[1], x[2]) + max(x[0] * x[2], 0.5)


def clipped(x):
    return np.sum(ad.clip(x, -0.5, 0.7) ** 2) + ad.clip(x[0] * x[1], None, 0.1)


def piecewise_cubic(x):
    """Three pieces joined with matching values and slopes (a C1 spline)."""
    t = x[0]
    if t < -1.0:
        return -2.0 * t - 1.0 + x[1]
    elif t < 1.0:
        return t**2 + x[1] * t
    else:
        return 2.0 * t - 1.0 + x[1] + (t - 1.0) ** 3


def huber(x, delta=0.5):
    total = 0.0
    for i in range(len(x)):
        r = x[i] - 0.1 * i
        if abs(r) <= delta:
            total = total + 0.5 * r * r
        else:
            total = total + delta * (abs(r) - 0.5 * delta)
    return total


_W1 = np.array([[0.8, -0.5, 0.3], [-0.2, 0.9, 0.4], [0.5, 0.1, -0.7], [0.3, 0.3, 0.3]])
_B1 = np.array([0.1, -0.2, 0.05, 0.0])
_W2 = np.array([1.0, -0.8, 0.6, 0.4])


def relu_net_if(x):
    """A small ReLU network written with an if per unit (guards)."""
    out = 0.0
    for j in range(4):
        h = _W1[j, 0] * x[0] + _W1[j, 1] * x[1] + _W1[j, 2] * x[2] + _B1[j]
        if h > 0:
            out = out + _W2[j] * h
    return out


def relu_net_maximum(x):
    """The same network with np.maximum (no guards: one tape)."""
    h = _W1 @ x + _B1
    return np.maximum(h, 0.0) @ _W2


def newton_sqrt(x):
    """sqrt(x[0]) by Newton's iteration: the trip count depends on x."""
    a = x[0]
    y = a
    while abs(y * y - a) > 1e-12 * a:
        y = 0.5 * (y + a / y)
    return y * x[1]


def bisection_cbrt(x):
    """cbrt(x[0]) on [0, max(1, x0)] by bisection to 1e-3: the result is piecewise linear in x0."""
    a = x[0]
    lo, hi = 0.0 * a, np.maximum(a, 1.0)
    while hi - lo > 1e-3:
        mid = 0.5 * (lo + hi)
        if mid * mid * mid < a:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


FUNCTIONS = {
    "abs_chain": Branchy(abs_chain, 4, -1.0, 1.0, 0),
    "max_min": Branchy(max_min, 3, -1.0, 1.0, 0),
    "clipped": Branchy(clipped, 3, -1.0, 1.0, 1),
    "piecewise_cubic": Branchy(piecewise_cubic, 2, -2.5, 2.5, 3),
    "huber": Branchy(huber, 3, -1.0, 1.5, 8),
    "relu_net_if": Branchy(relu_net_if, 3, -1.0, 1.0, 16),
    "relu_net_maximum": Branchy(relu_net_maximum, 3, -1.0, 1.0, 1),
    "newton_sqrt": Branchy(newton_sqrt, 2, 0.3, 4.0, 0),
    "bisection_cbrt": Branchy(bisection_cbrt, 1, 0.2, 3.0, 0, fd_step=1e-9),
}


def plain(f, x):
    """f run on plain floats (NumPy float64 elements), as a user without numba_ad would."""
    return float(f(np.asarray(x, dtype=np.float64)))
