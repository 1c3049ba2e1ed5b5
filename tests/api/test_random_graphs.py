"""Property tests over random expression graphs built from the ops numba_ad supports.

Hypothesis draws a small DAG: leaves (inputs x, and sometimes parameters p), then a list of
ops each reading earlier values, then one or more outputs. One interpreter runs the DAG both
on traced values (recording a tape) and on plain float64 NumPy scalars (the independent
reference). Ops with a restricted domain are applied to a transformed argument so that every
value stays finite wherever the inputs are (log(1 + v^2), arcsin(0.9 tanh v), ...).

Non-smooth ops (abs, sign, floor, minimum, maximum, hypot) are included: the interpreter
reports, for every point, which smooth piece each of them is on, and the finite-difference
test only runs where all stencil points lie on the same piece, away from the kinks.
"""

import numpy as np
from hypothesis import assume, given, settings

import numba_ad as ad  # noqa: E402
from tests._support.random_graphs import (
    MAX_ABS,
    SETTINGS,
    Trace,
    as_function,
    jac2d,
    kw,
    plain,
    problems,
    run,
    well_scaled,
)


@settings(max_examples=500, **SETTINGS)
@given(problems())
def test_values_match_plain_evaluation(problem):
    """Recorded at x0, replayed at x1 and x0: the tape's values are the plain ones."""
    graph, x0, x1, p0, p1, _ = problem
    well_scaled(graph, x0, p0)
    tape = ad.trace(as_function(graph), x0, params=p0)
    assert tape.n_guards == 0
    assert tape.n_inputs == graph.n_x and tape.n_params == graph.n_p
    assert tape.n_outputs == len(graph.outputs) and tape.scalar_output == (not graph.vector)
    for x, p in ((x1, p1), (x0, p0), (x1, p0)):
        tr = Trace()
        ref = plain(graph, x, p, tr)
        if not (np.all(np.isfinite(ref)) and tr.max_abs <= MAX_ABS) or tr.jump < 1e-9 * (1 + tr.max_abs):
            continue  # too large, or on a jump of floor/sign, where one ulp picks the side
        y = np.atleast_1d(tape.eval(x, **kw(p)))
        np.testing.assert_allclose(
            y, ref, rtol=1e-11, atol=1e-11 * (1.0 + tr.max_abs), err_msg=f"{graph}\nx={x!r} p={p!r}"
        )


@settings(max_examples=500, **SETTINGS)
@given(problems())
def test_forward_and_reverse_agree(problem):
    """Forward and reverse Jacobians agree, and <w, J v> == <J^T w, v> (jvp vs vjp), at a
    replay point: identities of the linearisation, valid at kinks too."""
    graph, x0, x1, p0, p1, seed = problem
    well_scaled(graph, x0, p0)
    _, tr = well_scaled(graph, x1, p1)
    tape = ad.trace(as_function(graph), x0, params=p0)
    J_fwd = jac2d(tape, tape.jacobian(x1, mode="forward", **kw(p1)))
    J_rev = jac2d(tape, tape.jacobian(x1, mode="reverse", **kw(p1)))
    assume(np.all(np.isfinite(J_fwd)) and np.max(np.abs(J_fwd), initial=0.0) <= MAX_ABS**2)
    # Rounding is relative to the terms that are summed, not to their sum: x + sin(-x) has
    # derivative 1 - cos(x) ~ x^2 / 2, computed as the difference of two numbers near 1. The
    # terms are bounded by the Jacobian's and the intermediate values' magnitudes.
    scale = max(1.0, float(np.max(np.abs(J_fwd), initial=0.0))) * (1.0 + tr.max_abs)
    np.testing.assert_allclose(J_fwd, J_rev, rtol=1e-12, atol=1e-11 * scale, err_msg=str(graph))

    rng = np.random.default_rng(seed)
    K = 3
    V = rng.standard_normal((tape.n_inputs, K))
    Wt = rng.standard_normal((tape.n_outputs, K))
    if tape.scalar_output:
        JV = tape.jvp(x1, V, **kw(p1)).reshape(1, K)
        JtW = tape.vjp(x1, Wt[0], **kw(p1))
    else:
        JV = tape.jvp(x1, V, **kw(p1))
        JtW = tape.vjp(x1, Wt, **kw(p1))
    assert JV.shape == (tape.n_outputs, K) and JtW.shape == (tape.n_inputs, K)
    for k in range(K):
        w, v = Wt[:, k], V[:, k]
        lhs, rhs = float(w @ JV[:, k]), float(JtW[:, k] @ v)
        bound = float(np.abs(w) @ np.abs(J_fwd) @ np.abs(v)) + np.abs(w).sum() * np.abs(v).sum() * scale
        assert abs(lhs - rhs) <= 1e-11 * bound, f"{graph}\nx1={x1!r}\n<w,Jv>={lhs!r} <J^T w,v>={rhs!r}"
    # the blocks are the Jacobian applied to the directions
    np.testing.assert_allclose(JV, J_fwd @ V, rtol=1e-12, atol=1e-11 * scale * np.abs(V).sum(axis=0).max())
    np.testing.assert_allclose(JtW, J_rev.T @ Wt, rtol=1e-12, atol=1e-11 * scale * np.abs(Wt).sum(axis=0).max())


