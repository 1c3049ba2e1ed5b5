"""Derivative kernels callable from users' own ``@njit`` code.

A tape (``tape.arrays``, a NamedTuple of arrays) and a :class:`Workspace` (a NamedTuple of
preallocated buffers) pass into ``@njit`` functions, which call the functions of this module
without going back to Python::

    tape = ad.trace(f, x0)
    work = tape.workspace()

    @njit
    def descend(tape, work, x, lr, iters):
        g = np.empty_like(x)
        for _ in range(iters):
            nb.value_and_gradient_into(tape, work, x, g)  # returns f(x), gradient into g
            x -= lr * g
        return x

    descend(tape.arrays, work, x0.copy(), 1e-3, 1000)

Every function takes ``(tape, work, x, ...)`` with ``tape`` the TapeArrays (not the Python
``Tape``), writes its result into the last argument and validates every shape it relies on
(constant-message ``ValueError``), so nothing reads or writes outside its arrays. They are
thin layers over numba_ad.tape.drivers, inlined into the calling @njit function (numba IR
inlining: no per-call reference counting of the workspace's arrays) and cached with it
(``@njit(cache=True)`` in user code loads them from numba's cache in later processes); they
can also be called from Python. None allocates: ``value_and_gradient_into`` is the driver's
two sweeps plus a few integer comparisons. Their argument types are checked while numba
compiles them (tape/expect.py): ``tape`` must be the read-only arrays of a validated tape
(``tape.arrays``), outputs writable float64 arrays. ``hvp_into`` and ``sparse_hessian_into``
need a workspace made with ``second_order=True`` (8 x n_slots more floats).

Parameters live in the workspace: ``work.params[:] = p`` (from Python or @njit code) before
a call. They start as NaN, so a forgotten assignment shows up in the results.

**Branch changes.** When x leaves the branch recorded on the tape (a guard fails), every
``*_into`` function and ``value`` raise ``ValueError(BRANCH_CHANGED)``: numba's exceptions
carry constant messages only, so the guard is not named. ``check(tape, work, x)`` returns the
index of the first failing guard (-1 when x is on the branch) without raising; call it first
where a branch change is expected (it runs the primal sweep only up to the last guard, and
costs nothing on a tape without guards). From Python, ``tape.check(x)`` and
``tape.guard_description(k)`` say which comparison changed.

**Threads.** A workspace is one thread's scratch space; the tape is read-only and shared.
``workspaces(tape, k)`` returns k workspaces in a numba typed List that @njit code indexes
inside ``prange``. Split the points into k chunks, one chunk (and so one workspace) per
``prange`` iteration, which needs no thread id. numba does not propagate exceptions raised
inside a ``prange`` body (numba issues 2811, 9673: with the workqueue threading layer the
call returns as if nothing happened), so there test the branch with ``check`` instead of
relying on the raise, and validate shapes with one serial call first::

    works = tape.workspaces(numba.get_num_threads())

    @njit(parallel=True)
    def gradients(tape, works, X, G, F):
        k = len(works)
        N = X.shape[0]
        for c in prange(k):
            work = works[np.int64(c)]  # a signed index: prange's may be unsigned
            for i in range(c * N // k, (c + 1) * N // k):
                if nb.check(tape, work, X[i]) >= 0:  # free on a tape without guards
                    F[i] = np.nan  # x[i] is off the recorded branch: trace again there
                else:
                    F[i] = nb.value_and_gradient_into(tape, work, X[i], G[i])
"""

import inspect
from typing import NamedTuple, Protocol

import numpy as np
from numba import types
from numba.extending import overload
from numba.typed import List

from numba_ad._config import kernel, kernel_inline
from numba_ad.errors import KernelArgumentError
from numba_ad.ops import user
from numba_ad.ops.codes import Op
from numba_ad.tape import drivers, sparse_drivers
from numba_ad.tape.arrays import TapeArrays
from numba_ad.tape.expect import expect_array, expect_validated_tape
from numba_ad.tape.sweeps import adjoint_sweep, tangent_sweep

_FIRST_USER = int(min(Op.USER1, Op.USER2))

MAX_LANES = 32  # as api.MAX_LANES: [n_slots, 32] measured 0.45 ns/op/lane

