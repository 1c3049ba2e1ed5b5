"""The SciPy examples run to completion and print the numbers they exist to show.

Each runs in a subprocess with this test run's numba cache (tests/conftest.py makes it fresh for
every run and per pytest-xdist worker), so an example compiles only the kernels earlier tests
of the run have not. The checks are the known answers and "fewer evaluations than finite
differences", read from the output.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("scipy")

ROOT = Path(__file__).resolve().parent.parent


def run(name, *argv):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    out = subprocess.run(
        [sys.executable, str(ROOT / "examples" / name), *argv], capture_output=True, text=True, env=env, timeout=300
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def number(pattern, text):
    match = re.search(pattern, text)
    assert match, f"{pattern!r} not in the output:\n{text}"
    return [float(g) for g in match.groups()]


def test_curve_fit_decay():
    out = run("curve_fit_decay.py")
    assert number(r"exact Jacobian: +a, k, c = (\S+) (\S+) (\S+)", out) == pytest.approx([2.5, 1.3, 0.5], rel=1e-9)
    (ours,) = number(r"exact Jacobian: +(\d+) model calls", out)
    (theirs,) = number(r"finite differences: +(\d+) model calls", out)
    assert ours < theirs


def test_hs071():
    out = run("hs071.py")
    assert "exact derivatives:  f = 17.014017" in out
    (ours,) = number(r"exact derivatives: .*nfev (\d+)", out)
    (theirs,) = number(r"finite differences: .*nfev (\d+)", out)
    assert ours < theirs


def test_robertson_bdf():
    out = run("robertson_bdf.py")
    assert "y2 at t = 1e5: 0.982134" in out
    (difference,) = number(r"finite differences, relative to each component: (\S+)", out)
    assert difference < 1e-4
    (ours,) = number(r"exact Jacobian: .*rhs calls (\d+)", out)
    (theirs,) = number(r"finite differences: .*rhs calls (\d+)", out)
    assert ours < theirs


def test_bratu_newton():
    out = run("bratu_newton.py", "100")
    norms = [float(v) for v in re.findall(r"\|F\| = (\S+)", out)]
    assert norms[0] == pytest.approx(6.0) and norms[-1] < 1e-9 and len(norms) <= 8
    assert "max u = 0.79693" in out
