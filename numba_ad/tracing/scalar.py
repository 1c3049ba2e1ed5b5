"""Tracing: run the user's Python once on traced values and record a tape.

Pure Python: this module never imports or calls a kernel. A ``Traced`` scalar knows its
slot on the tape and its value at the recording point; every operator, NumPy ufunc and
math dunder on it appends one op to a ``Recording``. ``TracedArray`` (tracing.array) holds
the slots and values of a whole array, so that user code can index, slice, iterate and call
NumPy on ``x``; NumPy calls on it append whole blocks of ops (ufuncs, array_ops).

Comparisons return a ``Comparison``; only when Python asks for its truth (``if``,
``while``, ``and``, ``max()``...) is a guard op recorded, holding the outcome seen here.
Constants never become ops except as operands: ``2 * 3`` stays Python arithmetic.
"""

import dis
import math
import operator
import os
import sys

import numpy as np

from numba_ad.ops.rules import POWER_ONE, POWER_SAME, power_op
from numba_ad.ops.table import SCALAR, Op
from numba_ad.tape.arrays import GuardInfo
from numba_ad.tracing.bulk import BulkRecording

_CONST, _INPUT, _PARAM = int(Op.CONST), int(Op.INPUT), int(Op.PARAM)
_ADD, _SUB, _MUL, _DIV, _POW = int(Op.ADD), int(Op.SUB), int(Op.MUL), int(Op.DIV), int(Op.POW)
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
_NUMPY_DIR = os.path.dirname(os.path.abspath(np.__file__))


class Recording(BulkRecording):
    """The growing buffers of one trace.

    Scalar ops append to one Python list per tape field (``push``, the loop-style hot path);
    whole arrays of ops arrive as NumPy arrays (``block``, from tracing.bulk), which first
    move the lists into a chunk of arrays. The next op's slot is ``_base + len(self.op)``,
    ``_base`` counting the slots already moved into chunks.
    """

    def __init__(self):
        self.op, self.a, self.b, self.c = [_CONST], [0], [0], [0.0]  # slot 0: constant 0.0
        self._chunks, self._base = [], 0  # (op, a, b, c) arrays; slots they hold
        self.inputs, self.params, self.guards, self.guard_info = [], [], [], []  # ints, int arrays
        self._n_inputs = self._n_params = 0
        self._consts = {(0.0, 1.0): 0}

    def push(self, op, a, b, c, value):
        slot = self._base + len(self.op)
        self.op.append(op)
        self.a.append(a)
        self.b.append(b)
        self.c.append(c)
        return Traced(self, slot, value)

    def const(self, value):
        """Slot of the constant `value`, recorded once per distinct value."""
        key = (value, math.copysign(1.0, value)) if value == 0.0 else value  # -0.0 apart from 0.0
        slot = self._consts.get(key)
        if slot is None:
            slot = self.push(_CONST, 0, 0, value, value).slot
            self._consts[key] = slot
        return slot

    def input(self, value):
        traced = self.push(_INPUT, self._n_inputs, 0, 0.0, float(value))
        self.inputs.append(traced.slot)
        self._n_inputs += 1
        return traced

    def param(self, value):
        traced = self.push(_PARAM, self._n_params, 0, 0.0, float(value))
        self.params.append(traced.slot)
        self._n_params += 1
        return traced


# ---------------------------------------------------------------------------------------
# Recording ops. `x`, `y` are Traced or plain numbers (at least one is Traced).
# ---------------------------------------------------------------------------------------
def _number(v):
    """float(v) for a real number (Python, NumPy scalar, 0-d array); None otherwise."""
    if type(v) is float or type(v) is int or type(v) is bool:
        return float(v)
    if isinstance(v, (np.floating, np.integer, np.bool_)):
        return float(v)
    if isinstance(v, np.ndarray) and v.ndim == 0 and v.dtype.kind in "fiub":
        return float(v)
    return None


def _operand(rec, v):
    """(slot, value) of an operand of an op recorded on `rec`."""
    if type(v) is Traced:
        if v._rec is not rec:
            raise ValueError("cannot combine traced values from two different recordings")
        return v.slot, v.value
    number = _number(v)
    if number is None:
        raise TypeError(f"cannot record an operation on a {type(v).__name__}; expected a number or a traced value")
    return rec.const(number), number


def _rec_of(*args):
    for v in args:
        if type(v) is Traced:
            return v._rec
    raise TypeError("no traced operand")  # pragma: no cover - callers guarantee one