BRANCH_CHANGED = (
    "numba_ad: x left the tape's recorded branch (a guard failed); call "
    "nb.check(tape, work, x) for the guard's index, tape.check(x) from Python to see "
    "which comparison, or trace again at x"
)


class _HasArrays(Protocol):
    """What workspace() reads from a numba_ad.Tape (the api layer's class, not importable here)."""

    arrays: TapeArrays


class Workspace(NamedTuple):
    """Work buffers for one tape and one thread (passable to @njit code).

    Made by :func:`workspace` (``tape.workspace()``) or :func:`workspaces`. n_slots is
    ``tape.n_ops``, n ``tape.n_inputs``, m ``tape.n_outputs``.
    """

    w: np.ndarray  # (n_slots,) value of every slot
    d_a: np.ndarray  # (n_slots,) local partial of each op by its first argument
    d_b: np.ndarray  # (n_slots,) ... by its second argument
    w_bar: np.ndarray  # (n_slots,) one adjoint (the gradient's reverse sweep)
    lanes: np.ndarray  # (n_slots, L) L tangents or adjoints at once (jvp, vjp, jacobian)
    params: np.ndarray  # (n_params,) the tape's parameters: set work.params[:] = p; NaN at first
    vec_n: np.ndarray  # (n,) scratch: v of jvp_into, the result of vjp_into
    vec_m: np.ndarray  # (m,) scratch: the result of jvp_into, w of vjp_into, f(x) of value
    second: np.ndarray  # (drivers.WORK_ROWS, n_slots) scratch of hvp_into (values, partials, tangents);
    #                     (drivers.WORK_ROWS, 0) unless made with second_order=True
    weights: np.ndarray  # (m,) hvp_into differentiates sum_i weights[i] F_i: 1.0 for a scalar tape,
    #                      NaN for a vector tape until set (work.weights[:] = w)
    vec_n2: np.ndarray  # (n,) scratch: the result of hvp_into


def _sizes(tape: TapeArrays | _HasArrays, lanes: int | None) -> tuple[int, int, int, int, int]:
    """(n_slots, n, m, n_params, L) of a Tape or TapeArrays; L defaults to what jacobian_into
    uses (min(n, m) directions, at most 32)."""
    arrays = getattr(tape, "arrays", tape)
    if not hasattr(arrays, "_fields") or "op" not in arrays._fields:
        raise TypeError(f"expected a numba_ad.Tape or its TapeArrays; got {type(tape).__name__}")
    n_slots, n, m = arrays.op.shape[0], arrays.inputs.shape[0], arrays.outputs.shape[0]
    if lanes is None:
        lanes = max(1, min(MAX_LANES, n, m))
    lanes = int(lanes)
    if lanes < 1:
        raise ValueError(f"lanes must be at least 1; got {lanes}")
    return n_slots, n, m, arrays.params.shape[0], lanes


def workspace(tape: TapeArrays | _HasArrays, lanes: int | None = None, second_order: bool = False) -> Workspace:
    """A new :class:`Workspace` for `tape` (a Tape or its TapeArrays).

    `lanes`: directions per tangent/adjoint block (default min(n, m, 32), what jacobian_into
    needs for one sweep per block; the lane buffer is n_slots x lanes floats).
    `second_order`: allocate the scratch of hvp_into and sparse_hessian_into (8 x n_slots
    floats, twice what the first-order kernels use); without it they raise.
    """
    n_slots, n, m, n_params, L = _sizes(tape, lanes)
    return Workspace(
        np.empty(n_slots),
        np.empty(n_slots),
        np.empty(n_slots),
        np.empty(n_slots),
        np.empty((n_slots, L)),
        np.full(n_params, np.nan),
        np.empty(n),
        np.empty(m),
        np.empty((drivers.WORK_ROWS, n_slots if second_order else 0)),
        np.full(m, 1.0 if m == 1 else np.nan),
        np.empty(n),
    )


def workspaces(tape: TapeArrays | _HasArrays, k: int, lanes: int | None = None, second_order: bool = False) -> List:
    """k independent workspaces for `tape` in a numba typed List, one per prange chunk.

    Built by a cached @njit function: 8 ms from numba's cache, against 0.6 s in every new
    process for a typed List filled from Python (its methods compile each time).
    """
    k = int(k)
    if k < 1:
        raise ValueError(f"k must be at least 1; got {k}")
    n_slots, n, m, n_params, L = _sizes(tape, lanes)
    return _new_workspaces(k, n_slots, n, m, n_params, L, n_slots if second_order else 0)