def _fd5(graph, x, p, h):
    """Fourth-order central differences of the plain graph, and the pieces every stencil
    point lies on (all must agree for the stencil to see one smooth function)."""
    pieces = set()
    cols = []
    for j in range(graph.n_x):
        step = h * max(1.0, abs(x[j]))
        evals = []
        for t in (-2, -1, 1, 2):
            y = x.copy()
            y[j] += t * step
            tr = Trace()
            evals.append(plain(graph, y, p, tr))
            pieces.add(tuple(tr.pieces))
        cols.append((evals[0] - 8 * evals[1] + 8 * evals[2] - evals[3]) / (12 * step))
    return np.stack(cols, axis=1), pieces


@settings(max_examples=500, **SETTINGS)
@given(problems())
def test_jacobian_matches_finite_differences(problem):
    graph, x0, x1, p0, p1, _ = problem
    well_scaled(graph, x0, p0)
    y1, tr = well_scaled(graph, x1, p1)
    assume(tr.kink > 1e-2)
    h = 1e-4
    J_fd, pieces = _fd5(graph, x1, p1, h)
    assume(pieces == {tuple(tr.pieces)})  # the stencil stays on x1's smooth piece
    assume(np.all(np.isfinite(J_fd)))
    tape = ad.trace(as_function(graph), x0, params=p0)
    J = jac2d(tape, tape.jacobian(x1, **kw(p1)))
    scale = max(1.0, float(np.max(np.abs(J_fd))), float(np.max(np.abs(y1))))
    err = np.abs(J - J_fd)
    assert np.all(err <= 1e-7 * (np.abs(J_fd) + scale)), f"{graph}\nx1={x1!r} p1={p1!r}\nAD={J}\nFD={J_fd}"


@settings(max_examples=150, **SETTINGS)
@given(problems(allow_params=False))
def test_recorder_builds_the_same_function(problem):
    """The imperative Recorder: the same graph recorded variable by variable gives the same
    tape values and derivatives as trace."""
    graph, x0, x1, _, _, _ = problem
    well_scaled(graph, x0, None)
    _, tr = well_scaled(graph, x1, None)
    rec = ad.Recorder()
    variables = [rec.variable(v) for v in x0]
    out = run(graph, variables)
    rec_tape = rec.to_tape(out)
    tape = ad.trace(as_function(graph), x0)
    assert rec_tape.n_inputs == tape.n_inputs and rec_tape.n_outputs == tape.n_outputs
    ref = plain(graph, x1)
    np.testing.assert_allclose(
        np.atleast_1d(rec_tape.eval(x1)), ref, rtol=1e-11, atol=1e-11 * (1.0 + tr.max_abs), err_msg=str(graph)
    )
    J_rec = jac2d(rec_tape, rec_tape.jacobian(x1))
    J = jac2d(tape, tape.jacobian(x1))
    assume(np.all(np.isfinite(J)))
    np.testing.assert_allclose(J_rec, J, rtol=1e-12, atol=1e-12 * max(1.0, float(np.max(np.abs(J)))))
    if not graph.vector:
        np.testing.assert_allclose(
            rec.gradient(out),
            tape.gradient(x0),
            rtol=1e-12,
            atol=1e-12 * max(1.0, float(np.max(np.abs(tape.gradient(x0))))),
        )
