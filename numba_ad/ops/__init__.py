"""Layer 1, the op table: every operation a tape can hold, with its value and derivatives.

Everything above this layer (the tape's kernels, the tracer, the compiler, Dual numbers) reads
an op's properties and rules from here; nothing here imports another layer.

* ``defs.py``: **the one source**, a row per op (code, arity, value and partial templates,
  second partials, spellings, flags, scalar evaluator, reference, test domain);
* ``rules.py``: the hand-written helpers rows name (branching partials, second partials with
  temporaries); ``special.py``: special functions numba lacks; ``taylor.py``: the Taylor
  recurrences, one branch per op; ``constants.py``, ``scalar_evaluators.py``;
* ``codes.py``, ``_kernels.py`` and ``dual/_rules.py``: generated from the rows by
  ``python -m numba_ad.ops.generate`` (committed; a test fails when they are stale);
* ``table.py`` (TABLE, ARITY, NONZERO_PARTIALS ... derived at import) and ``source.py`` (the
  compiler's formulas, CHEAP, PARTNERS) read the rows.

Adding an op: append a row to ``defs.OPS`` with the next free code (never renumber), add its
Taylor branch to ``taylor.py`` (and a helper to ``rules.py`` if a rule branches), run
``python -m numba_ad.ops.generate``, and add the op's complex reference to
``tests/ops/test_taylor.py``; ``tests/ops/test_completeness.py`` lists what is still missing.
A NumPy ufunc, ``math`` function or ``scipy.special`` ufunc named in the row records the op
in scalar and array tracing, in traced @njit kernels and on Duals with no further edit.
"""

from numba_ad.ops.table import (
    ARITY,
    COMMUTATIVE,
    COMPARISONS,
    DEFS,
    FIRST_MATH,
    KNOWN,
    N_CODES,
    NONZERO_PARTIALS,
    SCALAR,
    SMOOTH,
    TABLE,
    Op,
    OpSpec,
    partials,
    second_partials,
    taylor,
    value,
)

__all__ = [
    "ARITY",
    "COMMUTATIVE",
    "COMPARISONS",
    "DEFS",
    "FIRST_MATH",
    "KNOWN",
    "N_CODES",
    "NONZERO_PARTIALS",
    "SCALAR",
    "SMOOTH",
    "TABLE",
    "Op",
    "OpSpec",
    "partials",
    "second_partials",
    "taylor",
    "value",
]
