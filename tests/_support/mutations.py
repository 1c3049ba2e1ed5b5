"""Corrupted tapes: real tapes with a few fields set to hostile values, and the whole compile-free
API run on each one that Tape.from_arrays accepts (tests/tape/test_validation.py).

Shared by the in-process hypothesis test and the child process that runs the same mutations
under NUMBA_BOUNDSCHECK=1, where an index outside an array raises IndexError inside the kernel.
"""

import math

import numpy as np
from hypothesis import strategies as st

import numba_ad as ad
from numba_ad.errors import BranchChangedError
from numba_ad.ops.table import FIRST_MATH, Op


def _rosen(x):
    return sum(100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2 for i in range(len(x) - 1))


def _piecewise(x):  # one guard
    if x[0] > 0.5:
        return x[0] ** 2 + np.exp(x[1])
    return -x[0] + x[1] ** 3


def _quadratic(x, p):
    return (x[0] - p[0]) ** 2 + p[1] * x[0] * x[1] + np.sqrt(x[1] ** 2 + 1.0)


def _vector(x):
    return [np.sin(x[0]) * x[1], x[2] ** 2 / (1 + x[0] ** 2), x[1] ** 3]


def _array(x):
    return np.sum(np.tanh(x[1:]) * x[:-1] ** 2) + np.prod(np.cos(x[:2]))


X = np.array([0.7, -0.3, 1.2, 0.4])
P = np.array([0.5, 2.0])


def real_tapes():
    """(name, tape, x, params) of a few kinds: guards, params, vector outputs, array tracing."""
    return [
        ("rosen", ad.trace(_rosen, X), X, None),
        ("piecewise", ad.trace(_piecewise, X[:2]), X[:2], None),
        ("quadratic", ad.trace(_quadratic, X[:2], params=P), X[:2], P),
        ("vector", ad.trace(_vector, X[:3]), X[:3], None),
        ("array", ad.trace(_array, X), X, None),
    ]


INDEX_FIELDS = ("a", "b", "inputs", "outputs", "params", "guards")
HOSTILE_INDICES = (2147483647, -2147483648, 1_000_000, -1, -2, 0, 1, 2)
HOSTILE_FLOATS = (math.nan, math.inf, -math.inf, 0.0, -0.0, 1.0, 0.5, -1.0, 2.0, 3.0, 1e308, 2.0**31)


@st.composite
def mutations(draw, n_tapes):
    """(tape index, [(field, position, value or 'drop'/'append')]) with 1 to 3 changes."""
    which = draw(st.integers(0, n_tapes - 1))
    changes = []
    for _ in range(draw(st.integers(1, 3))):
        field = draw(st.sampled_from(ad.TapeArrays._fields))
        position = draw(st.integers(0, 10_000))  # taken modulo the field's length
        if field == "op":
            value = draw(st.one_of(st.integers(0, 255), st.sampled_from([int(op) for op in Op])))
        elif field == "c":
            value = draw(st.one_of(st.sampled_from(HOSTILE_FLOATS), st.floats(-10, 10)))
        else:
            value = draw(st.one_of(st.sampled_from(HOSTILE_INDICES), st.integers(-3, 40), st.just("near_end")))
        if draw(st.integers(0, 9)) == 0:
            value = draw(st.sampled_from(["drop", "append"]))
        changes.append((field, position, value))
    return which, changes


def mutate(arrays, changes):
    """A TapeArrays of writable int64/float64 copies of `arrays` with `changes` applied."""
    fields = {
        name: np.array(getattr(arrays, name), dtype=np.float64 if name == "c" else np.int64) for name in arrays._fields
    }
    n_slots = fields["op"].shape[0]
    for field, position, value in changes:
        arr = fields[field]
        if value == "drop":
            fields[field] = arr[:-1] if arr.shape[0] else arr
            continue
        if value == "append":
            fields[field] = np.append(arr, arr[-1] if arr.shape[0] else 0)
            continue
        if arr.shape[0] == 0:
            continue
        if value == "near_end":  # the first index past the end, or the last one
            value = n_slots - (position % 2)
        arr[position % arr.shape[0]] = value
    return ad.TapeArrays(**fields)


def exercise(tape, x, params):
    """Every compile-free entry point on `tape`: replay, derivatives of both orders, checks,
    optimize and the optimised tape's gradient, sparsity plans. A changed guard may raise
    BranchChangedError; anything else escapes."""
    n, m = tape.n_inputs, tape.n_outputs
    weights = None if tape.scalar_output else np.linspace(0.5, 1.5, m)
    calls = [
        lambda: tape.eval(x, params),
        lambda: tape.jacobian(x, params=params),
        lambda: tape.jvp(x, np.ones(n), params),
        lambda: tape.vjp(x, np.ones(m) if m > 1 else 1.0, params),
        lambda: tape.hvp(x, np.ones(n), params, weights=weights),
        lambda: tape.check(x, params),
        lambda: tape.margins(x, params),
        lambda: [tape.guard_description(k) for k in range(tape.n_guards)],
        lambda: tape.sparse_jacobian_plan(),
        lambda: tape.sparse_hessian_plan(),
    ]
    if tape.scalar_output:
        calls.append(lambda: tape.gradient(x, params))
    optimized = tape.optimize()
    calls.append(lambda: optimized.eval(x, params))
    calls.append(lambda: optimized.jacobian(x, params=params))
    for call in calls:
        try:
            call()
        except BranchChangedError:
            pass


def operands_in_range(arrays):
    """The invariants every pass relies on, written plainly (an oracle independent of validated)."""
    n_slots = len(arrays.op)
    for i in range(n_slots):
        o, a, b = int(arrays.op[i]), int(arrays.a[i]), int(arrays.b[i])
        if o >= FIRST_MATH:
            assert 0 <= a < i and 0 <= b < i, (i, o, a, b)
        elif o == Op.CONST:
            assert a == 0 and b == 0, (i, a, b)
        else:
            assert b == 0, (i, b)
            limit = len(arrays.inputs) if o == Op.INPUT else len(arrays.params)
            assert 0 <= a < limit, (i, o, a)
    for name in ("inputs", "outputs", "params", "guards"):
        assert all(0 <= int(s) < n_slots for s in getattr(arrays, name)), name
    for s in arrays.guards:
        assert int(arrays.op[s]) in (int(Op.LT), int(Op.LE), int(Op.EQ)), s
    for j, s in enumerate(arrays.inputs):
        assert int(arrays.op[s]) == Op.INPUT and int(arrays.a[s]) == j
    for j, s in enumerate(arrays.params):
        assert int(arrays.op[s]) == Op.PARAM and int(arrays.a[s]) == j


def run_mutation(tapes, which, changes):
    """'refused', or 'ran' after the whole API ran on the accepted mutation."""
    name, tape, x, params = tapes[which]
    try:
        accepted = ad.Tape.from_arrays(mutate(tape.arrays, changes), tape.scalar_output)
    except ValueError:
        return "refused"
    operands_in_range(accepted.arrays)
    exercise(accepted, x, params if accepted.n_params else None)
    return "ran"
