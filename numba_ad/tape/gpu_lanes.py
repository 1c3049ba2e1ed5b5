"""Batched replay on an NVIDIA GPU (numba-cuda): one tape at N points, one CUDA thread per point.

The CPU version is tape/lanes.py; these kernels mirror it point for point: the same sweeps, the
same structural-zero rule (a zero partial or zero adjoint contributes exactly 0), the same
per-point guard check (the index of the first failing guard, or -1, into ``failed``).

Layout: every work buffer is [n_slots, N_chunk] in global memory, slot-major and point-minor,
so that the threads of a warp, which hold neighbouring points, read and write neighbouring
addresses at every op (coalesced). Each thread walks the whole tape, and all threads read the
same op at the same time, so the op switch never splits a warp: only an op's own branches (its
conventions at special points, such as hypot at the origin) can.

Points go through in chunks small enough that the chunk's device buffers fit DEVICE_BYTES; X
(and per-point params) are copied chunk by chunk, the tape's arrays once per tape (the caller
caches them: to_device). This module imports numba.cuda: import it only when a GPU is asked
for (api/batch.py does so inside the call), so that ``import numba_ad`` never loads the CUDA
target.
"""

from __future__ import annotations

import numpy as np
from numba import cuda

from numba_ad.ops.codes import Op
from numba_ad.ops.table import FIRST_MATH
from numba_ad.tape.gpu_ops import UNSUPPORTED_OPS  # noqa: F401 (re-exported for the drivers' check)
from numba_ad.tape.gpu_ops import partials as _partials
from numba_ad.tape.gpu_ops import value as _value

# Device memory the work buffers, inputs and results of one chunk may take.
DEVICE_BYTES = 2 << 30
THREADS_PER_BLOCK = 128  # a multiple of the warp (32); the op switch needs many registers per thread

_CONST, _INPUT = int(Op.CONST), int(Op.INPUT)


# ---------------------------------------------------------------------------------------
# The sweeps of one point p (device functions)
# ---------------------------------------------------------------------------------------
@cuda.jit(device=True)
def _structural(o, i, a, c, X, P, p, W):
    """CONST, INPUT or PARAM slot i at point p (P has one row, shared, or one per point)."""
    if o == _CONST:
        W[i, p] = c[i]
    elif o == _INPUT:
        W[i, p] = X[p, a[i]]
    else:
        W[i, p] = P[0 if P.shape[0] == 1 else p, a[i]]


@cuda.jit(device=True)
def _primal(op, a, b, c, X, P, p, W):
    for i in range(op.shape[0]):
        o = op[i]
        if o >= FIRST_MATH:
            W[i, p] = _value(o, W[a[i], p], W[b[i], p], c[i])
        else:
            _structural(o, i, a, c, X, P, p, W)


@cuda.jit(device=True)
def _linearize(op, a, b, c, X, P, p, W, DA, DB):
    for i in range(op.shape[0]):
        o = op[i]
        if o >= FIRST_MATH:
            x = W[a[i], p]
            y = W[b[i], p]
            v = _value(o, x, y, c[i])
            W[i, p] = v
            DA[i, p], DB[i, p] = _partials(o, x, y, c[i], v)
        else:
            _structural(o, i, a, c, X, P, p, W)


@cuda.jit(device=True)
def _adjoint(op, a, b, DA, DB, WB, p):
    """Adjoints backward; a zero partial or adjoint contributes exactly 0 (as lanes.adjoint_lanes)."""
    for i in range(op.shape[0] - 1, -1, -1):
        if op[i] >= FIRST_MATH:
            y_bar = WB[i, p]
            da = DA[i, p]
            db = DB[i, p]
            WB[a[i], p] += da * y_bar if (da != 0.0 and y_bar != 0.0) else 0.0
            WB[b[i], p] += db * y_bar if (db != 0.0 and y_bar != 0.0) else 0.0


@cuda.jit(device=True)
def _tangent(op, a, b, DA, DB, T, p):
    """Tangents forward (seeds already in the input rows), as lanes.tangent_lanes."""
    for i in range(op.shape[0]):
        o = op[i]
        if o >= FIRST_MATH:
            ta = T[a[i], p]
            tb = T[b[i], p]
            da = DA[i, p]
            db = DB[i, p]
            T[i, p] = (da * ta if (da != 0.0 and ta != 0.0) else 0.0) + (db * tb if (db != 0.0 and tb != 0.0) else 0.0)
        elif o != _INPUT:
            T[i, p] = 0.0


@cuda.jit(device=True)
def _first_failed(guards, c, W, p):
    """The index of the first guard whose comparison differs from its recording at p, or -1."""
    for k in range(guards.shape[0]):
        if W[guards[k], p] != c[guards[k]]:
            return k
    return -1


# ---------------------------------------------------------------------------------------
# Kernels: thread p of the grid is point p of the chunk
# ---------------------------------------------------------------------------------------
@cuda.jit
def _eval_kernel(op, a, b, c, inputs, outputs, params, guards, X, P, W, out, failed):
    p = cuda.grid(1)
    if p >= X.shape[0]:
        return
    _primal(op, a, b, c, X, P, p, W)
    for j in range(outputs.shape[0]):
        out[p, j] = W[outputs[j], p]
    failed[p] = _first_failed(guards, c, W, p)


