"""The tape's file format: one .npz archive, versioned, whose opcodes are checked by name.

A file of format 1 holds, as plain arrays (no pickles: it loads with ``allow_pickle=False``):

* the eight TapeArrays fields under their own names, with their own dtypes;
* ``format_version``: int64, 0-d, FORMAT_VERSION when written;
* ``scalar_output``: bool, 0-d, whether the tape gives floats (one output) or arrays;
* ``op_codes`` (uint8) and ``op_names`` (str): each opcode the tape uses, sorted, and the
  name of its Op member when written. Opcodes are append-only, so today a code always keeps
  its name; the names are what lets a load refuse, by name, a file whose codes mean other
  ops (a renumbering, a file from a different build) instead of replaying it as other ops.
  CppAD's graph format keeps a separate, frozen op enum for the same reason.

Format 2 is format 1 plus ``primitive_names`` (str, 1-D): the names of the user primitives
(numba_ad.primitive) the tape calls. In the file a USER1 / USER2 op's ``c`` is a position in
that list, not the registry index of the writing process (indices are per process); a load
maps each name to the primitive registered under it in the reading process and refuses a
name that is not registered. A tape without primitives is written as format 1, which older
numba_ad versions read too.

A file without ``format_version`` is format 0: the ``np.savez(path, **tape.arrays._asdict())``
recipe the README gave before ``Tape.save``. It has the eight fields only; its codes are read
as today's (they are frozen) and ``scalar_output`` is taken as "one output".

Loading checks the file itself (an npz, a known version, every field there with its dtype,
every opcode a member of Op and named as Op names it), then runs ``validated`` as
``Tape.from_arrays`` does. Each refusal is a ValueError naming the file, what was expected and
what was found. A change that an older numba_ad could not read correctly (a new field, a field
whose meaning changes) bumps FORMAT_VERSION and keeps a reader for every older version; adding
an opcode does not (an older numba_ad refuses a file that uses it, by its code and name).
"""

import os
import zipfile
from pathlib import Path
from typing import NoReturn

import numpy as np

from numba_ad.ops import user
from numba_ad.ops.table import Op
from numba_ad.tape.arrays import _DTYPES, TapeArrays, is_known_opcode, known_opcodes_text, validated

FORMAT_VERSION = 2
FIELDS = TapeArrays._fields
_HEADER = ("format_version", "scalar_output", "op_codes", "op_names")
_PRIMITIVES = ("primitive_names",)
# the arrays each version's file holds
_KEYS = {0: frozenset(FIELDS), 1: frozenset(FIELDS + _HEADER), 2: frozenset(FIELDS + _HEADER + _PRIMITIVES)}
_USER = np.array(user.USER_CODES)


def save_arrays(path: str | os.PathLike, arrays: TapeArrays, scalar_output: bool) -> Path:
    """Write `arrays` to the file `path` exactly (no ``.npz`` is appended); return that path.

    `arrays` must be valid (as a Tape's are); the file is overwritten if it exists.
    """
    path = Path(path)
    contents = to_contents(arrays, scalar_output)
    # np.savez given a file name appends .npz when the name lacks it; given an open file it
    # writes there, so the file is where the caller said and np.load(path) finds it.
    with open(path, "wb") as file:
        np.savez(file, **contents)
    return path


def to_contents(arrays: TapeArrays, scalar_output: bool) -> dict[str, np.ndarray]:
    """The arrays a tape file holds (the format above), by name: what save_arrays writes and
    what a pickled Tape carries (Tape.__reduce__), so both go through one reader."""
    codes = np.unique(arrays.op).astype(_DTYPES["op"])
    names = np.array([Op(int(code)).name for code in codes], dtype=str)
    contents = {name: np.asarray(getattr(arrays, name)) for name in FIELDS}
    used = user.primitives_used(arrays.op, arrays.c)
    version = 2 if used else 1
    if used:  # c of a primitive's op: its position in primitive_names, not this process's index
        at = np.isin(arrays.op, _USER)
        c = contents["c"].copy()
        c[at] = np.searchsorted(np.array(used, dtype=np.float64), c[at])
        contents["c"] = c
        contents["primitive_names"] = np.array([user.REGISTRY[i].name for i in used], dtype=str)
    contents.update(
        format_version=np.array(version, dtype=np.int64),
        scalar_output=np.array(bool(scalar_output)),
        op_codes=codes,
        op_names=names,
    )
    return contents


