"""Python scalar evaluators, used while tracing (values decide guards and fold constants).

They use the C library through ``math``, as numba's kernels do, so a traced value and a
replayed one agree to the bit for the common ops; where ``math`` raises instead of returning
inf or NaN, NumPy supplies the IEEE result. Ops without a ``math`` twin call their numba
kernel (``jit``), which is the replay's own code.
"""

import math

import numpy as np


def ieee(math_fn, numpy_fn):
    """scalar(x, y, c) = math_fn(x), or NumPy's IEEE value where math raises."""

    def scalar(x, y, c):
        try:
            return float(math_fn(x))
        except (ValueError, OverflowError, ZeroDivisionError):
            with np.errstate(all="ignore"):
                return float(numpy_fn(x))

    return scalar


def ieee2(fn, numpy_fn):
    """scalar(x, y, c) = fn(x, y), or NumPy's IEEE value where fn raises."""

    def scalar(x, y, c):
        try:
            return float(fn(x, y))
        except (ValueError, OverflowError, ZeroDivisionError):
            with np.errstate(all="ignore"):
                return float(numpy_fn(np.float64(x), np.float64(y)))

    return scalar


def numpy2(numpy_fn):
    """scalar(x, y, c) = numpy_fn(x, y) as a float (ops with no math twin: logaddexp)."""

    def scalar(x, y, c):
        with np.errstate(all="ignore"):
            return float(numpy_fn(np.float64(x), np.float64(y)))

    return scalar


def jit1(name):
    """scalar(x, y, c) calling the op's own numba kernel in ops/special.py, the replay's code
    (one compiled call, about 0.2 us; imported on first use, so defining the rows compiles nothing)."""

    def scalar(x, y, c):
        from numba_ad.ops import special

        return float(getattr(special, name)(float(x)))

    return scalar


def scipy_or_kernel(name):
    """scipy.special.<name> on arrays, or the op's numba kernel elementwise without SciPy."""

    def reference(x):
        try:
            import scipy.special
        except ImportError:  # pragma: no cover - exercised only without SciPy
            from numba_ad.ops import special

            return np.vectorize(getattr(special, name), otypes=[float])(x)
        return getattr(scipy.special, name)(x)

    return reference


def py_min(x, y):
    if x != x or y != y:
        return math.nan
    return y if y < x else x


def py_max(x, y):
    if x != x or y != y:
        return math.nan
    return y if y > x else x


def py_cbrt(x):
    return np.cbrt(x)  # math.cbrt needs Python 3.11; one NumPy call is cheap enough here


def py_sign(x):
    return np.sign(x)


def erf_reference(x):
    try:
        from scipy.special import erf
    except ImportError:  # pragma: no cover - exercised only without SciPy
        return np.vectorize(math.erf, otypes=[float])(x)
    return erf(x)


def erfc_reference(x):
    try:
        from scipy.special import erfc
    except ImportError:  # pragma: no cover
        return np.vectorize(math.erfc, otypes=[float])(x)
    return erfc(x)


def user_value(x, y, c):
    """The value of user primitive c (ops/user.py) at x (and y), while tracing."""
    from numba_ad.ops import user

    return user.registered(int(c)).evaluate(x, y)


def user_values(x, y, c):
    """user_value elementwise over arrays x, y (one primitive c)."""
    from numba_ad.ops import user

    return user.registered(int(c)).evaluate_many(x, y)
