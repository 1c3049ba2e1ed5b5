"""Tape, Function and CompiledTape pickle and unpickle, here and in another process, with the
same answers: values bit for bit, derivatives bit for bit too (the same kernels on the same
arrays). What travels is the tape file's arrays (read back with the load's checks) and, for a
compiled tape, its generated source, never machine code."""

import math
import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import cloudpickle
import numpy as np
import pytest

import numba_ad as ad
from numba_ad.compile.compiled import source_dir
from tests._support import primitives
from tests._support.small_functions import branchy, p2, vector_f

REPO = Path(__file__).resolve().parents[2]


def with_primitive(x):
    return primitives.UNARY(x[0]) * primitives.BINARY(x[1], x[2])


def _roundtrip(obj, dumps=pickle.dumps):
    return pickle.loads(dumps(obj))


def _points(n, k, seed=0):
    return np.random.default_rng(seed).uniform(0.2, 1.5, (k, n))


def test_scalar_tape_answers_every_request_bit_for_bit():
    x0 = np.linspace(0.2, 1.0, 6)
    tape = ad.trace(p2, x0)
    copy = _roundtrip(tape)
    assert repr(copy) == repr(tape)
    X = _points(6, 5)
    for x in X:  # recorded at x0, replayed elsewhere
        assert copy.eval(x) == tape.eval(x)
        np.testing.assert_array_equal(copy.gradient(x), tape.gradient(x))
        np.testing.assert_array_equal(copy.hessian(x), tape.hessian(x))
        v = x[::-1].copy()
        np.testing.assert_array_equal(copy.hvp(x, v), tape.hvp(x, v))
    np.testing.assert_array_equal(copy.gradient_many(X), tape.gradient_many(X))
    # the copy's buffers are its own: using it leaves the original's answers alone
    np.testing.assert_array_equal(tape.gradient(X[0]), copy.gradient(X[0]))


def test_vector_tape_with_params():
    x0, p0 = np.array([0.3, 0.7, 1.1]), np.array([2.0, 0.5])
    tape = ad.trace(vector_f, x0, params=p0)
    copy = _roundtrip(tape)
    p = np.array([-1.0, 3.0])
    for x in _points(3, 4):
        np.testing.assert_array_equal(copy.eval(x, p), tape.eval(x, p))
        for mode in ("forward", "reverse"):
            np.testing.assert_array_equal(copy.jacobian(x, mode, p), tape.jacobian(x, mode, p))


def test_guards_keep_their_texts_and_raise_the_same_error():
    tape = ad.trace(branchy, np.array([0.5, 1.0, 2.0]))
    copy = _roundtrip(tape)
    assert copy.guard_description(0) == tape.guard_description(0)
    off = np.array([-0.5, 1.0, 2.0])
    with pytest.raises(ad.BranchChangedError) as original:
        tape.gradient(off)
    with pytest.raises(ad.BranchChangedError) as copied:
        copy.gradient(off)
    assert str(copied.value) == str(original.value)
    assert copy.check(off) == tape.check(off) == 0


def test_optimized_tape_keeps_its_report():
    tape = ad.trace(lambda x: (x[0] * 1.0 + 0.0) * x[1] + x[0] * x[1], np.array([1.0, 2.0])).optimize()
    copy = _roundtrip(tape)
    assert copy.optimize_report == tape.optimize_report
    x = np.array([0.3, -2.0])
    np.testing.assert_array_equal(copy.gradient(x), tape.gradient(x))


def test_user_primitives_travel_by_name():
    tape = ad.trace(with_primitive, np.array([0.4, 0.8, 1.2]))
    copy = _roundtrip(tape)
    x = np.array([0.1, -0.3, 0.9])
    np.testing.assert_array_equal(copy.gradient(x), tape.gradient(x))
    np.testing.assert_array_equal(copy.hessian(x), tape.hessian(x))


def test_a_damaged_pickle_is_refused_with_the_loads_checks():
    tape = ad.trace(p2, np.linspace(0.2, 1.0, 4))
    rebuild, (contents, *rest) = tape.__reduce__()
    contents = dict(contents, a=np.full_like(contents["a"], 10**6))
    with pytest.raises(ValueError, match="unpickled numba_ad.Tape"):
        rebuild(contents, *rest)


