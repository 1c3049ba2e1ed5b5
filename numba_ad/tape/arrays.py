"""The tape: a struct of arrays with one slot per recorded operation (single assignment).

Slot i holds the result of operation i. ``op[i]`` is its opcode, ``a[i]`` and ``b[i]`` the
slots it reads (for INPUT and PARAM, ``a[i]`` is the input's or parameter's index instead),
``c[i]`` its constant operand (the value of a CONST, the exponent of POWI/POWC, the base of
CPOW, the outcome recorded for a guard). Slot 0 is always the constant 0.0: unary ops point
their unused ``b`` at it, so the sweeps need no arity branch.

The arrays live in a ``typing.NamedTuple`` so that they pass into ``@njit`` code (the
sweeps and users' own kernels) and the compiled code caches across processes; a jitclass
would break ``cache=True`` (numba issues 6522, 9659).
"""

import weakref
from typing import NamedTuple

import numpy as np

from numba_ad.ops import user
from numba_ad.ops.table import ARITY, COMPARISONS, FIRST_MATH, TABLE, Op

OP_DTYPE = np.uint8
INDEX_DTYPE = np.int32


class TapeArrays(NamedTuple):
    """The recorded tape as plain arrays (passable to @njit code)."""

    op: np.ndarray  # uint8 (n_slots,): opcode of each slot
    a: np.ndarray  # int32 (n_slots,): first argument slot (INPUT/PARAM: their index)
    b: np.ndarray  # int32 (n_slots,): second argument slot (0 for unary ops)
    c: np.ndarray  # float64 (n_slots,): constant operand
    inputs: np.ndarray  # int32 (n,): slot of each input
    outputs: np.ndarray  # int32 (m,): slot of each output
    params: np.ndarray  # int32 (p,): slot of each parameter
    guards: np.ndarray  # int32 (g,): slot of each guard, in recording order


class GuardInfo(NamedTuple):
    """What a guard came from, for messages: ``lhs symbol rhs`` written at ``location``."""

    symbol: str  # the user's comparison: "<", ">", "<=", ">=", "==", "!="
    lhs: int  # slot of the left operand
    rhs: int  # slot of the right operand
    location: str  # "file:line" of the user code that compared


_DTYPES = dict(
    op=OP_DTYPE,
    a=INDEX_DTYPE,
    b=INDEX_DTYPE,
    c=np.float64,
    inputs=INDEX_DTYPE,
    outputs=INDEX_DTYPE,
    params=INDEX_DTYPE,
    guards=INDEX_DTYPE,
)


# Known opcodes are the members of Op, not a range: codes are append-only and may leave gaps.
# A lookup table over every value an OP_DTYPE can hold (the op field is cast to it first).
_KNOWN_OPCODES = np.zeros(np.iinfo(OP_DTYPE).max + 1, dtype=bool)
_KNOWN_OPCODES[[int(op) for op in Op if 0 <= int(op) < _KNOWN_OPCODES.shape[0]]] = True


def is_known_opcode(code: int) -> bool:
    """True when `code` is the value of a member of Op (an opcode this numba_ad can replay)."""
    return 0 <= code < _KNOWN_OPCODES.shape[0] and bool(_KNOWN_OPCODES[code])


def known_opcodes_text() -> str:
    """The known opcodes as ranges, for messages: ``0..50`` (``0..50, 60`` once a code leaves a gap)."""
    runs: list[list[int]] = []
    for code in np.flatnonzero(_KNOWN_OPCODES).tolist():
        if runs and code == runs[-1][1] + 1:
            runs[-1][1] = code
        else:
            runs.append([code, code])
    return ", ".join(f"{lo}..{hi}" if hi > lo else f"{lo}" for lo, hi in runs)


def _fail(message):
    raise ValueError(f"invalid tape: {message}")


def _as_field(name, value):
    arr = np.asarray(value)
    if arr.ndim != 1:
        _fail(f"field {name!r} must be 1-D; got shape {arr.shape}")
    want = np.dtype(_DTYPES[name])
    if arr.size and not np.can_cast(arr.dtype, want, casting="same_kind" if want.kind == "f" else "safe"):
        if not (want.kind in "iu" and arr.dtype.kind in "iu" and _fits(arr, want)):
            _fail(f"field {name!r} must hold {want}; got {arr.dtype}")
    # A private copy, made immutable by frozen() once every check has passed.
    return np.array(arr, dtype=want, order="C", copy=True)


def frozen_array(arr: np.ndarray) -> np.ndarray:
    """An immutable copy of `arr`: a view of a bytes object, whose WRITEABLE flag numpy refuses
    to set again (``arr.flags.writeable = True`` raises), unlike a copy that owns its memory."""
    out = np.frombuffer(np.ascontiguousarray(arr).tobytes(), dtype=arr.dtype)
    if not out.flags.aligned:  # bytes data is 16-byte aligned in CPython; a fallback all the same
        out = np.array(arr, order="C")
        out.flags.writeable = False
    return out


