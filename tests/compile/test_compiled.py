"""tape.compile(): the tape written out as numba loops must answer exactly as the tape does.

References: the tape itself (values bit for bit, derivatives to rounding: the compiled adjoint
sums in another order), central differences, the analytic P1 gradient, and the op table's own
kernels for every op. Tapes are recorded at x0 and evaluated at other points; each compiled
kernel runs twice on the same buffers.
"""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import numba_ad as ad  # noqa: E402
from numba_ad.compile.groups import make_groups  # noqa: E402
from numba_ad.compile.loops import MAX_EMITTED, BodyOp, NotCompilable  # noqa: E402
from numba_ad.compile.nests import column_families  # noqa: E402
from numba_ad.ops.source import ROWS  # noqa: E402
from numba_ad.ops.table import TABLE, Op  # noqa: E402
from numba_ad.tape.arrays import TapeArrays  # noqa: E402
from tests._support.branchy import FUNCTIONS as BRANCHY  # noqa: E402
from tests._support.corpus import CASES  # noqa: E402
from tests._support.corpus_checks import (  # noqa: E402
    assert_tight,
    params_kw,
    points,
    same_bits,  # noqa: E402
    tape_of,
)


def p1(x):  # chained Rosenbrock, array style
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def p1_gradient(x):  # by hand
    g = np.zeros_like(x)
    t = x[1:] - x[:-1] ** 2
    g[:-1] += -400.0 * x[:-1] * t - 2.0 * (1.0 - x[:-1])
    g[1:] += 200.0 * t
    return g


def p2(x):
    q = 1.0 + x[:-1] ** 2
    return np.sum(np.sin(x[:-1]) * np.exp(np.cos(x[1:])) / q + np.log(q))


def softplus_layers(x):  # a vector function: shifted reads of computed arrays, cumsum, a mean
    h = np.log1p(np.exp(x))
    d = h[2:] - 0.5 * h[:-2]
    c = np.cumsum(np.tanh(d))
    return np.stack([np.mean(c), np.max(d), np.sum(c * d), np.prod(1.0 + 0.1 * d[:4])])


def central_gradient(f, x, h=1e-6):
    g = np.empty_like(x)
    for i in range(x.shape[0]):
        e = np.zeros_like(x)
        e[i] = h
        g[i] = (f(x + e) - f(x - e)) / (2 * h)
    return g


# Small tapes compile to straight-line code by default, larger ones to loops: the tests that
# hold a compiled tape to the tape run both code generators on the same tapes.
STYLES = pytest.mark.parametrize("straight", [False, True], ids=["loops", "straight"])


# --- the op table ------------------------------------------------------------------------------
def test_op_source_has_a_row_for_every_op():
    assert set(ROWS) == set(TABLE), "an op without a compiled form (op_source.ROWS) or a row without an op"


def _all_ops_tape():
    """One tape applying every op to its own two inputs; outputs in op order. Comparisons are masks."""
    ops = sorted(TABLE)
    op, a, b, c = [Op.CONST], [0], [0], [0.0]
    op += [Op.INPUT] * (2 * len(ops))
    a += list(range(2 * len(ops)))
    b += [0] * (2 * len(ops))
    c += [0.0] * (2 * len(ops))
    for k, o in enumerate(ops):
        op.append(o)
        a.append(1 + 2 * k)
        b.append(2 + 2 * k if TABLE[o].arity == 2 else 0)
        c.append(TABLE[o].test_c)
    n = 2 * len(ops)
    arrays = TapeArrays(
        op=np.array(op),
        a=np.array(a),
        b=np.array(b),
        c=np.array(c),
        inputs=np.arange(1, n + 1),
        outputs=np.arange(n + 1, n + 1 + len(ops)),
        params=np.array([], dtype=np.int32),
        guards=np.array([], dtype=np.int32),
    )
    return ops, ad.Tape.from_arrays(arrays, scalar_output=False)


def _op_points(ops, rng):
    x = np.empty(2 * len(ops))
    for k, o in enumerate(ops):
        (xlo, xhi), (ylo, yhi) = TABLE[o].domain
        x[2 * k], x[2 * k + 1] = rng.uniform(xlo, xhi), rng.uniform(ylo, yhi) if TABLE[o].arity == 2 else 0.0
    return x


