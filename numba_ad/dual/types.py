"""numba support for Dual and DualArray: types, data models, construction and boxing.

Built on numba's extension API, not a jitclass: a jitclass breaks the on-disk cache (numba
issues 6522, 9659); these types pass into and out of ``@njit(cache=True)`` functions, whose
cached code is reused by the next process (tests/dual/test_dual.py checks ``cache_hits``).

* ``DualType``: a struct of two float64 (value, deriv), passed by value. A float or int meets a
  Dual as a Dual with zero derivative (``unify`` and a cast), so ``s = 0.0; s += x[i]`` types.
* ``DualArrayType(array_type)``: a struct of two 1-D float64 arrays of one numba array type.
* The classes themselves are typed as ``TypeRef``s (through their metaclasses), which routes
  ``Dual(v, d)``, ``DualArray(v, d)`` to ``numba_typeref_ctor`` and ``Dual.variable`` /
  ``Dual.constant`` to ``overload_classmethod``, the mechanism of numba's typed containers.

The operators and functions on these types are in ``overloads.py``.
"""

import numpy as np
from numba import types
from numba.core import cgutils
from numba.core.imputils import lower_cast, numba_typeref_ctor
from numba.extending import (
    NativeValue,
    box,
    intrinsic,
    make_attribute_wrapper,
    models,
    overload,
    overload_classmethod,
    register_model,
    type_callable,
    typeof_impl,
    unbox,
)

from numba_ad.dual.array import DualArray, _DualArrayMeta
from numba_ad.dual.scalar import Dual, _DualMeta

_REAL = (types.Integer, types.Float)


class DualType(types.Type):
    """numba's type of a Dual."""

    def __init__(self):
        super().__init__(name="Dual")

    def unify(self, typingctx, other):
        if isinstance(other, _REAL):
            return self  # s = 0.0 then s = s + dual: s is a Dual, 0.0 becomes Dual(0, 0)
        return None


class DualArrayType(types.Type):
    """numba's type of a DualArray over two arrays of type `array_type`."""

    def __init__(self, array_type):
        self.array_type = array_type
        super().__init__(name=f"DualArray({array_type})")


dual_type = DualType()


def _is_vector(t):
    return isinstance(t, types.Array) and t.ndim == 1 and t.dtype == types.float64


@typeof_impl.register(Dual)
def _typeof_dual(val, c):
    return dual_type


@typeof_impl.register(_DualMeta)
def _typeof_dual_class(val, c):
    return types.TypeRef(DualType)


@typeof_impl.register(DualArray)
def _typeof_dual_array(val, c):
    tv, td = typeof_impl(val.value, c), typeof_impl(val.deriv, c)
    if tv != td:  # e.g. one array contiguous, the other a strided view: type both as "A"
        tv = types.Array(types.float64, 1, "A", readonly=not (tv.mutable and td.mutable))
    return DualArrayType(tv)


@typeof_impl.register(_DualArrayMeta)
def _typeof_dual_array_class(val, c):
    return types.TypeRef(DualArrayType)


@register_model(DualType)
class _DualModel(models.StructModel):
    def __init__(self, dmm, fe_type):
        super().__init__(dmm, fe_type, [("value", types.float64), ("deriv", types.float64)])


@register_model(DualArrayType)
class _DualArrayModel(models.StructModel):
    def __init__(self, dmm, fe_type):
        members = [("value", fe_type.array_type), ("deriv", fe_type.array_type)]
        super().__init__(dmm, fe_type, members)


for _typeclass in (DualType, DualArrayType):
    make_attribute_wrapper(_typeclass, "value", "value")
    make_attribute_wrapper(_typeclass, "deriv", "deriv")


# ---------------------------------------------------------------------------------------
# Construction
# ---------------------------------------------------------------------------------------
@intrinsic
def make_dual(typingctx, value, deriv):
    """Dual(value, deriv) in @njit code, for real value and deriv, with no checks."""
    if not (isinstance(value, _REAL) and isinstance(deriv, _REAL)):
        return None

    def codegen(context, builder, sig, args):
        d = cgutils.create_struct_proxy(dual_type)(context, builder)
        d.value = context.cast(builder, args[0], sig.args[0], types.float64)
        d.deriv = context.cast(builder, args[1], sig.args[1], types.float64)
        return d._getvalue()

    return dual_type(value, deriv), codegen


