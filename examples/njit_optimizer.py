"""numba_ad inside your own @njit code: an optimiser loop that never returns to Python.

Run with `.venv/bin/python examples/njit_optimizer.py`. The first run compiles (numba_ad's
kernels and the @njit functions below, with cache=True); later runs load them from numba's
on-disk cache. Every number printed is measured by this script.

1. BFGS written in @njit, on the chained Rosenbrock function (minimum: all ones).
2. A least-squares fit whose data are tape parameters (``work.params[:] = data``), set from
   Python, then from @njit code for many data sets in one call.
3. Multi-start over a grid of starting points in ``prange``, one workspace per chunk
   (``tape.workspaces(k)``), on Himmelblau's function (four known minima).
"""

import time

import numba
import numpy as np
from numba import njit, prange

import numba_ad as ad
from numba_ad import nb


def section(title):
    print(f"\n== {title} " + "=" * max(3, 76 - len(title)))


# ---------------------------------------------------------------------------------------
# The optimiser: BFGS with a backtracking (Armijo) line search, entirely in @njit.
# `tape` is tape.arrays and `work` a workspace (tape.workspace()): both are NamedTuples of
# arrays, so numba compiles this once for every tape and caches it (cache=True).
# ---------------------------------------------------------------------------------------
@njit(cache=True)
def bfgs(tape, work, x, max_iter, gtol):
    """Minimise the scalar tape from x (updated in place); returns (f(x), iterations)."""
    n = x.shape[0]
    H = np.eye(n)  # inverse Hessian estimate
    g, g_new, trial = np.empty(n), np.empty(n), np.empty(n)
    f = nb.value_and_gradient_into(tape, work, x, g)  # f(x); the gradient goes into g
    for it in range(max_iter):
        if np.sqrt(np.dot(g, g)) < gtol:
            return f, it
        p = -(H @ g)
        slope = np.dot(g, p)
        if slope >= 0.0:  # not a descent direction: restart from steepest descent
            H = np.eye(n)
            p = -g
            slope = np.dot(g, p)
        t = 1.0
        while True:  # backtrack until f decreases enough; nb.value is f alone (one sweep)
            for j in range(n):
                trial[j] = x[j] + t * p[j]
            if nb.value(tape, work, trial) <= f + 1e-4 * t * slope:
                break
            t *= 0.5
            if t < 1e-16:
                return f, it
        f = nb.value_and_gradient_into(tape, work, trial, g_new)
        s = trial - x
        y = g_new - g
        sy = np.dot(s, y)
        if sy > 1e-12:  # BFGS update of the inverse Hessian (skipped when curvature fails)
            rho = 1.0 / sy
            Hy = H @ y
            H += rho * ((1.0 + rho * np.dot(y, Hy)) * np.outer(s, s) - np.outer(Hy, s) - np.outer(s, Hy))
        x[:] = trial
        g[:] = g_new
    return f, max_iter


# ---------------------------------------------------------------------------------------
section("1. BFGS in @njit on the chained Rosenbrock function, n = 20")


def rosenbrock(x):
    return sum(100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2 for i in range(len(x) - 1))


