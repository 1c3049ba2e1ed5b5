"""numba_ad._numba_patches: numba's inliner copies callee IR once, not once per block.

The patch is what keeps the cold start at a few seconds (the op chains inlined into every
sweep): if a numba upgrade changes the code it replaces, this fails, so the upgrade's cold
start gets measured instead of silently regressing."""

import os
from pathlib import Path

import numpy as np
import pytest
from numba import njit
from numba.core import inline_closurecall

from numba_ad import _numba_patches


def test_the_patch_is_applied_where_numba_copies_block_by_block():
    source = Path(inline_closurecall.__file__).read_text()
    if os.environ.get("NUMBA_AD_PATCH_NUMBA", "1") == "0":
        pytest.skip("NUMBA_AD_PATCH_NUMBA=0")
    if "new_block = copy.deepcopy(the_ir.blocks[block_label])" not in source:
        pytest.skip(f"this numba no longer copies block by block: {_numba_patches.REASON}")
    assert _numba_patches.APPLIED, _numba_patches.REASON
    assert "numba_ad" not in source  # numba's file itself is untouched
    assert _numba_patches.apply()  # idempotent


def test_inlined_functions_with_branches_and_loops_still_compute_the_same():
    @njit(inline="always")
    def piecewise(k, x):
        if k == 0:
            return x + 1.0
        elif k == 1:
            t = 0.0
            for i in range(3):
                t += x * i
            return t
        elif k == 2:
            return -x if x < 0.0 else x * x
        return np.nan

    @njit
    def caller(x):
        return piecewise(0, x) + 10.0 * piecewise(1, x) + 100.0 * piecewise(2, x) + piecewise(2, -x)

    for x in (0.5, -2.0, 3.0):
        expected = (x + 1.0) + 10.0 * 3.0 * x + 100.0 * (-x if x < 0 else x * x) + (x if x > 0 else x * x)
        assert caller(x) == pytest.approx(expected, rel=1e-15)