@kernel
def _new_workspaces(k, n_slots, n, m, n_params, L, n_second):
    works = List()
    for _ in range(k):
        works.append(
            Workspace(
                np.empty(n_slots),
                np.empty(n_slots),
                np.empty(n_slots),
                np.empty(n_slots),
                np.empty((n_slots, L)),
                np.full(n_params, np.nan),
                np.empty(n),
                np.empty(m),
                np.empty((drivers.WORK_ROWS, n_second)),
                np.full(m, 1.0 if m == 1 else np.nan),
                np.empty(n),
            )
        )
    return works


def _expect_workspace(work, what):
    """From @njit code only: fail the compile unless `work` is a Workspace of writable float64 arrays."""


@overload(_expect_workspace, prefer_literal=True, inline="always")
def _expect_workspace_types(work, what):
    name = what.literal_value if isinstance(what, types.Literal) else "numba_ad.nb"
    if not isinstance(work, types.BaseNamedTuple) or work.instance_class is not Workspace:
        raise KernelArgumentError(f"{name}: work must be a numba_ad.nb.Workspace (tape.workspace()); got {work}")
    for field, t in zip(Workspace._fields, work.types, strict=True):
        if not isinstance(t, types.Array) or t.dtype != types.float64 or not t.mutable:
            raise KernelArgumentError(f"{name}: work.{field} must be a writable float64 array; got {t}")
    return lambda work, what: None


# ---------------------------------------------------------------------------------------
# Checks: one non-inlined kernel per public function, taking integers only
# ---------------------------------------------------------------------------------------
# The public functions are inlined into their callers at numba IR level (kernel_inline), and
# so must not contain a `raise`: a prange body with one is not parallelised (numba issue
# 2811). They pass only integers to these checks because every array crossing a non-inlined
# call costs numba reference counting. nb.value_and_gradient_into in an @njit loop, P1 n = 10:
# 1430 ns per call as a non-inlined wrapper calling a check(tape, work) kernel, 745 ns like
# this, 635 ns for drivers.value_and_gradient_into called directly.
@kernel_inline
def _tape_sizes(tape):
    return tape.op.shape[0], tape.params.shape[0], tape.inputs.shape[0], tape.outputs.shape[0]


@kernel_inline
def _work_sizes(work):
    return (
        work.w.shape[0],
        work.d_a.shape[0],
        work.d_b.shape[0],
        work.w_bar.shape[0],
        work.lanes.shape[0],
        work.lanes.shape[1],
        work.params.shape[0],
        work.vec_n.shape[0],
        work.vec_m.shape[0],
        work.second.shape[0],
        work.second.shape[1],
        work.weights.shape[0],
        work.vec_n2.shape[0],
    )


@kernel
def _check_work(tape_sizes, work_sizes):
    """Raise unless a workspace of these sizes was made for a tape of these sizes.

    x and params lengths are checked by the drivers.
    """
    n_slots, n_params, n, m = tape_sizes
    w, d_a, d_b, w_bar, lane_rows, lane_cols, params, vec_n, vec_m, s_rows, s_cols, weights, vec_n2 = work_sizes
    if (
        w != n_slots
        or d_a != n_slots
        or d_b != n_slots
        or w_bar != n_slots
        or lane_rows != n_slots
        or lane_cols < 1
        or params != n_params
        or vec_n != n
        or vec_m != m
        or s_rows != drivers.WORK_ROWS
        or (s_cols != n_slots and s_cols != 0)
        or weights != m
        or vec_n2 != n
    ):
        raise ValueError(
            "numba_ad.nb: the workspace was made for another tape; make one with tape.workspace() for this tape"
        )


@kernel
def _check_eval(tape_sizes, work_sizes, out_len):
    _check_work(tape_sizes, work_sizes)
    if out_len != tape_sizes[3]:
        raise ValueError("numba_ad.nb.eval_into: out must have length m (tape.n_outputs)")


@kernel
def _check_value(tape_sizes, work_sizes):
    _check_work(tape_sizes, work_sizes)
    if tape_sizes[3] != 1:
        raise ValueError("numba_ad.nb.value needs a scalar tape (one output); use eval_into")


