"""The op switch (ops/_kernels.py's value and partials) as the GPU kernels of gpu_lanes.py call it.

numba-cuda compiles an @njit function that a CUDA kernel calls as a device function, from its
Python source. The generated switch compiles whole, whatever ops a tape holds, and three things
in it do not compile for the CUDA target of numba-cuda 0.30 (found by compiling the kernels to
PTX with NVVM: tests/tape/test_gpu_lanes.py, test_kernels_compile_to_ptx):

* USER1 / USER2 call ops/user.py's rules through a table of host callback addresses behind a
  host linker symbol; a GPU can neither resolve the symbol nor call host code. Here they call
  a NaN stub, and the drivers refuse tapes that hold them (UNSUPPORTED_OPS) before any launch.
* np.floor, np.ceil, np.trunc, np.sign, np.cbrt and np.exp2 (FLOOR, CEIL, TRUNC, SIGN, ABS's
  partial, CBRT, LOGADDEXP2) are NumPy ufuncs that numba-cuda types but cannot lower (its
  ufunc table lacks them). Here ``np`` is a module of libdevice equivalents (_cuda_numpy).

So on a GPU the switch is rebuilt: the same code objects with those globals swapped, every
other op's arithmetic the generated one. Under numba's CUDA simulator the kernels run as Python
and call the CPU build unchanged (tape/lanes.py's bits).
"""

from __future__ import annotations

from types import FunctionType, ModuleType

import numpy as np
from numba import cuda, njit
from numba.core.dispatcher import Dispatcher

from numba_ad.ops import _kernels, special
from numba_ad.ops.codes import Op

UNSUPPORTED_OPS = frozenset({int(Op.USER1), int(Op.USER2)})
SIMULATOR = bool(cuda.config.ENABLE_CUDASIM)


def _rebuilt(dispatcher, **globals_):
    """`dispatcher`'s Python function with some globals replaced, as a new @njit function
    (not cached: numba's cache would key it like the original)."""
    py_func = dispatcher.py_func
    func = FunctionType(py_func.__code__, dict(py_func.__globals__, **globals_), py_func.__name__)
    return njit(error_model="numpy", cache=False)(func)


@njit(error_model="numpy", cache=False)
def _no_primitive(c, which, x, y, arity):
    return np.nan


def _cuda_numpy():
    """A stand-in for numpy with the names the op kernels use, each a CUDA device function
    with numba's CPU semantics (np.sign keeps a zero's sign and NaN, as numba's real_sign)."""
    from numba.cuda import libdevice

    @cuda.jit(device=True)
    def floor(x):
        return libdevice.floor(x)

    @cuda.jit(device=True)
    def ceil(x):
        return libdevice.ceil(x)

    @cuda.jit(device=True)
    def trunc(x):
        return libdevice.trunc(x)

    @cuda.jit(device=True)
    def cbrt(x):
        return libdevice.cbrt(x)

    @cuda.jit(device=True)
    def exp2(x):
        return libdevice.exp2(x)

    @cuda.jit(device=True)
    def sign(x):
        return 1.0 if x > 0.0 else (-1.0 if x < 0.0 else x)

    shim = ModuleType("numba_ad_gpu_numpy")
    shim.nan, shim.inf, shim.int64 = np.nan, np.inf, np.int64
    shim.floor, shim.ceil, shim.trunc, shim.cbrt, shim.exp2, shim.sign = floor, ceil, trunc, cbrt, exp2, sign
    return shim


def _device_switch():
    """(value, partials) for the CUDA target: the switch with `user`, `np` and `special` swapped."""
    shim = _cuda_numpy()
    special_gpu = ModuleType("numba_ad_gpu_special")
    for name, obj in vars(special).items():
        if isinstance(obj, Dispatcher) and "np" in obj.py_func.__code__.co_names:
            obj = _rebuilt(obj, np=shim)  # logaddexp2 (np.exp2), d_sinc (np.int64)
        setattr(special_gpu, name, obj)
    user_stub = ModuleType("numba_ad_gpu_user")
    user_stub.rule = _no_primitive
    swapped = dict(np=shim, special=special_gpu, user=user_stub)
    return _rebuilt(_kernels.value, **swapped), _rebuilt(_kernels.partials, **swapped)


if SIMULATOR:
    value, partials = _kernels.value, _kernels.partials
else:
    value, partials = _device_switch()