def test_function_keeps_its_tape_cache():
    fn = ad.function(branchy)
    right, left = np.array([0.5, 1.0, 2.0]), np.array([-0.5, 1.0, 2.0])
    expected = fn.gradient(right), fn.gradient(left)
    copy = _roundtrip(fn)
    assert copy.stats() == fn.stats()
    np.testing.assert_array_equal(copy.gradient(right), expected[0])
    np.testing.assert_array_equal(copy.gradient(left), expected[1])
    assert copy.n_traces == 2  # both branches came cached: nothing was traced again


def test_function_of_a_lambda_pickles_with_cloudpickle():
    fn = ad.function(lambda x: np.sum(x**3) * math.pi)
    x = np.array([1.0, 2.0])
    g = fn.gradient(x)
    copy = _roundtrip(fn, cloudpickle.dumps)
    np.testing.assert_array_equal(copy.gradient(x), g)
    assert copy.n_traces == 1


@pytest.mark.parametrize("straight_line", [True, False])
def test_compiled_tape_pickles_as_source(straight_line):
    tape = ad.trace(p2, np.linspace(0.2, 1.0, 8))
    compiled = tape.compile(straight_line=straight_line)
    data = pickle.dumps(compiled)
    assert compiled.source.encode() in data  # the generated module's text travels ...
    copy = pickle.loads(data)
    assert copy.path == compiled.path  # ... and names the same module file here
    X = _points(8, 6, seed=3)
    for x in X:
        assert copy.eval(x) == compiled.eval(x)
        np.testing.assert_array_equal(copy.gradient(x), compiled.gradient(x))
    np.testing.assert_array_equal(copy.gradient_many(X), compiled.gradient_many(X))


_CHILD = textwrap.dedent(
    """
    import pickle, sys
    import numpy as np
    obj = pickle.load(open(sys.argv[1], "rb"))
    X = np.load(sys.argv[2])
    if hasattr(obj, "gradient_many"):
        out = obj.gradient_many(X)
    else:
        out = np.array([obj.gradient(x) for x in X])
    np.save(sys.argv[3], out)
    import numba_ad.compile.compiled as compiled
    print(compiled.source_dir())
    """
)


def _in_child(obj, X, tmp_path, env_extra=None, dumps=pickle.dumps):
    """gradient_many (or gradients row by row) of the unpickled `obj` in a new Python process."""
    (tmp_path / "obj.pkl").write_bytes(dumps(obj))
    np.save(tmp_path / "X.npy", X)
    env = dict(os.environ, PYTHONPATH=str(REPO), **(env_extra or {}))
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(tmp_path / "obj.pkl"), str(tmp_path / "X.npy"), str(tmp_path / "G.npy")],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    return np.load(tmp_path / "G.npy"), done.stdout.strip().splitlines()[-1]


def test_tape_with_a_primitive_in_another_process(tmp_path):
    # a primitive the child never registered: its rules travel with the tape (cloudpickle, by value)
    cube = ad.primitive(lambda x: x * x * x, lambda x: 3.0 * x * x, name="test_pickle.cube")
    tape = ad.trace(lambda x: cube(x[0]) * np.exp(x[1]) + cube(x[1]), np.array([0.5, 0.25]))
    X = _points(2, 7, seed=5)
    G, _ = _in_child(tape, X, tmp_path, dumps=cloudpickle.dumps)
    np.testing.assert_array_equal(G, tape.gradient_many(X))


def test_function_in_another_process(tmp_path):
    fn = ad.function(branchy)
    X = np.array([[0.5, 1.0, 2.0], [-0.5, 1.0, 2.0], [0.9, -1.0, 0.1]])
    expected = np.array([fn.gradient(x) for x in X])
    G, _ = _in_child(fn, X, tmp_path)
    np.testing.assert_array_equal(G, expected)


def test_compiled_tape_in_another_process_writes_its_own_source(tmp_path):
    compiled = ad.trace(p2, np.linspace(0.2, 1.0, 5)).compile()
    X = _points(5, 9, seed=7)
    where = tmp_path / "child_sources"
    G, child_dir = _in_child(compiled, X, tmp_path, {"NUMBA_AD_COMPILE_DIR": str(where)})
    np.testing.assert_array_equal(G, compiled.gradient_many(X))
    assert child_dir == str(where) != source_dir()
    assert (where / Path(compiled.path).name).read_text() == compiled.source
