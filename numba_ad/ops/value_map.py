"""One op over whole arrays of operands, computed by the kernels' own ``value``.

Array tracing records a block of ops and needs their values at the recording point. NumPy's
ufuncs would give them fast, but NumPy's exp, log, tanh, expm1, arctan ... are its own SIMD
code, not the C library's that the compiled sweeps call: on this project's machines np.exp
differed from the sweeps' exp in the last bit for 4.6% of random inputs, np.tanh for 27%. A
guard recorded from NumPy's value could then fail when the tape replays at its own recording
point. Computing the values with ``value`` itself makes a tape's replay at x0 reproduce every
recorded value, guards included, bit for bit (and array and loop-style traces agree).
"""

import numpy as np

from numba_ad._config import kernel
from numba_ad.ops.table import value


@kernel
def _value_map(o, X, Y, C, out):
    for i in range(out.shape[0]):
        out[i] = value(o, X[i], Y[i], C[i])


def values_of(op: int, x, y, c, shape: tuple) -> np.ndarray:
    """value(op, x, y, c) elementwise, x, y and c broadcast to `shape`, as float64 of that shape."""
    out = np.empty(shape, dtype=np.float64)
    if out.size:
        X, Y, C = (np.ascontiguousarray(np.broadcast_to(np.asarray(v, np.float64), shape)).ravel() for v in (x, y, c))
        _value_map(int(op), X, Y, C, out.reshape(-1))
    return out
