"""Small functions the pickling, Dask and fuzz tests share: importable by name, so that a
Function of them pickles by reference into child processes and Dask workers."""

import numpy as np


def p2(x):
    """Smooth, scalar, any n: exp, sin, a power and a product."""
    return np.sum(np.exp(-x) * np.sin(x) ** 2) + np.prod(1.0 + 0.1 * x)


def vector_f(x, p):
    """Three outputs of three inputs and two parameters."""
    return [x[0] * p[0] + np.sin(x[1]), np.exp(x[0] * x[1]) - p[1] * x[2], x[2] ** 3]


def branchy(x):
    """Two branches on the sign of x[0], three inputs."""
    if x[0] > 0.0:
        return x[0] * x[1] + np.sum(x**2)
    return np.sin(x[1]) - x[0]