@kernel
def _check_gradient(tape_sizes, work_sizes, g_len):
    _check_work(tape_sizes, work_sizes)
    if tape_sizes[3] != 1:
        raise ValueError(
            "numba_ad.nb.value_and_gradient_into needs a scalar tape (one output); use jacobian_into or vjp_into"
        )
    if g_len != tape_sizes[2]:
        raise ValueError("numba_ad.nb.value_and_gradient_into: g must have length n (tape.n_inputs)")


@kernel
def _check_jvp(tape_sizes, work_sizes, v_len, out_len):
    _check_work(tape_sizes, work_sizes)
    if v_len != tape_sizes[2] or out_len != tape_sizes[3]:
        raise ValueError("numba_ad.nb.jvp_into: v must have length n (tape.n_inputs) and out length m (tape.n_outputs)")


@kernel
def _check_vjp(tape_sizes, work_sizes, w_len, out_len):
    _check_work(tape_sizes, work_sizes)
    if w_len != tape_sizes[3] or out_len != tape_sizes[2]:
        raise ValueError("numba_ad.nb.vjp_into: w must have length m (tape.n_outputs) and out length n (tape.n_inputs)")


@kernel
def _check_jacobian(tape_sizes, work_sizes, J_shape):
    _check_work(tape_sizes, work_sizes)
    if J_shape[0] != tape_sizes[3] or J_shape[1] != tape_sizes[2]:
        raise ValueError("numba_ad.nb.jacobian_into: J must have shape (m, n) (tape.n_outputs, tape.n_inputs)")


@kernel
def _check_second_order_work(tape_sizes, work_sizes):
    _check_work(tape_sizes, work_sizes)
    if work_sizes[10] != tape_sizes[0]:
        raise ValueError(
            "numba_ad.nb: hvp_into and sparse_hessian_into need second-order scratch: make the workspace "
            "with tape.workspace(second_order=True)"
        )


@kernel
def _check_hvp(tape_sizes, work_sizes, v_len, out_len):
    _check_second_order_work(tape_sizes, work_sizes)
    if v_len != tape_sizes[2] or out_len != tape_sizes[2]:
        raise ValueError("numba_ad.nb.hvp_into: v and out must have length n (tape.n_inputs)")


@kernel
def _check_sparse_hessian(tape_sizes, work_sizes, seed_rows):
    _check_second_order_work(tape_sizes, work_sizes)
    if seed_rows != tape_sizes[2]:
        raise ValueError("numba_ad.nb.sparse_hessian_into: the plan was made for another tape (seeds are not n x C)")


@kernel
def _check_second_partials(tape):
    """Refuse a tape whose user primitive lacks second partials (one pass over the opcodes,
    as Tape.hvp refuses it): without them the sweep would read NaN, not a derivative."""
    op, c = tape.op, tape.c
    for i in range(op.shape[0]):
        if op[i] >= _FIRST_USER and user.lacks_second(op[i], c[i]):
            raise ValueError(
                "numba_ad.nb.hvp_into: the tape calls a user primitive registered without second partials "
                "(numba_ad.primitive(..., second=...))"
            )


@kernel
def _raise_if_failed(failed):
    if failed >= 0:
        raise ValueError(BRANCH_CHANGED)


# ---------------------------------------------------------------------------------------
# Public kernels
# ---------------------------------------------------------------------------------------
@kernel_inline
def check(tape, work, x):
    """Index of the first guard that fails at x, -1 when x lies on the recorded branch.

    Never raises for a branch change: test it before the ``*_into`` functions, which raise.
    """
    expect_validated_tape(tape, "numba_ad.nb.check")
    _expect_workspace(work, "numba_ad.nb.check")
    expect_array(x, "numba_ad.nb.check: x", "float64", 1, False)
    _check_work(_tape_sizes(tape), _work_sizes(work))
    return drivers.check_into(tape, x, work.params, work.w)


@kernel_inline
def eval_into(tape, work, x, out):
    """Write f(x) into out (m,) (m = 1 for a scalar tape)."""
    expect_validated_tape(tape, "numba_ad.nb.eval_into")
    _expect_workspace(work, "numba_ad.nb.eval_into")
    expect_array(x, "numba_ad.nb.eval_into: x", "float64", 1, False)
    expect_array(out, "numba_ad.nb.eval_into: out", "float64", 1, True)
    _check_eval(_tape_sizes(tape), _work_sizes(work), out.shape[0])
    _raise_if_failed(drivers.eval_into(tape, x, work.params, work.w, out))


