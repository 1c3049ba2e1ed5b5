"""tape.optimize(): an equivalent tape that is never larger.

References: the unoptimised tape itself (values bit for bit, derivatives to rounding, since
merging two slots reassociates adjoint sums), recorded at x0 and replayed at other points,
plus hand-built tapes where each rewrite (fold, identity, merge, dead code) must fire.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import numba_ad as ad  # noqa: E402
from numba_ad.api import function_cache as multitape  # noqa: E402
from numba_ad.ops.table import Op  # noqa: E402
from numba_ad.tape.arrays import TapeArrays  # noqa: E402
from tests._support.branchy import FUNCTIONS as BRANCHY  # noqa: E402
from tests._support.corpus import CASES  # noqa: E402
from tests._support.corpus_checks import assert_tight, params_kw, points, same_bits, tape_of  # noqa: E402


# --- the corpus ------------------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_optimize_preserves_values_and_derivatives_on_the_corpus(case):
    tape = tape_of(case)
    opt = tape.optimize()
    report = opt.optimize_report
    assert opt is not tape and opt.n_ops <= tape.n_ops
    assert report.slots_before == tape.n_ops and report.slots_after == opt.n_ops
    assert report.removed == tape.n_ops - opt.n_ops
    assert tape.optimize_report is None  # the original is left unchanged
    pts = points(case)
    for x, p in ((pts.x1, pts.p1), (pts.x2, pts.p2), (pts.x1, pts.p1)):  # the last: buffers reused
        kw = params_kw(p)
        assert same_bits(opt.eval(x, **kw), tape.eval(x, **kw)), case.name
        assert_tight(opt.jacobian(x, **kw), tape.jacobian(x, **kw), f"{case.name} jacobian")
        assert_tight(
            opt.jacobian(x, mode="forward", **kw),
            tape.jacobian(x, mode="forward", **kw),
            f"{case.name} forward jacobian",
        )
        assert_tight(
            opt.vjp(x, pts.W if case.m else pts.W[0], **kw),
            tape.vjp(x, pts.W if case.m else pts.W[0], **kw),
            f"{case.name} vjp",
        )
        weights = None if case.m is None else pts.w
        assert_tight(
            opt.hvp(x, pts.V[:, :3], weights=weights, **kw),
            tape.hvp(x, pts.V[:, :3], weights=weights, **kw),
            f"{case.name} hvp",
            rtol=1e-12,
        )
        assert_tight(opt.taylor(x, pts.v, 4, **kw), tape.taylor(x, pts.v, 4, **kw), f"{case.name} taylor", rtol=1e-12)


@pytest.mark.parametrize("case", CASES[:8], ids=[c.name for c in CASES[:8]])
def test_optimize_is_idempotent(case):
    once = tape_of(case).optimize()
    twice = once.optimize()
    assert twice.optimize_report.removed == 0
    for name in TapeArrays._fields:
        np.testing.assert_array_equal(getattr(twice.arrays, name), getattr(once.arrays, name))


@pytest.mark.parametrize("name", sorted(BRANCHY))
def test_optimize_keeps_guards_and_their_descriptions(name):
    entry = BRANCHY[name]
    rng = np.random.default_rng(len(name))
    x0 = rng.uniform(entry.low, entry.high, entry.n)
    tape = ad.trace(entry.f, x0)
    opt = tape.optimize()
    assert opt.n_guards == tape.n_guards
    for k in range(tape.n_guards):  # the text may be simpler (x - 0 is x); the rest is the same
        (text, *rest), (text_opt, *rest_opt) = tape.guard_description(k), opt.guard_description(k)
        assert rest_opt == rest and text_opt.split()[-2] == text.split()[-2]
    for x in rng.uniform(entry.low, entry.high, (30, entry.n)):
        assert opt.check(x) == tape.check(x)
        np.testing.assert_array_equal(opt.margins(x), tape.margins(x))
        if tape.check(x) is None:
            assert same_bits(opt.eval(x), tape.eval(x))
            assert_tight(opt.gradient(x), tape.gradient(x), name)
        else:
            with pytest.raises(ad.BranchChangedError) as info:
                opt.gradient(x)
            assert info.value.guard == tape.check(x)


# --- each rewrite on a tape built for it ---------------------------------------------------------
def test_common_subexpressions_are_merged():
    # x0 ** 2 twice, sin of each, and x0 * x1 against x1 * x0: three merges
    tape = ad.trace(lambda x: np.sin(x[0] ** 2) + np.sin(x[0] ** 2) + x[0] * x[1] - x[1] * x[0], np.array([0.3, 0.7]))
    opt = tape.optimize()
    assert opt.optimize_report.merged == 3 and opt.n_ops == tape.n_ops - 3
    x = np.array([-1.1, 0.4])
    assert same_bits(opt.eval(x), tape.eval(x))
    np.testing.assert_allclose(opt.gradient(x), [4 * x[0] * np.cos(x[0] ** 2), 0.0], atol=1e-15)


def _arrays(rows, outputs, guards=()):
    """TapeArrays from (op, a, b, c) rows; slot 0 (constant 0.0) is prepended."""
    rows = [(Op.CONST, 0, 0, 0.0)] + list(rows)
    op, a, b, c = zip(*rows)
    inputs = [i for i, o in enumerate(op) if o == Op.INPUT]
    return TapeArrays(
        np.array(op, dtype=np.uint8),
        np.array(a),
        np.array(b),
        np.array(c, dtype=float),
        np.array(inputs),
        np.array(outputs),
        np.array([], dtype=int),
        np.array(guards, dtype=int),
    )


def test_constants_fold_and_identities_apply():
    rows = [
        (Op.INPUT, 0, 0, 0.0),  # 1: x
        (Op.CONST, 0, 0, 2.0),  # 2
        (Op.CONST, 0, 0, 3.0),  # 3
        (Op.MUL, 2, 3, 0.0),  # 4: 6.0, folded
        (Op.SIN, 4, 0, 0.0),  # 5: sin 6, folded
        (Op.CONST, 0, 0, 1.0),  # 6
        (Op.MUL, 1, 6, 0.0),  # 7: x * 1 -> x
        (Op.NEG, 7, 0, 0.0),  # 8: -x
        (Op.NEG, 8, 0, 0.0),  # 9: -(-x) -> x
        (Op.CONST, 0, 0, -0.0),  # 10
        (Op.ADD, 9, 10, 0.0),  # 11: x + (-0.0) -> x
        (Op.MUL, 11, 5, 0.0),  # 12: x sin 6
        (Op.COS, 1, 0, 0.0),  # 13: dead
    ]
    tape = ad.Tape.from_arrays(_arrays(rows, [12]))
    opt = tape.optimize()
    r = opt.optimize_report
    assert (r.folded, r.simplified) == (2, 3)
    assert opt.n_ops == 4  # 0.0, x, sin 6, x * sin 6
    for x in (0.7, -0.0, np.inf, np.nan):
        assert same_bits(opt.eval([x]), tape.eval([x]))
        assert same_bits(opt.gradient([x]), tape.gradient([x]))
    np.testing.assert_allclose(opt.gradient([0.5]), [np.sin(6.0)])


def test_inexact_identities_are_left_alone():
    # x + 0.0 is +0.0 at x = -0.0 and x * 0 is NaN at inf: neither may be rewritten
    rows = [(Op.INPUT, 0, 0, 0.0), (Op.CONST, 0, 0, 1.0), (Op.ADD, 1, 0, 0.0), (Op.MUL, 1, 0, 0.0), (Op.ADD, 3, 4, 0.0)]
    tape = ad.Tape.from_arrays(_arrays(rows, [5]))
    opt = tape.optimize()
    assert opt.optimize_report.removed == 1  # only the unused constant 1.0
    assert same_bits(opt.eval([-0.0]), 0.0) and np.isnan(opt.eval([np.inf]))


@pytest.mark.parametrize("mask", [1.0, 0.0])
def test_a_select_on_a_constant_mask_becomes_its_branch(mask):
    rows = [
        (Op.INPUT, 0, 0, 0.0),
        (Op.CONST, 0, 0, mask),
        (Op.SQRT, 1, 0, 0.0),
        (Op.LOG, 1, 0, 0.0),
        (Op.IF_TRUE, 2, 3, 0.0),
        (Op.IF_FALSE, 2, 4, 0.0),
        (Op.ADD, 5, 6, 0.0),
    ]
    tape = ad.Tape.from_arrays(_arrays(rows, [7]))
    opt = tape.optimize()
    assert opt.n_ops < tape.n_ops and opt.optimize_report.simplified >= 2
    for x in (0.3, 2.0, -1.0, 0.0):
        assert same_bits(opt.eval([x]), tape.eval([x]))
        assert same_bits(opt.gradient([x]), tape.gradient([x]))


# --- random tapes: hand-built so that every rewrite has something to do ----------------------
_BINARY = [Op.ADD, Op.SUB, Op.MUL, Op.DIV, Op.HYPOT, Op.MINIMUM, Op.IF_TRUE, Op.IF_FALSE, Op.LT]
_UNARY = [Op.NEG, Op.SIN, Op.TANH, Op.SQUARE, Op.ABS, Op.SQRT, Op.EXP]
_CONSTANTS = [0.0, -0.0, 1.0, 2.0, 0.5, -1.0]


@st.composite
def random_tapes(draw):
    n = draw(st.integers(1, 3))
    rows = [(Op.INPUT, j, 0, 0.0) for j in range(n)]
    for _ in range(draw(st.integers(1, 25))):
        avail = len(rows) + 1  # slot 0 included
        kind = draw(st.sampled_from(["const", "unary", "binary", "binary", "copy"]))
        if kind == "const":
            rows.append((Op.CONST, 0, 0, draw(st.sampled_from(_CONSTANTS))))
        elif kind == "unary":
            rows.append((draw(st.sampled_from(_UNARY)), draw(st.integers(0, avail - 1)), 0, 0.0))
        elif kind == "binary":
            rows.append(
                (draw(st.sampled_from(_BINARY)), draw(st.integers(0, avail - 1)), draw(st.integers(0, avail - 1)), 0.0)
            )
        elif len(rows) > n:  # a repeat of an earlier op: something to merge
            rows.append(rows[draw(st.integers(n, len(rows) - 1))])
    total = len(rows) + 1
    outputs = draw(st.lists(st.integers(0, total - 1), min_size=1, max_size=3))
    xs = draw(st.lists(st.lists(st.floats(-2, 2), min_size=n, max_size=n), min_size=2, max_size=2))
    return _arrays(rows, outputs), np.array(xs)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_tapes())
def test_optimize_never_grows_and_preserves_random_tapes(problem):
    arrays, xs = problem
    tape = ad.Tape.from_arrays(arrays, scalar_output=False)
    opt = tape.optimize()
    assert opt.n_ops <= tape.n_ops
    assert opt.optimize_report.removed == tape.n_ops - opt.n_ops
    for x in xs:
        assert same_bits(opt.eval(x), tape.eval(x))
        J, J_opt = tape.jacobian(x), opt.jacobian(x)
        finite = np.isfinite(J)
        assert np.array_equal(finite, np.isfinite(J_opt))
        np.testing.assert_allclose(J_opt[finite], J[finite], rtol=1e-12, atol=1e-300)


# --- automatic use -----------------------------------------------------------------------------
def test_function_swaps_in_the_optimised_tape_after_enough_replays():
    def f(x):
        return np.sin(x[0] ** 2) * np.sin(x[0] ** 2) + x[1]

    fn = ad.function(f)
    rng = np.random.default_rng(3)
    xs = rng.uniform(-1, 1, (multitape.OPTIMIZE_AFTER + 5, 2))
    first = None
    for k, x in enumerate(xs):
        g = fn.gradient(x)
        np.testing.assert_allclose(g, [4 * x[0] * np.sin(x[0] ** 2) * np.cos(x[0] ** 2), 1.0], rtol=1e-13)
        if k == 0:
            first = fn.tape
    stats = fn.stats()
    assert stats["optimized"] == 1 and stats["traces"] == 1
    assert fn.tape is not first and fn.tape.optimize_report.merged == 2
    assert fn.tape.n_ops < first.n_ops
