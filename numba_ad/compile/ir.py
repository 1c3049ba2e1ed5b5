"""The loop IR between a plan and its source text: statements whose names are all decided.

compile/lower.py (loop code) and compile/straight.py (straight-line code) build these nodes;
compile/printer.py prints them, one method per node, and handles indentation. Expressions are
source text already (the op table's templates with their operands substituted): the IR fixes
the statements, loops and names, not the arithmetic inside one expression.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Assign:
    """``target = value``."""

    target: str
    value: str


@dataclass(frozen=True)
class AddTo:
    """``target += value``: an accumulation (into w_bar, a window register, ...)."""

    target: str
    value: str


@dataclass(frozen=True)
class Guard:
    """``ok &= value == recorded``: clears ``ok`` when a guard's outcome differs from the recorded
    one. No ``if``: numba's SSA pass recursed too deep on a loop-style body with 664 guards."""

    value: str
    recorded: str


@dataclass(frozen=True)
class Stmt:
    """A statement written as it is: a call, a return, a raise."""

    text: str


@dataclass(frozen=True)
class Loop:
    """``for var in range(start, stop)`` (start None: ``range(stop)``). Reversed, it counts up with
    `counter` and sets var = stop - 1 - counter: an ascending counter measured 119 against 153 us
    for range(k1 - 1, k0 - 1, -1) (P1's reverse pass)."""

    var: str
    stop: int | str
    body: list
    start: int | str | None = None
    reverse: bool = False
    counter: str = ""
    parallel: bool = False  # prange: blocks of rows on numba's threads


@dataclass(frozen=True)
class If:
    test: str
    body: list
    orelse: list = field(default_factory=list)
    comment: str = ""


@dataclass(frozen=True)
class Function:
    """``@njit(options)`` over ``def signature:``."""

    options: str
    signature: str
    body: list


@dataclass(frozen=True)
class Module:
    """The generated module: its prelude and constants (source text), then its functions."""

    header: list[str]
    functions: list[Function]