def load_arrays(path: str | os.PathLike) -> tuple[TapeArrays, bool]:
    """(validated TapeArrays, scalar_output) read from the tape file `path`.

    Reads format 0 (the np.savez recipe) and every format up to FORMAT_VERSION. Raises
    ValueError naming `path` when the file is not an npz, comes from an unknown format, lacks
    a field, holds a wrong dtype, an unknown opcode or an opcode under another name, or fails
    ``validated``; OSError (FileNotFoundError ...) when it cannot be read at all.
    """
    path = Path(path)
    return from_contents(_read_npz(path), path)


def from_contents(contents: dict[str, np.ndarray], source: str | Path) -> tuple[TapeArrays, bool]:
    """(validated TapeArrays, scalar_output) from the arrays of a tape file, by name, with
    every check of load_arrays; errors name `source` (the file, or what was unpickled)."""
    version = _version(source, contents)
    _check_keys(source, contents, version)
    arrays = TapeArrays(*[_field(source, contents, name) for name in FIELDS])
    arrays = _map_primitives(source, contents, version, arrays)
    if version == 0:
        scalar_output = arrays.outputs.shape[0] == 1
    else:
        scalar_output = _scalar_output(source, contents)
        _check_op_names(source, contents, arrays.op)
    _check_opcodes(source, arrays.op)
    try:
        arrays = validated(arrays)
    except ValueError as error:
        raise ValueError(f"{source}: {error}") from None
    if scalar_output and arrays.outputs.shape[0] != 1:
        _fail(
            source, f"scalar_output is True but the tape has {arrays.outputs.shape[0]} outputs; a scalar tape has one"
        )
    return arrays, scalar_output


def _fail(path: Path, message: str) -> NoReturn:
    raise ValueError(f"{path}: {message}")


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    """Every array of the npz at `path`, read without pickles."""
    not_npz = "not a numba_ad tape file: expected an .npz archive written by Tape.save"
    try:
        loaded = np.load(path, allow_pickle=False)
    except (ValueError, EOFError, zipfile.BadZipFile) as error:  # OSError (no such file ...) passes
        raise ValueError(f"{path}: {not_npz}; np.load says: {error}") from None
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        _fail(path, f"{not_npz}; found a single {type(loaded).__name__} (an .npy file?)")
    with loaded:
        contents = {}
        for key in loaded.files:
            try:
                contents[key] = loaded[key]
            except (ValueError, EOFError, zipfile.BadZipFile) as error:  # an object array, a damaged member
                raise ValueError(
                    f"{path}: array {key!r} cannot be read (a damaged archive, or an object array, "
                    f"which is never unpickled): {error}"
                ) from None
    return contents


def _version(path: Path, contents: dict[str, np.ndarray]) -> int:
    if "format_version" not in contents:
        return 0  # the np.savez recipe of the README before Tape.save
    v = contents["format_version"]
    if v.shape != () or v.dtype.kind not in "iu":
        _fail(path, f"format_version must be a 0-d integer; found dtype {v.dtype}, shape {v.shape}")
    version = int(v)
    if version > FORMAT_VERSION:
        _fail(
            path,
            f"was written by a newer numba_ad: format {version}; this version reads 0..{FORMAT_VERSION} "
            "(upgrade numba_ad to load it)",
        )
    if version not in _KEYS:
        _fail(path, f"has format_version {version}, which no numba_ad writes; this version reads 0..{FORMAT_VERSION}")
    return version


def _check_keys(path: Path, contents: dict[str, np.ndarray], version: int) -> None:
    expected = _KEYS[version]
    missing = [key for key in FIELDS + _HEADER if key in expected and key not in contents]
    if missing:
        _fail(path, f"a tape file of format {version} holds {sorted(expected)}; missing {missing}")
    extra = sorted(set(contents) - expected)
    if extra:
        _fail(path, f"a tape file of format {version} holds {sorted(expected)}; found also {extra}")