def _binary(op, x, y, c=0.0):
    rec = _rec_of(x, y)
    xs, xv = _operand(rec, x)
    ys, yv = _operand(rec, y)
    return rec.push(op, xs, ys, c, SCALAR[op](xv, yv, c))


def _unary(op, x, c=0.0):
    return x._rec.push(op, x.slot, 0, c, SCALAR[op](x.value, 0.0, c))


_power_op = getattr(power_op, "py_func", power_op)  # the kernel's own Python code: no compiled call
_CONSTANT_POWERS = (int(Op.POWI), int(Op.POWC))  # the ops that keep c as their constant


_POWER_OPS = {}  # exponent -> op: x ** 2 in a loop asks _power_op once


def _power(x, y):
    if type(y) is not Traced:
        c = _number(y)
        if c is None:
            return NotImplemented
        op = _POWER_OPS.get(c)
        if op is None:
            op = _power_op(c)
            if len(_POWER_OPS) < 256:
                _POWER_OPS[c] = op
        if op == POWER_ONE:
            return 1.0  # x**0 == 1 for every x, NaN included
        if op == POWER_SAME:
            return x
        return _unary(op, x, c if op in _CONSTANT_POWERS else 0.0)
    if type(x) is not Traced:
        c = _number(x)
        if c is None:
            return NotImplemented
        return _unary(int(Op.CPOW), y, c)
    return _binary(_POW, x, y)


def _floor_divide(x, y):
    return _unary(int(Op.FLOOR), _binary(_DIV, x, y))


def _remainder(x, y):
    # Python's and NumPy's modulo: x - y * floor(x / y); d/dx = 1, d/dy = -floor(x / y)
    return x - y * _floor_divide(x, y)


def _user_location():
    """file:line of the innermost frame outside numba_ad and NumPy."""
    frame = sys._getframe(2)
    while frame is not None and frame.f_code.co_filename.startswith((_PACKAGE_DIR, _NUMPY_DIR)):
        frame = frame.f_back
    return f"{frame.f_code.co_filename}:{frame.f_lineno}" if frame is not None else "<unknown>"


# symbol -> (guard op, operands swapped?, outcome inverted?)
_GUARDS = {
    "<": (int(Op.LT), False, False),
    ">": (int(Op.LT), True, False),
    "<=": (int(Op.LE), False, False),
    ">=": (int(Op.LE), True, False),
    "==": (int(Op.EQ), False, False),
    "!=": (int(Op.EQ), False, True),
}


class Condition:
    """A truth value of traced values, decided only when asked.

    ``bool(cond)`` (an ``if``, a ``while``, ``and``) records guards: the tape then holds one
    branch. ``where(cond, a, b)`` records the condition as a mask instead: the tape holds
    both branches (see ``mask_of``). ``&``, ``|``, ``~`` combine conditions lazily, so
    ``where((x > 0) & (x < 1), ...)`` needs no guard either.
    """

    __slots__ = ()

    # A condition used as a number behaves as Python's bool does (and records its guards).
    def __int__(self):
        return int(bool(self))

    __index__ = __int__

    def __float__(self):
        return float(bool(self))

    def __invert__(self):
        return _Not(self)  # logical not, as NumPy's ~ on booleans

    # Comparing conditions (with each other, with True/False or 0/1) decides by their truth, so
    # it records their guards; object's identity == would answer False, silently, at any x.
    def __eq__(self, other):
        if isinstance(other, (Condition, bool, np.bool_, int, float, np.integer, np.floating)):
            return bool(self) == (bool(other) if isinstance(other, Condition) else other)
        return NotImplemented  # a condition array compares element by element

    def __ne__(self, other):
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    def __hash__(self):
        # a dict or set lookup would decide by hash and identity and record nothing
        raise TypeError(
            "a traced condition cannot be a dict key or a set member: its truth depends on x and a "
            "lookup would record no guard; branch on it with `if`, or use np.where(cond, a, b)"
        )

    def _combine(self, other, kind, eager):
        if isinstance(other, (Condition, bool, np.bool_)):
            return _Combined(kind, self, other)
        if getattr(other, "_is_condition_array", False):
            return NotImplemented  # its reflected operator combines lazily, element by element
        return eager(bool(self), other)

    def __and__(self, other):
        return self._combine(other, "and", lambda s, o: s & o)

    def __or__(self, other):
        return self._combine(other, "or", lambda s, o: s | o)

    def __xor__(self, other):
        return self._combine(other, "xor", lambda s, o: s ^ o)

    def __rand__(self, other):
        return self._combine(other, "and", lambda s, o: o & s)

    def __ror__(self, other):
        return self._combine(other, "or", lambda s, o: o | s)

    def __rxor__(self, other):
        return self._combine(other, "xor", lambda s, o: o ^ s)

    def __add__(self, other):
        return int(self) + other

    def __radd__(self, other):
        return other + int(self)

    def __sub__(self, other):
        return int(self) - other

    def __rsub__(self, other):
        return other - int(self)

    def __mul__(self, other):
        return int(self) * other

    def __rmul__(self, other):
        return other * int(self)


