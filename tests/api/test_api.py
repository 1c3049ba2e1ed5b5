"""The public API: shapes (JAX's), record-at-x0/replay-at-x1, parameters, Recorder, wrappers."""

import os
import subprocess
import sys

import numpy as np
import pytest

import numba_ad as ad
from numba_ad.testing import check_grads


def rosen(x):
    return sum(100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2 for i in range(len(x) - 1))


def rosen_gradient(x):  # the analytic gradient: an independent reference
    g = np.zeros_like(x)
    g[:-1] += -400 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2 * (1 - x[:-1])
    g[1:] += 200 * (x[1:] - x[:-1] ** 2)
    return g


def vector_f(x):  # R^3 -> R^2
    return [np.sin(x[0]) * x[1], x[2] ** 2 / (1 + x[0] ** 2)]


def vector_jacobian(x):
    return np.array(
        [
            [np.cos(x[0]) * x[1], np.sin(x[0]), 0.0],
            [-2 * x[0] * x[2] ** 2 / (1 + x[0] ** 2) ** 2, 0.0, 2 * x[2] / (1 + x[0] ** 2)],
        ]
    )


X1 = np.array([0.3, -1.2, 0.7, 1.9, -0.4])


def test_rosenbrock_recorded_at_zero_replayed_elsewhere():
    tape = ad.trace(rosen, np.zeros(5))
    assert (tape.n_inputs, tape.n_outputs, tape.n_params, tape.n_guards) == (5, 1, 0, 0)
    assert tape.n_ops > 5
    assert isinstance(tape.eval(X1), float)
    assert tape.eval(X1) == pytest.approx(rosen(X1), rel=1e-14)
    assert tape(X1) == tape.eval(X1)
    np.testing.assert_allclose(tape.gradient(X1), rosen_gradient(X1), rtol=1e-13)
    value, grad = tape.value_and_gradient(X1)
    assert value == tape.eval(X1) and np.array_equal(grad, tape.gradient(X1))


def test_scalar_tape_shapes():
    tape = ad.trace(rosen, np.zeros(5))
    g = rosen_gradient(X1)
    V = np.random.default_rng(0).standard_normal((5, 3))
    assert isinstance(tape.jvp(X1, V[:, 0]), float)
    assert tape.jvp(X1, V[:, 0]) == pytest.approx(g @ V[:, 0], rel=1e-12)
    np.testing.assert_allclose(tape.jvp(X1, V), g @ V, rtol=1e-12)
    assert tape.vjp(X1, 2.0).shape == (5,)
    np.testing.assert_allclose(tape.vjp(X1, 2.0), 2 * g, rtol=1e-13)
    np.testing.assert_allclose(tape.vjp(X1, np.array([1.0, -3.0])), np.outer(g, [1.0, -3.0]), rtol=1e-13)
    for mode in ("auto", "forward", "reverse"):
        J = tape.jacobian(X1, mode=mode)
        assert J.shape == (5,)
        np.testing.assert_allclose(J, g, rtol=1e-12)


def test_vector_tape_shapes_and_modes_agree():
    x0, x1 = np.array([0.1, 0.2, 0.3]), np.array([-0.7, 1.3, 2.2])
    tape = ad.trace(vector_f, x0)
    J = vector_jacobian(x1)
    assert tape.eval(x1).shape == (2,)
    np.testing.assert_allclose(tape.eval(x1), vector_f(x1), rtol=1e-15)
    with pytest.raises(ValueError, match="jacobian"):
        tape.gradient(x1)
    v, V = np.array([1.0, -2.0, 0.5]), np.arange(12.0).reshape(3, 4)
    w, W = np.array([0.3, -1.1]), np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(tape.jvp(x1, v), J @ v, rtol=1e-14)
    np.testing.assert_allclose(tape.jvp(x1, V), J @ V, rtol=1e-14)
    np.testing.assert_allclose(tape.vjp(x1, w), J.T @ w, rtol=1e-14)
    np.testing.assert_allclose(tape.vjp(x1, W), J.T @ W, rtol=1e-14)
    fwd, rev = tape.jacobian(x1, mode="forward"), tape.jacobian(x1, mode="reverse")
    assert fwd.shape == rev.shape == (2, 3)
    np.testing.assert_allclose(fwd, J, rtol=1e-14)
    np.testing.assert_allclose(rev, fwd, rtol=1e-15)


