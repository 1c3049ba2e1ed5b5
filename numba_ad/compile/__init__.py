"""Layer 3, the tape compiler: a tape written out as numba source and loaded as a module.

``plan`` finds the loops (``runs``, ``groups``, ``nests``, ``regions``; the structure in
``loops``) and what each stores; ``lower`` turns a plan, and ``straight`` a small tape, into
loop IR (``ir``), which ``printer`` prints; ``compiled`` writes the module under the numba
cache and wraps it as a ``CompiledTape``. docs/design.md "The tape compiler" has the map.
"""

from numba_ad.compile.compiled import CompiledTape
from numba_ad.compile.loops import NotCompilable

__all__ = ["CompiledTape", "NotCompilable"]
