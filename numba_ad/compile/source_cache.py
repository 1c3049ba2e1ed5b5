"""Where compiled tapes' generated modules live, and how they are imported: only from a folder
the user owns, healing damage, within a size cap.

The folder (``source_dir()``) is ``$NUMBA_AD_COMPILE_DIR``, else ``$NUMBA_CACHE_DIR/numba_ad_tapes``
(a fresh numba cache then means fresh files), else the user's cache folder
(``platformdirs.user_cache_dir("numba_ad")/tapes``: ``~/.cache/numba_ad/tapes`` on Linux).

Trust. A generated module is Python that this process imports, so the folder must be the user's
own: created owner-only (0o700); a folder owned by another user, or writable by group or others,
is refused (someone else could put code there), as is one inside a folder another user owns or
anyone may write to without the sticky bit (they could replace it). An explicit ``NUMBA_AD_COMPILE_DIR`` that fails
raises ``PermissionError`` naming it; a derived folder that fails, or cannot be created, gives
one warning and a private folder for this process (``tempfile.mkdtemp``), never a fixed path in
the shared temporary folder. ``NUMBA_AD_CACHE=0`` uses such a private folder too, removed at exit
(and the generated kernels are compiled without numba's cache, numba_ad._config).

Damage. A module file that differs from its source (garbage, a half-written file from a killed
process) is rewritten, atomically (a temporary file renamed over it: concurrent compiles of one
tape in several processes write the same bytes, and a reader never sees half a file). When the
import itself fails (numba's index or data files for the module unreadable), the module's numba
cache files are removed and the import is tried once more, with one warning.

Size. At most MAX_MODULES modules (MAX_BYTES with their numba cache files) are kept; beyond that
the least recently used (by modification time, which each load refreshes) are removed with their
cache files. A process that already imported a removed module keeps it; the next one recompiles.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import shutil
import stat
import sys
import tempfile
import warnings
from pathlib import Path
from types import ModuleType

import numba
import platformdirs

from numba_ad._config import CACHE

MAX_MODULES = 512
MAX_BYTES = 1 << 30  # sources plus numba's machine code for them
PREFIX = "numba_ad_tape_"
_private: Path | None = None  # this process's own folder, when the shared one cannot be used


def source_dir() -> str:
    """The folder generated modules are written to and imported from (created if missing)."""
    if not CACHE:
        return str(_private_dir("NUMBA_AD_CACHE=0"))
    explicit = os.environ.get("NUMBA_AD_COMPILE_DIR")
    if explicit:
        return str(_owned_dir(Path(explicit), "NUMBA_AD_COMPILE_DIR"))
    if os.environ.get("NUMBA_CACHE_DIR"):
        where = Path(os.environ["NUMBA_CACHE_DIR"]) / "numba_ad_tapes"
    else:
        where = Path(platformdirs.user_cache_dir("numba_ad")) / "tapes"
    try:
        return str(_owned_dir(where, "the cache folder"))
    except OSError as error:
        return str(_private_dir(f"{error}"))


def _owned_dir(path: Path, what: str) -> Path:
    """`path`, created owner-only if missing; PermissionError when another user owns it or
    others may write to it."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = path.stat()
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        raise PermissionError(
            f"{what} {path} belongs to user id {info.st_uid}, not to this user ({os.getuid()}): numba_ad "
            "imports generated code from it and does not trust it; set NUMBA_AD_COMPILE_DIR to a folder of yours"
        )
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise PermissionError(
            f"{what} {path} is writable by others (mode {stat.S_IMODE(info.st_mode):o}): numba_ad imports "
            f"generated code from it and does not trust it; chmod go-w {path}, or set NUMBA_AD_COMPILE_DIR"
        )
    _check_ancestors(path, what)
    return path


def _check_ancestors(path: Path, what: str) -> None:
    """PermissionError when a folder above `path` lets another user replace it: one owned by
    someone other than this user or root, or writable by others without the sticky bit (whoever
    can write to a parent can rename the folder away and put their own in its place; /tmp's
    sticky bit forbids renaming another user's entries)."""
    if not hasattr(os, "getuid"):
        return
    for parent in path.resolve().parents:
        info = parent.stat()
        if info.st_uid not in (0, os.getuid()):
            raise PermissionError(
                f"{what} {path} lies in {parent}, which belongs to user id {info.st_uid}: they could replace "
                "the folder, and numba_ad imports generated code from it; set NUMBA_AD_COMPILE_DIR to a folder of yours"
            )
        if info.st_mode & stat.S_IWOTH and not info.st_mode & stat.S_ISVTX:
            raise PermissionError(
                f"{what} {path} lies in {parent}, which anyone may write to (mode {stat.S_IMODE(info.st_mode):o}, "
                "no sticky bit): another user could replace the folder, and numba_ad imports generated code from "
                "it; set NUMBA_AD_COMPILE_DIR to a folder of yours"
            )