n = 20
x0 = np.tile([-1.2, 1.0], n // 2)
tape = ad.trace(rosenbrock, x0)  # record once (Python runs here, and only here)
work = tape.workspace()  # preallocated buffers for this tape, passable to @njit code
print(f"{tape}")

x = x0.copy()
start = time.perf_counter()
f, iters = bfgs(tape.arrays, work, x, 10_000, 1e-10)
first = time.perf_counter() - start
x = x0.copy()
start = time.perf_counter()
f, iters = bfgs(tape.arrays, work, x, 10_000, 1e-10)
again = time.perf_counter() - start
print(f"bfgs from x0 = [-1.2, 1, -1.2, 1, ...]: f = {f:.3e} after {iters} iterations")
print(f"  max |x - 1| = {np.abs(x - 1).max():.1e}   (the minimum is x = 1, f = 0)")
print(f"  first call {first:.2f} s (compiles, or loads from numba's cache), then {again * 1e3:.2f} ms")


@njit(cache=True)
def gradient_loop(tape, work, x, g, repeats):
    total = 0.0
    for _ in range(repeats):
        total += nb.value_and_gradient_into(tape, work, x, g)
    return total


g = np.empty(n)
gradient_loop(tape.arrays, work, x0, g, 1)
repeats = 20_000
start = time.perf_counter()
gradient_loop(tape.arrays, work, x0, g, repeats)
in_njit = (time.perf_counter() - start) / repeats
start = time.perf_counter()
for _ in range(2000):
    tape.value_and_gradient(x0)
from_python = (time.perf_counter() - start) / 2000
print(
    f"one value and gradient ({tape.n_ops} ops): {in_njit * 1e9:.0f} ns inside @njit, "
    f"{from_python * 1e9:.0f} ns as tape.value_and_gradient(x) from Python"
)

# ---------------------------------------------------------------------------------------
section("2. Parameters: fit y = a exp(-b t) + c, the data set in work.params")
m = 40
t_grid = np.linspace(0.0, 3.0, m)
rng = np.random.default_rng(0)


def make_data(a, b, c):
    y = a * np.exp(-b * t_grid) + c + 0.01 * rng.standard_normal(m)
    return np.concatenate([t_grid, y])  # tape parameters are one 1-D float array


def loss(theta, data):
    t, y = data[:m], data[m:]
    r = theta[0] * np.exp(-theta[1] * t) + theta[2] - y
    return np.sum(r * r) / m


theta0 = np.array([1.0, 1.0, 0.0])
fit_tape = ad.trace(loss, theta0, params=make_data(2.0, 1.5, 0.5))
fit_work = fit_tape.workspace()
print(f"{fit_tape}")

fit_work.params[:] = make_data(3.0, 0.7, -0.2)  # new data, same tape: set from Python
theta = theta0.copy()
f, iters = bfgs(fit_tape.arrays, fit_work, theta, 1000, 1e-10)
print(f"data made with (3, 0.7, -0.2) plus noise: theta = {np.round(theta, 3)}, loss {f:.2e}, {iters} iterations")


@njit(cache=True)
def fit_all(tape, work, datasets, theta0):
    """One fit per row of `datasets`: the parameters are set inside @njit."""
    thetas = np.empty((datasets.shape[0], theta0.shape[0]))
    losses = np.empty(datasets.shape[0])
    for r in range(datasets.shape[0]):
        work.params[:] = datasets[r]
        thetas[r] = theta0
        losses[r] = bfgs(tape, work, thetas[r], 1000, 1e-10)[0]
    return thetas, losses


truth = np.array([[2.0, 1.5, 0.5], [0.5, 2.5, 1.0], [4.0, 0.3, -1.0], [1.0, 1.0, 0.0]])
datasets = np.array([make_data(*row) for row in truth])
thetas, losses = fit_all(fit_tape.arrays, fit_work, datasets, theta0)
print(f"fit_all on {len(truth)} data sets in one @njit call (noise 0.01 on y):")
for row, theta, f in zip(truth, thetas, losses):
    print(f"  made with {row}: theta = {np.round(theta, 3)}, loss {f:.2e}")

# ---------------------------------------------------------------------------------------
section("3. Multi-start in prange: one workspace per chunk of starting points")


def himmelblau(x):
    return (x[0] ** 2 + x[1] - 11) ** 2 + (x[0] + x[1] ** 2 - 7) ** 2


MINIMA = np.array([[3.0, 2.0], [-2.805118, 3.131312], [-3.779310, -3.283186], [3.584428, -1.848126]])


@njit(cache=True, parallel=True)
def multistart(tape, works, X, F):
    """BFGS from every row of X (in place). The points are split into len(works) chunks,
    one per prange iteration, each with its own workspace: no two threads share buffers.
    """
    k = len(works)
    N = X.shape[0]
    for c in prange(k):
        work = works[np.int64(c)]  # a signed index into the typed List
        for i in range(c * N // k, (c + 1) * N // k):
            # numba drops exceptions raised inside prange: test the branch first where the tape
            # has guards (nb.check returns -1 at once on a tape without any, like this one).
            if nb.check(tape, work, X[i]) >= 0:
                F[i] = np.nan
            else:
                F[i] = bfgs(tape, work, X[i], 500, 1e-10)[0]


h_tape = ad.trace(himmelblau, np.zeros(2))
k = numba.get_num_threads()
works = h_tape.workspaces(k)  # k workspaces in a numba typed List
grid = np.linspace(-5.0, 5.0, 30)
X = np.array([[a, b] for a in grid for b in grid])
F = np.empty(len(X))
start = time.perf_counter()
multistart(h_tape.arrays, works, X, F)
print(
    f"{len(X)} starting points, {k} threads, {k} workspaces: {time.perf_counter() - start:.2f} s "
    "(first call includes compiling)"
)
distance = np.linalg.norm(X[:, None, :] - MINIMA[None, :, :], axis=2)
nearest = distance.argmin(axis=1)
found = np.bincount(nearest[distance.min(axis=1) < 1e-5], minlength=4)
print(
    f"each run reached one of the four known minima: {bool((distance.min(axis=1) < 1e-5).all())}; "
    f"runs per minimum {found.tolist()}; max f at the end {F.max():.1e}"
)

print("\nDone.")
