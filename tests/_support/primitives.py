"""The two user primitives every test process registers first (tests/conftest.py), so that the
op rows USER1 and USER2 have registry indices 0 and 1, their rows' ``test_c``: the tests that
run over every op of the table then run over the primitive ops too, with these rules.

Both are smooth on the op rows' default test domain; their derivatives are written by hand
here, so the generic tests (finite differences, the Hessian identities, compiled formulas)
check the machinery that calls them, and tests/api/test_primitive.py checks the rules.
"""

import math

import numba_ad as ad


def u(x):
    return math.exp(math.sin(x))


def du(x):
    return math.cos(x) * math.exp(math.sin(x))


def d2u(x):
    return (math.cos(x) ** 2 - math.sin(x)) * math.exp(math.sin(x))


def g(x, y):
    return x * math.exp(0.5 * y) + math.sin(x * y)


def g_x(x, y):
    return math.exp(0.5 * y) + y * math.cos(x * y)


def g_y(x, y):
    return 0.5 * x * math.exp(0.5 * y) + x * math.cos(x * y)


def g_xx(x, y):
    return -y * y * math.sin(x * y)


def g_xy(x, y):
    return 0.5 * math.exp(0.5 * y) + math.cos(x * y) - x * y * math.sin(x * y)


def g_yy(x, y):
    return 0.25 * x * math.exp(0.5 * y) - x * x * math.sin(x * y)


UNARY = ad.primitive(u, du, d2u, name="tests.unary")
BINARY = ad.primitive(g, (g_x, g_y), (g_xx, g_xy, g_yy), name="tests.binary")