@kernel_inline
def value(tape, work, x):
    """Return f(x) of a scalar tape (a float: no out array needed, e.g. in a line search)."""
    expect_validated_tape(tape, "numba_ad.nb.value")
    _expect_workspace(work, "numba_ad.nb.value")
    expect_array(x, "numba_ad.nb.value: x", "float64", 1, False)
    _check_value(_tape_sizes(tape), _work_sizes(work))
    _raise_if_failed(drivers.eval_into(tape, x, work.params, work.w, work.vec_m))
    return work.vec_m[0]


@kernel_inline
def value_and_gradient_into(tape, work, x, g):
    """Return f(x) of a scalar tape and write its gradient into g (n,)."""
    expect_validated_tape(tape, "numba_ad.nb.value_and_gradient_into")
    _expect_workspace(work, "numba_ad.nb.value_and_gradient_into")
    expect_array(x, "numba_ad.nb.value_and_gradient_into: x", "float64", 1, False)
    expect_array(g, "numba_ad.nb.value_and_gradient_into: g", "float64", 1, True)
    _check_gradient(_tape_sizes(tape), _work_sizes(work), g.shape[0])
    f, failed = drivers.value_and_gradient_into(tape, x, work.params, work.w, work.d_a, work.d_b, work.w_bar, g)
    _raise_if_failed(failed)
    return f


@kernel_inline
def jvp_into(tape, work, x, v, out):
    """Write J(x) v into out (m,), for v (n,)."""
    expect_validated_tape(tape, "numba_ad.nb.jvp_into")
    _expect_workspace(work, "numba_ad.nb.jvp_into")
    expect_array(x, "numba_ad.nb.jvp_into: x", "float64", 1, False)
    expect_array(v, "numba_ad.nb.jvp_into: v", "float64", 1, False)
    expect_array(out, "numba_ad.nb.jvp_into: out", "float64", 1, True)
    _check_jvp(_tape_sizes(tape), _work_sizes(work), v.shape[0], out.shape[0])
    n, m = tape.inputs.shape[0], tape.outputs.shape[0]
    # The driver takes (n, K) blocks: copy into the workspace's contiguous vectors, so that
    # v and out may be any 1-D arrays (slices, rows of a 2-D array) at O(n + m) cost.
    V, out_col = work.vec_n, work.vec_m
    for j in range(n):
        V[j] = v[j]
    failed = drivers.jvp_into(
        tape, x, work.params, V.reshape((n, 1)), work.w, work.d_a, work.d_b, work.lanes, out_col.reshape((m, 1))
    )
    _raise_if_failed(failed)
    for i in range(m):
        out[i] = out_col[i]


@kernel_inline
def vjp_into(tape, work, x, w, out):
    """Write J(x)^T w into out (n,), for w (m,)."""
    expect_validated_tape(tape, "numba_ad.nb.vjp_into")
    _expect_workspace(work, "numba_ad.nb.vjp_into")
    expect_array(x, "numba_ad.nb.vjp_into: x", "float64", 1, False)
    expect_array(w, "numba_ad.nb.vjp_into: w", "float64", 1, False)
    expect_array(out, "numba_ad.nb.vjp_into: out", "float64", 1, True)
    _check_vjp(_tape_sizes(tape), _work_sizes(work), w.shape[0], out.shape[0])
    n, m = tape.inputs.shape[0], tape.outputs.shape[0]
    W, out_col = work.vec_m, work.vec_n
    for i in range(m):
        W[i] = w[i]
    failed = drivers.vjp_into(
        tape, x, work.params, W.reshape((m, 1)), work.w, work.d_a, work.d_b, work.lanes, out_col.reshape((n, 1))
    )
    _raise_if_failed(failed)
    for j in range(n):
        out[j] = out_col[j]


