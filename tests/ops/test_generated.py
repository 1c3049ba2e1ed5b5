"""The modules generated from the op rows are current: regenerating them changes nothing."""

import subprocess
import sys
from pathlib import Path

import pytest

from numba_ad.ops import generate

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("path", sorted(generate.OUTPUTS), ids=str)
def test_committed_module_is_what_the_rows_give(path):
    want = generate.formatted(generate.OUTPUTS[path]())
    have = (generate.PACKAGE / path).read_text()
    assert have == want, f"numba_ad/{path} is stale: run python -m numba_ad.ops.generate"


def test_generator_check_mode_passes_and_runs_as_a_file():
    # as a file: the way to regenerate even when the generated modules are broken
    done = subprocess.run(
        [sys.executable, str(ROOT / "numba_ad/ops/generate.py"), "--check"], capture_output=True, text=True, cwd=ROOT
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_check_mode_notices_a_stale_module(tmp_path, monkeypatch):
    stale = tmp_path / "ops" / "codes.py"
    stale.parent.mkdir()
    stale.write_text("# edited by hand\n")
    monkeypatch.setattr(generate, "PACKAGE", tmp_path)
    monkeypatch.setattr(generate, "OUTPUTS", {"ops/codes.py": generate.codes_source})
    assert generate.main(["--check"]) == 1