# The TapeArrays validated() returned, by id of their op array: weak references to their 8
# arrays, so a TapeArrays counts as validated only with the very arrays that were checked
# (read-only arrays a user made are not enough: anyone can set writeable = False).
_VALIDATED: dict[int, tuple] = {}


def _forget(ref, key):
    entry = _VALIDATED.get(key)
    if entry is not None and entry[0] is ref:
        del _VALIDATED[key]


def is_validated(arrays) -> bool:
    """True when `arrays` is (field for field) a TapeArrays that validated() returned."""
    op = getattr(arrays, "op", None)
    entry = _VALIDATED.get(id(op))
    return (
        entry is not None
        and isinstance(arrays, TapeArrays)
        and all(ref() is arr for ref, arr in zip(entry, arrays, strict=True))
    )


def _frozen(t):
    """`t` with every field immutable, registered as validated."""
    t = TapeArrays(*[frozen_array(arr) for arr in t])
    key = id(t.op)
    refs = [weakref.ref(t.op, lambda ref, key=key: _forget(ref, key))]
    refs += [weakref.ref(arr) for arr in t[1:]]
    _VALIDATED[key] = tuple(refs)
    return t


def _fits(arr, dtype):
    info = np.iinfo(dtype)
    return arr.min() >= info.min and arr.max() <= info.max


def validated(arrays: TapeArrays) -> TapeArrays:
    """Return a private, validated, immutable copy of `arrays`; raise ValueError saying what is wrong.

    After this check no pass (replay, optimize, compile, batches, second order, sparsity) can
    read or write outside its arrays, whatever the tape holds: every slot index is checked
    (operands of math ops point at earlier slots, CONST slots have a = b = 0, INPUT and PARAM
    slots b = 0 and a their index), and so are inputs, params, outputs and guards.

    The copy's arrays are read-only views of bytes objects, so neither ``tape.arrays.a[0] = 7``
    nor ``tape.arrays.a.flags.writeable = True`` can change a tape after its check. The
    read-only type is also what the nb kernels require (numba types read-only arrays apart),
    so a TapeArrays of fresh, writable arrays cannot reach them without this check.
    """
    if not hasattr(arrays, "_fields") or tuple(arrays._fields) != TapeArrays._fields:
        fields = getattr(arrays, "_fields", None)
        raise TypeError(
            f"expected a TapeArrays NamedTuple with fields {TapeArrays._fields}; got "
            f"{type(arrays).__name__}" + (f" with fields {fields}" if fields else "")
        )
    t = TapeArrays(*[_as_field(name, getattr(arrays, name)) for name in TapeArrays._fields])
    n_slots = t.op.shape[0]
    for name in ("a", "b", "c"):
        if getattr(t, name).shape[0] != n_slots:
            _fail(f"field {name!r} has length {getattr(t, name).shape[0]}, 'op' has {n_slots}")
    if n_slots == 0 or t.op[0] != Op.CONST or t.c[0] != 0.0:
        _fail("slot 0 must be the constant 0.0")
    unknown = ~_KNOWN_OPCODES[t.op]
    if unknown.any():
        i = int(np.argmax(unknown))
        _fail(f"slot {i} has opcode {t.op[i]}, which this numba_ad does not know (known: {known_opcodes_text()})")
    slots = np.arange(n_slots)
    math = t.op >= FIRST_MATH
    # Topological order: every op reads only earlier slots, so one forward pass suffices.
    for name in ("a", "b"):
        arg = getattr(t, name)
        bad = math & ((arg < 0) | (arg >= slots))
        if bad.any():
            i = int(np.argmax(bad))
            _fail(f"slot {i} reads slot {name}={arg[i]}, which is not an earlier slot")
    unary = ARITY[t.op] == 1
    if (unary & (t.b != 0)).any():
        i = int(np.argmax(unary & (t.b != 0)))
        _fail(f"slot {i} is a unary op ({Op(t.op[i]).name}) whose b is {t.b[i]}, not 0")
    _check_structural(t)
    _check_index_ops(t, Op.INPUT, "inputs")
    _check_index_ops(t, Op.PARAM, "params")
    if t.outputs.shape[0] == 0:
        _fail("a tape needs at least one output")
    if ((t.outputs < 0) | (t.outputs >= n_slots)).any():
        _fail(f"outputs must be slots in 0..{n_slots - 1}; got {t.outputs.tolist()}")
    _check_guards(t)
    _check_primitives(t)
    return _frozen(t)