@kernel_inline
def hvp_into(tape, work, x, v, out):
    """Write H(x) v into out (n,), for v (n,): H is the Hessian of f (scalar tape) or of
    sum_i work.weights[i] F_i (vector tape: set work.weights[:] = w first). Forward over reverse."""
    expect_validated_tape(tape, "numba_ad.nb.hvp_into")
    _expect_workspace(work, "numba_ad.nb.hvp_into")
    expect_array(x, "numba_ad.nb.hvp_into: x", "float64", 1, False)
    expect_array(v, "numba_ad.nb.hvp_into: v", "float64", 1, False)
    expect_array(out, "numba_ad.nb.hvp_into: out", "float64", 1, True)
    _check_hvp(_tape_sizes(tape), _work_sizes(work), v.shape[0], out.shape[0])
    _check_second_partials(tape)
    n = tape.inputs.shape[0]
    V, out_col = work.vec_n, work.vec_n2
    for j in range(n):
        V[j] = v[j]
    failed = drivers.hvp_into(
        tape,
        x,
        work.params,
        V.reshape((n, 1)),
        work.weights,
        work.second,
        work.lanes,
        work.lanes,
        out_col.reshape((n, 1)),
    )  # lanes unused for one v
    _raise_if_failed(failed)
    for j in range(n):
        out[j] = out_col[j]


@kernel_inline
def jacobian_into(tape, work, x, J):
    """Write the Jacobian (m, n) at x into J: forward mode when n <= m, else reverse.

    One linearization, then blocks of work.lanes.shape[1] directions seeded with the unit
    vectors directly (drivers.jvp_into would need an n x n identity allocated per call).
    """
    expect_validated_tape(tape, "numba_ad.nb.jacobian_into")
    _expect_workspace(work, "numba_ad.nb.jacobian_into")
    expect_array(x, "numba_ad.nb.jacobian_into: x", "float64", 1, False)
    expect_array(J, "numba_ad.nb.jacobian_into: J", "float64", 2, True)
    _check_jacobian(_tape_sizes(tape), _work_sizes(work), J.shape)
    _raise_if_failed(drivers.linearize_into(tape, x, work.params, work.w, work.d_a, work.d_b))
    if tape.inputs.shape[0] <= tape.outputs.shape[0]:
        _forward_jacobian(tape, work.d_a, work.d_b, work.lanes, J)
    else:
        _reverse_jacobian(tape, work.d_a, work.d_b, work.lanes, J)


@kernel_inline
def sparse_jacobian_into(tape, work, plan, x, values):
    """Write the Jacobian's stored entries at x into values (nnz,), in the order of
    ``plan = tape.sparse_jacobian_plan()`` (its rows, cols; CSR by row): plan.n_colors
    tangent or adjoint sweeps on one linearization, work.lanes.shape[1] colours a sweep."""
    expect_validated_tape(tape, "numba_ad.nb.sparse_jacobian_into")
    _expect_workspace(work, "numba_ad.nb.sparse_jacobian_into")
    expect_array(x, "numba_ad.nb.sparse_jacobian_into: x", "float64", 1, False)
    expect_array(values, "numba_ad.nb.sparse_jacobian_into: values", "float64", 1, True)
    _check_work(_tape_sizes(tape), _work_sizes(work))
    failed = sparse_drivers.sparse_jacobian_into(
        tape,
        x,
        work.params,
        work.w,
        work.d_a,
        work.d_b,
        work.lanes,
        plan,
        values,
    )
    _raise_if_failed(failed)


@kernel_inline
def sparse_hessian_into(tape, work, plan, x, values):
    """Write the Hessian's stored entries at x into values (nnz,), in the order of
    ``plan = tape.sparse_hessian_plan()``: one Hessian-vector product per colour (H of
    sum_i work.weights[i] F_i for a vector tape, as hvp_into)."""
    expect_validated_tape(tape, "numba_ad.nb.sparse_hessian_into")
    _expect_workspace(work, "numba_ad.nb.sparse_hessian_into")
    expect_array(x, "numba_ad.nb.sparse_hessian_into: x", "float64", 1, False)
    expect_array(values, "numba_ad.nb.sparse_hessian_into: values", "float64", 1, True)
    _check_sparse_hessian(_tape_sizes(tape), _work_sizes(work), plan.seeds.shape[0])
    _check_second_partials(tape)
    _sparse_hessian_by_colour(tape, work, plan, x, values)


