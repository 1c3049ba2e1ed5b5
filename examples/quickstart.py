"""numba_ad quick start: record a function once, then evaluate it and its derivatives at many
new points with compiled sweeps, without running the Python function again.

Run with `make demo` (or `.venv/bin/python examples/quickstart.py`). Every number printed
is measured by this script on this machine; timings vary from run to run.
"""

import time

import numpy as np

import numba_ad as ad

rng = np.random.default_rng(0)


def fmt(seconds):
    """A duration with a readable unit."""
    if seconds >= 1.0:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} µs"


def per_call(fn, points, *args, **kwargs):
    """Mean wall time of fn(x, ...) over the given points."""
    start = time.perf_counter()
    for x in points:
        fn(x, *args, **kwargs)
    return (time.perf_counter() - start) / len(points)


def section(title):
    print(f"\n== {title} " + "=" * max(3, 76 - len(title)))


# ---------------------------------------------------------------------------------------
section("1. Record a tape: chained Rosenbrock, n = 1000, as a Python loop")


def rosenbrock(x):
    return sum(100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2 for i in range(len(x) - 1))


n = 1000
x0 = np.tile([-1.2, 1.0], n // 2)
start = time.perf_counter()
tape = ad.trace(rosenbrock, x0)
t_trace = time.perf_counter() - start
print(f"ad.trace(rosenbrock, x0) ran the Python once in {fmt(t_trace)}")
print(f"  {tape}")
print(f"  {tape.n_ops} slots ({tape.n_inputs} inputs, the rest constants and operations)")

# ---------------------------------------------------------------------------------------
section("2. Replay at new points")
start = time.perf_counter()
tape.eval(x0)
t_first_eval = time.perf_counter() - start
start = time.perf_counter()
tape.gradient(x0)
t_first_grad = time.perf_counter() - start
print("The first call of each kind compiles its numba kernels (or loads them from numba's")
print("on-disk cache when they were compiled before):")
print(f"  first tape.eval:     {fmt(t_first_eval)}")
print(f"  first tape.gradient: {fmt(t_first_grad)}")

points = rng.normal(1.0, 0.5, size=(300, n))
# Sanity check before timing: the replay equals the Python function at a new point.
assert abs(tape.eval(points[0]) - rosenbrock(points[0])) <= 1e-12 * abs(rosenbrock(points[0]))
t_eval = per_call(tape.eval, points)
t_grad = per_call(tape.gradient, points)
t_python = per_call(rosenbrock, points[:30])
print(f"Then, averaged over {len(points)} random points never seen while tracing:")
print(
    f"  tape.eval(x):        {fmt(t_eval)} per call  "
    f"({t_eval / tape.n_ops * 1e9:.1f} ns per slot, Python call included)"
)
print(f"  tape.gradient(x):    {fmt(t_grad)} per call  (value and full gradient, {n} entries)")
print(f"  for comparison, the Python rosenbrock(x) on a float array: {fmt(t_python)} per call,")
print(f"  and recording a fresh tape (ad.trace) took {fmt(t_trace)}")

# ---------------------------------------------------------------------------------------
section("3. Check the gradient against a central finite difference")
x = points[1]
v = rng.standard_normal(n)
eps = 1e-6
g = tape.gradient(x)
exact = g @ v
fd = (rosenbrock(x + eps * v) - rosenbrock(x - eps * v)) / (2 * eps)
print("Along a random direction v at a new point x:")
print(f"  gradient(x) . v                         = {exact:.10e}")
print(f"  (f(x + eps v) - f(x - eps v)) / (2 eps) = {fd:.10e}   (eps = {eps:g})")
print(f"  relative difference                     = {abs(exact - fd) / abs(exact):.1e}")

# The same checks (plus the forward/reverse dot-product test) ship with the package:
from numba_ad.testing import check_grads  # noqa: E402

start = time.perf_counter()
check_grads(rosenbrock, x)
print(
    f"numba_ad.testing.check_grads(rosenbrock, x) passed in {fmt(time.perf_counter() - start)} "
    "(includes compiling jvp/vjp)"
)

# ---------------------------------------------------------------------------------------
section("4. Gradient descent on the recorded tape")
x = x0.copy()
f, g = tape.value_and_gradient(x)
f_start = f
n_evals, n_grads, steps, step = 0, 1, 300, 1e-3
start = time.perf_counter()
for _ in range(steps):
    # Backtracking (Armijo) line search: only tape.eval, no Python re-run of rosenbrock.
    while True:
        trial = x - step * g
        f_trial = tape.eval(trial)
        n_evals += 1
        if f_trial <= f - 0.5 * step * (g @ g):
            break
        step *= 0.5
    x = trial
    f, g = tape.value_and_gradient(x)
    n_grads += 1
    step *= 2.0
elapsed = time.perf_counter() - start
print(f"{steps} steps from x0: f went from {f_start:.6g} to {f:.6g}, |gradient| = {np.linalg.norm(g):.3g}")
print(f"  {n_evals} tape.eval + {n_grads} tape.value_and_gradient calls in {fmt(elapsed)}")
print("  (plain gradient descent crawls along Rosenbrock's curved valley; what matters here is")
print("  the cost per step)")

# ---------------------------------------------------------------------------------------
section("5. A vector-valued function and its Jacobian")


def spherical_to_cartesian(q):
    r, theta, phi = q[0], q[1], q[2]
    return [r * np.sin(theta) * np.cos(phi), r * np.sin(theta) * np.sin(phi), r * np.cos(theta), r**2]


def jacobian_by_hand(q):
    r, t, p = q
    st, ct, sp, cp = np.sin(t), np.cos(t), np.sin(p), np.cos(p)
    return np.array(
        [
            [st * cp, r * ct * cp, -r * st * sp],
            [st * sp, r * ct * sp, r * st * cp],
            [ct, -r * st, 0.0],
            [2 * r, 0.0, 0.0],
        ]
    )


vtape = ad.trace(spherical_to_cartesian, np.array([1.0, 0.3, 0.2]))
q = np.array([2.0, 1.1, -0.4])  # a new point
J_fwd = vtape.jacobian(q, mode="forward")  # 3 tangent directions, one block of lanes
J_rev = vtape.jacobian(q, mode="reverse")  # 4 adjoints
J_fn = ad.jacobian(spherical_to_cartesian)(q)  # the wrapper: records at its first call
print(f"{vtape}")
print(f"jacobian at q = {q} has shape {J_fwd.shape} (m outputs x n inputs):")
print("  " + np.array2string(J_fwd, precision=6, suppress_small=True, prefix="  "))
print(f"  max |forward - by hand| = {np.abs(J_fwd - jacobian_by_hand(q)).max():.1e}")
print(f"  max |reverse - forward| = {np.abs(J_rev - J_fwd).max():.1e}")
print(f"  max |ad.jacobian(f)(q) - forward| = {np.abs(J_fn - J_fwd).max():.1e}")
print(f"  vjp with w = e_0 (row 0 of J): {vtape.vjp(q, np.array([1.0, 0, 0, 0]))}")

# ---------------------------------------------------------------------------------------
section("6. Parameters: one tape for many data sets (curve fitting)")
m = 50
t_grid = np.linspace(0.0, 2.0, m)


def make_data(a, b, c, noise):
    y = a * np.exp(-b * t_grid) + c + noise * rng.standard_normal(m)
    return np.concatenate([t_grid, y])  # params must be one 1-D float array


def loss(theta, data):
    t, y = data[:m], data[m:]
    r = theta[0] * np.exp(-theta[1] * t) + theta[2] - y
    return np.sum(r * r) / m


theta0 = np.array([1.0, 1.0, 0.0])
data1 = make_data(2.0, 1.5, 0.5, 0.01)
ptape = ad.trace(loss, theta0, params=data1)
print(f"ad.trace(loss, theta0, params=data1): {ptape}")

data2 = make_data(3.0, 0.7, -0.2, 0.01)  # different data, same tape
g_replay = ptape.gradient(theta0, params=data2)
g_fresh = ad.trace(loss, theta0, params=data2).gradient(theta0, params=data2)
print(f"gradient at theta0 with new data2: {g_replay}")
print(f"  same as a tape recorded on data2: max difference {np.abs(g_replay - g_fresh).max():.1e}")

theta, step = theta0.copy(), 1.0
f, g = ptape.value_and_gradient(theta, params=data2)
start = time.perf_counter()
for _ in range(2000):
    while True:
        trial = theta - step * g
        f_trial = ptape.eval(trial, params=data2)
        if f_trial <= f - 0.5 * step * (g @ g):
            break
        step *= 0.5
    theta = trial
    f, g = ptape.value_and_gradient(theta, params=data2)
    step *= 2.0
elapsed = time.perf_counter() - start
print(f"2000 gradient-descent steps on data2 in {fmt(elapsed)}, same tape:")
print(f"  theta = {np.round(theta, 3)}, loss = {f:.2e}  (data2 made with 3, 0.7, -0.2 plus noise)")

# ---------------------------------------------------------------------------------------
section("7. Branches: a tape is valid on the branch it recorded")


def soft_abs(x):
    # Python `if` on a traced value records a guard: the outcome seen while tracing.
    total = 0.0
    for xi in x:
        if xi > 1.0:
            total = total + (xi - 0.5)
        elif xi < -1.0:
            total = total + (-xi - 0.5)
        else:
            total = total + 0.5 * xi**2
    return total


xa = np.array([0.3, -2.0, 1.5])
btape = ad.trace(soft_abs, xa)
print(f"{btape}")
print(f"  gradient at {xa}: {btape.gradient(xa)}")
xb = np.array([0.3, -0.5, 1.5])  # x[1] moved into the middle piece
try:
    btape.gradient(xb)
except ad.BranchChangedError as err:
    print(f"  gradient at {xb} raises BranchChangedError:")
    print(
        f"    comparison {err.comparison!r}, recorded {err.recorded}, guard {err.guard}, "
        f"made at line {err.location.rsplit(':', 1)[1]}"
    )

grad_soft_abs = ad.grad(soft_abs)  # built on ad.function: a tape per branch, cached
print("ad.grad(soft_abs) traces a new branch once, then replays whichever tape fits:")
print(f"  at {xa}: {grad_soft_abs(xa)}")
print(f"  at {xb}: {grad_soft_abs(xb)}")
print(f"  at {xa} again: {grad_soft_abs(xa)}   (cache: {grad_soft_abs.stats()})")
print("  (examples/branches.py shows ad.function, where and margins)")

# ---------------------------------------------------------------------------------------
section("8. Compiling a tape: array-style Rosenbrock, n = 100000")


def rosenbrock_arrays(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


big = rng.normal(1.0, 0.5, size=(20, 100_000))
start = time.perf_counter()
big_tape = ad.trace(rosenbrock_arrays, big[0])  # array code records whole runs of ops at once
t_big_trace = time.perf_counter() - start
start = time.perf_counter()
compiled = big_tape.compile()  # the tape written out as numba loops, cached on disk
t_compile = time.perf_counter() - start
compiled.gradient(big[0])
assert np.allclose(compiled.gradient(big[1]), big_tape.gradient(big[1]), rtol=1e-12, atol=1e-9)
t_replayed = per_call(big_tape.gradient, big[2:])
t_compiled = per_call(compiled.gradient, big[2:])
t_numpy = per_call(rosenbrock_arrays, big[2:])
print(f"{big_tape!r}: traced in {fmt(t_big_trace)}, compiled in {fmt(t_compile)}")
print(f"  replayed tape.gradient(x): {fmt(t_replayed)} per call")
print(f"  compiled.gradient(x):      {fmt(t_compiled)} per call, the same gradient to rounding")
print(f"  for comparison, the NumPy function's value alone: {fmt(t_numpy)} per call")

print("\nDone.")
