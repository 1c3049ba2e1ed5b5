"""The folder of compiled tapes' generated modules (compile/source_cache.py): trusted only when
the user owns it, healed when damaged, kept within its cap, private under NUMBA_AD_CACHE=0."""

import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

import numba_ad as ad
from numba_ad.compile import source_cache
from numba_ad.compile.compiled import source_dir

REPO = Path(__file__).resolve().parents[2]


def _tape(op=np.sin):
    return ad.trace(lambda x: op(x[0]) * x[1] + x[1] ** 2, np.array([0.3, 0.7]))


def _child(code, env_extra, timeout=300):
    env = dict(os.environ, PYTHONPATH=str(REPO), **env_extra)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=timeout,
    )


_COMPILE = """
    import numpy as np, numba_ad as ad
    tape = ad.trace(lambda x: np.sin(x[0]) * x[1] + x[1] ** 2, np.array([0.3, 0.7]))
    compiled = tape.compile()
    x = np.array([1.1, -0.4])
    assert compiled.eval(x) == tape.eval(x)
    print(compiled.path)
"""


def test_a_module_file_full_of_garbage_is_rewritten(tmp_path, monkeypatch):
    monkeypatch.setenv("NUMBA_AD_COMPILE_DIR", str(tmp_path))
    compiled = _tape().compile()
    path = Path(compiled.path)
    path.write_bytes(b"\xff\xfe not python \x00\x81" * 10)
    done = _child(_COMPILE, {"NUMBA_AD_COMPILE_DIR": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    assert path.read_text() == compiled.source


def test_damaged_numba_cache_files_are_removed_and_compiled_again(tmp_path):
    env = {"NUMBA_AD_COMPILE_DIR": str(tmp_path / "src"), "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    first = _child(_COMPILE, env)
    assert first.returncode == 0, first.stderr
    path = Path(first.stdout.strip().splitlines()[-1])
    damaged = source_cache._cache_files(path, env["NUMBA_CACHE_DIR"])
    assert any(f.suffix == ".nbi" for f in damaged)
    for f in damaged:
        f.write_bytes(b"\x80\x04garbage" * 3)
    second = _child(_COMPILE, env)
    assert second.returncode == 0, second.stderr
    assert "compiling it again" in second.stderr
    third = _child(_COMPILE, env)  # healed: no warning any more
    assert third.returncode == 0 and "compiling it again" not in third.stderr, third.stderr


def test_concurrent_compiles_of_one_tape_in_several_processes(tmp_path):
    env = {"NUMBA_AD_COMPILE_DIR": str(tmp_path / "src"), "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    full = dict(os.environ, PYTHONPATH=str(REPO), **env)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(_COMPILE)],
            env=full,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(3)
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()


def test_a_folder_writable_by_others_is_refused(tmp_path, monkeypatch):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    monkeypatch.setenv("NUMBA_AD_COMPILE_DIR", str(shared))
    with pytest.raises(PermissionError, match="writable by others"):
        source_dir()
    with pytest.raises(PermissionError, match="NUMBA_AD_COMPILE_DIR"):
        _tape(np.cos).compile()
    assert not list(shared.iterdir())  # nothing was written, nothing imported


def test_a_folder_inside_one_anyone_may_write_to_is_refused(tmp_path, monkeypatch):
    """Whoever can write to a parent can rename the folder away and put theirs in its place."""
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    mine = shared / "mine"
    mine.mkdir(mode=0o700)
    monkeypatch.setenv("NUMBA_AD_COMPILE_DIR", str(mine))
    with pytest.raises(PermissionError, match="lies in .*shared, which anyone may write to .*no sticky bit"):
        source_dir()
    shared.chmod(0o1777)  # as /tmp: the sticky bit forbids renaming another user's entries
    assert Path(source_dir()) == mine


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="chown to another user needs root")
def test_a_folder_inside_another_users_folder_is_refused(tmp_path, monkeypatch):
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o755)
    (theirs / "mine").mkdir(mode=0o700)
    os.chown(theirs, 12345, 12345)
    monkeypatch.setenv("NUMBA_AD_COMPILE_DIR", str(theirs / "mine"))
    with pytest.raises(PermissionError, match="lies in .*theirs, which belongs to user id 12345"):
        source_dir()


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="chown to another user needs root")
def test_a_folder_of_another_user_is_refused(tmp_path, monkeypatch):
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o700)
    os.chown(theirs, 12345, 12345)
    monkeypatch.setenv("NUMBA_AD_COMPILE_DIR", str(theirs))
    with pytest.raises(PermissionError, match="belongs to user id 12345"):
        source_dir()


def test_an_unusable_derived_folder_falls_back_to_a_private_one(tmp_path, monkeypatch):
    monkeypatch.delenv("NUMBA_AD_COMPILE_DIR", raising=False)
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    (tmp_path / "numba_ad_tapes").mkdir(mode=0o777)
    (tmp_path / "numba_ad_tapes").chmod(0o777)
    monkeypatch.setattr(source_cache, "_private", None)
    with pytest.warns(UserWarning, match="for this process only"):
        where = Path(source_dir())
    assert where != tmp_path / "numba_ad_tapes" and where.stat().st_mode & 0o077 == 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # one warning, not one per compile
        assert Path(source_dir()) == where


def test_new_folders_are_owner_only(tmp_path, monkeypatch):
    monkeypatch.setenv("NUMBA_AD_COMPILE_DIR", str(tmp_path / "a" / "b"))
    where = Path(source_dir())
    assert where.is_dir() and where.stat().st_mode & 0o077 == 0


def test_the_least_recently_used_modules_are_evicted(tmp_path, monkeypatch):
    monkeypatch.setenv("NUMBA_AD_COMPILE_DIR", str(tmp_path))
    monkeypatch.setattr(source_cache, "MAX_MODULES", 2)
    ops = (np.tanh, np.arctan, np.expm1)  # used by no other test here: not imported yet
    paths = [Path(_tape(op).compile().path) for op in ops]
    assert [p.parent for p in paths] == [tmp_path] * 3
    assert [p.exists() for p in paths] == [False, True, True]
    again = _tape(np.tanh).compile()  # evicted from disk, still imported in this process: it answers
    x = np.array([0.2, 0.9])
    assert again.eval(x) == _tape(np.tanh).eval(x)


def test_cache_off_uses_a_private_folder_removed_at_exit(tmp_path):
    done = _child(_COMPILE, {"NUMBA_AD_CACHE": "0", "NUMBA_AD_COMPILE_DIR": str(tmp_path / "ignored")})
    assert done.returncode == 0, done.stderr
    path = Path(done.stdout.strip().splitlines()[-1])
    assert not path.exists() and not path.parent.exists()  # removed when the process ended
    assert not (tmp_path / "ignored").exists()