@intrinsic
def make_dual_array(typingctx, value, deriv):
    """DualArray(value, deriv) in @njit code, for two 1-D float64 arrays of one type."""
    if not (_is_vector(value) and value == deriv):
        return None
    typ = DualArrayType(value)

    def codegen(context, builder, sig, args):
        a = cgutils.create_struct_proxy(typ)(context, builder)
        a.value, a.deriv = args
        for arr in args:  # the struct holds its own references to both arrays
            context.nrt.incref(builder, sig.args[0], arr)
        return a._getvalue()

    return typ(value, deriv), codegen


@type_callable(DualType)
def _type_dual_call(context):
    def typer(value, deriv=None):
        if isinstance(value, _REAL) and (deriv is None or isinstance(deriv, _REAL)):
            return dual_type
        return None

    return typer


@type_callable(DualArrayType)
def _type_dual_array_call(context):
    def typer(value, deriv=None):
        if _is_vector(value) and (deriv is None or deriv == value):
            return DualArrayType(value if deriv is not None else value.copy(layout="C"))
        return None

    return typer


@overload(numba_typeref_ctor)
def _constructor(cls, *args):
    instance = cls.instance_type
    if instance == dual_type:
        if len(args) == 1:
            return lambda cls, *args: make_dual(args[0], 0.0)
        return lambda cls, *args: make_dual(args[0], args[1])
    if isinstance(instance, DualArrayType):
        if len(args) == 1:
            return lambda cls, *args: make_dual_array(np.ascontiguousarray(args[0]), np.zeros(args[0].shape[0]))
        return lambda cls, *args: make_dual_array(args[0], args[1])
    return None


@overload_classmethod(DualType, "variable")
def _variable(cls, x):
    if isinstance(x, _REAL):
        return lambda cls, x: make_dual(x, 1.0)
    return None


@overload_classmethod(DualType, "constant")
def _constant(cls, c):
    if isinstance(c, _REAL):
        return lambda cls, c: make_dual(c, 0.0)
    return None


@lower_cast(types.Integer, DualType)
@lower_cast(types.Float, DualType)
def _real_to_dual(context, builder, fromty, toty, val):
    d = cgutils.create_struct_proxy(dual_type)(context, builder)
    d.value = context.cast(builder, val, fromty, types.float64)
    d.deriv = context.get_constant(types.float64, 0.0)
    return d._getvalue()


# ---------------------------------------------------------------------------------------
# Boxing: Dual <-> struct of two doubles; DualArray <-> struct of two arrays.
# ---------------------------------------------------------------------------------------
@unbox(DualType)
def _unbox_dual(typ, obj, c):
    d = cgutils.create_struct_proxy(typ)(c.context, c.builder)
    for name in ("value", "deriv"):
        attr = c.pyapi.object_getattr_string(obj, name)
        setattr(d, name, c.pyapi.float_as_double(attr))
        c.pyapi.decref(attr)
    return NativeValue(d._getvalue(), is_error=c.pyapi.c_api_error())


@box(DualType)
def _box_dual(typ, val, c):
    d = cgutils.create_struct_proxy(typ)(c.context, c.builder, value=val)
    value, deriv = c.pyapi.float_from_double(d.value), c.pyapi.float_from_double(d.deriv)
    cls = c.pyapi.unserialize(c.pyapi.serialize_object(Dual))
    result = c.pyapi.call_function_objargs(cls, (value, deriv))
    for obj in (value, deriv, cls):
        c.pyapi.decref(obj)
    return result


@unbox(DualArrayType)
def _unbox_dual_array(typ, obj, c):
    a = cgutils.create_struct_proxy(typ)(c.context, c.builder)
    failed = cgutils.alloca_once_value(c.builder, cgutils.false_bit)
    for name in ("value", "deriv"):
        attr = c.pyapi.object_getattr_string(obj, name)
        native = c.unbox(typ.array_type, attr)
        c.pyapi.decref(attr)  # the DualArray keeps the array alive
        setattr(a, name, native.value)
        with c.builder.if_then(native.is_error):
            c.builder.store(cgutils.true_bit, failed)
    return NativeValue(a._getvalue(), is_error=c.builder.load(failed))


@box(DualArrayType)
def _box_dual_array(typ, val, c):
    a = cgutils.create_struct_proxy(typ)(c.context, c.builder, value=val)
    value = c.box(typ.array_type, a.value)  # boxing consumes each array's reference
    deriv = c.box(typ.array_type, a.deriv)
    cls = c.pyapi.unserialize(c.pyapi.serialize_object(DualArray))
    result = c.pyapi.call_function_objargs(cls, (value, deriv))
    for obj in (value, deriv, cls):
        c.pyapi.decref(obj)
    return result
