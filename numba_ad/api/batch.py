"""Tape methods that evaluate one tape at many points: eval_many, gradient_many, jacobian_many.

Policy only (validation, block size, device, raising); the kernels are in tape/lanes.py (CPU)
and tape/gpu_lanes.py (device="cuda", imported on first use so that ``import numba_ad`` never
loads numba's CUDA target). A mixin of Tape, kept apart so that api/tape.py stays readable.
"""

from __future__ import annotations

import importlib.util
from typing import Literal

import numba
import numpy as np
from numpy.typing import ArrayLike

from numba_ad._inputs import as_real_array
from numba_ad._progress import Task
from numba_ad.ops import user
from numba_ad.tape import lanes as batch

# Bytes of lane buffers per block: [n_slots, L] x (1 to 4 buffers) within a core's L2 cache.
BLOCK_BYTES = 1 << 18
MAX_BLOCK = 128
DEVICES = ("cpu", "cuda")
# A call over more than LONG_CALL_OPS point-ops (about a second on two cores) runs in SLICES
# slices, so that its progress can be reported (numba_ad._progress.Task)
LONG_CALL_OPS = 2 * 10**8
SLICES = 50
Device = Literal["cpu", "cuda"]


def _as_points(value, n, name):

    arr = as_real_array(value, name)
    if arr.ndim != 2 or arr.shape[1] != n:
        raise ValueError(f"{name} must have shape (N, {n}), one point per row; got shape {arr.shape}")
    return arr


def _on_gpu(device):
    """Whether `device` asks for the GPU; ValueError for anything but DEVICES."""
    if device not in DEVICES:
        raise ValueError(f"device must be 'cpu' or 'cuda'; got {device!r}")
    return device == "cuda"


def _numba_cuda_installed():
    return importlib.util.find_spec("numba_cuda") is not None


def _gpu_lanes():
    """tape/gpu_lanes.py, imported now; ImportError without numba-cuda, RuntimeError without a GPU."""
    if not _numba_cuda_installed():
        # numba's own bundled numba.cuda is deprecated and not what these kernels are written for.
        raise ImportError("device='cuda' needs numba-cuda, NVIDIA's CUDA target for numba: pip install numba_ad[cuda]")
    from numba_ad.tape import gpu_lanes

    if not gpu_lanes.available():
        raise RuntimeError(
            "device='cuda' found no usable NVIDIA GPU: numba.cuda.is_available() is False "
            "(numba.cuda.detect() says why). Use device='cpu', or set NUMBA_ENABLE_CUDASIM=1 before "
            "numba is imported to run the GPU kernels on numba's CUDA simulator (slow; for tests)"
        )
    return gpu_lanes


