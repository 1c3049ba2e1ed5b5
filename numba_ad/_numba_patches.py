"""One fix to numba's IR inliner, applied at import: it cut the cold start by more than half.

numba inlines an ``inline="always"`` function (the op table's ``value`` / ``partials`` chains,
which every sweep inlines) by deep-copying the callee's IR one block at a time, each with a
fresh memo (``InlineWorker.inline_ir``'s ``copy_ir``). Every ``Var`` deep-copies its ``Scope``,
which holds every variable of the function, so each block copies the whole scope again: the
cost is blocks x variables, quadratic in the size of the callee. For the op chains (58 ops,
hundreds of blocks) it was 9 of the 16 s that ``import numba_ad`` plus the first gradient took
with an empty cache (cProfile: 4.7 s in ``copy_ir`` alone, 1 million ``deepcopy`` calls).
numba issue 8989 ("Spurious deep copies in inlining", open) reports the same.

The fix copies the blocks with one ``deepcopy`` of the block dict, so the scope is copied once
and shared by the copied blocks, as it is shared by the blocks of the IR being copied (the
inliner then points every inlined block at the caller's scope anyway). Generated code is the
same; only the copy is cheaper.

The patch is applied only when numba's source holds exactly the loop it replaces, so another
numba version (one that fixes it, or changes it) is left alone; ``NUMBA_AD_PATCH_NUMBA=0``
turns it off. It changes numba for the whole process, users' own inlined functions included,
which compile faster for it and otherwise the same.
"""

from __future__ import annotations

import inspect
import os
import textwrap

_PER_BLOCK_COPY = """\
            kernel_copy.blocks = {}
            for block_label, block in the_ir.blocks.items():
                new_block = copy.deepcopy(the_ir.blocks[block_label])
                kernel_copy.blocks[block_label] = new_block
"""
_ONE_COPY = """\
            kernel_copy.blocks = copy.deepcopy(the_ir.blocks)  # numba_ad: one memo (numba issue 8989)
"""

APPLIED = False  # whether the patch is in force in this process
REASON = ""  # why not, when it is not


def apply() -> bool:
    """Patch numba's InlineWorker.inline_ir as the module docstring says; return APPLIED."""
    global APPLIED, REASON
    if APPLIED:
        return True
    if os.environ.get("NUMBA_AD_PATCH_NUMBA", "1") == "0":
        REASON = "NUMBA_AD_PATCH_NUMBA=0"
        return False
    from numba.core import inline_closurecall

    method = inline_closurecall.InlineWorker.inline_ir
    try:
        source = textwrap.dedent(inspect.getsource(method))
    except (OSError, TypeError) as error:  # no source (a frozen install): leave numba alone
        REASON = f"numba's source is not readable: {error}"
        return False
    per_block = textwrap.indent(textwrap.dedent(_PER_BLOCK_COPY), " " * 8)
    if source.count(per_block) != 1:
        REASON = "this numba's InlineWorker.inline_ir does not copy blocks one at a time"
        return False
    namespace = dict(vars(inline_closurecall))
    exec(compile(source.replace(per_block, textwrap.indent(textwrap.dedent(_ONE_COPY), " " * 8)),
                 inline_closurecall.__file__, "exec"), namespace)  # fmt: skip
    patched = namespace["inline_ir"]
    patched.__qualname__ = method.__qualname__
    patched.__doc__ = method.__doc__
    inline_closurecall.InlineWorker.inline_ir = patched
    APPLIED = True
    return True