@STYLES
def test_op_source_matches_the_op_table(straight):
    """Every op's value bit for bit, and each of its two partials, against the tape's kernels
    (one vjp per output: each input feeds one op, so there is no sum to reorder)."""
    ops, tape = _all_ops_tape()
    compiled = tape.compile(straight_line=straight)
    rng = np.random.default_rng(11)
    awkward = np.array([0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, np.nan, 0.5, 2.0])
    xs = [_op_points(ops, rng) for _ in range(3)]
    xs += [rng.choice(awkward, size=2 * len(ops)) for _ in range(6)]
    for x in xs:
        with np.errstate(all="ignore"):
            values = tape.eval(x)
            assert same_bits(compiled.eval(x), values)
            for k, o in enumerate(ops):
                e = np.zeros(len(ops))
                e[k] = 1.0
                got, want = compiled.vjp(x, e), tape.vjp(x, e)
                assert same_bits(got, want), (
                    f"{o.name} at {x[2 * k : 2 * k + 2]}: {got[2 * k : 2 * k + 2]} vs {want[2 * k : 2 * k + 2]}"
                )


# --- the corpus --------------------------------------------------------------------------------
@STYLES
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_compiled_tape_answers_as_the_tape_on_the_corpus(case, straight):
    tape = tape_of(case)
    compiled = tape.compile(straight_line=straight)
    assert compiled.straight_line == straight
    pts = points(case)
    for x, p in ((pts.x1, pts.p1), (pts.x2, pts.p2), (pts.x1, pts.p1)):  # x1 twice: stale buffers
        kw = params_kw(p)
        x_before = x.copy()
        assert same_bits(compiled.eval(x, **kw), tape.eval(x, **kw))
        if case.m is None:
            value, g = compiled.value_and_gradient(x, **kw)
            want_value, want_g = tape.value_and_gradient(x, **kw)
            assert same_bits(value, want_value)
            assert_tight(g, want_g, f"{case.name} gradient")
            assert_tight(compiled.gradient(x, **kw), want_g, f"{case.name} gradient")
        assert_tight(
            compiled.vjp(x, pts.w if case.m else pts.w[0], **kw),
            tape.vjp(x, pts.w if case.m else pts.w[0], **kw),
            f"{case.name} vjp",
        )
        np.testing.assert_array_equal(x, x_before)


# --- array-style problems ----------------------------------------------------------------------
@pytest.mark.parametrize("n", [2, 3, 10, 40, 1000])
def test_p1_gradient_is_the_analytic_one(n):
    rng = np.random.default_rng(n)
    x0, x1 = rng.uniform(-1, 1, n), rng.uniform(-1, 1, n)
    tape = ad.trace(p1, x0)
    compiled = tape.compile()
    assert same_bits(compiled.eval(x1), tape.eval(x1))
    g = np.empty(n)
    for _ in range(2):
        value = compiled.gradient_into(x1, g)
        assert same_bits(value, tape.eval(x1))
        np.testing.assert_allclose(g, p1_gradient(x1), rtol=1e-13, atol=1e-12)
    np.testing.assert_allclose(compiled.gradient(x1), p1_gradient(x1), rtol=1e-13, atol=1e-12)


@pytest.mark.parametrize("f, n", [(p2, 7), (p2, 500), (softplus_layers, 9), (softplus_layers, 60)])
def test_array_style_functions_match_the_tape_and_differences(f, n):
    rng = np.random.default_rng(n)
    x0, x1 = rng.uniform(-1, 1, n), rng.uniform(-1, 1, n)
    tape = ad.trace(f, x0)
    compiled = tape.compile()
    assert same_bits(compiled.eval(x1), tape.eval(x1))
    if tape.scalar_output:
        assert_tight(compiled.gradient(x1), tape.gradient(x1), "gradient", rtol=1e-12)
        np.testing.assert_allclose(compiled.gradient(x1), central_gradient(f, x1), rtol=1e-6, atol=1e-6)
    else:
        w = rng.standard_normal(tape.n_outputs)
        got = compiled.vjp(x1, w)
        assert_tight(got, tape.vjp(x1, w), "vjp", rtol=1e-12)
        np.testing.assert_allclose(got, central_gradient(lambda x: f(x) @ w, x1), rtol=1e-6, atol=1e-6)


