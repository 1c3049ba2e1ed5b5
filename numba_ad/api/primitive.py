"""``numba_ad.primitive``: a scalar function with its own derivative rules, recorded as one op.

For a function the op table lacks (a special function, a formula whose op-by-op derivative
is inaccurate, a black box that numba compiles): the user gives its value and partial
derivatives as numba-compilable scalar functions, and every call on traced values records a
single USER1 / USER2 op (ops/user.py) instead of the function's own operations. Replay,
batches, ``compile()``, the ``numba_ad.nb`` kernels and saved tapes all run it through the
compiled rules. Second partials are optional; HVPs, Hessians and Taylor series of degree 2
need them and refuse a tape without them, and Taylor degrees above 2 are refused for any
primitive (it defines no third derivatives). None of the rules is checked for correctness:
``numba_ad.testing.check_primitive`` compares them with finite differences.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numba import njit, types
from numba.core.dispatcher import Dispatcher
from numba.extending import typeof_impl

from numba_ad.dual.scalar import Dual
from numba_ad.ops import user
from numba_ad.ops.table import Op
from numba_ad.tracing import array_ops as ao
from numba_ad.tracing.array import as_operand, recording_of, result
from numba_ad.tracing.array_conditions import ConditionArray
from numba_ad.tracing.scalar import Condition, Traced, _binary, _unary

__all__ = ["Primitive", "primitive"]

_OPS = {1: int(Op.USER1), 2: int(Op.USER2)}


class Primitive:
    """A registered primitive; call it as the function it stands for.

    On traced values it records one op; on numbers it returns the value (float); on arrays
    it applies elementwise (NumPy broadcasting); on ``Dual`` numbers it applies its first
    partials; inside ``@njit`` code it is the compiled value function. Attributes: ``name``
    (the key saved tapes store it under), ``arity`` and ``index`` (its registry index in this
    process).
    """

    def __init__(self, name: str, arity: int, index: int, value_fn: Dispatcher):
        self.name, self.arity, self.index = name, arity, index
        self._value_fn = value_fn  # what @njit code calls (typeof below)
        self.__name__ = name.rsplit(".", 1)[-1]
        self.__doc__ = getattr(value_fn, "__doc__", None)

    def __repr__(self) -> str:
        return f"<numba_ad.primitive {self.name!r}, {self.arity} argument(s), index {self.index}>"

    @property
    def has_second_partials(self) -> bool:
        # from the registry, which a later registration of the same name updates
        return user.registered(self.index).has_second_partials()

    def __call__(self, *args: Any) -> Any:
        if len(args) != self.arity:
            raise TypeError(f"primitive {self.name!r} takes {self.arity} argument(s); got {len(args)}")
        rec = recording_of(args)
        if rec is not None:
            return self._record(rec, args)
        if any(type(a) is Dual for a in args):
            return self._dual(args)
        if all(np.ndim(a) == 0 for a in args):
            return user.registered(self.index).evaluate(*(_real(a, self.name) for a in args))
        return user.registered(self.index).evaluate_many(*[np.asarray(a, dtype=np.float64) for a in args])

    def _record(self, rec, args):
        c = float(self.index)
        op = _OPS[self.arity]
        if all(type(a) is Traced or np.ndim(a) == 0 and not isinstance(a, (Condition, ConditionArray)) for a in args):
            if self.arity == 1:
                return _unary(op, args[0], c)
            return _binary(op, args[0], args[1], c)
        operands = [as_operand(rec, a) for a in args]
        if any(o is None for o in operands):
            raise TypeError(f"primitive {self.name!r} takes numbers or traced values; got a condition")
        if self.arity == 1:
            return result(rec, ao.unary(rec, op, operands[0], c))
        return result(rec, ao.binary(rec, op, operands[0], operands[1], self.name, c))

    def _dual(self, args):
        values = [a.value if type(a) is Dual else _real(a, self.name) for a in args]
        derivs = [a.deriv if type(a) is Dual else 0.0 for a in args]
        registered = user.registered(self.index)
        value = registered.evaluate(*values)
        deriv = 0.0
        for k, d in enumerate(derivs):
            if d != 0.0:  # the structural-zero rule: a constant operand adds nothing
                deriv += float(registered.rules[user.D_A + k](*values)) * d
        return Dual(value, deriv)


@typeof_impl.register(Primitive)
def _typeof_primitive(p: Primitive, c) -> types.Dispatcher:
    # @njit code that calls a primitive calls its compiled value function
    return types.Dispatcher(p._value_fn)


def _real(value: Any, name: str) -> float:
    if isinstance(value, (complex, np.complexfloating)):
        raise TypeError(f"primitive {name!r} takes real numbers; got a complex")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(f"primitive {name!r} takes numbers; got {type(value).__name__}") from None


def _jitted(fn: Callable, what: str) -> Dispatcher:
    if isinstance(fn, Dispatcher):
        return fn
    if not callable(fn):
        raise TypeError(f"{what} must be a function (plain or @njit); got {type(fn).__name__}")
    return njit(fn)


def _count_parameters(fn: Callable) -> int | None:
    try:
        params = inspect.signature(getattr(fn, "py_func", fn)).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD, p.KEYWORD_ONLY) for p in params):
        return None
    return len(params)


def _rules_of(partials, second) -> tuple[int, list, list]:
    if callable(partials):
        arity, firsts = 1, [partials]
    elif isinstance(partials, Sequence) and not isinstance(partials, str) and len(partials) in (1, 2):
        arity, firsts = len(partials), list(partials)
    else:
        raise TypeError(
            "partials must be d/dx (one function, for a function of one argument) or (d/dx, d/dy) "
            f"(for two); got {type(partials).__name__}"
            + (f" of length {len(partials)}" if isinstance(partials, Sequence) else "")
        )
    if second is None:
        seconds = [None] * 3
    elif arity == 1 and callable(second):
        seconds = [second, None, None]
    elif arity == 1 and isinstance(second, Sequence) and len(second) == 1:
        seconds = [second[0], None, None]
    elif arity == 2 and isinstance(second, Sequence) and not isinstance(second, str) and len(second) == 3:
        seconds = list(second)
    else:
        expected = "d2/dx2 (one function)" if arity == 1 else "(d2/dx2, d2/dxdy, d2/dy2)"
        raise TypeError(f"second must be {expected} for a function of {arity} argument(s); got {second!r}")
    return arity, firsts, seconds


def primitive(
    fn: Callable,
    partials: Callable | Sequence[Callable],
    second: Callable | Sequence[Callable] | None = None,
    *,
    name: str | None = None,
) -> Primitive:
    """Register `fn` as a primitive with its partial derivatives; return it, callable as `fn`.

    Parameters
    ----------
    fn : function of one or two floats returning a float, plain Python or ``@njit``; it and
        every rule must compile in numba's nopython mode (they run as compiled callbacks).
    partials : d fn/dx for a function of one argument; ``(d/dx, d/dy)`` for two. Each takes
        the same arguments as `fn`.
    second : optional second partials: d2/dx2 for one argument; ``(d2/dx2, d2/dxdy, d2/dy2)``
        for two. Without them, HVPs, Hessians and Taylor series of degree 2 raise.
    name : the key that saved tapes store the primitive under (default: fn's module and
        qualified name). Registering a name again replaces its rules, in this process, for
        every tape that uses it (redefining a function in a notebook).

    Example: ``j0 = ad.primitive(j0_impl, partials=lambda x: -j1_impl(x))``, then
    ``ad.grad(lambda x: j0(x[0]) * x[1])``.
    """
    if not callable(fn):
        raise TypeError(f"fn must be a function (plain or @njit); got {type(fn).__name__}")
    arity, firsts, seconds = _rules_of(partials, second)
    n_params = _count_parameters(fn)
    if n_params is not None and n_params != arity:
        raise TypeError(
            f"fn takes {n_params} argument(s) but partials gives {arity} partial derivative(s): "
            "give one partial per argument"
        )
    value_fn = _jitted(fn, "fn")
    second_rules = [None if s is None else _jitted(s, f"second[{k}]") for k, s in enumerate(seconds)]
    first_rules = [_jitted(r, f"partials[{k}]") for k, r in enumerate(firsts)] + [None] * (2 - arity)
    rules = (value_fn, *first_rules, *second_rules)  # in ops.user.RULE_NAMES order
    for k, rule in enumerate(rules[1:], start=1):  # fn itself was checked above
        if rule is not None and (count := _count_parameters(rule)) is not None and count != arity:
            raise TypeError(f"the {user.RULE_NAMES[k]} rule takes {count} argument(s); it must take {arity}, as fn")
    if name is None:
        module = getattr(fn, "__module__", None) or "__main__"
        name = f"{module}.{getattr(fn, '__qualname__', getattr(fn, '__name__', 'primitive'))}"
    if not isinstance(name, str) or not name:
        raise TypeError(f"name must be a non-empty str; got {name!r}")
    try:
        index = user.register(name, arity, rules)
    except Exception as error:  # numba's TypingError etc.: say which primitive
        if isinstance(error, (TypeError, ValueError)) and "numba" not in type(error).__module__:
            raise
        raise TypeError(
            f"primitive {name!r}: its rules must compile with numba (nopython mode) as functions of "
            f"{arity} float(s) returning a float; numba says: {error}"
        ) from None
    return Primitive(name, arity, index, value_fn)
