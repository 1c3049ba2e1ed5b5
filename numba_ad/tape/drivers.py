"""Drivers: @njit functions named after the math, each one compiled call from Python.

A driver seeds, runs the sweeps and gathers, writing its result into the last argument
(``out``, ``g``) and returning the index of the first guard that failed (-1 when the point
lies on the recorded branch). The Python layer (api/tape.py) validates, allocates and raises;
these functions only check the sizes they rely on, so that no index goes out of range
whatever a caller passes.

Buffers: ``w`` values, ``d_a``/``d_b`` local partials, ``w_bar`` one adjoint (all
[n_slots]); ``lanes`` a [n_slots, L] block used for L directions at a time.
"""

from numba_ad._config import kernel
from numba_ad.tape.sweeps import (
    adjoint_sweep,
    adjoint_sweep_1,
    first_failed_guard,
    guard_check_sweep,
    linearize2_sweep,
    linearize_sweep,
    primal_sweep,
    second_order_adjoint_sweep,
    second_order_adjoint_sweep_1,
    second_order_forward_sweep_1,
    tangent_sweep,
    taylor_sweep,
)


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


# ---------------------------------------------------------------------------------------
# Second order and Taylor mode
# ---------------------------------------------------------------------------------------
WORK_ROWS = 8  # rows of the `work` buffer of hvp_into, each [n_slots]
TAYLOR_SCRATCH_ROWS = 4  # rows of taylor_into's scratch S: the auxiliary series of the recurrences


@kernel
def hvp_into(tape, x, p, V, weights, work, lanes_dot, lanes_bar, out):
    """H V into out (n, K) for directions V (n, K), where H is the Hessian at x of
    sum_i weights[i] F_i (weights (m,); [1.0] for a scalar tape): forward over reverse.

    work is a [WORK_ROWS, n_slots] scratch buffer; lanes_dot and lanes_bar are
    [n_slots, L] blocks (L >= 1) for K > 1 directions, L at a time (unused when K == 1).
    One direction takes a fused path: one forward pass (values, partials, the tangent and
    its second-order terms) and one backward pass (adjoint and adjoint tangent together).
    Several directions share one linearization (with second partials) and one adjoint, and
    run a tangent sweep and a second-order adjoint sweep per block of L.
    """
    n_slots = tape.op.shape[0]
    inputs, outputs = tape.inputs, tape.outputs
    K = V.shape[1]
    if work.shape[0] < WORK_ROWS or work.shape[1] != n_slots:
        raise ValueError("hvp: work must be (WORK_ROWS, n_slots)")
    if V.shape[0] != inputs.shape[0] or out.shape[0] != inputs.shape[0] or out.shape[1] != K:
        raise ValueError("hvp: V must be (n_inputs, K) and out (n_inputs, K)")
    if weights.shape[0] != outputs.shape[0]:
        raise ValueError("hvp: weights must have one entry per output")
    w = work[0]
    d_a = work[1]
    d_b = work[2]
    w_bar = work[6]
    _check_point(tape, x, p, w)
    if K == 1:
        w_bar_dot = work[7]
        second_order_forward_sweep_1(tape, x, p, V, 0, w, d_a, d_b, work[5], work[3], work[4])
        w_bar[:] = 0.0
        w_bar_dot[:] = 0.0
        for j in range(outputs.shape[0]):
            w_bar[outputs[j]] += weights[j]  # += : two outputs may be the same slot
        second_order_adjoint_sweep_1(tape, d_a, d_b, work[3], work[4], w_bar, w_bar_dot)
        for j in range(inputs.shape[0]):
            out[j, 0] = w_bar_dot[inputs[j]]
        return first_failed_guard(tape, w)
    L = lanes_dot.shape[1]
    if lanes_dot.shape[0] != n_slots or lanes_bar.shape[0] != n_slots or lanes_bar.shape[1] != L or (L == 0 and K > 0):
        raise ValueError("hvp: the lane buffers must both be (n_slots, L) with L >= 1")
    d_aa = work[3]
    d_ab = work[4]
    d_bb = work[5]
    linearize2_sweep(tape, x, p, w, d_a, d_b, d_aa, d_ab, d_bb)
    w_bar[:] = 0.0
    for j in range(outputs.shape[0]):
        w_bar[outputs[j]] += weights[j]
    adjoint_sweep_1(tape, d_a, d_b, w_bar)
    for k0 in range(0, K, L):
        n_lanes = min(L, K - k0)
        for j in range(inputs.shape[0]):
            for k in range(n_lanes):
                lanes_dot[inputs[j], k] = V[j, k0 + k]
        tangent_sweep(tape, d_a, d_b, lanes_dot, n_lanes)
        lanes_bar[:, :n_lanes] = 0.0
        second_order_adjoint_sweep(tape, d_a, d_b, d_aa, d_ab, d_bb, w_bar, lanes_dot, lanes_bar, n_lanes)
        for j in range(inputs.shape[0]):
            for k in range(n_lanes):
                out[j, k0 + k] = lanes_bar[inputs[j], k]
    return first_failed_guard(tape, w)


@kernel
def taylor_into(tape, x, p, v, X, S, out):
    """Taylor coefficients 0..D of the outputs along t -> x + t v into out (m, D + 1).

    X is [n_slots, D + 1] (every slot's coefficients), S scratch [TAYLOR_SCRATCH_ROWS, D + 1].
    """
    n_slots = tape.op.shape[0]
    D1 = X.shape[1]
    if x.shape[0] != tape.inputs.shape[0] or v.shape[0] != x.shape[0]:
        raise ValueError("taylor: x and v must have length n_inputs")
    if p.shape[0] != tape.params.shape[0]:
        raise ValueError("params has the wrong length for this tape (expected tape.n_params)")
    if X.shape[0] != n_slots or D1 == 0 or S.shape[0] < TAYLOR_SCRATCH_ROWS or S.shape[1] != D1:
        raise ValueError("taylor: X must be (n_slots, D + 1) and S (4, D + 1)")
    outputs = tape.outputs
    if out.shape[0] != outputs.shape[0] or out.shape[1] != D1:
        raise ValueError("taylor: out must be (n_outputs, D + 1)")
    taylor_sweep(tape, x, p, v, X, S)
    for j in range(outputs.shape[0]):
        for k in range(D1):
            out[j, k] = X[outputs[j], k]
    guards, c = tape.guards, tape.c
    for k in range(guards.shape[0]):
        if X[guards[k], 0] != c[guards[k]]:
            return k
    return -1
