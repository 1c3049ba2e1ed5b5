"""Layer 3, the tape compiler: a tape written out as numba source and loaded as a module.

``plan`` finds the loops (runs, periodic regions, nests) and what each stores; ``source``
and ``straight`` print a plan, or a small tape as straight-line code; ``compiled`` writes
the module under the numba cache and wraps it as a ``CompiledTape``.
"""

from numba_ad.compile.compiled import CompiledTape
from numba_ad.compile.loops import NotCompilable

__all__ = ["CompiledTape", "NotCompilable"]