@cuda.jit
def _gradient_kernel(op, a, b, c, inputs, outputs, params, guards, X, P, W, DA, DB, WB, values, G, failed):
    p = cuda.grid(1)
    if p >= X.shape[0]:
        return
    _linearize(op, a, b, c, X, P, p, W, DA, DB)
    for i in range(op.shape[0]):
        WB[i, p] = 0.0
    out = outputs[0]
    WB[out, p] = 1.0
    _adjoint(op, a, b, DA, DB, WB, p)
    values[p] = W[out, p]
    for j in range(inputs.shape[0]):
        G[p, j] = WB[inputs[j], p]
    failed[p] = _first_failed(guards, c, W, p)


@cuda.jit
def _jacobian_kernel(op, a, b, c, inputs, outputs, params, guards, X, P, W, DA, DB, S, forward, J, failed):
    """J[p] (m, n): n tangent sweeps when `forward`, m adjoint sweeps otherwise, on one
    linearisation; S holds the tangents or adjoints of one seed."""
    p = cuda.grid(1)
    if p >= X.shape[0]:
        return
    _linearize(op, a, b, c, X, P, p, W, DA, DB)
    n, m = inputs.shape[0], outputs.shape[0]
    if forward:
        for jj in range(n):
            for j in range(n):
                S[inputs[j], p] = 1.0 if j == jj else 0.0
            _tangent(op, a, b, DA, DB, S, p)
            for k in range(m):
                J[p, k, jj] = S[outputs[k], p]
    else:
        for k in range(m):
            for i in range(op.shape[0]):
                S[i, p] = 0.0
            S[outputs[k], p] += 1.0
            _adjoint(op, a, b, DA, DB, S, p)
            for j in range(n):
                J[p, k, j] = S[inputs[j], p]
    failed[p] = _first_failed(guards, c, W, p)


# ---------------------------------------------------------------------------------------
# Drivers: host arrays in and out, chunk by chunk
# ---------------------------------------------------------------------------------------
def available() -> bool:
    """Whether a GPU (or numba's CUDA simulator, NUMBA_ENABLE_CUDASIM=1) can run these kernels."""
    return bool(cuda.is_available())


def current_device_id() -> int:
    """The id of the GPU that launches go to (0 under the simulator, whose device has none)."""
    return int(getattr(cuda.get_current_device(), "id", 0))


def to_device(arrays: tuple) -> tuple:
    """The tape's arrays (a TapeArrays) copied to the current GPU, in their field order."""
    return type(arrays)(*[cuda.to_device(field) for field in arrays])


def chunk_points(n_points: int, bytes_per_point: int, budget: int | None = None) -> int:
    """Points per chunk: as many as fit `budget` (DEVICE_BYTES), a multiple of THREADS_PER_BLOCK
    (one block at least), at most n_points."""
    budget = DEVICE_BYTES if budget is None else budget
    per_chunk = budget // max(1, bytes_per_point) // THREADS_PER_BLOCK * THREADS_PER_BLOCK
    return max(1, min(n_points, max(THREADS_PER_BLOCK, per_chunk)))


def _replay(kernel, tape, X, P, n_work, results, failed, flags=()):
    """Launch `kernel` over the rows of X chunk by chunk. `tape` is to_device's tuple; the
    kernel gets n_work buffers [n_slots, chunk], then `flags`, then one device array per host
    array of `results` (each N rows) and failed, whose chunks are copied back after each launch."""
    N = X.shape[0]
    if N == 0:
        return
    n_slots = tape.op.shape[0]
    per_point_params = P.shape[0] != 1
    row_values = sum(int(np.prod(r.shape[1:])) for r in results)
    bytes_per_point = 8 * (n_slots * n_work + X.shape[1] + P.shape[1] * per_point_params + row_values + 1)
    L = chunk_points(N, bytes_per_point)
    work = [cuda.device_array((n_slots, L)) for _ in range(n_work)]
    P_device = None if per_point_params else cuda.to_device(P)
    for start in range(0, N, L):
        stop = min(N, start + L)
        X_chunk = cuda.to_device(X[start:stop])
        P_chunk = cuda.to_device(P[start:stop]) if per_point_params else P_device
        results_chunk = [cuda.device_array((stop - start,) + r.shape[1:]) for r in results]
        failed_chunk = cuda.device_array(stop - start, dtype=np.int64)
        blocks = -(-(stop - start) // THREADS_PER_BLOCK)
        kernel[blocks, THREADS_PER_BLOCK](*tape, X_chunk, P_chunk, *work, *flags, *results_chunk, failed_chunk)
        for host, device in zip(results, results_chunk):
            device.copy_to_host(host[start:stop])
        failed_chunk.copy_to_host(failed[start:stop])


def eval_many_into(tape: tuple, X: np.ndarray, P: np.ndarray, out: np.ndarray, failed: np.ndarray) -> None:
    """f at the N points X (N, n) into out (N, m); per point the failed guard (or -1) into failed (N,)."""
    _replay(_eval_kernel, tape, X, P, 1, [out], failed)


def value_and_gradient_many_into(
    tape: tuple, X: np.ndarray, P: np.ndarray, values: np.ndarray, G: np.ndarray, failed: np.ndarray
) -> None:
    """Values (N,) and gradients G (N, n) of a scalar tape at the points X (N, n)."""
    _replay(_gradient_kernel, tape, X, P, 4, [values, G], failed)


def jacobian_many_into(
    tape: tuple, X: np.ndarray, P: np.ndarray, forward: bool, J: np.ndarray, failed: np.ndarray
) -> None:
    """Jacobians J (N, m, n) at the points X (N, n), forward or reverse (as lanes.jacobian_many_into)."""
    _replay(_jacobian_kernel, tape, X, P, 4, [J], failed, flags=(bool(forward),))
