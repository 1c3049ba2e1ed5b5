"""The audit of issue 20: every dunder and NumPy protocol entry of the traced types, with the
reason it cannot decide a branch silently, each checked by behaviour.

Categories:
  op       records ops and returns traced values: no decision, replayed at every point.
  lazy     returns a condition (or condition array) that decides nothing until used.
  guard    decides a Python value from traced values and records the guards it depends on.
  refuse   raises TypeError or ValueError saying what to write instead.
  protocol NumPy's dispatch (__array_ufunc__, __array_function__, __array__, __array_priority__):
           it routes to the entries above or to NumPy's object code on the elements, whose
           element operations are themselves entries above.
  shape    reads or moves structure only (shape, slots), never values: __init__, __repr__,
           __len__, __iter__, __getitem__ and __setitem__ with plain indices.

``test_every_entry_is_classified`` fails when a traced type gains an entry the table lacks.
"""

import math
import operator

import numpy as np
import pytest

import numba_ad as ad
from numba_ad.tracing.array import TracedArray
from numba_ad.tracing.array_conditions import ConditionArray
from numba_ad.tracing.scalar import Condition, Traced

_HOUSEKEEPING = {
    "__module__", "__doc__", "__slots__", "__dict__", "__weakref__", "__qualname__", "__firstlineno__",
    "__static_attributes__", "__annotations__",
}  # fmt: skip

_ARITH = ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow")
_COMPARE = ("lt", "le", "gt", "ge", "eq", "ne")

TRACED = {
    **{f"__{n}__": "op" for n in _ARITH},
    **{f"__r{n}__": "op" for n in _ARITH if n not in ("lt",)},
    **{f"__{n}__": "lazy" for n in _COMPARE},
    "__neg__": "op", "__pos__": "op", "__abs__": "op",
    "__round__": "refuse", "__floor__": "op", "__ceil__": "op", "__trunc__": "op",
    "__bool__": "guard",
    "__float__": "refuse", "__int__": "refuse", "__index__": "refuse", "__complex__": "refuse", "__hash__": "refuse",
    "__array_ufunc__": "protocol", "__array_function__": "protocol", "__array_priority__": "protocol",
    "__init__": "shape", "__repr__": "shape",
}  # fmt: skip
CONDITION = {
    "__and__": "lazy", "__or__": "lazy", "__xor__": "lazy", "__rand__": "lazy", "__ror__": "lazy", "__rxor__": "lazy",
    "__invert__": "lazy",
    "__eq__": "guard", "__ne__": "guard", "__int__": "guard", "__float__": "guard", "__index__": "guard",
    "__add__": "guard", "__radd__": "guard", "__sub__": "guard", "__rsub__": "guard", "__mul__": "guard",
    "__rmul__": "guard",
    "__hash__": "refuse",
    "__array_ufunc__": "protocol", "__array_function__": "protocol",
}  # fmt: skip
TRACED_ARRAY = {
    **{f"__{n}__": "op" for n in _ARITH + ("matmul",)},
    **{f"__r{n}__": "op" for n in _ARITH + ("matmul",)},
    **{f"__i{n}__": "op" for n in _ARITH},
    **{f"__{n}__": "lazy" for n in _COMPARE},
    "__and__": "refuse", "__or__": "refuse", "__xor__": "refuse", "__rand__": "refuse", "__ror__": "refuse",
    "__rxor__": "refuse", "__invert__": "refuse",
    "__neg__": "op", "__pos__": "op", "__abs__": "op",
    "__bool__": "guard", "__float__": "refuse", "__int__": "refuse", "__index__": "refuse", "__hash__": "refuse",
    "__array__": "protocol", "__array_ufunc__": "protocol", "__array_function__": "protocol",
    "__array_priority__": "protocol",
    "__init__": "shape", "__repr__": "shape", "__len__": "shape", "__iter__": "shape", "__getitem__": "shape",
    "__setitem__": "shape",
}  # fmt: skip
CONDITION_ARRAY = {
    "__and__": "lazy", "__or__": "lazy", "__xor__": "lazy", "__rand__": "lazy", "__ror__": "lazy", "__rxor__": "lazy",
    "__invert__": "lazy", "__eq__": "lazy", "__ne__": "lazy",
    # arithmetic with numbers asks each element's truth (guards); .astype(float) is the guard-free form
    "__add__": "guard", "__radd__": "guard", "__sub__": "guard", "__rsub__": "guard", "__mul__": "guard",
    "__rmul__": "guard",
    "__bool__": "guard", "__int__": "guard", "__float__": "guard", "__index__": "guard",
    "__hash__": "refuse",
    "__array__": "protocol", "__array_ufunc__": "protocol", "__array_function__": "protocol",
    "__array_priority__": "protocol",
    "__repr__": "shape", "__len__": "shape", "__iter__": "shape", "__getitem__": "shape",
}  # fmt: skip
AUDIT = {Traced: TRACED, Condition: CONDITION, TracedArray: TRACED_ARRAY, ConditionArray: CONDITION_ARRAY}