def test_dot_product_identity_between_modes():
    rng = np.random.default_rng(3)
    tape = ad.trace(
        lambda x: [np.tanh(x @ x) * x[0], np.exp(x[1] - x[2]), np.hypot(x[3], x[0])], rng.standard_normal(4)
    )
    for _ in range(5):
        x, v, w = rng.standard_normal(4), rng.standard_normal(4), rng.standard_normal(3)
        lhs, rhs = w @ tape.jvp(x, v), tape.vjp(x, w) @ v
        assert lhs == pytest.approx(rhs, rel=1e-13, abs=1e-15)


def test_many_directions_are_blocked_in_lanes():
    # More directions than one lane block (32): the blocks must stitch together exactly.
    rng = np.random.default_rng(5)
    tape = ad.trace(lambda x: [np.sin(x[i]) * x[(i + 1) % 40] for i in range(40)], rng.standard_normal(40))
    x, V, W = rng.standard_normal(40), rng.standard_normal((40, 70)), rng.standard_normal((40, 70))
    JV, JTW = tape.jvp(x, V), tape.vjp(x, W)
    for k in (0, 31, 32, 33, 69):
        np.testing.assert_array_equal(JV[:, k], tape.jvp(x, V[:, k]))
        np.testing.assert_array_equal(JTW[:, k], tape.vjp(x, W[:, k]))


def test_same_buffers_twice_and_interleaved_points():
    tape = ad.trace(rosen, np.zeros(5))
    x2 = X1[::-1].copy()
    first = tape.value_and_gradient(X1)
    again = tape.value_and_gradient(X1)
    assert first[0] == again[0] and np.array_equal(first[1], again[1])
    tape.gradient(x2)
    tape.jacobian(x2, mode="forward")
    third = tape.value_and_gradient(X1)
    assert first[0] == third[0] and np.array_equal(first[1], third[1])


def test_caller_arrays_are_never_modified():
    tape = ad.trace(vector_f, np.ones(3))
    x, v, w = np.array([0.5, 0.6, 0.7]), np.ones(3), np.ones(2)
    copies = [a.copy() for a in (x, v, w)]
    tape.eval(x), tape.jvp(x, v), tape.vjp(x, w), tape.jacobian(x)
    for original, copy in zip((x, v, w), copies):
        assert np.array_equal(original, copy)


def test_parameters_change_without_retracing():
    t = np.linspace(0, 1, 7)
    data = np.concatenate([t, 2.0 * np.exp(-1.5 * t)])

    def loss(theta, p):
        ts, ys = p[:7], p[7:]
        return sum((theta[0] * np.exp(-theta[1] * ts[i]) - ys[i]) ** 2 for i in range(7))

    def plain(theta, p):
        return float(np.sum((theta[0] * np.exp(-theta[1] * p[:7]) - p[7:]) ** 2))

    tape = ad.trace(loss, np.array([1.0, 1.0]), params=data)
    assert tape.n_params == 14
    theta = np.array([1.7, 1.2])
    other = data.copy()
    other[7:] *= 1.3
    h = 1e-6
    for p in (data, other, data):
        assert tape.eval(theta, params=p) == pytest.approx(plain(theta, p), rel=1e-13)
        fd = [(plain(theta + h * e, p) - plain(theta - h * e, p)) / (2 * h) for e in np.eye(2)]
        np.testing.assert_allclose(tape.gradient(theta, params=p), fd, rtol=1e-6)
    with pytest.raises(ValueError, match="params"):
        tape.gradient(theta)
    with pytest.raises(ValueError, match=r"\(14,\)"):
        tape.gradient(theta, params=data[:3])