def test_array_style_tapes_become_few_loops():
    """What makes compiling pay: P1's nine runs and its sum chain fuse into one loop."""
    tape = ad.trace(p1, np.linspace(-1, 1, 1000))
    groups, _ = make_groups(tape.arrays)
    assert len(groups) == 1 and groups[0].trips == 999
    plan = tape.compile().plan
    assert len(plan.groups) == 1
    # the sum's chain keeps its running value in a register and stores only the total
    assert len(plan.last_only) == 1 and plan.n_work < 1000 + 10


def test_p2s_adjoint_reads_sin_and_cos_from_the_forward_pass():
    # sin(x[:-1]) and cos(x[1:]): the partials cos(x[k]) and -sin(x[k + 1]) are the values the
    # other op computed one iteration apart, not two more transcendentals
    plan = ad.trace(p2, np.linspace(-1, 1, 1000)).compile().plan
    partnered = {plan.groups[gi].ops[j].op for gi, j, _ in plan.partnered}
    assert partnered == {Op.SIN, Op.COS}


# --- 2-D array programs: interleaved runs over a long first axis --------------------------------
def _mixture_like(p, X):
    """Broadcasts (n, K, d), reductions over the short axes (sum, max, logsumexp), two records of
    one op in a row, and a final sum over n: the shapes GMM records."""
    K, d = 3, X.shape[1]
    M, s = p[: K * d].reshape(K, d), p[K * d : K * d + K]
    diff = X[:, None, :] - M[None, :, :]
    sq = np.sum(diff * diff, axis=2) * np.exp(s)  # (n, K)
    lin = np.sum(np.sin(diff) * np.cos(M), axis=2)  # a second (n, K, d) product right after the first
    z = -0.5 * sq + lin
    mx = np.max(z, axis=1)
    lse = np.log(np.sum(np.exp(z - mx[:, None]), axis=1)) + mx
    return np.sum(lse) + 0.1 * np.sum(p**2)


@pytest.mark.parametrize("n, d", [(40, 2), (25, 4)])
def test_broadcast_programs_loop_over_their_long_axis(n, d):
    rng = np.random.default_rng(n)
    X = rng.normal(size=(n, d))
    p0, p1 = rng.normal(size=3 * d + 3), rng.normal(size=3 * d + 3)
    tape = ad.trace(lambda p: _mixture_like(p, X), p0)
    compiled = tape.compile(straight_line=False)
    assert max(group.trips for group in compiled.plan.groups) == n  # not runs of d or K
    for p in (p1, p0, p1):
        assert same_bits(compiled.eval(p), tape.eval(p))
        assert_tight(compiled.gradient(p), tape.gradient(p), "gradient", rtol=1e-12)
    np.testing.assert_allclose(
        compiled.gradient(p1), central_gradient(lambda p: _mixture_like(p, X), p1), rtol=1e-6, atol=1e-6
    )


@st.composite
def broadcast_programs(draw):
    steps = []
    for _ in range(draw(st.integers(2, 6))):
        steps.append((draw(st.sampled_from(["unary", "param", "reduce", "data"])), draw(st.integers(0, 7))))
    return steps


def _run_broadcast(steps, p, X):
    """Random programs over (n, K, d) and (n, K) arrays built from data X (n, d) and p."""
    K, d = 3, X.shape[1]
    M, s = p[: K * d].reshape(K, d), p[K * d : K * d + K]
    u = X[:, None, :] - M[None, :, :]  # (n, K, d)
    v = np.zeros((X.shape[0], K))
    for kind, i in steps:
        if kind == "unary":
            u = _UNARY[i % len(_UNARY)](0.5 * u)
        elif kind == "param":
            u = u * np.cos(M)[None] + (s[None, :, None] if i % 2 else 0.1 * X[:, None, :])
        elif kind == "reduce":
            r = [np.sum, np.max, np.min, np.mean][i % 4](u, axis=2)
            v = v + r if i % 3 else v * np.tanh(r)
        else:
            v = v + np.max(v, axis=1)[:, None] * 0.5 + np.sum(u, axis=(1, 2))[:, None] * 0.1
    return np.sum(np.log1p(np.exp(v))) + np.sum(np.sin(u)) * 0.01


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(broadcast_programs(), st.integers(20, 40), st.integers(2, 4))
def test_random_broadcast_programs_compile_to_the_tape(steps, n, d):
    rng = np.random.default_rng(n * d)
    X = rng.normal(size=(n, d))
    p0, p1 = rng.normal(size=3 * d + 3), rng.normal(size=3 * d + 3)
    tape = ad.trace(lambda p: _run_broadcast(steps, p, X), p0)
    for nest in (False, True):  # one loop over n, and loops over K inside one over n
        compiled = tape.compile(straight_line=False, nest=nest)
        for p in (p1, p0):
            assert same_bits(compiled.eval(p), tape.eval(p))
            assert_tight(compiled.gradient(p), tape.gradient(p), "gradient", rtol=1e-12)


