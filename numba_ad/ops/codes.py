"""Opcodes: the stable number of every op a tape can hold (append-only).

Generated from numba_ad/ops/defs.py by ``python -m numba_ad.ops.generate``: do not edit.
"""

from enum import IntEnum


class Op(IntEnum):
    """The opcode of each op; ``numba_ad.ops.defs`` says what each one is."""

    CONST = 0
    INPUT = 1
    PARAM = 2
    ADD = 3
    SUB = 4
    MUL = 5
    DIV = 6
    POW = 7
    ARCTAN2 = 8
    HYPOT = 9
    MINIMUM = 10
    MAXIMUM = 11
    POWI = 12
    POWC = 13
    CPOW = 14
    NEG = 15
    ABS = 16
    SQRT = 17
    CBRT = 18
    EXP = 19
    EXP2 = 20
    EXPM1 = 21
    LOG = 22
    LOG2 = 23
    LOG10 = 24
    LOG1P = 25
    SIN = 26
    COS = 27
    TAN = 28
    ARCSIN = 29
    ARCCOS = 30
    ARCTAN = 31
    SINH = 32
    COSH = 33
    TANH = 34
    ARCSINH = 35
    ARCCOSH = 36
    ARCTANH = 37
    ERF = 38
    ERFC = 39
    SQUARE = 40
    RECIPROCAL = 41
    FLOOR = 42
    CEIL = 43
    TRUNC = 44
    SIGN = 45
    LT = 46
    LE = 47
    EQ = 48
    IF_TRUE = 49
    IF_FALSE = 50
    LOGADDEXP = 51
    LOGADDEXP2 = 52
    EXPIT = 53
    ERFINV = 54
    GAMMALN = 55
    SINC = 56
    USER1 = 57
    USER2 = 58
