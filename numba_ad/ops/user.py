"""User-defined primitives: the registry the USER1 / USER2 ops call through.

A user primitive is a scalar function the op table does not have (a special function, a
black-box formula) with its partial derivatives, registered at run time
(``numba_ad.primitive``). It records as one op: USER1 (unary) or USER2 (binary), whose
constant operand ``c`` is the primitive's index in this process's registry.

How compiled kernels reach functions that did not exist when they were compiled: every rule
of a primitive (value, d_a, d_b, d_aa, d_ab, d_bb) is compiled to a C callback
(``numba.cfunc``) and its address written into ``ADDRESSES``, one row per primitive. The
kernels load the address from that table by name, through the linker symbol
``numba_ad_user_rules`` (``llvmlite.binding.add_symbol``, as numba's own helper functions
are reached), and call it. Machine code therefore never holds an address: numba's on-disk
cache of the sweeps, the drivers and compiled tapes stays valid in every process, and a new
primitive needs no recompilation of anything but its own callbacks.

A missing rule (second partials not given) has address 0; a call to it returns NaN, and the
drivers refuse such tapes before any kernel runs (``missing_rule``), so the NaN is a last
line of defence, never an answer. Indices are per process; saved tapes store primitives by
name (tape/format.py) and are mapped back on load.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import llvmlite.binding as llvm
import numpy as np
from llvmlite import ir
from numba import cfunc, types
from numba.extending import intrinsic

from numba_ad._config import kernel, kernel_inline
from numba_ad.ops.codes import Op

MAX_PRIMITIVES = 4096
N_RULES = 6
VALUE, D_A, D_B, D_AA, D_AB, D_BB = range(N_RULES)
RULE_NAMES = ("value", "d_a", "d_b", "d_aa", "d_ab", "d_bb")
SECOND_RULES = {1: (D_AA,), 2: (D_AA, D_AB, D_BB)}  # the second partials each arity needs
_SYMBOL = "numba_ad_user_rules"

# The table the kernels read: one row of callback addresses per primitive, 0 where a rule is
# missing. Allocated once and never moved: its address is what the linker symbol resolves to.
ADDRESSES = np.zeros((MAX_PRIMITIVES, N_RULES), dtype=np.uint64)
llvm.add_symbol(_SYMBOL, ADDRESSES.ctypes.data)


@dataclass
class Registered:
    """One primitive: its name, arity, the Python callables of its rules (None: not given)
    and the compiled callbacks (kept alive here: ADDRESSES points into them)."""

    name: str
    arity: int
    rules: tuple[Callable | None, ...]
    callbacks: list = field(default_factory=list, repr=False)

    def has(self, rule: int) -> bool:
        return self.rules[rule] is not None

    def has_second_partials(self) -> bool:
        return all(self.has(k) for k in SECOND_RULES[self.arity])

    def evaluate(self, x: float, y: float = 0.0) -> float:
        """The value at x (and y), as the kernels compute it (the same compiled callback)."""
        return float(self.callbacks[0].ctypes(*((x,) if self.arity == 1 else (x, y))))

    def evaluate_many(self, x, y=0.0) -> np.ndarray:
        """The value elementwise over x (and y), broadcast, as float64."""
        x, y = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
        out = np.empty(x.shape)
        _map(int(self.callbacks[0].address), self.arity, x.ravel(), y.ravel(), out.reshape(-1))
        return out


REGISTRY: list[Registered] = []
_BY_NAME: dict[str, int] = {}
_LOCK = threading.Lock()


def _signature(arity: int):
    return types.float64(*([types.float64] * arity))


def register(name: str, arity: int, rules: tuple[Callable | None, ...]) -> int:
    """Compile `rules` (one per RULE_NAMES entry; None where not given) to callbacks and give
    them an index; return it. A name registered before keeps its index and takes the new
    rules (redefining a function in a notebook): tapes that use it call the new rules."""
    if arity not in (1, 2):
        raise ValueError(f"a primitive takes 1 or 2 arguments; got arity {arity}")
    if len(rules) != N_RULES or rules[VALUE] is None:
        raise ValueError("a primitive needs its value and one rule slot per RULE_NAMES entry")
    callbacks, addresses = [], np.zeros(N_RULES, dtype=np.uint64)
    for k, rule in enumerate(rules):
        if rule is None:
            continue
        callback = cfunc(_signature(arity), cache=False, error_model="numpy")(rule)
        callbacks.append(callback)
        addresses[k] = callback.address
    with _LOCK:
        index = _BY_NAME.get(name)
        if index is None:
            index = len(REGISTRY)
            if index >= MAX_PRIMITIVES:
                raise ValueError(f"at most {MAX_PRIMITIVES} primitives can be registered in one process")
            REGISTRY.append(Registered(name, arity, rules, callbacks))
            _BY_NAME[name] = index
        else:
            if REGISTRY[index].arity != arity:
                raise ValueError(
                    f"primitive {name!r} was registered with {REGISTRY[index].arity} argument(s); "
                    f"it cannot be redefined with {arity}"
                )
            REGISTRY[index] = Registered(name, arity, rules, callbacks)
        ADDRESSES[index] = addresses
    return index


def index_of(name: str) -> int | None:
    """The index of the primitive registered as `name`, or None."""
    return _BY_NAME.get(name)


def registered(index: int) -> Registered:
    """The primitive at `index` (ValueError naming the index when there is none)."""
    if not 0 <= index < len(REGISTRY):
        raise ValueError(f"no user primitive has index {index} in this process ({len(REGISTRY)} registered)")
    return REGISTRY[index]


def definitions(used: list[int]) -> tuple[tuple[str, int, tuple[Callable | None, ...]], ...]:
    """(name, arity, rules) of the primitives at the registry indices `used`: what a pickled
    tape carries so that another process can register them (ensure_registered)."""
    return tuple((REGISTRY[i].name, REGISTRY[i].arity, REGISTRY[i].rules) for i in used)


def ensure_registered(defined: tuple[tuple[str, int, tuple[Callable | None, ...]], ...]) -> None:
    """Register each (name, arity, rules) whose name this process does not know yet. A name
    already registered keeps its own rules: the process that defined it knows them best (a
    tape unpickled where it was pickled, or where the user registered the same primitive)."""
    for name, arity, rules in defined:
        if index_of(name) is None:
            register(name, arity, rules)


USER1, USER2 = int(Op.USER1), int(Op.USER2)
USER_CODES = (USER1, USER2)


def primitives_used(op: np.ndarray, c: np.ndarray) -> list[int]:
    """The registry indices of the primitives a tape's (op, c) fields call, sorted."""
    user = np.isin(op, USER_CODES)
    return sorted({int(v) for v in np.unique(c[user]).tolist()}) if user.any() else []


