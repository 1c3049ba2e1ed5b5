"""Stores of traced values into arrays (issue 18 item 5): into traced arrays they record; into a
NumPy float array they raise an error that names the store and the fix, not float()."""

import numpy as np
import pytest

import numba_ad as ad


def into_float_array(x):
    g = np.zeros(3)
    g[1] = x[0] * 2.0
    return np.sum(g)


def slice_into_float_array(x):
    g = np.zeros(3)
    g[1:] = x[:2] * 2.0
    return np.sum(g)


@pytest.mark.parametrize("f", [into_float_array, slice_into_float_array])
def test_a_store_into_a_float_array_names_the_store_and_the_fix(f):
    with pytest.raises(TypeError, match=r"subscript store at test_stores\.py:\d+.*np\.zeros_like\(x\)"):
        ad.trace(f, np.ones(3))


def test_float_of_a_traced_value_is_still_named_as_float():
    with pytest.raises(TypeError, match=r"float\(\) of a traced value"):
        ad.trace(lambda x: float(x[0]), np.ones(2))


def test_the_suggested_forms_record_the_stores():
    def traced_like(x):
        g = np.zeros_like(x)
        g[1] = x[0] * 2.0
        g[2:] = x[1:2] ** 2
        return np.sum(g**2)

    def object_array(x):
        g = np.zeros(3, dtype=object)
        g[1], g[0] = x[0] * 2.0, x[1]
        return np.sum(g * g)

    for x in (np.array([1.0, 2.0, 3.0]), np.array([-0.5, 0.25, 4.0])):  # recorded at the first
        np.testing.assert_allclose(ad.grad(traced_like)(x), [8 * x[0], 4 * x[1] ** 3, 0.0], rtol=1e-14)
        np.testing.assert_allclose(ad.grad(object_array)(x), [8 * x[0], 2 * x[1], 0.0], rtol=1e-14)