def _entries(cls):
    return {
        name
        for klass in cls.__mro__
        if klass is not object
        for name in vars(klass)
        if name.startswith("__") and name.endswith("__") and name not in _HOUSEKEEPING
    }


@pytest.mark.parametrize("cls", list(AUDIT), ids=lambda c: c.__name__)
def test_every_entry_is_classified(cls):
    assert _entries(cls) == set(AUDIT[cls]), "classify the new entries in this file's table"


_UNARY = {"neg": operator.neg, "pos": operator.pos, "abs": abs, "invert": operator.invert, "round": round,
          "floor": math.floor, "ceil": math.ceil, "trunc": math.trunc, "bool": bool, "float": float, "int": int,
          "index": lambda v: [10.0, 20.0][v], "complex": complex, "hash": hash}  # fmt: skip


def _call(name, v, other):
    """Use entry `name` of v as Python code does (operators, builtins), with `other` as the operand."""
    core = name[2:-2]
    if core in _UNARY:
        return _UNARY[core](v)
    if core.startswith("i") and core != "invert":  # in-place: x op= other
        return getattr(v * 1.0, name)(other)
    if core.startswith("r") and core not in ("round",):
        return getattr(operator, core[1:] if core[1:] not in ("and", "or") else core[1:] + "_")(other, v)
    return getattr(operator, core if core not in ("and", "or") else core + "_")(v, other)


_MAKE = {
    Traced: (lambda x: x[0], lambda x: 1.5),
    Condition: (lambda x: x[0] > 0.3, lambda x: True),
    TracedArray: (lambda x: x[:1] * 1.0, lambda x: np.array([1.5])),
    ConditionArray: (lambda x: x[:1] > 0.3, lambda x: np.array([True])),
}
_NUMBER = {"__matmul__": lambda x: np.array([1.5]), "__rmatmul__": lambda x: np.array([1.5])}
X0, X1 = np.array([0.8, 0.2]), np.array([-0.4, 0.6])  # x[0] on both sides of 0.3
_OTHER_SIDE = {"__bool__": np.array([0.0, 0.6])}  # bool() of a traced number asks x[0] != 0


def _as_output(result, x):
    if isinstance(result, (Traced, TracedArray)):
        return np.sum(result) * 1.0 + 0.0 * x[1]
    return x[1] * float(result) if isinstance(result, (bool, int, float, np.number)) else x[1]


def _behaviour(cls, name):
    """The category the entry shows: what tracing a function that uses it records."""
    make, other = _MAKE[cls]
    other = _NUMBER.get(name, other)
    seen = {}

    def f(x):
        result = _call(name, make(x), other(x))
        seen["result"] = result
        return _as_output(result, x)

    try:
        tape = ad.trace(f, X0)
    except (TypeError, ValueError) as error:
        assert str(error), "a refusal says why"
        return "refuse"
    result = seen["result"]
    if isinstance(result, (Condition, ConditionArray)):
        assert tape.n_guards == 0
        return "lazy"
    if isinstance(result, (Traced, TracedArray)):
        assert tape.n_guards == 0
        with np.errstate(all="ignore"):
            x1_value = _call(name, make(X1), other(X1))  # plain NumPy at the other point
        np.testing.assert_allclose(tape.eval(X1), np.sum(x1_value) * 1.0 + 0.0 * X1[1], rtol=1e-15)
        return "op"
    assert tape.n_guards >= 1, f"{name} gave {result!r} from traced values and recorded no guard"
    with pytest.raises(ad.BranchChangedError):
        tape.eval(_OTHER_SIDE.get(name, X1) if cls in (Traced, TracedArray) else X1)
    return "guard"


@pytest.mark.parametrize(
    "cls, name",
    [(cls, name) for cls, table in AUDIT.items() for name, kind in table.items() if kind not in ("protocol", "shape")],
    ids=lambda v: getattr(v, "__name__", v),
)
def test_each_entry_behaves_as_classified(cls, name):
    assert _behaviour(cls, name) == AUDIT[cls][name]