def missing_rule(used: list[int], order: int, what: str) -> str | None:
    """Why `what` (a derivative of `order`: 2 for HVPs and Hessians, the degree for Taylor
    series) cannot run on a tape calling the primitives `used` (primitives_used), or None."""
    for index in used:
        p = REGISTRY[index]
        if order >= 3:
            return (
                f"{what} needs derivatives of order {order}, and primitive {p.name!r} defines rules up to "
                "order 2 (numba_ad.primitive); use degree <= 2"
            )
        if order == 2 and not p.has_second_partials():
            given = "second" if p.arity == 1 else "second=(d_aa, d_ab, d_bb)"
            return (
                f"{what} needs second derivatives, and primitive {p.name!r} was registered without them; "
                f"pass {given} to numba_ad.primitive"
            )
    return None


# ---------------------------------------------------------------------------------------
# The call from compiled code
# ---------------------------------------------------------------------------------------
def _table(module: ir.Module) -> ir.GlobalVariable:
    """The external declaration of the address table in `module` (one per LLVM module)."""
    existing = module.globals.get(_SYMBOL)
    if existing is not None:
        return existing
    table = ir.GlobalVariable(module, ir.ArrayType(ir.IntType(64), MAX_PRIMITIVES * N_RULES), _SYMBOL)
    table.linkage = "external"
    return table


def _call_codegen(arity: int):
    def codegen(context, builder, signature, args):
        entry, operands = args[0], list(args[1:])
        slot = builder.gep(_table(builder.module), [ir.Constant(ir.IntType(32), 0), entry], inbounds=True)
        address = builder.load(slot)
        nan = ir.Constant(ir.DoubleType(), math.nan)
        fnty = ir.FunctionType(ir.DoubleType(), [ir.DoubleType()] * arity)
        missing = builder.icmp_unsigned("==", address, ir.Constant(ir.IntType(64), 0))
        with builder.if_else(missing) as (then, otherwise):
            with then:
                block_missing = builder.block
            with otherwise:
                result = builder.call(builder.inttoptr(address, fnty.as_pointer()), operands)
                block_called = builder.block
        phi = builder.phi(ir.DoubleType())
        phi.add_incoming(nan, block_missing)
        phi.add_incoming(result, block_called)
        return phi

    return codegen


@intrinsic
def _call1(typingctx, entry, x):
    """ADDRESSES.flat[entry](x), NaN where that address is 0; entry must be in range."""
    return types.float64(types.int64, types.float64), _call_codegen(1)


@intrinsic
def _call2(typingctx, entry, x, y):
    """ADDRESSES.flat[entry](x, y), NaN where that address is 0; entry must be in range."""
    return types.float64(types.int64, types.float64, types.float64), _call_codegen(2)