@kernel
def _sparse_hessian_by_colour(tape, work, plan, x, values):
    """The single-direction HVP (a fused sweep, no lane buffers) along each colour sum, then
    the entries read from that colour's product."""
    n = tape.inputs.shape[0]
    src_row, src_col = plan.src_row, plan.src_col
    if src_row.shape[0] != values.shape[0] or src_col.shape[0] != values.shape[0]:
        raise ValueError("numba_ad.nb.sparse_hessian_into: values must have length nnz (the plan's)")
    for q in range(values.shape[0]):
        if src_row[q] < 0 or src_row[q] >= n or src_col[q] < 0 or src_col[q] >= plan.seeds.shape[1]:
            raise ValueError("numba_ad.nb.sparse_hessian_into: the plan was made for another tape")
    V, out_col = work.vec_n, work.vec_n2
    for c in range(plan.n_colors):
        for j in range(n):
            V[j] = plan.seeds[j, c]
        failed = drivers.hvp_into(
            tape, x, work.params, V.reshape((n, 1)), work.weights, work.second, work.lanes, work.lanes,
            out_col.reshape((n, 1)),
        )  # fmt: skip
        if failed >= 0:
            raise ValueError(BRANCH_CHANGED)
        for q in range(values.shape[0]):
            if src_col[q] == c:
                values[q] = out_col[src_row[q]]


@kernel
def _forward_jacobian(tape, d_a, d_b, lanes, J):
    """Columns of J from tangent sweeps seeded with e_j, lanes.shape[1] at a time."""
    inputs, outputs = tape.inputs, tape.outputs
    n, L = inputs.shape[0], lanes.shape[1]
    for j0 in range(0, n, L):
        n_lanes = min(L, n - j0)
        for j in range(n):
            for k in range(n_lanes):
                lanes[inputs[j], k] = 1.0 if j == j0 + k else 0.0
        tangent_sweep(tape, d_a, d_b, lanes, n_lanes)
        for i in range(outputs.shape[0]):
            for k in range(n_lanes):
                J[i, j0 + k] = lanes[outputs[i], k]


@kernel
def _reverse_jacobian(tape, d_a, d_b, lanes, J):
    """Rows of J from adjoint sweeps seeded with e_i, lanes.shape[1] at a time."""
    inputs, outputs = tape.inputs, tape.outputs
    m, L = outputs.shape[0], lanes.shape[1]
    for i0 in range(0, m, L):
        n_lanes = min(L, m - i0)
        lanes[:, :n_lanes] = 0.0
        for k in range(n_lanes):
            lanes[outputs[i0 + k], k] = 1.0
        adjoint_sweep(tape, d_a, d_b, lanes, n_lanes)
        for k in range(n_lanes):
            for j in range(inputs.shape[0]):
                J[i0 + k, j] = lanes[inputs[j], k]


def _refuse_object_arrays(dispatcher, label):
    """Name the argument when Python passes an array of Python objects: numba types it as
    array(pyobject), which no check above can see (typing stops at the argument, with numba's
    "non-precise type"). numba's C dispatcher calls _compile_for_args only when no compiled
    version fits the arguments, so a call that fits costs nothing more."""
    compile_for_args = getattr(dispatcher, "_compile_for_args", None)
    if compile_for_args is None:  # NUMBA_DISABLE_JIT=1: a plain function
        return
    names = list(inspect.signature(dispatcher.py_func).parameters)

    def checked(*args, **kws):
        for name, arg in zip(names, args):
            if isinstance(arg, np.ndarray) and arg.dtype.hasobject:
                raise KernelArgumentError(f"{label}: {name} must be a float64 array; got an array of dtype {arg.dtype}")
        return compile_for_args(*args, **kws)

    dispatcher._compile_for_args = checked


_KERNELS = (check, eval_into, hvp_into, jacobian_into, jvp_into, sparse_hessian_into, sparse_jacobian_into, value)
for _kernel in _KERNELS + (value_and_gradient_into, vjp_into):
    _refuse_object_arrays(_kernel, f"numba_ad.nb.{_kernel.__name__}")

__all__ = [
    "BRANCH_CHANGED",
    "Workspace",
    "check",
    "eval_into",
    "hvp_into",
    "jacobian_into",
    "jvp_into",
    "sparse_hessian_into",
    "sparse_jacobian_into",
    "value",
    "value_and_gradient_into",
    "vjp_into",
    "workspace",
    "workspaces",
]