def test_constant_output_has_zero_derivatives():
    tape = ad.trace(lambda x: 3.5, np.ones(3))
    assert tape.eval(np.zeros(3)) == 3.5
    np.testing.assert_array_equal(tape.gradient(np.array([1.0, 2.0, 3.0])), np.zeros(3))
    vec = ad.trace(lambda x: [x[0], 2.0, x[0]], np.ones(2))  # an input and a constant as outputs
    np.testing.assert_array_equal(vec.jacobian(np.array([4.0, 5.0])), [[1, 0], [0, 0], [1, 0]])
    np.testing.assert_array_equal(vec.vjp(np.array([4.0, 5.0]), np.array([1.0, 1.0, 1.0])), [2.0, 0.0])


def test_array_style_code_traces():
    A = np.arange(6.0).reshape(2, 3) / 7

    def f(x):
        y = np.tanh(A @ x)
        return np.sum(y**2) + np.dot(x, x) + x[1:].sum() * np.max(x) + np.mean(np.exp(x[:2]))

    def plain(x):
        y = np.tanh(A @ x)
        return np.sum(y**2) + np.dot(x, x) + x[1:].sum() * np.max(x) + np.mean(np.exp(x[:2]))

    x1 = np.array([0.2, -0.5, 0.9])
    tape = ad.trace(f, np.array([0.1, 0.4, -0.3]))
    assert tape.n_guards == 0, "np.max records maximum ops, not comparisons"
    assert tape.eval(x1) == pytest.approx(plain(x1), rel=1e-14)
    check_grads(f, x1)


def test_function_wrappers():
    g = ad.grad(rosen)
    np.testing.assert_allclose(g(X1), rosen_gradient(X1), rtol=1e-13)
    np.testing.assert_allclose(g(X1 + 0.1), rosen_gradient(X1 + 0.1), rtol=1e-13)
    assert g.n_traces == 1, "a second call replays the recorded tape"
    value, grad = ad.value_and_grad(rosen)(X1)
    assert value == pytest.approx(rosen(X1), rel=1e-14)
    np.testing.assert_allclose(grad, rosen_gradient(X1), rtol=1e-13)
    x = np.array([-0.7, 1.3, 2.2])
    np.testing.assert_allclose(ad.jacobian(vector_f)(x), vector_jacobian(x), rtol=1e-14)
    y, y_dot = ad.jvp(vector_f, (x,), (np.array([1.0, 0.0, 0.0]),))
    np.testing.assert_allclose(y, vector_f(x), rtol=1e-15)
    np.testing.assert_allclose(y_dot, vector_jacobian(x)[:, 0], rtol=1e-14)
    y, pullback = ad.vjp(vector_f, x)
    (x_bar,) = pullback(np.array([0.0, 1.0]))
    np.testing.assert_allclose(x_bar, vector_jacobian(x)[1], rtol=1e-14)
    # a new input length traces again
    assert g(np.ones(3)).shape == (3,) and g.n_traces == 2


def test_wrappers_pass_parameters():
    def f(x, p):
        return p[0] * x[0] ** 2 + p[1] * x[1]

    g = ad.grad(f)
    np.testing.assert_allclose(g(np.array([2.0, 1.0]), np.array([3.0, 5.0])), [12.0, 5.0])
    np.testing.assert_allclose(g(np.array([2.0, 1.0]), np.array([1.0, -1.0])), [4.0, -1.0])
    assert g.n_traces == 1