class Comparison(Condition):
    """A comparison of traced values; asking for its truth records a guard."""

    __slots__ = ("lhs", "rhs", "symbol", "location", "_outcome", "_mask")

    def __init__(self, lhs, rhs, symbol):
        self.lhs, self.rhs, self.symbol = lhs, rhs, symbol
        self.location = _user_location()
        self._outcome = None
        self._mask = None

    def __bool__(self):
        if self._outcome is None:
            self._outcome = self._record_guard()
        return self._outcome

    def _record(self, rec, guard):
        """Push the comparison op: (Traced 0/1 value, user's sense inverted?, lhs slot, rhs slot).

        A guard's c holds the outcome a replay must reproduce; a mask's c is unused (0)."""
        ls, lv = _operand(rec, self.lhs)
        rs, rv = _operand(rec, self.rhs)
        op, swapped, inverted = _GUARDS[self.symbol]
        a, b, av, bv = (rs, ls, rv, lv) if swapped else (ls, rs, lv, rv)
        v = SCALAR[op](av, bv, 0.0)
        return rec.push(op, a, b, v if guard else 0.0, v), inverted, ls, rs

    def _record_guard(self):
        rec = _rec_of(self.lhs, self.rhs)
        traced, inverted, ls, rs = self._record(rec, guard=True)
        rec.guards.append(traced.slot)
        rec.guard_info.append(GuardInfo(self.symbol, ls, rs, self.location))
        return (traced.value == 1.0) != inverted

    def __repr__(self):
        return f"Comparison({self.lhs!r} {self.symbol} {self.rhs!r})"


class _Not(Condition):
    __slots__ = ("inner",)

    def __init__(self, inner):
        self.inner = inner

    def __bool__(self):
        return not bool(self.inner)


class _Combined(Condition):
    __slots__ = ("kind", "left", "right")

    def __init__(self, kind, left, right):
        self.kind, self.left, self.right = kind, left, right

    def __bool__(self):
        left, right = bool(self.left), bool(self.right)  # both guards, as NumPy's & evaluates both
        return {"and": left and right, "or": left or right, "xor": left != right}[self.kind]


def traced_operands(cond):
    """The Traced values a condition reads (empty for a plain bool)."""
    if isinstance(cond, Comparison):
        return [v for v in (cond.lhs, cond.rhs) if type(v) is Traced]
    if isinstance(cond, _Not):
        return traced_operands(cond.inner)
    if isinstance(cond, _Combined):
        return traced_operands(cond.left) + traced_operands(cond.right)
    return [cond] if type(cond) is Traced else []


def mask_of(rec, cond):
    """(mask, inverted): a Traced 0/1 value recorded without a guard (a plain 0.0 or 1.0 for a
    constant part) whose truth, flipped when `inverted`, is that of `cond`."""
    if isinstance(cond, (bool, np.bool_)):
        return float(bool(cond)), False
    if type(cond) is Traced:  # a number as a condition: true where it is not zero
        return _binary(int(Op.EQ), cond, 0.0), True
    if isinstance(cond, Comparison):
        if cond._mask is None or cond._mask[0]._rec is not rec:
            cond._mask = cond._record(rec, guard=False)[:2]
        return cond._mask
    if isinstance(cond, _Not):
        mask, inverted = mask_of(rec, cond.inner)
        return mask, not inverted
    if isinstance(cond, _Combined):
        left, right = _true_mask(rec, cond.left), _true_mask(rec, cond.right)
        if cond.kind == "and":
            return left * right, False
        if cond.kind == "or":
            return _binary(int(Op.MAXIMUM), left, right) if type(left) is Traced or type(right) is Traced else max(
                left, right
            ), False
        return (left - right) * (left - right), False  # xor of 0/1 values
    raise TypeError(f"a condition must be a bool, a comparison or a traced value; got {type(cond).__name__}")


def _true_mask(rec, cond):
    mask, inverted = mask_of(rec, cond)
    return 1.0 - mask if inverted else mask