@kernel_inline
def _entry(c, rule):
    """The flat ADDRESSES index of `rule` of the primitive whose index is the op's constant c,
    or -1 for an index out of range (tapes are validated: this never reads outside the table)."""
    i = int(c)
    if i < 0 or i >= MAX_PRIMITIVES or i != c:
        return -1
    return i * N_RULES + rule


# Called, not inlined, and one function for every rule: it sits in the op chains that every
# sweep inlines: inlining a function per rule there measured +5 s of cold start (first
# gradient 16.7 -> 21.8 s), calling one per rule +2 s; this one function, 15.6 to 16.5 s. The
# indirect call it makes costs more than the direct call to it anyway.
@kernel
def rule(c, which, x, y, arity):
    """Rule `which` (VALUE, D_A, ...) of the primitive whose index is the op's constant c, at
    x (arity 1) or (x, y) (arity 2); the op rows' templates call it. `which` and `arity` come
    as floats: integer constants would make numba compile one version per literal value."""
    e = _entry(c, int(which))
    if e < 0:
        return math.nan
    if arity == 1.0:
        return _call1(e, x)
    return _call2(e, x, y)


@kernel
def taylor_user(X, ia, ib, i, c, d_a, d_b, binary):
    """Taylor coefficients 2.. of slot i, a primitive: degree 2 from its second partials
    (the drivers refuse a primitive without them), NaN from 3 on (it has no rule for them:
    Tape.taylor refuses those degrees before the kernel runs)."""
    D = X.shape[1] - 1
    if D >= 2:
        x1 = X[ia, 1]
        y1 = X[ib, 1] if binary else 0.0
        if binary:
            x0, y0 = X[ia, 0], X[ib, 0]
            d_aa, d_ab, d_bb = rule(c, 3.0, x0, y0, 2.0), rule(c, 4.0, x0, y0, 2.0), rule(c, 5.0, x0, y0, 2.0)
        else:
            d_aa, d_ab, d_bb = rule(c, 3.0, X[ia, 0], 0.0, 1.0), 0.0, 0.0
        t = 0.0
        if d_a != 0.0 and X[ia, 2] != 0.0:
            t += d_a * X[ia, 2]
        if d_b != 0.0 and X[ib, 2] != 0.0:
            t += d_b * X[ib, 2]
        if x1 != 0.0:
            t += 0.5 * d_aa * x1 * x1
            if y1 != 0.0:
                t += d_ab * x1 * y1
        if y1 != 0.0:
            t += 0.5 * d_bb * y1 * y1
        X[i, 2] = t
    for k in range(3, D + 1):
        X[i, k] = math.nan


@kernel
def lacks_second(op, c):
    """Whether the op is a primitive without the second partials its arity needs (nb's check)."""
    if op == USER1:
        return not has_rule(c, D_AA)
    if op == USER2:
        return not (has_rule(c, D_AA) and has_rule(c, D_AB) and has_rule(c, D_BB))
    return False


@kernel
def has_rule(c, rule):
    """Whether the primitive c has `rule` (for checks in compiled code: nb's drivers)."""
    e = _entry(c, rule)
    return e >= 0 and _address(e) != 0


@intrinsic
def _address(typingctx, entry):
    """ADDRESSES.flat[entry] as an integer."""

    def codegen(context, builder, signature, args):
        slot = builder.gep(_table(builder.module), [ir.Constant(ir.IntType(32), 0), args[0]], inbounds=True)
        return builder.load(slot)

    return types.uint64(types.int64), codegen


@intrinsic
def _call_address1(typingctx, address, x):
    """The callback at `address` (nonzero) applied to x."""

    def codegen(context, builder, signature, args):
        fnty = ir.FunctionType(ir.DoubleType(), [ir.DoubleType()])
        return builder.call(builder.inttoptr(args[0], fnty.as_pointer()), [args[1]])

    return types.float64(types.int64, types.float64), codegen


@intrinsic
def _call_address2(typingctx, address, x, y):
    """The callback at `address` (nonzero) applied to (x, y)."""

    def codegen(context, builder, signature, args):
        fnty = ir.FunctionType(ir.DoubleType(), [ir.DoubleType()] * 2)
        return builder.call(builder.inttoptr(args[0], fnty.as_pointer()), [args[1], args[2]])

    return types.float64(types.int64, types.float64, types.float64), codegen


@kernel
def _map(address, arity, x, y, out):
    """out[i] = callback(x[i]) (arity 1) or callback(x[i], y[i]): array tracing's values. The
    address is passed in, not stored: this kernel is compiled once for every primitive."""
    if arity == 1:
        for i in range(x.shape[0]):
            out[i] = _call_address1(address, x[i])
    else:
        for i in range(x.shape[0]):
            out[i] = _call_address2(address, x[i], y[i])
