"""Dual numbers: forward-mode derivatives with no tape, in Python and inside @njit code.

Run with `.venv/bin/python examples/dual_numbers.py`. Every derivative printed is checked
against numba_ad's tape (ad.trace), and the script stops with an AssertionError if one differs.
Timings are measured on this machine and vary from run to run.
"""

import math
import time

import numpy as np
from numba import njit

import numba_ad as ad
from numba_ad import fwd
from numba_ad.dual import Dual, DualArray


def section(title):
    print(f"\n== {title} " + "=" * max(3, 76 - len(title)))


def check(label, got, expected, rtol=1e-12):
    """Print a result beside the tape's and fail loudly when they differ."""
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=1e-14)
    shown = f"{float(got) + 0.0:.6f}" if np.ndim(got) == 0 else np.array2string(np.asarray(got), precision=6)
    print(f"  {label:<34} {shown}   (tape agrees)")


# ---------------------------------------------------------------------------------------
section("1. A Dual carries a value and its derivative")
# Dual(value, deriv): seed deriv = 1 to differentiate with respect to this value.
x = Dual.variable(0.5)  # Dual(0.5, 1.0)
y = x * np.sin(x) + x**3 / (1 + np.exp(-x))  # NumPy's functions take Duals in Python
print(f"  x = {x}")
print(f"  y = x sin x + x^3 / (1 + e^-x) = {y}")
tape = ad.trace(lambda v: v[0] * np.sin(v[0]) + v[0] ** 3 / (1 + np.exp(-v[0])), np.array([0.5]))
check("dy/dx", y.deriv, tape.gradient(np.array([0.5]))[0])
# Comparisons look at values only; constants and ints mix freely.
print(f"  Dual(1, 5) == 1.0 -> {Dual(1.0, 5.0) == 1.0};  2 ** x = {2**x}")


# ---------------------------------------------------------------------------------------
section("2. The same Duals inside @njit code")


@njit
def smooth_step(t):
    """Written for floats; runs unchanged on a Dual (math functions included)."""
    s = 0.0  # a float that becomes Dual(0, 0) when a Dual is added to it
    for k in range(1, 4):
        s += math.tanh(k * t) / k
    return s


d = smooth_step(Dual.variable(0.3))  # the Dual goes in and comes back out
print(f"  smooth_step(0.3) on a float: {smooth_step(0.3)!r}")
print(f"  smooth_step(Dual(0.3, 1)):  {d}")
tape = ad.trace(lambda v: sum(np.tanh(k * v[0]) / k for k in range(1, 4)), np.array([0.3]))
check("d smooth_step / dt", d.deriv, tape.gradient(np.array([0.3]))[0])


@njit
def inside():
    a = Dual(2.0, 1.0)  # constructors work in @njit code too
    b = Dual.constant(3.0)
    return np.hypot(a, b), max(a, b), a**b


print(f"  hypot, max, power inside @njit: {inside()}")

# ---------------------------------------------------------------------------------------
section("3. fwd.derivative: f'(x) of a scalar function (Python or @njit)")


def bump(t):
    return np.exp(-t * t) * np.cos(3 * t)


for t in (0.0, 0.4, 1.1):
    tape = ad.trace(lambda v: bump(v[0]), np.array([t]))
    check(f"derivative(bump, {t})", fwd.derivative(bump, t), tape.gradient(np.array([t]))[0])
    check(
        f"derivative(@njit smooth_step, {t})",
        fwd.derivative(smooth_step, t),
        ad.trace(lambda v: sum(np.tanh(k * v[0]) / k for k in range(1, 4)), np.array([t])).gradient(np.array([t]))[0],
    )

# ---------------------------------------------------------------------------------------
section("4. fwd.gradient: n passes of a generic kernel on a DualArray")


@njit
def rosenbrock(x):
    """The chained Rosenbrock function, written once for float arrays."""
    s = 0.0
    for i in range(x.shape[0] - 1):
        t = x[i + 1] - x[i] * x[i]
        s += 100.0 * t * t + (1.0 - x[i]) ** 2
    return s


n = 10
x0 = np.linspace(-1.0, 1.0, n)
g = fwd.gradient(rosenbrock, x0)
tape = ad.trace(rosenbrock.py_func, x0)  # the same source, traced by Python
check("fwd.gradient(rosenbrock)[:4]", g[:4], tape.gradient(x0)[:4])
np.testing.assert_allclose(g, tape.gradient(x0), rtol=1e-12)

# A DualArray is a pair of arrays: x[i] reads Dual(value[i], deriv[i]). One pass by hand:
direction = np.zeros(n)
direction[3] = 1.0
print(f"  rosenbrock(DualArray(x0, e_3)).deriv = {rosenbrock(DualArray(x0, direction)).deriv!r} = g[3]")

grad_into = fwd.gradient_kernel(rosenbrock)  # compiled (x, g) -> f(x): no Python in the loop
out = np.empty(n)
grad_into(x0, out)  # compile both before timing
rosenbrock(x0)
reps = 20000
start = time.perf_counter()
for _ in range(reps):
    grad_into(x0, out)
t_fwd = (time.perf_counter() - start) / reps
start = time.perf_counter()
for _ in range(reps):
    rosenbrock(x0)
t_f = (time.perf_counter() - start) / reps
print(
    f"  n = {n}: forward gradient {t_fwd * 1e6:.2f} µs, one float evaluation {t_f * 1e6:.2f} µs "
    f"(ratio {t_fwd / t_f:.1f}: n passes, each a Dual evaluation)"
)

# ---------------------------------------------------------------------------------------
section("5. fwd.jacobian: kernels that return a tuple or write into `out`")


@njit
def polar_returning(x):
    return x[0] * np.cos(x[1]), x[0] * np.sin(x[1]), np.hypot(x[0], 1.0)


@njit
def polar_writing(x, out):  # two parameters: fwd.jacobian passes an `out` DualArray
    out[0] = x[0] * np.cos(x[1])
    out[1] = x[0] * np.sin(x[1])
    out[2] = np.hypot(x[0], 1.0)


p = np.array([2.0, 0.25])
tape = ad.trace(lambda v: list(polar_returning.py_func(v)), p)
check("jacobian (returned tuple), row 0", fwd.jacobian(polar_returning, p, 3)[0], tape.jacobian(p)[0])
check("jacobian (out argument),   row 1", fwd.jacobian(polar_writing, p, 3)[1], tape.jacobian(p)[1])
np.testing.assert_allclose(fwd.jacobian(polar_writing, p, 3), tape.jacobian(p), rtol=1e-12)

print("\nAll derivatives agree with the tape.")
