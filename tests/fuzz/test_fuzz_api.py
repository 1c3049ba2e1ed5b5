"""The fuzz target's short run: mutated tapes and bad arguments give clear errors, never
crashes, out-of-bounds accesses, unclear exceptions or silent answers (issue 20)."""

from tests.fuzz import fuzz_api


def test_short_fuzz_run_finds_nothing_bad():
    # without bounds checking: the NUMBA_BOUNDSCHECK=1 run of the same mutations is in
    # tests/tape/test_validation.py; this one covers the same entry points at their real speed
    totals = fuzz_api.run(cases=60, seed=20261203, batch=60, boundscheck=False)
    for kind, counts in totals.items():
        bad = {case: k for case, k in counts.items() if case.split(":")[0] in fuzz_api.BAD}
        assert not bad, f"{kind}: {bad}"
        assert counts.get("refused", 0) > 0, f"{kind}: nothing was refused, so nothing was tried: {counts}"
