"""The tape file: Tape.save / numba_ad.load round trips, the committed fixtures, and every refusal."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import numba_ad as ad
from numba_ad.ops.table import Op
from numba_ad.tape import format as tape_format

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"


def _same_bits(got, want) -> bool:
    """Equal as float64 bit patterns (so -0.0 differs from 0.0 and a NaN equals itself)."""
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    return got.shape == want.shape and np.array_equal(got.view(np.uint64), want.view(np.uint64))


# ---------------------------------------------------------------------------------------
# Tapes to round-trip: recorded at x0, compared at x1.
# ---------------------------------------------------------------------------------------
def _scalar(x):
    return np.sum((1.0 - x[:-1]) ** 2 + 100.0 * (x[1:] - x[:-1] ** 2) ** 2) + np.sin(x[0]) * np.exp(-x[2])


def _vector(x):
    return [x[0] * x[1], np.tanh(x[2]) - x[0] ** 3, np.hypot(x[1], x[2])]


def _with_params(x, p):
    return np.log1p(x[0] ** 2 * p[0]) + np.cos(x[1] * p[1]) / (1.0 + x[2] ** 2)


def _with_guards(x):
    y = x[0] * x[1]
    if y > 0.1:
        y = y + np.sqrt(x[2])
    if x[2] < 2.0:
        y = y * np.arctan2(x[0], x[2])
    return ad.where(x[1] > 0.5, y, -y) + x[0] ** 2.5


def _one_output_vector(x):
    return [x[0] * x[1] + x[2]]


def _redundant(x):  # optimize() folds and merges: 0 + ..., * 1.0, the repeated sin
    return (np.sin(x[0]) * 1.0 + 0.0) * np.sin(x[0]) + (x[1] + 2.0 * 3.0) * x[2] + x[1] * 0.0


X0 = np.array([0.7, 0.9, 1.3])
X1 = np.array([0.8, 0.6, 1.1])
P = np.array([1.5, -0.4])


def _cases() -> dict:
    """name -> (tape, params)."""
    return {
        "scalar": (ad.trace(_scalar, X0), None),
        "vector": (ad.trace(_vector, X0), None),
        "params": (ad.trace(_with_params, X0, params=P), P),
        "guards": (ad.trace(_with_guards, X0), None),
        "one_output_vector": (ad.trace(_one_output_vector, X0), None),
        "optimized": (ad.trace(_redundant, X0).optimize(), None),
    }


def _results(tape, x, params) -> dict:
    """Value, first and second derivatives of `tape` at x: what a round trip must keep bit for bit."""
    out = {"value": np.asarray(tape.eval(x, params)), "jacobian": tape.jacobian(x, params=params)}
    if tape.scalar_output:
        out["gradient"] = tape.gradient(x, params)
        out["hessian"] = tape.hessian(x, params)
    else:
        weights = np.linspace(1.0, -1.0, tape.n_outputs)
        out["hessian"] = tape.hessian(x, params, weights=weights)
    out["scalar_output"] = np.array(tape.scalar_output)
    return out


def _assert_same_results(got: dict, want: dict, name: str) -> None:
    assert sorted(got) == sorted(want), name
    for key in want:
        assert _same_bits(got[key], want[key]), f"{name}: {key} differs after the round trip"


def test_round_trip_in_a_fresh_process(tmp_path):
    cases = _cases()
    assert cases["optimized"][0].n_ops < ad.trace(_redundant, X0).n_ops  # the optimizer did work
    assert cases["guards"][0].n_guards == 2 and cases["params"][0].n_params == 2
    for name, (tape, _) in cases.items():
        tape.save(tmp_path / f"{name}.npz")
    params = {name: (None if p is None else p.tolist()) for name, (_, p) in cases.items()}
    script = textwrap.dedent(
        f"""
        import json
        import numpy as np
        import numba_ad as ad
        from tests.tape.test_format import _results
        assert ad.__file__.startswith({str(ROOT)!r}), ad.__file__
        for name, p in json.loads({json.dumps(params)!r}).items():
            tape = ad.load({str(tmp_path)!r} + "/" + name + ".npz")
            p = None if p is None else np.array(p)
            np.savez({str(tmp_path)!r} + "/" + name + "_results.npz", **_results(tape, np.array({X1.tolist()}), p))
        """
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=True, timeout=600)
    for name, (tape, p) in cases.items():
        with np.load(tmp_path / f"{name}_results.npz") as loaded:
            got = {key: loaded[key] for key in loaded.files}
        _assert_same_results(got, _results(tape, X1, p), name)


def test_round_trip_keeps_arrays_and_kind_exactly(tmp_path):
    for name, (tape, _) in _cases().items():
        path = tmp_path / name
        tape.save(path)
        again = ad.load(path)
        assert again.scalar_output == tape.scalar_output, name
        for field in ad.TapeArrays._fields:
            want, got = getattr(tape.arrays, field), getattr(again.arrays, field)
            assert got.dtype == want.dtype and np.array_equal(got, want), (name, field)


def test_a_one_output_vector_tape_stays_a_vector_tape(tmp_path):
    tape = ad.trace(_one_output_vector, X0)
    assert not tape.scalar_output  # the format-0 recipe would come back as a scalar tape
    tape.save(tmp_path / "t.npz")
    again = ad.load(tmp_path / "t.npz")
    assert not again.scalar_output and again.eval(X1).shape == (1,)


def test_a_loaded_tape_still_checks_its_guards(tmp_path):
    tape = ad.trace(_with_guards, X0)
    tape.save(tmp_path / "t.npz")
    again = ad.load(tmp_path / "t.npz")
    x = np.array([0.7, 0.9, 2.5])  # x[2] < 2.0 no longer holds: guard 1
    with pytest.raises(ad.BranchChangedError) as recorded:
        tape.eval(x)
    with pytest.raises(ad.BranchChangedError) as loaded:
        again.eval(x)
    assert loaded.value.guard == recorded.value.guard == 1
    # guard texts are not saved: a loaded tape measures a margin along its comparison op's own
    # operands (lhs - rhs of LT), the recorded one along the user's (`y > 0.1`), so signs may differ
    assert np.array_equal(np.abs(again.margins(x)), np.abs(tape.margins(x)))


@pytest.mark.parametrize("as_str", [False, True])
def test_save_writes_exactly_the_path_given(tmp_path, as_str):
    tape = ad.trace(_scalar, X0)
    path = tmp_path / "tape.bin"  # no .npz: np.savez given this name would write tape.bin.npz
    written = tape.save(str(path) if as_str else path)
    assert written == path and path.is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tape.bin"]
    again = ad.load(str(path) if as_str else path)
    assert _same_bits(again.gradient(X1), tape.gradient(X1))


def test_save_overwrites_and_leaves_the_tape_unchanged(tmp_path):
    tape = ad.trace(_with_params, X0, params=P)
    before = [field.copy() for field in tape.arrays]
    arrays, results = tape.arrays, _results(tape, X1, P)
    path = tmp_path / "t.npz"
    ad.trace(_vector, X0).save(path)
    tape.save(path)
    assert tape.arrays is arrays and tape.scalar_output
    assert all(np.array_equal(b, a) and b.dtype == a.dtype for b, a in zip(before, tape.arrays))
    _assert_same_results(_results(tape, X1, P), results, "after save")
    assert ad.load(path).n_params == 2  # the second save replaced the first file


def test_two_loads_give_independent_tapes(tmp_path):
    tape = ad.trace(_scalar, X0)
    tape.save(tmp_path / "t.npz")
    first, second = ad.load(tmp_path / "t.npz"), ad.load(tmp_path / "t.npz")
    assert first is not second
    for field in ad.TapeArrays._fields:
        assert not np.shares_memory(getattr(first.arrays, field), getattr(second.arrays, field)), field
    g = second.gradient(X1)
    with pytest.raises(ValueError, match="read-only"):
        first.arrays.c[:] = 0.0  # a loaded tape is immutable
    first.eval(X0)  # and first's buffers are its own
    assert _same_bits(second.gradient(X1), g) and _same_bits(g, tape.gradient(X1))


# ---------------------------------------------------------------------------------------
# The committed fixtures: files from earlier code still load and replay bit for bit.
# ---------------------------------------------------------------------------------------
def test_a_format_0_file_from_commit_7bc8c51_loads_and_replays_bit_for_bit():
    with np.load(FIXTURES / "tape_v0.npz") as raw:
        assert "format_version" not in raw.files  # really the old np.savez recipe
    tape = ad.load(FIXTURES / "tape_v0.npz")
    assert tape.scalar_output and tape.n_guards == 1 and tape.n_params == 2
    with np.load(FIXTURES / "tape_v0_expected.npz") as expected:
        x, p = expected["x"], expected["p"]
        assert _same_bits(tape.eval(x, p), expected["value"])
        assert _same_bits(tape.gradient(x, p), expected["gradient"])
        assert _same_bits(tape.hessian(x, p), expected["hessian"])


def test_a_format_1_file_loads_and_replays_bit_for_bit():
    with np.load(FIXTURES / "tape_v1.npz") as raw:
        assert int(raw["format_version"]) == 1
    tape = ad.load(FIXTURES / "tape_v1.npz")
    assert not tape.scalar_output and tape.n_outputs == 3 and tape.n_guards == 1 and tape.n_params == 2
    with np.load(FIXTURES / "tape_v1_expected.npz") as expected:
        x, p = expected["x"], expected["p"]
        assert _same_bits(tape.eval(x, p), expected["value"])
        assert _same_bits(tape.jacobian(x, params=p), expected["jacobian"])
        assert _same_bits(tape.hessian(x, p, weights=expected["weights"]), expected["hessian"])


# ---------------------------------------------------------------------------------------
# Refusals: crafted files, each refused with a ValueError naming the file and the problem.
# ---------------------------------------------------------------------------------------
def _v1_contents() -> dict:
    with np.load(FIXTURES / "tape_v1.npz") as raw:
        return {key: raw[key] for key in raw.files}


def _v0_contents() -> dict:
    with np.load(FIXTURES / "tape_v0.npz") as raw:
        return {key: raw[key] for key in raw.files}


def _refused(tmp_path, contents: dict, pattern: str) -> None:
    path = tmp_path / "bad.npz"
    np.savez(path, **contents)
    with pytest.raises(ValueError, match=pattern) as error:
        ad.load(path)
    assert str(path) in str(error.value)


def _replaced(contents: dict, **changes) -> dict:
    out = dict(contents)
    out.update(changes)
    return out


def _without(contents: dict, *keys: str) -> dict:
    return {key: value for key, value in contents.items() if key not in keys}


def _with_op(contents: dict, slot: int, code: int) -> dict:
    op = contents["op"].copy()
    op[slot] = code
    return _replaced(contents, op=op)


def test_the_crafted_files_start_from_files_that_load(tmp_path):
    for name, contents in [("v0", _v0_contents()), ("v1", _v1_contents())]:
        np.savez(tmp_path / f"{name}.npz", **contents)
        assert ad.load(tmp_path / f"{name}.npz").n_ops == contents["op"].shape[0]


def test_a_newer_format_is_refused_naming_both_versions(tmp_path):
    contents = _replaced(_v1_contents(), format_version=np.array(7))
    _refused(tmp_path, contents, r"was written by a newer numba_ad: format 7; this version reads 0\.\.2")


@pytest.mark.parametrize(
    "value, pattern",
    [
        (np.array(-1), "format_version -1, which no numba_ad writes"),
        (np.array(1.0), "format_version must be a 0-d integer; found dtype float64"),
        (np.array([1]), r"format_version must be a 0-d integer; found dtype int64, shape \(1,\)"),
    ],
)
def test_a_malformed_format_version_is_refused(tmp_path, value, pattern):
    _refused(tmp_path, _replaced(_v1_contents(), format_version=value), pattern)


def test_an_unknown_opcode_is_refused_naming_slot_and_code(tmp_path):
    _refused(tmp_path, _with_op(_v0_contents(), 12, 97), "slot 12 has opcode 97, which this numba_ad does not know")


def test_an_unknown_opcode_in_a_format_1_file_is_refused_with_its_name(tmp_path):
    contents = _with_op(_v1_contents(), 12, 97)
    contents["op_codes"] = np.append(contents["op_codes"], np.uint8(97))
    contents["op_names"] = np.append(contents["op_names"], "FUTURE_OP")
    _refused(tmp_path, contents, r"opcode 97 \(FUTURE_OP in the file\) is not one this numba_ad knows")


def test_a_code_stored_under_another_name_is_refused(tmp_path):
    contents = _v1_contents()
    names = contents["op_names"].copy()
    k = int(np.flatnonzero(contents["op_codes"] == Op.COS)[0])
    names[k] = "SIN"  # a build where COS's code meant SIN: replaying would compute other values
    _refused(tmp_path, _replaced(contents, op_names=names), f"opcode {int(Op.COS)} is SIN in the file but COS")


def test_a_used_code_missing_from_the_op_table_is_refused(tmp_path):
    contents = _v1_contents()
    keep = contents["op_codes"] != Op.COS
    contents = _replaced(contents, op_codes=contents["op_codes"][keep], op_names=contents["op_names"][keep])
    _refused(tmp_path, contents, f"has opcode {int(Op.COS)}, which the file's op_codes/op_names do not name")


@pytest.mark.parametrize(
    "changes, pattern",
    [
        (dict(op_codes=np.array([0, 0, 1])), "as long as op_codes"),
        (dict(op_names=np.array([1, 2])), "op_names must be a 1-D str array"),
        (dict(op_codes=np.array([[0]])), "op_codes must be a 1-D integer array"),
    ],
)
def test_a_malformed_op_table_is_refused(tmp_path, changes, pattern):
    _refused(tmp_path, _replaced(_v1_contents(), **changes), pattern)


def test_a_code_listed_twice_is_refused(tmp_path):
    contents = _v1_contents()
    codes = contents["op_codes"].copy()
    codes[1] = codes[0]
    _refused(tmp_path, _replaced(contents, op_codes=codes), "lists opcode 0 twice")


@pytest.mark.parametrize(
    "version, key",
    [(0, "guards"), (0, "op"), (1, "op_names"), (1, "scalar_output"), (1, "c")],
)
def test_a_missing_array_is_refused(tmp_path, version, key):
    contents = _v0_contents() if version == 0 else _v1_contents()
    _refused(tmp_path, _without(contents, key), rf"a tape file of format {version} holds .*; missing \['{key}'\]")


def test_an_unexpected_array_is_refused(tmp_path):
    _refused(tmp_path, _replaced(_v0_contents(), notes=np.zeros(2)), r"found also \['notes'\]")
    # a format-1 header in a file without format_version is not format 0
    _refused(tmp_path, _without(_v1_contents(), "format_version"), r"format 0 holds .*; found also")


@pytest.mark.parametrize(
    "field, dtype",
    [("a", np.int64), ("c", np.float32), ("op", np.int32), ("guards", np.float64), ("inputs", np.uint32)],
)
def test_a_wrong_dtype_is_refused(tmp_path, field, dtype):
    contents = _v1_contents()
    contents[field] = contents[field].astype(dtype)
    _refused(
        tmp_path, contents, f"field '{field}' must hold {np.dtype(tape_format._DTYPES[field])}; found {np.dtype(dtype)}"
    )


def test_a_wrong_scalar_output_is_refused(tmp_path):
    _refused(tmp_path, _replaced(_v1_contents(), scalar_output=np.array(1)), "scalar_output must be a 0-d bool")
    _refused(tmp_path, _replaced(_v1_contents(), scalar_output=np.array(True)), "the tape has 3 outputs")


def test_a_tape_that_fails_validation_is_refused_naming_the_file(tmp_path):
    contents = _v1_contents()
    a = contents["a"].copy()
    a[-1] = a.shape[0] + 5
    _refused(tmp_path, _replaced(contents, a=a), f"invalid tape: slot {a.shape[0] - 1} reads slot a=")


def test_files_that_are_not_npz_archives_are_refused(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not a tape\n")
    npy = tmp_path / "op.npy"
    np.save(npy, np.zeros(3))
    empty = tmp_path / "empty.npz"
    empty.write_bytes(b"")
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes((FIXTURES / "tape_v1.npz").read_bytes()[:200])
    for path in (text, npy, empty, truncated):
        with pytest.raises(ValueError, match="not a numba_ad tape file|cannot be read") as error:
            ad.load(path)
        assert str(path) in str(error.value), path


def test_a_pickled_array_is_not_unpickled(tmp_path):
    contents = _replaced(_v1_contents(), op_names=np.array(["CONST", object()], dtype=object))
    _refused(tmp_path, contents, "array 'op_names' cannot be read .*never unpickled")


def test_a_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        ad.load(tmp_path / "nowhere.npz")


# ---------------------------------------------------------------------------------------
# Tape.from_arrays: opcodes are checked by membership in Op, not by a range.
# ---------------------------------------------------------------------------------------
def _small_arrays(code: int) -> ad.TapeArrays:
    return ad.TapeArrays(
        op=np.array([Op.CONST, Op.INPUT, code], dtype=np.uint8),
        a=np.array([0, 0, 1], dtype=np.int32),
        b=np.zeros(3, dtype=np.int32),
        c=np.zeros(3),
        inputs=np.array([1], dtype=np.int32),
        outputs=np.array([2], dtype=np.int32),
        params=np.zeros(0, dtype=np.int32),
        guards=np.zeros(0, dtype=np.int32),
    )


def test_from_arrays_refuses_a_code_past_the_last_op():
    code = max(int(op) for op in Op) + 1
    with pytest.raises(ValueError, match=f"slot 2 has opcode {code}, which this numba_ad does not know"):
        ad.Tape.from_arrays(_small_arrays(code))


def test_from_arrays_refuses_a_code_in_a_gap_of_op(monkeypatch):
    from numba_ad.tape import arrays

    known = arrays._KNOWN_OPCODES.copy()
    known[int(Op.SIN)] = False  # as if SIN's code were a gap left in the enum
    monkeypatch.setattr(arrays, "_KNOWN_OPCODES", known)
    with pytest.raises(ValueError, match=rf"opcode {int(Op.SIN)}, which .* \(known: 0\.\.{int(Op.SIN) - 1}, "):
        ad.Tape.from_arrays(_small_arrays(Op.SIN))
    monkeypatch.undo()
    assert ad.Tape.from_arrays(_small_arrays(Op.SIN)).eval(np.array([0.5])) == np.sin(0.5)