@pytest.mark.parametrize("n, d", [(40, 2), (25, 4)])
def test_broadcast_programs_nest_a_loop_over_K_in_the_loop_over_n(n, d):
    # nest=True makes what a long (n, K, d) body gets by default: an outer loop over the n rows
    # whose body loops over K; the reductions over K (max, logsumexp) become loops of their own
    rng = np.random.default_rng(n + 1)
    X = rng.normal(size=(n, d))
    P = rng.normal(size=(3, 3 * d + 3))
    f = lambda p: _mixture_like(p, X)  # noqa: E731
    tape = ad.trace(f, P[0])
    compiled = tape.compile(straight_line=False, nest=True)
    nested = [g for g in compiled.plan.groups if g.rows > 1]
    assert {g.rows for g in nested} == {n} and 3 in {g.trips for g in nested}  # K = 3 inside n
    for p in (P[1], P[0], P[1]):
        assert same_bits(compiled.eval(p), tape.eval(p))
        assert_tight(compiled.gradient(p), tape.gradient(p), "gradient", rtol=1e-12)
    np.testing.assert_allclose(compiled.gradient(P[2]), central_gradient(f, P[2]), rtol=1e-6, atol=1e-6)
    for _ in range(2):  # the batch kernel inlines the nest too
        G = compiled.gradient_many(P)
        np.testing.assert_allclose(G, np.stack([tape.gradient(p) for p in P]), rtol=1e-12, atol=1e-12)


def _column(op, out, a, b, piece=0):
    """A BodyOp of one row per iteration: slots out[t], operands a[t], b[t]."""
    return BodyOp(int(op), 0.0, 0, np.array([out]), np.array([a]), np.array([b]), -1, piece=piece)


def test_families_group_columns_of_one_k_and_keep_readers_after_what_they_read():
    rows = np.arange(4)

    def index(families, cols):
        return [[next(i for i, c in enumerate(cols) if c is o) for o in fam] for fam in families]

    # a (K=3, d=2) block over rows t: column 2k + j reads x[t, j] and p[2k + j]: one family per j
    cols = [_column(Op.SUB, 100 + 6 * rows + c, 10 + 2 * rows + c % 2, 50 + c + 0 * rows) for c in range(6)]
    assert index(column_families(cols), cols) == [[0, 2, 4], [1, 3, 5]]
    # column 2k reads column 2k - 1 (k > 0): j first would run columns 2 and 4 before the columns
    # they read, so that layout is refused; pairs [k, k + 3] keep every reader after its source
    # (one row: column 0's read of slot 99 would be column 5 of the row before)
    one = np.arange(1)
    cols = [
        _column(Op.SUB, 100 + c + one, (99 + c + one) if c % 2 == 0 else (10 + one), 50 + c + one) for c in range(6)
    ]
    assert index(column_families(cols), cols) == [[0, 3], [1, 4], [2, 5]]
    # a sum chain over a short axis: a head (t0 + t1), then s + t2, ..., s + t5: one family of 4
    chain = [_column(Op.ADD, 200 + 5 * rows, 10 + 6 * rows, 11 + 6 * rows)]
    chain += [_column(Op.ADD, 201 + c + 5 * rows, 200 + c + 5 * rows, 12 + c + 6 * rows) for c in range(4)]
    assert index(column_families(chain), chain) == [[0], [1, 2, 3, 4]]