def _private_dir(reason: str) -> Path:
    """This process's own folder (mkdtemp: owner-only, a new name), removed at exit."""
    global _private
    if _private is None:
        _private = Path(tempfile.mkdtemp(prefix="numba_ad_tapes_"))
        atexit.register(shutil.rmtree, _private, ignore_errors=True)
        if CACHE:
            warnings.warn(f"numba_ad: compiled tapes go to {_private} for this process only ({reason})", stacklevel=4)
    return _private


def load_module(name: str, source: str) -> ModuleType:
    """Import `source` as module `name` from its file in source_dir(), written when missing or
    different, healing a damaged numba cache once; then keep the folder within its cap."""
    module = sys.modules.get(name)
    if module is not None:
        return module
    path = Path(source_dir()) / f"{name}.py"
    fresh = _write_if_different(path, source)
    try:
        module = _import(name, path)
    except Exception as error:  # a generated module that imported before: numba's cache for it is damaged
        removed = _remove_numba_cache(path)
        warnings.warn(
            f"numba_ad: importing the compiled tape {path.name} failed ({type(error).__name__}: {error}); "
            f"removed {removed} numba cache file(s) for it and compiling it again",
            stacklevel=3,
        )
        _write_if_different(path, source)
        module = _import(name, path)
    if fresh:
        _evict(path.parent, keep=path)
    else:
        os.utime(path)  # least recently used is by modification time
    return module


def _write_if_different(path: Path, source: str) -> bool:
    """Write `source` to `path` unless the file holds exactly it; True when written."""
    data = source.encode()
    try:
        if path.read_bytes() == data:
            return False
    except OSError:
        pass
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp_", suffix=".py")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)  # atomic: another process never imports half a file
    return True


def _import(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # before running it: numba's cache finds the module by name
    try:
        spec.loader.exec_module(module)  # numba compiles (or loads from its cache) here
    except BaseException:
        del sys.modules[name]
        raise
    return module


def _cache_dirs(path: Path, root: str | os.PathLike | None = None) -> list[Path]:
    """Where numba keeps the index (.nbi) and data (.nbc) files of the module at `path`: beside
    it, or under its cache folder `root` (default: this process's NUMBA_CACHE_DIR)."""
    from numba.core.caching import _CacheLocator  # numba's own rule for the folder's name

    root = numba.config.CACHE_DIR if root is None else root
    dirs = [path.parent / "__pycache__"]
    if root:
        dirs.append(Path(root) / _CacheLocator.get_suitable_cache_subpath(str(path)))
    return dirs


def _cache_files(path: Path, root: str | os.PathLike | None = None) -> list[Path]:
    """numba's cache files of the module at `path` (root as for _cache_dirs)."""
    stem = path.stem
    return [
        f for d in _cache_dirs(path, root) if d.is_dir() for f in d.glob(f"{stem}.*") if f.suffix in (".nbi", ".nbc")
    ]


def _remove_numba_cache(path: Path) -> int:
    files = _cache_files(path)
    for f in files:
        f.unlink(missing_ok=True)
    return len(files)


def _evict(folder: Path, keep: Path) -> None:
    """Remove the least recently used modules beyond MAX_MODULES or MAX_BYTES (never `keep`)."""
    cached: dict[str, list[Path]] = {}  # module name -> its numba cache files (one listing per folder)
    for d in _cache_dirs(keep):
        if d.is_dir():
            for f in d.iterdir():
                if f.suffix in (".nbi", ".nbc") and f.name.startswith(PREFIX):
                    cached.setdefault(f.name.partition(".")[0], []).append(f)
    modules = []
    for path in folder.glob(f"{PREFIX}*.py"):
        files = [path] + cached.get(path.stem, [])
        try:
            modules.append((path.stat().st_mtime, path, files, sum(f.stat().st_size for f in files)))
        except OSError:  # removed meanwhile by another process
            continue
    modules.sort(key=lambda entry: entry[0], reverse=True)  # the most recently used first
    count, size = 0, 0
    for _, path, files, nbytes in modules:
        count, size = count + 1, size + nbytes
        if path != keep and (count > MAX_MODULES or size > MAX_BYTES):
            for f in files:
                f.unlink(missing_ok=True)
