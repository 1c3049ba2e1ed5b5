"""The one place that decides how numba_ad's kernels are compiled.

Environment switches:
  NUMBA_AD_CACHE=0   compile without numba's on-disk cache (caching together with
                     multiprocessing can crash: numba issue 4807).
  NUMBA_AD_PROGRESS=0 no notices while a kernel compiles for seconds (_progress.py).
  NUMBA_DISABLE_JIT=1 (numba's own) runs every kernel as plain Python, for debugging.
"""

import os

from numba import njit

from numba_ad import _numba_patches, _progress

_numba_patches.apply()  # before anything is compiled: numba's inliner, numba issue 8989
_progress.install()  # say what is compiling when a first call takes seconds

CACHE = os.environ.get("NUMBA_AD_CACHE", "1") != "0"

# error_model="numpy": division keeps no exception path, which lets the op functions inline
# into the sweeps (measured primal+adjoint 18.0 -> 13.7 ns/op before this project began, STYLE.md).
# No fastmath: the kernels must keep IEEE semantics (NaN and inf propagate, signed zeros).
KERNEL_OPTIONS = dict(cache=CACHE, error_model="numpy", nogil=True)


def options_source(*, drop: tuple[str, ...] = ()) -> str:
    """KERNEL_OPTIONS as the keyword text of an ``@njit(...)`` line, without the keys in `drop`.

    The tape compiler writes its kernels into module files; their decorators take their options
    from here, so that NUMBA_AD_CACHE=0 reaches generated code too."""
    return ", ".join(f"{key}={value!r}" for key, value in KERNEL_OPTIONS.items() if key not in drop)


def kernel(fn):
    """Compile `fn` as a numba_ad kernel (nopython, cached, IEEE arithmetic)."""
    return njit(**KERNEL_OPTIONS)(fn)


def kernel_inline(fn):
    """As kernel, inlined into its callers at numba IR level.

    For the op table's value/partials: LLVM left the long op switch un-inlined, and inlining
    it cut P1 (n=100000) primal from 2.6 to 1.1 ns/op and linearize from 3.7 to 1.4 ns/op;
    cold import + first gradient stayed at 2.6 s.
    """
    return njit(inline="always", **KERNEL_OPTIONS)(fn)