def _field(path: Path, contents: dict[str, np.ndarray], name: str) -> np.ndarray:
    """Field `name` with exactly its TapeArrays dtype (either byte order), 1-D."""
    arr = contents[name]
    want = np.dtype(_DTYPES[name])
    if arr.dtype.kind != want.kind or arr.dtype.itemsize != want.itemsize:
        _fail(path, f"field {name!r} must hold {want}; found {arr.dtype}")
    if arr.ndim != 1:
        _fail(path, f"field {name!r} must be 1-D; found shape {arr.shape}")
    return arr.astype(want, copy=False)


def _scalar_output(path: Path, contents: dict[str, np.ndarray]) -> bool:
    s = contents["scalar_output"]
    if s.shape != () or s.dtype != np.bool_:
        _fail(path, f"scalar_output must be a 0-d bool; found dtype {s.dtype}, shape {s.shape}")
    return bool(s)


def _check_op_names(path: Path, contents: dict[str, np.ndarray], op: np.ndarray) -> None:
    """Each code of the file's op table names the Op member that has that code today."""
    codes, names = contents["op_codes"], contents["op_names"]
    if codes.ndim != 1 or codes.dtype.kind not in "iu":
        _fail(path, f"op_codes must be a 1-D integer array; found dtype {codes.dtype}, shape {codes.shape}")
    if names.ndim != 1 or names.dtype.kind != "U" or names.shape != codes.shape:
        _fail(
            path,
            f"op_names must be a 1-D str array as long as op_codes ({codes.shape[0]}); "
            f"found dtype {names.dtype}, shape {names.shape}",
        )
    table = {}
    for code, name in zip(codes.tolist(), names.tolist()):
        if code in table:
            _fail(path, f"op_codes lists opcode {code} twice")
        table[code] = name
        if not is_known_opcode(code):
            _fail(
                path,
                f"opcode {code} ({name} in the file) is not one this numba_ad knows (known: {known_opcodes_text()})",
            )
        if Op(code).name != name:
            _fail(
                path,
                f"opcode {code} is {name} in the file but {Op(code).name} in this numba_ad: the file comes "
                "from a build that numbers ops differently, and replaying it would run other ops",
            )
    unnamed = ~np.isin(op, np.fromiter(table, dtype=np.int64, count=len(table)))
    if unnamed.any():
        i = int(np.argmax(unnamed))
        _fail(path, f"slot {i} has opcode {op[i]}, which the file's op_codes/op_names do not name")


def _map_primitives(path: Path, contents: dict[str, np.ndarray], version: int, arrays: TapeArrays) -> TapeArrays:
    """arrays with each primitive op's c mapped from its position in the file's
    primitive_names to the index of the primitive of that name in this process."""
    at = np.isin(arrays.op, _USER)
    if version < 2:
        if at.any():
            i = int(np.argmax(at))
            _fail(path, f"slot {i} calls a user primitive, which a format-{version} file cannot name (format 2 can)")
        return arrays
    names = contents["primitive_names"]
    if names.ndim != 1 or (names.dtype.kind != "U" and names.size):
        _fail(path, f"primitive_names must be a 1-D str array; found dtype {names.dtype}, shape {names.shape}")
    if not at.any():
        return arrays
    position = arrays.c[at]
    bad = (position != np.floor(position)) | (position < 0) | (position >= names.shape[0])
    if bad.any():
        i = int(np.flatnonzero(at)[np.argmax(bad)])
        _fail(path, f"slot {i} calls primitive {arrays.c[i]!r}; the file names {names.shape[0]} (primitive_names)")
    index = np.empty(names.shape[0])
    for k, name in enumerate(names.tolist()):
        found = user.index_of(name)
        if found is None:
            _fail(
                path,
                f"the tape calls user primitive {name!r}, which is not registered in this process: "
                "register it with numba_ad.primitive(..., name=...) before loading",
            )
        index[k] = found
    c = arrays.c.copy()
    c[at] = index[position.astype(np.int64)]
    return arrays._replace(c=c)


def _check_opcodes(path: Path, op: np.ndarray) -> None:
    """Every opcode is a member of Op (membership, not a range: codes may leave gaps)."""
    unknown = [code for code in np.unique(op).tolist() if not is_known_opcode(code)]
    if unknown:
        i = int(np.argmax(np.isin(op, unknown)))
        _fail(path, f"slot {i} has opcode {op[i]}, which this numba_ad does not know (known: {known_opcodes_text()})")