def test_recorder():
    rec = ad.Recorder()
    x = rec.variable(2.0)
    y = rec.variable(3.0)
    z = x * y + x**2
    np.testing.assert_array_equal(rec.gradient(z), [7.0, 2.0])
    tape = rec.to_tape([z])
    assert (tape.n_inputs, tape.n_outputs) == (2, 1) and not tape.scalar_output
    np.testing.assert_array_equal(tape.jacobian(np.array([1.0, -1.0])), [[1.0, 1.0]])
    scalar = rec.to_tape(z)
    assert scalar.scalar_output and scalar.eval(np.array([1.0, 4.0])) == 5.0
    w = rec.variable(-1.0)  # recording goes on after a tape was taken
    np.testing.assert_array_equal(rec.gradient(z * w), [-7.0, -2.0, 10.0])
    p = rec.parameter(4.0)
    np.testing.assert_array_equal(rec.gradient(p * x), [4.0, 0.0, 0.0])


def test_from_arrays_round_trip():
    tape = ad.trace(vector_f, np.ones(3))
    saved = ad.TapeArrays(*[np.array(a) for a in tape.arrays])
    again = ad.Tape.from_arrays(saved, scalar_output=False)
    x = np.array([0.3, 0.1, -2.0])
    np.testing.assert_array_equal(again.jacobian(x), tape.jacobian(x))
    saved.op[5] = 200  # later edits of the caller's arrays do not reach the validated copy
    np.testing.assert_array_equal(again.eval(x), tape.eval(x))
    scalar = ad.Tape.from_arrays(ad.trace(rosen, np.zeros(3)).arrays)
    assert scalar.scalar_output and isinstance(scalar.eval(np.ones(3)), float)


def test_object_arrays_built_by_the_user_record_ops():
    def f(x):
        y = np.array([x[0], x[1] * 2.0])  # a plain NumPy object array of traced scalars
        return np.sum(np.sin(y) * np.exp(y)) + np.arctan2(y, np.array([1.0, 2.0]))[0]

    def plain(x):
        y = np.array([x[0], x[1] * 2.0])
        return np.sum(np.sin(y) * np.exp(y)) + np.arctan2(y, np.array([1.0, 2.0]))[0]

    tape = ad.trace(f, np.array([0.1, 0.2]))
    x1 = np.array([0.7, -0.4])
    assert tape.eval(x1) == pytest.approx(plain(x1), rel=1e-14)
    check_grads(f, x1)


def test_the_cached_entry_point_serves_every_input_layout():
    # Tape.eval/gradient find their drivers' compiled entry points once, on the first call:
    # later calls with other layouts of x (read-only, a list, ints, a strided view) must
    # still be normalised and give the same answers.
    tape = ad.trace(lambda x: np.sum(np.sin(x) * x[::-1]), np.array([0.1, 0.2, 0.3]))
    x = np.array([0.5, -1.0, 2.0])
    expected = tape.gradient(x.copy())
    read_only = x.copy()
    read_only.flags.writeable = False
    strided = np.array([0.5, 9.0, -1.0, 9.0, 2.0, 9.0])[::2]
    for layout in (read_only, list(x), strided, x.copy()):
        np.testing.assert_array_equal(tape.gradient(layout), expected)
        assert tape.eval(layout) == tape.eval(x)
    ints = tape.gradient([1, 2, 3])
    np.testing.assert_array_equal(ints, tape.gradient(np.array([1.0, 2.0, 3.0])))


def test_tapes_run_without_jit():
    # NUMBA_DISABLE_JIT=1 (debugging) runs the kernels as Python: no compiled entry points
    code = (
        "import numpy as np, numba_ad as ad\n"
        "t = ad.trace(lambda x: np.sum(x ** 2) * x[0], np.ones(2))\n"
        "for _ in range(2):\n"
        "    assert np.allclose(t.gradient(np.array([1.0, 2.0])), [7.0, 4.0])\n"
        "assert np.allclose(t.gradient_many(np.ones((3, 2))), [[4.0, 2.0]] * 3)\n"
    )
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=120)