def select(cond, a, b):
    """a where cond holds, else b, recorded without a guard: IF_TRUE(m, a) + IF_FALSE(m, b).

    The branch not taken never reaches a value or a derivative (ops/table.py, IF_TRUE)."""
    operands = traced_operands(cond)
    if not operands:
        return a if bool(cond) else b
    rec = operands[0]._rec
    mask, inverted = mask_of(rec, cond)
    if type(mask) is not Traced:  # the condition folded to a constant
        return a if (mask == 1.0) != inverted else b
    if inverted:
        a, b = b, a
    return _binary(_ADD, _binary(int(Op.IF_TRUE), mask, a), _binary(int(Op.IF_FALSE), mask, b))


# NumPy converts a value stored into a float array with float(); the Python frame running at
# that moment is the store itself (`g[i] = t`: STORE_SUBSCR, STORE_SLICE from 3.12)
_STORE_OPCODES = frozenset(dis.opmap[name] for name in ("STORE_SUBSCR", "STORE_SLICE") if name in dis.opmap)


STORE_MESSAGE = (
    "storing a traced value into a NumPy float array ({store}): the array holds numbers, not "
    "recorded values. Make the array traced: g = np.zeros_like(x) when it has x's shape (stores "
    "into it record), or g = np.zeros(n, dtype=object); or build a list and return np.array(values)"
)


def _array_store_at(frame):
    """'`file:line`' when `frame` is executing a subscript store, else None."""
    code = frame.f_code.co_code
    if 0 <= frame.f_lasti < len(code) and code[frame.f_lasti] in _STORE_OPCODES:
        return f"a subscript store at {os.path.basename(frame.f_code.co_filename)}:{frame.f_lineno}"
    return None


def _not_a_float(what, hint):
    return TypeError(
        f"{what} of a traced value: numba_ad records operations on traced values and cannot turn "
        f"one into a Python number while tracing. {hint}"
    )


_MATH_HINT = (
    "Use NumPy functions (np.sin, np.exp, ...) or numba_ad's (ad.erf, ad.erfc) instead "
    "of the math module in plain Python functions (inside @njit kernels math.* records), "
    "and keep traced values out of float(), int() and array stores."
)


# Python's float +, - and * are IEEE's (inf - inf is NaN, overflow inf, no exception), so the
# loop-style hot path computes them directly; / goes through the op's evaluator (x / 0.0).
_DIRECT_VALUE = {_ADD: operator.add, _SUB: operator.sub, _MUL: operator.mul}


def _operators(op):
    """(x op y, y op x) for the class Traced: a number or a Traced operand records the op;
    anything else (arrays, TracedArray) gets NotImplemented so that its own operator runs.

    Loop-style code records one op per call here, so the common operands (another Traced, a
    Python float or int) go to Recording.push directly: what _binary does, without its operand
    checks (loop-style P1 traced about 1.4x faster)."""
    value = _DIRECT_VALUE.get(op)
    scalar = SCALAR[op]
    compute = (lambda x, y: scalar(x, y, 0.0)) if value is None else value

    def record(rec, a, b, x, y):
        return rec.push(op, a, b, 0.0, compute(x, y))

    def forward(self, other):
        t = type(other)
        if t is Traced:
            rec = self._rec
            if other._rec is not rec:
                raise ValueError("cannot combine traced values from two different recordings")
            return record(rec, self.slot, other.slot, self.value, other.value)
        if t is float or t is int:
            rec, number = self._rec, float(other)
            return record(rec, self.slot, rec.const(number), self.value, number)
        if _number(other) is not None:
            return _binary(op, self, other)
        return _with_sequence(op, self, other, False)

    def reflected(self, other):
        t = type(other)
        if t is float or t is int:
            rec, number = self._rec, float(other)
            return record(rec, rec.const(number), self.slot, number, self.value)
        if _number(other) is not None:
            return _binary(op, other, self)
        return _with_sequence(op, self, other, True)

    return forward, reflected


# not MUL: np.float64(2.0) * [1.0, 2.0] is Python's sequence repetition, a TypeError, and so
# is it for a traced value
_UFUNC_OF = {_ADD: np.add, _SUB: np.subtract, _DIV: np.true_divide}


def _with_sequence(op, traced, other, reflected):
    """x[0] - [1.0, 2.0] as NumPy computes it for an np.float64: the list (or tuple) as an
    array, elementwise; without this, neither side knows the other and Python raises."""
    if op not in _UFUNC_OF or not isinstance(other, (list, tuple)):
        return NotImplemented
    array = np.asarray(other)
    if array.dtype.kind not in "biufO":
        return NotImplemented
    ufunc = _UFUNC_OF[op]
    return ufunc(array, traced) if reflected else ufunc(traced, array)