# --- random array programs: the planner's fusion, shifts and chains ------------------------------
# sin with cos (and sinh with cosh) of one array: the partial read from the partner op's value
_UNARY = [
    np.sin,
    np.tanh,
    np.exp,
    lambda v: v * v,
    np.negative,
    np.cos,
    lambda v: np.sin(v) * np.cos(v),
    lambda v: np.cosh(v) - np.sinh(v),
]
_BINARY = [np.add, np.subtract, np.multiply, lambda u, v: u / (1.5 + np.cos(v))]


@st.composite
def programs(draw):
    steps = []
    for _ in range(draw(st.integers(2, 7))):
        kind = draw(st.sampled_from(["unary", "binary", "shift", "sum", "cumsum", "scalar"]))
        steps.append((kind, draw(st.integers(0, 5)), draw(st.integers(0, 5)), draw(st.integers(0, 3))))
    return steps


def _run(steps, x):
    arrays = [x]
    total = 0.0
    for kind, i, j, k in steps:
        u, v = arrays[i % len(arrays)], arrays[j % len(arrays)]
        m = min(u.shape[0], v.shape[0])
        u, v = (u, v) if kind != "binary" else (u[-m:], v[:m])  # a shifted pairing when lengths differ
        if kind == "unary":
            arrays.append(_UNARY[(i + j) % len(_UNARY)](0.5 * u))
        elif kind == "binary":
            arrays.append(_BINARY[k](u, v))
        elif kind == "shift" and u.shape[0] > 2:  # reads of a computed array one or two ahead
            arrays.append(u[k % 2 + 1 :] - 0.3 * u[: -(k % 2) - 1])
        elif kind == "sum":
            total = total + np.sum(u)
        elif kind == "cumsum":
            arrays.append(np.cumsum(u) * 0.1)
        else:
            arrays.append(u * np.tanh(total + 0.1))
    return total + np.sum(np.sin(arrays[-1])) + 0.5 * np.sum(arrays[len(arrays) // 2] ** 2)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs(), st.integers(3, 30))
def test_random_array_programs_compile_to_the_tape(steps, n):
    rng = np.random.default_rng(n)
    x0, x1 = rng.uniform(-1, 1, n), rng.uniform(-1, 1, n)
    tape = ad.trace(lambda x: _run(steps, x), x0)
    for straight in (False, True):  # loops: the planner's fusion, shifts and chains at small n
        compiled = tape.compile(straight_line=straight)
        assert same_bits(compiled.eval(x1), tape.eval(x1))
        for _ in range(2):
            assert_tight(compiled.gradient(x1), tape.gradient(x1), "gradient", rtol=1e-12)


# --- branches ----------------------------------------------------------------------------------
@STYLES
@pytest.mark.parametrize("name", ["huber", "relu_net_if", "piecewise_cubic"])
def test_a_compiled_tape_refuses_points_off_its_branch_as_the_tape_does(name, straight):
    spec = BRANCHY[name]
    rng = np.random.default_rng(5)
    X = rng.uniform(spec.low, spec.high, (60, spec.n))
    tape = ad.trace(spec.f, X[0])
    compiled = tape.compile(straight_line=straight)
    off = 0
    for x in X:
        failed = tape.check(x)
        if failed is None:
            assert same_bits(compiled.eval(x), tape.eval(x))
            assert_tight(compiled.gradient(x), tape.gradient(x), name)
            continue
        off += 1
        for call in (compiled.eval, compiled.gradient):
            with pytest.raises(ad.BranchChangedError) as info:
                call(x)
            assert info.value.guard == failed  # the same first guard as the tape names
        if hasattr(compiled, "gradient_into"):
            with pytest.raises(ad.BranchChangedError):
                compiled.gradient_into(x, np.empty(spec.n))
    assert off > 0, "no point left the branch: the test checked nothing"
    with pytest.raises(ad.BranchChangedError) as info:
        compiled.gradient_many(X)
    assert "left the recorded branch" in "".join(getattr(info.value, "__notes__", []))


@STYLES
@pytest.mark.parametrize("N, bad", [(2, 1), (100, 37)])
def test_gradient_many_names_the_row_that_left_the_branch(N, bad, straight):
    # N < n and N > n: the row index once came from a loop variable the copy loops rebound
    def f(x):
        s = np.sum(x * x)
        if x[2] > 0:
            s = s * 2.0
        return s

    x0 = np.arange(1.0, 6.0)
    compiled = ad.trace(f, x0).compile(straight_line=straight)
    X = np.tile(x0, (N, 1))
    X[bad, 2] = -1.0
    with pytest.raises(ad.BranchChangedError) as info:
        compiled.gradient_many(X)
    assert info.value.guard == 0
    assert f"the first at row {bad};" in "".join(info.value.__notes__)


@STYLES
def test_a_nan_of_the_plain_adjoint_is_redone_under_the_structural_zero_rule(straight):
    # sqrt'(0) = inf meets the zero adjoint of the branch where() did not take: a plain
    # product gives NaN, the sweeps' rule 0; the compiled code must rerun and agree
    def f(x):
        return np.sum(np.where(x > 0.0, np.sqrt(np.abs(x)), 2.0 * x))

    x0 = np.linspace(0.5, 1.5, 5)
    compiled = ad.trace(f, x0).compile(straight_line=straight)
    x1 = np.array([0.0, 1.0, -1.0, 0.0, 2.0])
    want = np.array([2.0, 0.5, 2.0, 2.0, 0.5 / np.sqrt(2.0)])
    assert np.array_equal(compiled.tape.gradient(x1), want)
    g = np.empty(5)
    for _ in range(2):
        assert np.array_equal(compiled.gradient(x1), want)
        compiled.gradient_into(x1, g)
        assert np.array_equal(g, want)
        assert np.array_equal(compiled.gradient_many(np.stack([x1, x0, x1]))[[0, 2]], [want, want])


@STYLES
def test_one_tape_compiled_twice_shares_its_module(straight):
    tape = ad.trace(p1, np.linspace(-1, 1, 12))
    first, second = tape.compile(straight_line=straight), tape.compile(straight_line=straight)
    assert first.path == second.path
    x, g1, g2 = np.linspace(-0.5, 0.7, 12), np.empty(12), np.empty(12)
    assert first.gradient_into(x, g1) == second.gradient_into(x, g2)
    np.testing.assert_array_equal(g1, g2)
    np.testing.assert_array_equal(second.gradient(x), g1)


def test_tape_size_chooses_the_code_generator():
    small = ad.trace(p1, np.linspace(-1, 1, 10)).compile()
    large = ad.trace(p1, np.linspace(-1, 1, 1000)).compile()
    assert small.straight_line and "straight-line" in repr(small)
    assert not large.straight_line and "1 loops" in repr(large)


# --- many points -------------------------------------------------------------------------------
@STYLES
@pytest.mark.parametrize("N", [0, 1, 2, 300])
def test_gradient_many_is_a_loop_of_gradients(N, straight):
    rng = np.random.default_rng(N)
    X = rng.uniform(-1, 1, (N, 10))
    tape = ad.trace(p2, rng.uniform(-1, 1, 10))
    compiled = tape.compile(straight_line=straight)
    for _ in range(2):
        values, G = compiled.value_and_gradient_many(X)
        assert values.shape == (N,) and G.shape == (N, 10)
        for i in range(N):
            assert same_bits(values[i], tape.eval(X[i]))
            assert_tight(G[i], compiled.gradient(X[i]), "row")


@STYLES
def test_gradient_many_with_per_point_parameters(straight):
    case = next(c for c in CASES if c.has_params and c.m is None)
    tape, pts = tape_of(case), points(case)
    compiled = tape.compile(straight_line=straight)
    rng = np.random.default_rng(2)
    lo, hi = np.broadcast_to(case.lo, (case.n,)), np.broadcast_to(case.hi, (case.n,))
    X = rng.uniform(lo, hi, (7, case.n))
    P = rng.uniform(case.p_lo, case.p_hi, (7, len(case.p0)))
    G = compiled.gradient_many(X, params=P)
    for i in range(7):
        assert_tight(G[i], tape.gradient(X[i], params=P[i]), "per-point params")
    shared = compiled.gradient_many(X, params=pts.p1)
    for i in range(7):
        assert_tight(shared[i], tape.gradient(X[i], params=pts.p1), "shared params")


# --- bad input and limits ------------------------------------------------------------------------
def test_bad_input_gets_the_tapes_errors():
    tape = ad.trace(p1, np.zeros(5))
    compiled = tape.compile()
    with pytest.raises(ValueError, match=r"shape \(5,\)"):
        compiled.gradient(np.zeros(4))
    with pytest.raises(ValueError, match=r"shape \(5,\)"):
        compiled.gradient_into(np.zeros(4), np.empty(5))
    with pytest.raises(ValueError, match=r"shape \(5,\)"):
        compiled.gradient_into(np.zeros(5), np.empty(6))
    with pytest.raises(TypeError):
        compiled.gradient_into(np.zeros(5, dtype=np.int64), np.empty(5))
    with pytest.raises(TypeError, match="complex"):
        compiled.eval(np.zeros(5, dtype=complex))
    with pytest.raises(ValueError, match=r"\(N, 5\)"):
        compiled.gradient_many(np.zeros((3, 4)))
    x = np.arange(10.0)[::2] / 10  # not contiguous: validated and copied
    assert_tight(compiled.gradient(x), p1_gradient(np.ascontiguousarray(x)), "strided x")


# --- loop-style tapes: one body recorded again and again -------------------------------------------
def p1_loop(x):
    s = 0.0
    for i in range(x.shape[0] - 1):
        s = s + 100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2
    return s


def two_loops(x):  # the first with a branch (a guard) per element, the second a recurrence
    s = 0.0
    for i in range(x.shape[0]):
        s = s + (x[i] * x[i] if x[i] > 0 else -x[i])
    t = 1.0
    for i in range(x.shape[0] - 2):
        t = t * 0.5 + np.sin(x[i]) * x[i + 2]
    return s * t


@pytest.mark.parametrize("f", [p1_loop, two_loops])
def test_loop_style_tapes_compile_to_a_loop_over_their_body(f):
    # more written-out ops than compile: the planner finds the repeated body instead and loops
    # over its copies (a nest of one-iteration inner loops)
    n = MAX_EMITTED // 3
    X = np.random.default_rng(7).uniform(0.1, 1.0, (3, n))
    tape = ad.trace(f, X[0])
    compiled = tape.compile()
    assert max(g.rows for g in compiled.plan.groups) >= n - 3
    for x in (X[1], X[0], X[1]):
        assert same_bits(compiled.eval(x), tape.eval(x))
        assert_tight(compiled.gradient(x), tape.gradient(x), "gradient", rtol=1e-12)
    np.testing.assert_allclose(compiled.gradient(X[2]), central_gradient(f, X[2]), rtol=1e-6, atol=1e-6)
    for _ in range(2):
        np.testing.assert_allclose(
            compiled.gradient_many(X), np.stack([tape.gradient(x) for x in X]), rtol=1e-12, atol=1e-12
        )
    if f is two_loops:  # a point that takes the other branch at one element
        x = X[1].copy()
        x[n // 2] = -0.5
        failed = tape.check(x)
        assert failed is not None
        with pytest.raises(ad.BranchChangedError) as info:
            compiled.gradient(x)
        assert info.value.guard == failed


@st.composite
def loop_bodies(draw):
    return [
        (draw(st.sampled_from(["unary", "binary", "accumulate", "branch"])), draw(st.integers(0, 7)))
        for _ in range(draw(st.integers(1, 5)))
    ]


def _run_loop(body, x):
    """A random loop body over x[i] and x[i + 1]: unary and binary ops, two accumulators, and
    branches (a guard each; where outcomes differ, the bodies differ and the periods break)."""
    s, t = 0.0, 1.0
    for i in range(x.shape[0] - 1):
        v = x[i]
        for kind, j in body:
            if kind == "unary":
                v = _UNARY[j % len(_UNARY)](0.5 * v)
            elif kind == "binary":
                v = _BINARY[j % len(_BINARY)](v, x[i + 1])
            elif kind == "accumulate":
                s, t = s + v * (0.1 * j + 0.5), t * 0.9 + 0.1 * v
            else:
                v = v if x[i] > 0.25 * (j - 4) else -v
        s = s + v
    return s + t


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(loop_bodies(), st.integers(0, 2**16))
def test_random_loop_style_programs_compile_to_the_tape(body, seed):
    rng = np.random.default_rng(seed)
    n = MAX_EMITTED // 3
    # above every threshold: the same branches in every iteration (random ones break the body's
    # period, and a tape of short periods writes out hundreds of ops: a minute of compile)
    x0 = rng.uniform(0.8, 1.0, n)
    near = x0 + 1e-3 * rng.standard_normal(n)  # on x0's branches
    other = np.where(rng.random(n) < 0.98, x0, rng.uniform(-1, 1, n))  # perhaps not
    tape = ad.trace(lambda x: _run_loop(body, x), x0)
    compiled = tape.compile()
    for x in (near, x0, other):
        if tape.check(x) is None:
            assert same_bits(compiled.eval(x), tape.eval(x))
            for _ in range(2):
                assert_tight(compiled.gradient(x), tape.gradient(x), "gradient", rtol=1e-12)
        else:
            with pytest.raises(ad.BranchChangedError):
                compiled.gradient(x)


def test_a_long_irregular_tape_is_refused_with_advice():
    # a different op in each iteration: no runs and no repeated body
    funcs = [np.sin, np.cos, np.exp, np.tanh]
    picks = np.random.default_rng(0).integers(0, 4, MAX_EMITTED)

    def f(x):
        s = 0.0
        for i, k in enumerate(picks):
            s = funcs[k](0.5 * s + x[i % 5])
        return s

    tape = ad.trace(f, np.zeros(5))
    with pytest.raises(NotCompilable, match="array-style"):
        tape.compile()


def test_compiled_code_is_cached_across_processes(tmp_path):
    """A second process compiling the same tape loads numba's cache instead of compiling."""
    script = textwrap.dedent("""
        import numpy as np, numba_ad as ad
        compiled = ad.trace(lambda x: np.sum(np.sin(x[1:]) * x[:-1]), np.linspace(0, 1, 50)).compile()
        compiled.gradient(np.ones(50))
        print(sum(compiled.vjp_into.stats.cache_hits.values()), compiled.path)
    """)
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    runs = [
        subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
        for _ in range(2)
    ]
    (hits0, path0), (hits1, path1) = (r.stdout.split() for r in runs)
    assert path0 == path1 and path0.startswith(str(tmp_path))
    assert int(hits0) == 0 and int(hits1) >= 1


def test_compiled_tapes_run_without_jit(tmp_path):
    """NUMBA_DISABLE_JIT=1 (debugging): the generated module runs as plain Python, same answers."""
    script = textwrap.dedent("""
        import numpy as np, numba_ad as ad
        x = np.linspace(-1, 1, 6)
        compiled = ad.trace(lambda x: np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2), x).compile()
        g = np.empty(6)
        print(compiled.gradient_into(x * 0.5, g), *compiled.gradient(x * 0.5), *g)
    """)
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path), NUMBA_DISABLE_JIT="1")
    run = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    numbers = np.array(run.stdout.split(), dtype=float)
    x = np.linspace(-1, 1, 6) * 0.5
    assert numbers[0] == p1(x)
    np.testing.assert_allclose(numbers[1:7], p1_gradient(x), rtol=1e-13, atol=1e-12)
    np.testing.assert_allclose(numbers[7:], p1_gradient(x), rtol=1e-13, atol=1e-12)


@pytest.mark.parametrize("straight", [True, False])
def test_numba_ad_cache_0_turns_caching_off_in_generated_modules(tmp_path, straight):
    """NUMBA_AD_CACHE=0 (the switch of numba_ad._config) reaches the generated decorators too."""
    script = textwrap.dedent(f"""
        import pathlib, numpy as np, numba_ad as ad
        compiled = ad.trace(lambda x: np.sum(np.sin(x[1:]) * x[:-1]), np.linspace(0, 1, 50)).compile({straight})
        compiled.gradient(np.ones(50))
        source = pathlib.Path(compiled.path).read_text()
        print(source.count("cache=True"), source.count("cache=False"), type(compiled.vjp_into._cache).__name__)
    """)
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path), NUMBA_AD_CACHE="0")
    run = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    cached, uncached, cache_kind = run.stdout.split()
    assert int(cached) == 0 and int(uncached) >= 4 and cache_kind == "NullCache"
    assert not list(tmp_path.rglob("numba_ad_tape_*.nbi")), "numba wrote a cache index for a generated module"
