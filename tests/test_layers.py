"""The package's import graph: no cycles, and each layer imports only the layers below it.

Every import is counted, at module level or inside a function alike (a function-level import
hides a cycle; it does not remove it). The layers, lowest first (docs/design.md, "Layout"):

    _numba_patches  <  _config, errors, _inputs  <  ops  <  tape  <  {tracing, compile, dual}  <  api
    <  the public modules

tracing, compile and dual sit side by side and do not import each other.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "numba_ad"

# Layer rank of each top-level part of the package; siblings share a rank and may not import each other.
RANK = {
    "_numba_patches": -1,  # below everything: _config applies it before anything compiles
    "_progress": -1,  # likewise: _config installs its compile listener at import
    "_config": 0,
    "errors": 0,
    "_inputs": 0,
    "ops": 1,
    "tape": 2,
    "tracing": 3,
    "compile": 3,
    "dual": 3,
    "api": 4,
    "nb": 5,
    "fwd": 5,
    "testing": 5,
    "scipy": 5,
    "dask": 5,
    "__init__": 6,
}


def module_name(path):
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules():
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports_of(path, known):
    """The numba_ad modules `path` imports (a `from pkg import name` counts pkg.name when that
    is a module, else pkg)."""
    found = set()
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("numba_ad"))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            if not base.startswith("numba_ad"):
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in known else base)
    return found


def graph():
    known = modules()
    return {name: imports_of(path, known) & set(known) - {name} for name, path in known.items()}


def part_of(module):
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def cycles(g):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(g[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


def test_every_part_of_the_package_has_a_layer():
    assert {part_of(m) for m in modules()} <= set(RANK), "add the new package to RANK (and docs/design.md)"


def test_no_import_cycles():
    assert cycles(graph()) == []


@pytest.mark.parametrize("module", sorted(modules()))
def test_imports_go_down_the_layers(module):
    here = part_of(module)
    wrong = []
    for target in sorted(graph()[module]):
        there = part_of(target)
        if there == here:
            continue
        # A package's __init__ and its modules are one part; the package `numba_ad` itself is the top.
        if RANK[there] >= RANK[here]:
            wrong.append(f"{module} ({here}, layer {RANK[here]}) imports {target} ({there}, layer {RANK[there]})")
    assert not wrong, "\n".join(wrong)


def test_the_check_sees_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c"]]
