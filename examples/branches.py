"""Branches that just work: a tape per branch, branch-free selects, and validity margins.

Run: .venv/bin/python examples/branches.py
"""

import numpy as np

import numba_ad as ad


# 1. A Huber loss: an `if` per residual. ad.function keeps a tape per pattern of branches.
def huber(theta, data, delta=1.0):
    t, y = data[:20], data[20:]
    total = 0.0
    for i in range(20):
        r = theta[0] + theta[1] * t[i] - y[i]
        if abs(r) <= delta:
            total = total + 0.5 * r * r
        else:
            total = total + delta * (abs(r) - 0.5 * delta)
    return total


rng = np.random.default_rng(0)
t = np.linspace(0.0, 1.0, 20)
y = 1.0 + 2.0 * t + 0.1 * rng.standard_normal(20)
y[[3, 11]] += 5.0  # two outliers: the loss is robust to them
data = np.concatenate([t, y])

fn = ad.function(huber)
theta = np.zeros(2)
for step in range(3000):  # plain gradient descent
    value, g = fn.value_and_gradient(theta, data)
    theta -= 0.05 * g
print(f"Huber fit: theta = {theta} (data: 1 + 2 t, noise, two outliers), loss {value:.4f}")
print(f"  cache: {fn.stats()}")
print("  every call was served by a tape whose guards hold there:", fn.tape_at(theta, data).check(theta, data) is None)


# 2. where: one tape valid on both sides, no NaN from the side not taken.
def safe_sinc(x):
    return ad.where(x[0] != 0, np.sin(x[0]) / x[0], 1.0)


tape = ad.trace(safe_sinc, np.array([1.0]))
for x0 in (-2.0, 0.0, 0.5):
    print(f"sinc({x0:+.1f}) = {tape.eval(np.array([x0])):.6f}, derivative {tape.gradient(np.array([x0]))[0]:+.6f}")
print(f"  one tape, {tape.n_guards} guards")


# 3. Margins: how far can x move before the tape's branch changes?
def kinked(x):
    return x[0] * x[1] if x[0] > 0.5 and x[1] < 2.0 else x[0] + x[1]


tape = ad.trace(kinked, np.array([1.0, 1.0]))
x = np.array([0.7, 1.2])
print(f"margins at {x}: {tape.margins(x)}  (x[0] - 0.5, x[1] - 2.0); check -> {tape.check(x)}")
print(f"check at [0.3, 1.2] -> guard {tape.check(np.array([0.3, 1.2]))}: {tape.guard_description(0)[0]}")