class BatchMethods:
    """eval_many, value_and_gradient_many, gradient_many, jacobian_many and check_many.

    Each takes ``device``: "cpu" (the default) runs blocks of points on all cores; "cuda" runs
    one CUDA thread per point on the current NVIDIA GPU (numba-cuda: pip install numba_ad[cuda]),
    points copied to it in chunks that fit gpu_lanes.DEVICE_BYTES, and the tape's arrays copied
    once per tape and GPU. Both give the same values and derivatives up to the last bits of the
    GPU's math library (libdevice) and its fused multiply-adds. Tapes calling user primitives
    (numba_ad.primitive) run on "cpu" only.
    """

    def eval_many(self, X: ArrayLike, params: ArrayLike | None = None, *, device: Device = "cpu") -> np.ndarray:
        """f at each row of X (N, n): (N,) for a scalar tape, (N, m) otherwise.

        `params` is (p,), shared by every point, or (N, p), one row per point. Points run in
        blocks on all cores (numba's thread count), or with ``device="cuda"`` one per GPU thread
        (see the class docstring). Raises BranchChangedError when a point leaves the recorded
        branch (check_many says which points do).
        """
        gpu = self._gpu_for(device)
        X, P, block, failed = self._batch(X, params, buffers=1)
        out = np.empty((X.shape[0], self.n_outputs))
        if gpu:
            gpu.eval_many_into(self._device_arrays(gpu), X, P, out, failed)
        else:
            self._sliced("eval_many", batch.eval_many_into, X, P, block, failed, out)
        self._raise_if_any_failed(failed)
        return out[:, 0] if self.scalar_output else out

    def value_and_gradient_many(
        self, X: ArrayLike, params: ArrayLike | None = None, *, device: Device = "cpu"
    ) -> tuple[np.ndarray, np.ndarray]:
        """(values (N,), gradients (N, n)) of a scalar tape at each row of X; params and device as for eval_many."""
        if not self.scalar_output:
            raise ValueError(
                f"gradient_many needs a scalar tape; this one has {self.n_outputs} outputs: use jacobian_many(X)"
            )
        gpu = self._gpu_for(device)
        X, P, block, failed = self._batch(X, params, buffers=4)
        values = np.empty(X.shape[0])
        G = np.empty((X.shape[0], self.n_inputs))
        if gpu:
            gpu.value_and_gradient_many_into(self._device_arrays(gpu), X, P, values, G, failed)
        else:
            self._sliced("gradient_many", batch.value_and_gradient_many_into, X, P, block, failed, values, G)
        self._raise_if_any_failed(failed)
        return values, G

    def gradient_many(self, X: ArrayLike, params: ArrayLike | None = None, *, device: Device = "cpu") -> np.ndarray:
        """Gradients (N, n) of a scalar tape at each row of X; params and device as for eval_many."""
        return self.value_and_gradient_many(X, params, device=device)[1]

    def jacobian_many(
        self,
        X: ArrayLike,
        params: ArrayLike | None = None,
        mode: Literal["auto", "forward", "reverse"] = "auto",
        *,
        device: Device = "cpu",
    ) -> np.ndarray:
        """Jacobians at each row of X: (N, m, n), or (N, n) for a scalar tape.

        mode as for jacobian: "forward" (n tangent sweeps), "reverse" (m adjoint sweeps) or
        "auto" (forward when n <= m, as jacobian), all on one linearisation per point;
        params and device as for eval_many.
        """
        if mode not in ("auto", "forward", "reverse"):
            raise ValueError(f"mode must be 'auto', 'forward' or 'reverse'; got {mode!r}")
        forward = mode == "forward" or (mode == "auto" and self.n_inputs <= self.n_outputs and not self.scalar_output)
        gpu = self._gpu_for(device)
        X, P, block, failed = self._batch(X, params, buffers=4)
        J = np.empty((X.shape[0], self.n_outputs, self.n_inputs))
        if gpu:
            gpu.jacobian_many_into(self._device_arrays(gpu), X, P, forward, J, failed)
        else:
            self._sliced("jacobian_many", batch.jacobian_many_into, X, P, block, failed, J, forward=forward)
        self._raise_if_any_failed(failed)
        return J[:, 0, :] if self.scalar_output else J

    def check_many(self, X: ArrayLike, params: ArrayLike | None = None, *, device: Device = "cpu") -> np.ndarray:
        """Per row of X, the index of the first guard that fails there, or -1: shape (N,); device as for eval_many."""
        gpu = self._gpu_for(device)
        X, P, block, failed = self._batch(X, params, buffers=1)
        out = np.empty((X.shape[0], self.n_outputs))
        if gpu:
            gpu.eval_many_into(self._device_arrays(gpu), X, P, out, failed)
        else:
            self._sliced("check_many", batch.eval_many_into, X, P, block, failed, out)
        return failed

    def _gpu_for(self, device):
        """gpu_lanes for device="cuda" (after checking this tape can run there), None for "cpu"."""
        if not _on_gpu(device):
            return None
        gpu = _gpu_lanes()
        used = user.primitives_used(self.arrays.op, self.arrays.c)
        if used:
            names = ", ".join(repr(user.registered(i).name) for i in used)
            raise ValueError(
                f"device='cuda' cannot run this tape: it calls the user primitive(s) {names} "
                "(numba_ad.primitive), whose rules are host callbacks a GPU cannot call; use device='cpu'"
            )
        return gpu

    def _device_arrays(self, gpu):
        """This tape's arrays on the current GPU: copied on first use, then kept (they never change)."""
        key = ("cuda", gpu.current_device_id())
        arrays = self._on_device.get(key)
        if arrays is None:
            arrays = self._on_device[key] = gpu.to_device(self.arrays)
        return arrays

    def _sliced(self, what, kernel, X, P, block, failed, *outputs, forward=None):
        """kernel over the rows of X, in SLICES slices when the call is long (so that a Task can
        say how far it is), else in one call. Rows are independent: slicing changes no bit."""
        N = X.shape[0]
        slices = SLICES if N >= SLICES * MAX_BLOCK and N * self.n_ops >= LONG_CALL_OPS else 1
        bounds = [N * k // slices for k in range(slices + 1)]
        with Task(f"{what} at {N:,} points", total=N, unit="points") as task:
            for start, stop in zip(bounds[:-1], bounds[1:]):
                rows = slice(start, stop)
                P_rows = P if P.shape[0] == 1 else P[rows]
                extra = () if forward is None else (forward,)
                kernel(self.arrays, X[rows], P_rows, block, *extra, *(o[rows] for o in outputs), failed[rows])
                task.update(stop)

    def _batch(self, X, params, buffers):
        """(X, P (1 or N, p), block size, failed buffer) for the batched kernels."""
        X = _as_points(X, self.n_inputs, "X")
        N = X.shape[0]
        if params is None:
            if self.n_params:
                raise ValueError(
                    f"this tape was recorded with {self.n_params} parameters: pass params= "
                    f"of shape ({self.n_params},) or (N, {self.n_params})"
                )
            P = np.empty((1, 0))
        else:
            if not self.n_params:
                raise ValueError("this tape was recorded without parameters; params must be None")

            P = as_real_array(params, "params")
            if P.ndim == 1 and P.shape[0] == self.n_params:
                P = P.reshape(1, -1)
            elif P.ndim != 2 or P.shape != (N, self.n_params):
                raise ValueError(
                    f"params must have shape ({self.n_params},) or ({N}, {self.n_params}); got shape {P.shape}"
                )
        return X, P, self._block_size(N, buffers), np.empty(N, dtype=np.int64)

    def _block_size(self, N, buffers):
        """Points per block: the largest power of two whose buffers fit BLOCK_BYTES, at most
        MAX_BLOCK, and small enough that every thread gets a block."""
        block = MAX_BLOCK
        while block > 1 and buffers * 8 * self.n_ops * block > BLOCK_BYTES:
            block //= 2
        per_thread = -(-N // numba.get_num_threads())
        while block > 1 and block // 2 >= per_thread:
            block //= 2
        return block

    def _raise_if_any_failed(self, failed):
        bad = np.flatnonzero(failed >= 0)
        if bad.shape[0]:
            try:
                self._raise_if_failed(int(failed[bad[0]]))
            except Exception as error:
                error.add_note(
                    f"{bad.shape[0]} of {failed.shape[0]} points left the recorded branch, the "
                    f"first at row {bad[0]} of X; tape.check_many(X) gives each point's guard"
                )
                raise