class _TracedDtype:
    """What ``.dtype`` of a traced scalar is: float64 for NumPy (``np.dtype(t.dtype)``, a
    ``dtype=`` argument, comparisons), and a ``.type`` that keeps a traced value traced: NumPy's
    own code for np.mean/np.var of a scalar ends in ``ret.dtype.type(ret / n)``, which
    np.float64 would refuse (it calls float())."""

    dtype = _FLOAT64 = np.dtype(np.float64)
    kind, char, name, itemsize, str = "f", "d", "float64", 8, "<f8"

    @staticmethod
    def type(value=0.0):
        return value if type(value) is Traced else np.float64(value)

    def __eq__(self, other):
        try:
            return np.dtype(other) == self._FLOAT64
        except TypeError:
            return NotImplemented

    def __hash__(self):
        return hash(self._FLOAT64)

    def __repr__(self):
        return "dtype('float64')"


_TRACED_DTYPE = _TracedDtype()


class Traced:
    """A scalar recorded on a tape: its slot, and its value at the recording point."""

    __slots__ = ("_rec", "slot", "value")
    __array_priority__ = 1000  # NumPy scalars and arrays defer to our operators
    # what NumPy's code asks of a scalar (np.var, np.linalg.norm(ord=3) read .dtype)
    dtype, shape, ndim, size = _TRACED_DTYPE, (), 0, 1

    def __init__(self, rec, slot, value):
        self._rec = rec
        self.slot = slot
        self.value = value

    def __repr__(self):
        return f"Traced(slot={self.slot}, value={self.value!r})"

    __add__, _radd = _operators(_ADD)
    __sub__, __rsub__ = _operators(_SUB)
    __mul__, __rmul__ = _operators(_MUL)
    __truediv__, __rtruediv__ = _operators(_DIV)

    def __radd__(self, other):
        if type(other) is int and other == 0:
            return self  # sum() starts from the int 0: no op for it
        return self._radd(other)

    def __pow__(self, other):
        return _power(self, other)

    def __rpow__(self, other):
        return _power(other, self)

    def __floordiv__(self, other):
        return _floor_divide(self, other) if type(other) is Traced or _number(other) is not None else NotImplemented

    def __rfloordiv__(self, other):
        return _floor_divide(other, self) if _number(other) is not None else NotImplemented

    def __mod__(self, other):
        return _remainder(self, other) if type(other) is Traced or _number(other) is not None else NotImplemented

    def __rmod__(self, other):
        return _remainder(other, self) if _number(other) is not None else NotImplemented

    def __neg__(self):
        return _unary(int(Op.NEG), self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _unary(int(Op.ABS), self)

    def conjugate(self):
        return self  # a real value; NumPy's object-array var and std ask for it

    conj = conjugate

    def __floor__(self):
        return _unary(int(Op.FLOOR), self)

    def __ceil__(self):
        return _unary(int(Op.CEIL), self)

    def __trunc__(self):
        return _unary(int(Op.TRUNC), self)

    def _compare(self, other, symbol):
        if _number(other) is None and type(other) is not Traced:
            return NotImplemented
        return Comparison(self, other, symbol)

    def __lt__(self, other):
        return self._compare(other, "<")

    def __le__(self, other):
        return self._compare(other, "<=")

    def __gt__(self, other):
        return self._compare(other, ">")

    def __ge__(self, other):
        return self._compare(other, ">=")

    def __eq__(self, other):
        return self._compare(other, "==")

    def __ne__(self, other):
        return self._compare(other, "!=")

    def __hash__(self):
        # A dict lookup or `in` on a set would compare by hash and identity, recording nothing:
        # the answer at the recording point would be replayed silently at every other x.
        raise TypeError(
            "a traced value cannot be a dict key or a set member (hash() of it): the lookup would "
            "depend on x without recording a guard; compare explicitly (x[0] == 1.0 or ...) or use np.where"
        )

    def __bool__(self):
        return bool(Comparison(self, 0.0, "!="))

    def __float__(self):
        store = _array_store_at(sys._getframe(1))
        if store is not None:
            raise TypeError(STORE_MESSAGE.format(store=store))
        raise _not_a_float("float()", _MATH_HINT)

    def __int__(self):
        raise _not_a_float("int()", _MATH_HINT)

    def __index__(self):
        raise _not_a_float("Using as an index", "Indices must not depend on x: index with plain integers.")

    def __complex__(self):
        raise _not_a_float("complex()", _MATH_HINT)

    def __round__(self, ndigits=None):
        raise _not_a_float("round()", "Use np.floor(v + 0.5) for rounding that records an op.")
