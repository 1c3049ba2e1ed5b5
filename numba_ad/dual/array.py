"""``DualArray``: a 1-D array of Duals stored as two float64 arrays, values and derivatives.

See ``dual/scalar.py`` for why this layout. The same class is a numba extension type
(``dual/types.py``), so a kernel written for float arrays indexes either.
"""

import numbers

import numpy as np

from numba_ad.dual.scalar import Dual, _constant, _new


class _DualArrayMeta(type):
    """Metaclass of DualArray: lets numba type the class, so DualArray(v, d) compiles."""


def _vector(a, what):
    try:
        arr = np.asarray(a)
    except Exception as exc:
        raise TypeError(f"a DualArray's {what} must be an array of real numbers; got {type(a).__name__}") from exc
    if arr.dtype.kind not in "fiu":
        raise TypeError(f"a DualArray's {what} must be an array of real numbers; got dtype {arr.dtype}")
    if arr.ndim != 1:
        raise ValueError(f"a DualArray's {what} must be 1-D; got shape {arr.shape}")
    return np.asarray(arr, dtype=np.float64)


class DualArray(metaclass=_DualArrayMeta):
    """A 1-D array of Duals: ``value[i]`` and ``deriv[i]`` make element i.

    Parameters
    ----------
    value : array_like
        1-D real values; held without a copy when already float64.
    deriv : array_like, optional
        Their derivatives, of the same shape (zeros by default).

    Notes
    -----
    Indexing with an integer gives a Dual, with a slice a DualArray view; assigning a Dual
    writes both arrays, a real number writes its value and a zero derivative.
    """

    __slots__ = ("value", "deriv")

    def __init__(self, value, deriv=None):
        value = _vector(value, "value")
        deriv = np.zeros_like(value) if deriv is None else _vector(deriv, "deriv")
        if value.shape != deriv.shape:
            raise ValueError(f"a DualArray's value and deriv must have one shape; got {value.shape} and {deriv.shape}")
        self.value = value
        self.deriv = deriv

    shape = property(lambda self: self.value.shape, doc="(n,)")
    size = property(lambda self: self.value.size, doc="n")
    ndim = property(lambda self: 1, doc="1")

    def __len__(self):
        return self.value.shape[0]

    def __getitem__(self, i):
        if isinstance(i, slice):
            return DualArray(self.value[i], self.deriv[i])
        i = _index(i)
        return _new(float(self.value[i]), float(self.deriv[i]))

    def __setitem__(self, i, x):
        if not isinstance(i, slice):
            i = _index(i)
        if type(x) is Dual:
            self.value[i], self.deriv[i] = x.value, x.deriv
        elif isinstance(x, DualArray):
            self.value[i], self.deriv[i] = x.value, x.deriv
        elif _constant(x) is not None:
            self.value[i], self.deriv[i] = x, 0.0
        else:
            raise TypeError(f"a DualArray stores Duals and real numbers; got {type(x).__name__}")

    def __iter__(self):
        return (_new(float(v), float(d)) for v, d in zip(self.value, self.deriv))

    def sum(self, axis=None, dtype=None, out=None):
        """The sum of the elements, a Dual (what np.sum(a) calls)."""
        if axis not in (None, 0, -1) or dtype is not None or out is not None:
            raise TypeError("DualArray.sum takes no dtype or out, and only axis 0")
        return _new(float(np.sum(self.value)), float(np.sum(self.deriv)))

    def __repr__(self):
        return f"DualArray({self.value!r}, {self.deriv!r})"


def _index(i):
    if isinstance(i, numbers.Integral) and not isinstance(i, bool):
        return int(i)
    raise TypeError(f"a DualArray is indexed by an integer or a slice; got {type(i).__name__}")
