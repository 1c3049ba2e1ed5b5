"""Opcodes are append-only: saved tapes hold them, so a code once given never changes meaning.

FROZEN is written out by hand, not computed: adding an op means appending its line here with
the next free code; a test failure here means a code was renumbered or reused, which would
make every tape saved before replay other ops.
"""

from numba_ad.ops import DEFS, Op

FROZEN = {
    "CONST": 0, "INPUT": 1, "PARAM": 2, "ADD": 3, "SUB": 4, "MUL": 5, "DIV": 6, "POW": 7, "ARCTAN2": 8,
    "HYPOT": 9, "MINIMUM": 10, "MAXIMUM": 11, "POWI": 12, "POWC": 13, "CPOW": 14, "NEG": 15, "ABS": 16,
    "SQRT": 17, "CBRT": 18, "EXP": 19, "EXP2": 20, "EXPM1": 21, "LOG": 22, "LOG2": 23, "LOG10": 24,
    "LOG1P": 25, "SIN": 26, "COS": 27, "TAN": 28, "ARCSIN": 29, "ARCCOS": 30, "ARCTAN": 31, "SINH": 32,
    "COSH": 33, "TANH": 34, "ARCSINH": 35, "ARCCOSH": 36, "ARCTANH": 37, "ERF": 38, "ERFC": 39,
    "SQUARE": 40, "RECIPROCAL": 41, "FLOOR": 42, "CEIL": 43, "TRUNC": 44, "SIGN": 45, "LT": 46, "LE": 47,
    "EQ": 48, "IF_TRUE": 49, "IF_FALSE": 50,
    "LOGADDEXP": 51, "LOGADDEXP2": 52, "EXPIT": 53, "ERFINV": 54, "GAMMALN": 55, "SINC": 56,
    "USER1": 57, "USER2": 58,
}  # fmt: skip


def test_no_code_changed_meaning():
    changed = {
        name: (code, int(Op[name])) for name, code in FROZEN.items() if name not in Op.__members__ or Op[name] != code
    }
    assert not changed, f"renumbered or removed ops (name: frozen code, code now): {changed}"


def test_every_op_is_frozen():
    new = sorted(set(Op.__members__) - set(FROZEN))
    assert not new, f"append {new} to FROZEN with their codes (the next free ones)"


def test_codes_are_unique_and_new_ones_are_appended():
    codes = [d.code for d in DEFS.values()]
    assert len(set(codes)) == len(codes)
    assert sorted(codes) == list(range(len(codes))), "a new op takes the next free code: no gaps"