def _check_structural(t):
    """CONST slots read nothing (a = b = 0, as the tracers write them); INPUT and PARAM slots
    have b = 0 (their a, an index, is checked with the inputs and params fields). Passes that
    treat every slot alike (optimize's renumbering, the compilers) may then index with a, b."""
    const = t.op == Op.CONST
    bad = const & ((t.a != 0) | (t.b != 0))
    if bad.any():
        i = int(np.argmax(bad))
        _fail(f"slot {i} is a CONST whose a, b are {t.a[i]}, {t.b[i]}; a constant reads no slot: both must be 0")
    bad = ((t.op == Op.INPUT) | (t.op == Op.PARAM)) & (t.b != 0)
    if bad.any():
        i = int(np.argmax(bad))
        _fail(f"slot {i} is a {Op(t.op[i]).name} slot whose b is {t.b[i]}; it must be 0")


def _check_primitives(t):
    """A USER1 / USER2 op's c is the index of a primitive registered in this process, of its arity."""
    for arity, opcode in ((1, Op.USER1), (2, Op.USER2)):
        at = np.flatnonzero(t.op == opcode)
        if at.shape[0] == 0:
            continue
        for index in np.unique(t.c[at]).tolist():
            i = int(at[np.argmax(t.c[at] == index)])
            if not (index == int(index) and 0 <= index < len(user.REGISTRY)):
                _fail(
                    f"slot {i} calls user primitive {index!r}, but this process has "
                    f"{len(user.REGISTRY)} registered (numba_ad.primitive); indices are 0..{len(user.REGISTRY) - 1}"
                )
            p = user.REGISTRY[int(index)]
            if p.arity != arity:
                _fail(
                    f"slot {i} is a {opcode.name} op, but primitive {p.name!r} (index {int(index)}) "
                    f"takes {p.arity} argument(s)"
                )


def _check_guards(t):
    """Guards are comparison slots in increasing order, each holding its outcome 0.0 or 1.0."""
    g = t.guards
    if ((g < 0) | (g >= t.op.shape[0])).any():
        _fail(f"guards must be slots in 0..{t.op.shape[0] - 1}; got {g.tolist()}")
    if (np.diff(g) <= 0).any():
        _fail(f"guards must be listed in increasing slot order; got {g.tolist()}")
    not_comparison = ~np.isin(t.op[g], np.array([int(op) for op in COMPARISONS]))
    if not_comparison.any():
        k = int(np.argmax(not_comparison))
        _fail(f"guard {k} is slot {g[k]}, a {Op(t.op[g[k]]).name} op; a guard must be a comparison (LT, LE, EQ)")
    bad_outcome = (t.c[g] != 0.0) & (t.c[g] != 1.0)
    if bad_outcome.any():
        k = int(np.argmax(bad_outcome))
        _fail(f"guard {k} (slot {g[k]}) must hold its recorded outcome 0.0 or 1.0 in c; got {t.c[g[k]]}")


def _check_index_ops(t, opcode, field):
    """INPUT (PARAM) slots and the `inputs` (`params`) field must describe each other."""
    listed = getattr(t, field)
    k = listed.shape[0]
    if ((listed < 0) | (listed >= t.op.shape[0])).any():
        _fail(f"{field} must be slots in 0..{t.op.shape[0] - 1}; got {listed.tolist()}")
    found = np.flatnonzero(t.op == opcode)
    if found.shape[0] != k or (k and not np.array_equal(np.sort(listed), found)):
        _fail(f"{field} lists slots {listed.tolist()} but {opcode.name} ops sit at {found.tolist()}")
    if k and not np.array_equal(t.a[listed], np.arange(k)):
        _fail(f"the {opcode.name} op at slot {field}[j] must have a == j; got {t.a[listed].tolist()}")


# ---------------------------------------------------------------------------------------
# Rendering slots as expressions, for messages (branch changes name the comparison).
# ---------------------------------------------------------------------------------------
_INFIX = {Op.ADD, Op.SUB, Op.MUL, Op.DIV, Op.POW, Op.LT, Op.LE, Op.EQ}


def render(arrays: TapeArrays, slot: int, depth: int = 3) -> str:
    """A short expression for the value at `slot`, such as ``sin(x[0]) * p[1]``."""
    op = Op(int(arrays.op[slot]))
    a, b, c = int(arrays.a[slot]), int(arrays.b[slot]), float(arrays.c[slot])
    if op == Op.CONST:
        return f"{c:g}"
    if op == Op.INPUT:
        return f"x[{a}]"
    if op == Op.PARAM:
        return f"p[{a}]"
    if depth == 0:
        return "..."
    lhs = render(arrays, a, depth - 1)
    if op in _INFIX:
        return f"({lhs} {TABLE[op].name} {render(arrays, b, depth - 1)})"
    if op in (Op.POWI, Op.POWC):
        return f"{lhs} ** {c:g}"
    if op == Op.CPOW:
        return f"{c:g} ** {lhs}"
    if TABLE[op].arity == 2:
        return f"{TABLE[op].name}({lhs}, {render(arrays, b, depth - 1)})"
    return f"{TABLE[op].name}({lhs})"
