"""Drivers: @njit functions named after the math, each one compiled call from Python.

A driver seeds, runs the sweeps and gathers, writing its result into the last argument
(``out``, ``g``) and returning the index of the first guard that failed (-1 when the point
lies on the recorded branch). The Python layer (api.py) validates, allocates and raises;
these functions only check the sizes they rely on, so that no index goes out of range
whatever a caller passes.

Buffers: ``w`` values, ``d_a``/``d_b`` local partials, ``w_bar`` one adjoint (all
[n_slots]); ``lanes`` a [n_slots, L] block used for L directions at a time.
"""
from ._config import kernel
from .sweeps import (adjoint_sweep, adjoint_sweep_1, first_failed_guard, guard_check_sweep, linearize_sweep, primal_sweep,
                     tangent_sweep)


@kernel
def _check_point(tape, x, p, w):
    if x.shape[0] != tape.inputs.shape[0]:
        raise ValueError("x has the wrong length for this tape (expected tape.n_inputs)")
    if p.shape[0] != tape.params.shape[0]:
        raise ValueError("params has the wrong length for this tape (expected tape.n_params)")
    if w.shape[0] != tape.op.shape[0]:
        raise ValueError("a work buffer has the wrong length for this tape")


@kernel
def eval_into(tape, x, p, w, out):
    """Values of the outputs at x into out (m,)."""
    _check_point(tape, x, p, w)
    primal_sweep(tape, x, p, w)
    outputs = tape.outputs
    for j in range(outputs.shape[0]):
        out[j] = w[outputs[j]]
    return first_failed_guard(tape, w)


@kernel
def linearize_into(tape, x, p, w, d_a, d_b):
    """Values and local partials of every slot at x (the step before any derivative)."""
    _check_point(tape, x, p, w)
    if d_a.shape[0] != w.shape[0] or d_b.shape[0] != w.shape[0]:
        raise ValueError("a work buffer has the wrong length for this tape")
    linearize_sweep(tape, x, p, w, d_a, d_b)
    return first_failed_guard(tape, w)


@kernel
def value_and_gradient_into(tape, x, p, w, d_a, d_b, w_bar, g):
    """Value of a scalar tape at x; its gradient into g (n,). Returns (value, failed guard)."""
    failed = linearize_into(tape, x, p, w, d_a, d_b)
    if w_bar.shape[0] != w.shape[0] or g.shape[0] != x.shape[0]:
        raise ValueError("gradient buffers have the wrong length for this tape")
    w_bar[:] = 0.0
    out = tape.outputs[0]
    w_bar[out] = 1.0
    adjoint_sweep_1(tape, d_a, d_b, w_bar)
    inputs = tape.inputs
    for j in range(inputs.shape[0]):
        g[j] = w_bar[inputs[j]]
    return w[out], failed


@kernel
def jvp_into(tape, x, p, V, w, d_a, d_b, lanes, out):
    """J(x) V into out (m, K) for directions V (n, K), in blocks of lanes.shape[1]."""
    failed = linearize_into(tape, x, p, w, d_a, d_b)
    inputs, outputs = tape.inputs, tape.outputs
    K = V.shape[1]
    L = lanes.shape[1]
    if V.shape[0] != inputs.shape[0] or out.shape[0] != outputs.shape[0] or out.shape[1] != K:
        raise ValueError("jvp: V must be (n_inputs, K) and out (n_outputs, K)")
    if lanes.shape[0] != w.shape[0] or L == 0:
        raise ValueError("jvp: the lane buffer has the wrong shape for this tape")
    for k0 in range(0, K, L):
        n_lanes = min(L, K - k0)
        for j in range(inputs.shape[0]):
            for k in range(n_lanes):
                lanes[inputs[j], k] = V[j, k0 + k]
        tangent_sweep(tape, d_a, d_b, lanes, n_lanes)
        for i in range(outputs.shape[0]):
            for k in range(n_lanes):
                out[i, k0 + k] = lanes[outputs[i], k]
    return failed


@kernel
def vjp_into(tape, x, p, W, w, d_a, d_b, lanes, out):
    """J(x)^T W into out (n, K) for cotangents W (m, K), in blocks of lanes.shape[1]."""
    failed = linearize_into(tape, x, p, w, d_a, d_b)
    inputs, outputs = tape.inputs, tape.outputs
    K = W.shape[1]
    L = lanes.shape[1]
    if W.shape[0] != outputs.shape[0] or out.shape[0] != inputs.shape[0] or out.shape[1] != K:
        raise ValueError("vjp: W must be (n_outputs, K) and out (n_inputs, K)")
    if lanes.shape[0] != w.shape[0] or L == 0:
        raise ValueError("vjp: the lane buffer has the wrong shape for this tape")
    for k0 in range(0, K, L):
        n_lanes = min(L, K - k0)
        lanes[:, :n_lanes] = 0.0
        # += : two outputs may be the same slot
        for i in range(outputs.shape[0]):
            for k in range(n_lanes):
                lanes[outputs[i], k] += W[i, k0 + k]
        adjoint_sweep(tape, d_a, d_b, lanes, n_lanes)
        for j in range(inputs.shape[0]):
            for k in range(n_lanes):
                out[j, k0 + k] = lanes[inputs[j], k]
    return failed


@kernel
def check_into(tape, x, p, w):
    """Index of the first guard that fails at x (-1: x is on the recorded branch)."""
    _check_point(tape, x, p, w)
    return guard_check_sweep(tape, x, p, w)
