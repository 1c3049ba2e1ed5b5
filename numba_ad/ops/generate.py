"""Writes the modules derived from the op rows (ops/defs.py): ``python -m numba_ad.ops.generate``
(or ``python numba_ad/ops/generate.py``, which works even when the generated files are broken).

* ``numba_ad/ops/codes.py``: the ``Op`` enum (name = code, in code order);
* ``numba_ad/ops/_kernels.py``: ``value``, ``partials`` and ``second_partials``, one branch
  per op in code order (numba turns the chain into a jump table);
* ``numba_ad/dual/_rules.py``: one small kernel per op returning (value, partials) for
  Dual numbers, and the name -> kernel tables the Dual layer registers.

Real files rather than ``exec``: numba caches only functions defined in files. The output is
a pure function of the rows, so ``tests/ops/test_generated.py`` regenerates it and fails on
any difference with the committed files. ``--check`` does the same from the command line.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path

if __name__ == "__main__" and not __package__:
    # Run as a file (python numba_ad/ops/generate.py): read the rows without importing numba_ad,
    # whose import needs the very modules this writes (the way out when they are broken).
    for _name, _dir in (("numba_ad", Path(__file__).resolve().parents[1]), ("numba_ad.ops", Path(__file__).parent)):
        sys.modules[_name] = types.ModuleType(_name)
        sys.modules[_name].__path__ = [str(_dir)]
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from numba_ad.ops.defs import MINUS_ONE, ONE, OPS, STRUCTURAL, ZERO, OpDef  # noqa: E402

PACKAGE = Path(__file__).resolve().parent.parent
HEADER = '"""{doc}\n\nGenerated from numba_ad/ops/defs.py by ``python -m numba_ad.ops.generate``: do not edit.\n"""\n'
_SENTINELS = {ZERO: "0.0", ONE: "1.0", MINUS_ONE: "-1.0"}
_NAMES = dict(x="x", y="y", c="c", v="v")


def expr(template: str, **names: str) -> str:
    """A template (or a partial's sentinel) as Python source over the given operand names."""
    return _SENTINELS.get(template) or template.format(**{**_NAMES, **names})


def _math_ops() -> list[OpDef]:
    return [d for d in OPS if d.kind != STRUCTURAL]


def _helpers() -> list[str]:
    names = set()
    for d in _math_ops():
        names.update(n for n in (d.partials_fn, d.second_fn) if n and "." not in n)  # "user.x": a module
        for t in (d.value, d.d_a, d.d_b, *d.second):
            names.update(n for n in ("minimum_value", "maximum_value") if f"{n}(" in t)
    return sorted(names)


def _imports(helpers: list[str], kernel_names: str) -> str:
    lines = ["import math", "", "import numpy as np", "", f"from numba_ad._config import {kernel_names}"]
    lines.append("from numba_ad.ops import special, user  # noqa: F401")
    lines.append("from numba_ad.ops.constants import LN2, LN10, SQRT_PI_OVER_2, TWO_OVER_SQRT_PI  # noqa: F401")
    if helpers:
        lines.append("from numba_ad.ops.rules import (  # noqa: F401")
        lines += [f"    {h}," for h in helpers]
        lines.append(")")
    return "\n".join(lines) + "\n"


def codes_source() -> str:
    out = [HEADER.format(doc="Opcodes: the stable number of every op a tape can hold (append-only)."), "", ""]
    out.append("from enum import IntEnum\n\n\nclass Op(IntEnum):\n")
    out.append('    """The opcode of each op; ``numba_ad.ops.defs`` says what each one is."""\n\n')
    out += [f"    {d.name} = {d.code}\n" for d in sorted(OPS, key=lambda d: d.code)]
    return "".join(out)


def kernels_source() -> str:
    doc = "The op kernels of the sweeps: value, first and second partials of every non-structural op."
    out = [HEADER.format(doc=doc), "\n", _imports(_helpers(), "kernel_inline"), "\n"]
    ops = sorted(_math_ops(), key=lambda d: d.code)

    def chain(signature: str, docstring: str, body, fallback: str) -> None:
        out.append(f"\n@kernel_inline\ndef {signature}:\n    {docstring}\n")
        first = True
        for d in ops:
            line = body(d)
            if line is None:
                continue
            out.append(f"    {'if' if first else 'elif'} op == {d.code}:  # {d.name}\n        return {line}\n")
            first = False
        out.append(f"    return {fallback}\n\n")

    def value(d: OpDef) -> str:
        return expr(d.value)

    def partials(d: OpDef) -> str | None:
        if d.partials_fn:
            return f"{d.partials_fn}(x, y, c, v)"
        if d.d_a == ZERO and d.d_b == ZERO:
            return None
        return f"{expr(d.d_a)}, {expr(d.d_b)}"

    def second(d: OpDef) -> str | None:
        if d.second_fn:
            return f"{d.second_fn}(x, y, c, v)"
        if all(t == "0.0" for t in d.second):
            return None
        return ", ".join(expr(t) for t in d.second)

    chain("value(op, x, y, c)", '"""Value of a non-structural op."""', value,
          "math.nan  # unreachable: tapes are validated against the op table")  # fmt: skip
    chain("partials(op, x, y, c, v)",
          '"""(d v / d x, d v / d y) of a non-structural op at x, y, with v its value there."""',
          partials, "0.0, 0.0  # piecewise-constant ops: zero partials")  # fmt: skip
    chain("second_partials(op, x, y, c, v)",
          '"""(d2v/dx2, d2v/dxdy, d2v/dy2) of a non-structural op at x, y, with v its value there.\n\n'
          "    Unary ops return (d_aa, 0.0, 0.0): the second-order sweeps rely on it to leave slot 0 (their\n"
          "    unused b) alone. Where partials() takes a convention, these follow it.\n"
          '    """',
          second, "0.0, 0.0, 0.0  # linear or piecewise-constant ops")  # fmt: skip
    out.append(lane_source([d for d in ops if d.lanes]))
    return "".join(out).rstrip() + "\n"


def lane_source(ops: list[OpDef]) -> str:
    """cheap_lanes: the commonest cheap ops as lane loops of their own, so that LLVM vectorises them
    (P4: eval_many 1.56x -> 1.36x the floor, gradient_many 2.5x -> 1.8x); going through value()
    with a constant opcode gave the same speed but cost 5-20 s of cold compile per copy."""
    lane = dict(x="W[ai, l]", y="W[bi, l]", c="c", v="W[i, l]")
    out = ["\n@kernel_inline\ndef cheap_lanes(o, i, ai, bi, L, W, DA, DB, with_partials):\n"]
    out.append('    """Lanes 0..L-1 of slot i for the ops written out here; False for the other ops."""\n')
    for k, d in enumerate(ops):
        out.append(f"    {'if' if k == 0 else 'elif'} o == {d.code}:  # {d.name}\n")
        out.append(f"        for l in range(L):\n            W[i, l] = {expr(d.value, **lane)}\n")
        out.append("        if with_partials:\n            for l in range(L):\n")
        out.append(f"                DA[i, l] = {expr(d.d_a, **lane)}\n")
        out.append(f"                DB[i, l] = {expr(d.d_b, **lane)}\n")
    out.append("    else:\n        return False\n    return True\n")
    return "".join(out)


def dual_signature(d: OpDef) -> tuple[str, ...]:
    """The operands of an op's Dual kernel: x (and y), and c where the op reads its constant."""
    uses_c = "{c}" in "".join((d.value, d.d_a, d.d_b))
    return ("x", "y") if d.arity == 2 else (("x", "c") if uses_c else ("x",))


def dual_source() -> str:
    doc = "Dual rules: (value, d/dx[, d/dy]) of each op, one small kernel per op, from the op rows."
    ops = [d for d in sorted(_math_ops(), key=lambda d: d.code) if d.dual]
    out = [HEADER.format(doc=doc), "\n", _imports(_helpers(), "kernel"), "\n"]
    for d in ops:
        args = dual_signature(d)
        c = "c" if "c" in args else "0.0"
        y = "y" if d.arity == 2 else "0.0"
        out.append(f"\n@kernel\ndef {d.dual}({', '.join(args)}):\n    v = {expr(d.value, c=c, y=y)}\n")
        if d.partials_fn:
            out.append(f"    d_a, d_b = {d.partials_fn}(x, {y}, {c}, v)\n")
            out.append("    return v, d_a, d_b\n" if d.arity == 2 else "    return v, d_a\n")
        elif d.arity == 2:
            out.append(f"    return v, {expr(d.d_a, y=y, c=c)}, {expr(d.d_b, y=y, c=c)}\n")
        else:
            out.append(f"    return v, {expr(d.d_a, y=y, c=c)}\n")
        out.append("\n")
    spelled = [d for d in ops if d.numpy or d.numpy_function or d.scipy or d.math]

    def table(name: str, arity: int) -> None:
        rows = [d for d in spelled if d.arity == arity and dual_signature(d) != ("x", "c")]
        out.append(f"\n{name} = {{\n" + "".join(f'    "{d.dual}": {d.dual},\n' for d in rows) + "}\n")

    out.append("\n# NumPy's name -> rule, for the functions the Python Dual and the numba overloads register alike.")
    table("UNARY", 1)
    table("BINARY", 2)
    return "".join(out).rstrip() + "\n"


OUTPUTS = {
    "ops/codes.py": codes_source,
    "ops/_kernels.py": kernels_source,
    "dual/_rules.py": dual_source,
}


def formatted(source: str) -> str:
    """The source as ruff formats it (the committed files pass `ruff format --check`)."""
    import shutil
    import subprocess

    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    done = subprocess.run(
        [ruff, "format", "--quiet", "--stdin-filename", "generated.py", "-"],
        input=source,
        capture_output=True,
        text=True,
        check=True,
        cwd=PACKAGE.parent,
    )
    return done.stdout


def generated() -> dict[Path, str]:
    """Every generated module's path and its source."""
    return {PACKAGE / rel: formatted(make()) for rel, make in OUTPUTS.items()}


def main(argv: list[str]) -> int:
    stale = [p for p, text in generated().items() if not p.exists() or p.read_text() != text]
    if "--check" in argv:
        for p in stale:
            print(f"{p} is not what numba_ad/ops/defs.py gives: run python -m numba_ad.ops.generate")
        return 1 if stale else 0
    for p, text in generated().items():
        p.write_text(text)
    print(f"wrote {len(OUTPUTS)} modules ({len(stale)} changed)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
