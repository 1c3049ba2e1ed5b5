"""``Tape``: a recorded function, evaluated and differentiated at new points.

This layer is policy: it validates and normalises what users pass (float64, C-contiguous,
the shapes JAX uses), owns the work buffers (allocated once per tape and reused, so a replay
allocates only its result), calls one driver per request and turns a failed guard into a
``BranchChangedError``. The arithmetic happens in tape/drivers.py and tape/sweeps.py.

A Tape's work buffers are per thread: one Tape may serve several threads at once, each getting
the serial answers (the kernels release the GIL, so the threads run in parallel).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
from numba import typeof
from numpy.typing import ArrayLike

from numba_ad._inputs import _vector, as_real_array
from numba_ad._progress import Task
from numba_ad.api.batch import BatchMethods
from numba_ad.api.sparse import COMPRESS_BELOW, SparseMethods
from numba_ad.errors import BranchChangedError
from numba_ad.ops import user
from numba_ad.ops.table import Op
from numba_ad.tape import drivers
from numba_ad.tape.arrays import GuardInfo, TapeArrays, is_validated, render, validated
from numba_ad.tape.format import from_contents, load_arrays, save_arrays, to_contents
from numba_ad.tape.optimize import optimize_arrays

if TYPE_CHECKING:
    from collections.abc import Iterable

    from numba.typed import List

    from numba_ad.compile.compiled import CompiledTape
    from numba_ad.tape.nb import Workspace

MAX_LANES = 32  # directions per tangent/adjoint block: [n_slots, 32] measured 0.45 ns/op/lane
_NO_PARAMS = np.empty(0, dtype=np.float64)
_ONE_WEIGHT = np.ones(1)
_GUARD_SYMBOLS = {Op.LT: "<", Op.LE: "<=", Op.EQ: "=="}


class _Buffers:
    """One thread's work buffers for one tape: the primal values, the linearisation (d_a, d_b,
    w_bar), tangent/adjoint lanes by width, and the second-order and Taylor scratch."""

    __slots__ = ("w", "linear", "lanes", "second")

    def __init__(self, n_slots: int) -> None:
        self.w = np.empty(n_slots)
        self.linear = None  # (d_a, d_b, w_bar), allocated by the first derivative request
        self.lanes = {}
        self.second = {}


class Tape(BatchMethods, SparseMethods):
    """A function recorded once, replayed by compiled sweeps at any point.

    Made by :func:`numba_ad.trace`, :meth:`numba_ad.Recorder.to_tape` or
    :meth:`Tape.from_arrays`. A scalar tape (f returned one scalar) gives floats and
    gradients; a vector tape (f returned a sequence of m scalars) gives arrays of length m.
    """

    def __init__(self, arrays: TapeArrays, scalar_output: bool, guard_info: Iterable[GuardInfo] | None = None) -> None:
        """Wrap `arrays` (use from_arrays for arrays from elsewhere): validated unless validated()
        returned them (from_arrays, load), so every Tape's arrays are checked once and
        read-only after (tape/arrays.py)."""
        self.arrays = arrays = arrays if is_validated(arrays) else validated(arrays)
        self.scalar_output = bool(scalar_output)
        self._guard_info = tuple(guard_info) if guard_info is not None else None
        # Work buffers are per thread (threading.local): one Tape used from several threads at
        # once gives each its own, so answers are the serial ones. What is derived from the
        # arrays alone (sparsity plans, the primitive scan) is shared: computing it twice in a
        # race gives equal objects, and the last one stays.
        self._local = threading.local()
        self._derived = {}  # the Jacobian pattern, Hessian plans, primitives used, np.eye(n)
        self._on_device = {}  # ("cuda", GPU id) -> the arrays copied there by device="cuda" (api/batch.py)
        self.optimize_report = None  # set on tapes made by optimize(): what it removed
        # set by trace: how f's arguments map to x and p (api/structure.py Signature), and the
        # structure of what it returned (Output); None for tapes made from arrays
        self.signature = self.output = None
        self._entries = {}  # driver -> its compiled entry point for this tape's argument types

    @classmethod
    def from_arrays(cls, arrays: TapeArrays, scalar_output: bool | None = None) -> Tape:
        """A Tape from a TapeArrays NamedTuple (for instance one saved earlier), validated.

        Raises ValueError naming the first inconsistency (an index or opcode out of range,
        lengths that disagree), so no kernel can read or write outside its arrays.
        `scalar_output` defaults to True when the tape has one output.
        """
        arrays = validated(arrays)
        if scalar_output is None:
            scalar_output = arrays.outputs.shape[0] == 1
        if scalar_output and arrays.outputs.shape[0] != 1:
            raise ValueError(f"a scalar tape has one output; these arrays have {arrays.outputs.shape[0]}")
        return cls(arrays, scalar_output)

    def save(self, path: str | os.PathLike) -> Path:
        """Write this tape to the file `path` (one .npz archive); return the path written.

        The file is written where `path` says, with no ``.npz`` appended (np.savez would add
        one), so ``numba_ad.load(path)`` reads it back. It holds the tape's arrays, whether it
        is a scalar tape, and a format version and the names of its opcodes, which the load
        checks (numba_ad/tape/format.py). The tape is left unchanged; guard texts and file:line
        locations are not saved (a loaded tape describes a guard by its comparison op).
        """
        return save_arrays(path, self.arrays, self.scalar_output)

    def __reduce__(self):
        """Pickle as the tape file's arrays (tape/format.py, read back with the load's checks),
        the guard texts, the optimize report and the definitions of the user primitives it
        calls (registered on unpickling where missing); the work buffers and compiled entry
        points stay behind and are made again on first use."""
        used = user.primitives_used(self.arrays.op, self.arrays.c)
        contents = to_contents(self.arrays, self.scalar_output)
        structure = (self.signature, self.output)
        return _unpickled, (contents, self._guard_info, self.optimize_report, user.definitions(used), structure)

    # -- sizes ----------------------------------------------------------------------------
    n_inputs = property(lambda self: self.arrays.inputs.shape[0], doc="n, the length of x")
    n_outputs = property(lambda self: self.arrays.outputs.shape[0], doc="m (1 for a scalar tape)")
    n_params = property(lambda self: self.arrays.params.shape[0], doc="length of params")
    n_ops = property(
        lambda self: self.arrays.op.shape[0], doc="operations on the tape, counting inputs, parameters and constants"
    )
    n_guards = property(lambda self: self.arrays.guards.shape[0], doc="recorded branch decisions")

    def __repr__(self) -> str:
        kind = "scalar" if self.scalar_output else f"{self.n_outputs} outputs"
        return (
            f"<numba_ad.Tape: {self.n_inputs} inputs, {kind}, {self.n_params} params, "
            f"{self.n_ops} ops, {self.n_guards} guards>"
        )

    def optimize(self) -> Tape:
        """An equivalent Tape with constants folded, exact identities applied (x * 1 -> x),
        common subexpressions merged and dead slots dropped; this tape is left unchanged.

        Values and derivatives of every order are the same bit for bit; guards keep their
        indices. What was removed is in the new tape's ``optimize_report``.
        """
        with Task(f"optimizing a tape of {self.n_ops:,} slots"):
            arrays, report, slot_map = optimize_arrays(self.arrays)
        guard_info = None
        if self._guard_info is not None:
            guard_info = tuple(
                info._replace(lhs=int(slot_map[info.lhs]), rhs=int(slot_map[info.rhs])) for info in self._guard_info
            )
        tape = Tape(arrays, self.scalar_output, guard_info)
        tape.optimize_report = report
        tape.signature, tape.output = self.signature, self.output
        return tape

    def compile(self, straight_line: bool | None = None, nest: bool | None = None) -> CompiledTape:
        """A CompiledTape: this tape written out as numba source (compile/compiled.py), cached on disk.

        Tapes of up to compile.straight.MAX_STRAIGHT_OPS math ops become straight-line code
        (every value a local); larger ones become loops over the runs that array tracing
        records. `straight_line` True or False chooses instead. A loop whose body would be
        written out long (array code over two short axes, as GMM's (n, K, d)) becomes a loop
        over inner loops; `nest` True or False forces that or forbids it. A loop-style trace
        compiles to a loop over the copies of its repeated body. Raises
        NotCompilable when a large tape has too little regular structure (a
        loop-style trace whose iterations differ): trace it array-style instead.
        """
        from numba_ad.compile.compiled import CompiledTape

        return CompiledTape(self, straight_line, nest)

    # -- evaluation -------------------------------------------------------------------------
    # Each public method is its private twin, which returns (result, index of the failed guard
    # or -1), plus the raise. ad.function's cache calls the twins: a miss costs no exception.
    def eval(self, x: ArrayLike, params: ArrayLike | None = None) -> float | np.ndarray:
        """f(x): a float for a scalar tape, an array (m,) otherwise."""
        return self._checked(self._eval(x, params))

    __call__ = eval

    def value_and_gradient(self, x: ArrayLike, params: ArrayLike | None = None) -> tuple[float, np.ndarray]:
        """(f(x), gradient (n,)) of a scalar tape."""
        return self._checked(self._value_and_gradient(x, params))

    def gradient(self, x: ArrayLike, params: ArrayLike | None = None) -> np.ndarray:
        """Gradient of a scalar tape at x, shape (n,)."""
        return self.value_and_gradient(x, params)[1]

    def jvp(self, x: ArrayLike, v: ArrayLike, params: ArrayLike | None = None) -> float | np.ndarray:
        """J(x) v: (m,) for v (n,), (m, K) for v (n, K); a scalar tape gives a float or (K,)."""
        return self._checked(self._jvp(x, v, params))

    def vjp(self, x: ArrayLike, w: ArrayLike, params: ArrayLike | None = None) -> np.ndarray:
        """J(x)^T w: (n,) for w (m,) (a float for a scalar tape), (n, K) for w (m, K) (or (K,))."""
        return self._checked(self._vjp(x, w, params))

    def jacobian(
        self, x: ArrayLike, mode: Literal["auto", "forward", "reverse"] = "auto", params: ArrayLike | None = None
    ) -> np.ndarray:
        """Jacobian (m, n) at x ((n,) for a scalar tape).

        mode: "forward" (n tangent directions), "reverse" (m adjoints) or "auto", which
        picks the one with fewer sweeps (forward when n <= m).
        """
        return self._checked(self._jacobian(x, mode, params))

    def _eval(self, x, params):
        x, p = self._point(x, params)
        out = np.empty(self.n_outputs)
        failed = self._entry(drivers.eval_into, self.arrays, x, p, self._buffers().w, out)
        return (float(out[0]) if self.scalar_output else out), failed

    def _value_and_gradient(self, x, params):
        if not self.scalar_output:
            raise ValueError(
                f"gradient needs a scalar tape; this one has {self.n_outputs} outputs: use jacobian(x) or vjp(x, w)"
            )
        x, p = self._point(x, params)
        d_a, d_b, w_bar = self._linear_buffers()
        g = np.empty(self.n_inputs)
        value, failed = self._entry(
            drivers.value_and_gradient_into, self.arrays, x, p, self._buffers().w, d_a, d_b, w_bar, g
        )
        return (float(value), g), failed

    def _jvp(self, x, v, params):
        x, p = self._point(x, params)
        V, single = self._directions(v, self.n_inputs, "v")
        out = np.empty((self.n_outputs, V.shape[1]))
        failed = drivers.jvp_into(
            self.arrays, x, p, V, self._buffers().w, *self._linear_buffers()[:2], self._lane_buffer(V.shape[1]), out
        )
        if self.scalar_output:
            return (float(out[0, 0]) if single else out[0]), failed
        return (out[:, 0] if single else out), failed

    def _vjp(self, x, w, params):
        x, p = self._point(x, params)
        if self.scalar_output:
            w_arr = as_real_array(w, "w")
            if w_arr.ndim > 1:
                raise ValueError(f"w of a scalar tape must be a float or have shape (K,); got shape {w_arr.shape}")
            W, single = w_arr.reshape(1, -1), w_arr.ndim == 0
        else:
            W, single = self._directions(w, self.n_outputs, "w")
        out = np.empty((self.n_inputs, W.shape[1]))
        failed = drivers.vjp_into(
            self.arrays, x, p, W, self._buffers().w, *self._linear_buffers()[:2], self._lane_buffer(W.shape[1]), out
        )
        return (out[:, 0] if single else out), failed

    def _jacobian(self, x, mode, params):
        if mode not in ("auto", "forward", "reverse"):
            raise ValueError(f"mode must be 'auto', 'forward' or 'reverse'; got {mode!r}")
        n, m = self.n_inputs, self.n_outputs
        if mode == "forward" or (mode == "auto" and n <= m and not self.scalar_output):
            return self._jvp(x, np.eye(n), params)  # a scalar tape's jvp of n directions is (n,)
        if self.scalar_output:
            (_, g), failed = self._value_and_gradient(x, params)
            return g, failed
        J_T, failed = self._vjp(x, np.eye(m), params)
        return np.ascontiguousarray(J_T.T), failed

    # -- guards -----------------------------------------------------------------------------
    def check(self, x: ArrayLike, params: ArrayLike | None = None) -> int | None:
        """None when x lies on the tape's branch (every guard has its recorded outcome), else
        the index of the first guard that fails there (see guard_description)."""
        x, p = self._point(x, params)
        failed = drivers.check_into(self.arrays, x, p, self._buffers().w)
        return None if failed < 0 else int(failed)

    def margins(self, x: ArrayLike, params: ArrayLike | None = None) -> np.ndarray:
        """Per guard, lhs - rhs of its comparison at x, shape (n_guards,).

        lhs and rhs are as the user wrote them (``x[0] > 0.5`` gives x[0] - 0.5). The tape
        stays valid while each margin keeps the sign it had when recorded (for < and >; <=
        and >= may also reach 0; == and != care only whether it is 0). A margin shows how far
        x may move before the branch changes.
        """
        x, p = self._point(x, params)
        w = self._buffers().w
        drivers.eval_into(self.arrays, x, p, w, np.empty(self.n_outputs))
        lhs, rhs = self._guard_operands()
        return w[lhs] - w[rhs]

    def _guard_operands(self):
        """(lhs slots, rhs slots) of the guards as the user wrote them."""
        if self._guard_info is not None:
            lhs = np.array([info.lhs for info in self._guard_info], dtype=np.intp)
            rhs = np.array([info.rhs for info in self._guard_info], dtype=np.intp)
            return lhs, rhs
        g = self.arrays.guards  # from_arrays: the comparison op's own operands
        return self.arrays.a[g], self.arrays.b[g]

    # -- guards -----------------------------------------------------------------------------
    def guard_description(self, k: int) -> tuple[str, str, bool]:
        """(comparison text, file:line, outcome recorded) of guard k."""
        arrays = self.arrays
        slot = int(arrays.guards[k])
        recorded_value = arrays.c[slot] == 1.0
        if self._guard_info is not None:
            info = self._guard_info[k]
        else:  # a tape from from_arrays: rebuild what the arrays say
            info = GuardInfo(
                _GUARD_SYMBOLS[Op(int(arrays.op[slot]))],
                int(arrays.a[slot]),
                int(arrays.b[slot]),
                "<unknown: tape built from arrays>",
            )
        text = f"{render(arrays, info.lhs)} {info.symbol} {render(arrays, info.rhs)}"
        return text, info.location, recorded_value != (info.symbol == "!=")

    def _checked(self, result_failed):
        result, failed = result_failed
        self._raise_if_failed(failed)
        return result

    def _raise_if_failed(self, failed):
        if failed >= 0:
            text, location, recorded = self.guard_description(int(failed))
            raise BranchChangedError(int(failed), text, location, recorded)

    # -- second order and Taylor mode ---------------------------------------------------------
    def hvp(
        self, x: ArrayLike, v: ArrayLike, params: ArrayLike | None = None, *, weights: ArrayLike | None = None
    ) -> np.ndarray:
        """H(x) v: (n,) for v (n,), (n, K) for v (n, K). Forward over reverse, exact.

        H is the Hessian of a scalar tape, or for a tape with m outputs the Hessian of
        sum_i weights[i] f_i, which needs `weights` (m,) (the Hessian of a Lagrangian;
        weights=np.eye(m)[i] gives output i's). A scalar tape accepts a float weight.
        """
        return self._checked(self._hvp(x, v, weights, params))

    def hessian(self, x: ArrayLike, params: ArrayLike | None = None, *, weights: ArrayLike | None = None) -> np.ndarray:
        """Hessian (n, n) at x, of a scalar tape or of sum_i weights[i] f_i (as for hvp).

        Exact, computed from Hessian-vector products: along colour groups of columns when the
        tape's sparsity pattern allows (P1, tridiagonal, needs 3 products at any n), along
        the n unit vectors in blocks of 32 otherwise. H[i, j] and H[j, i] come from different
        products, so they agree to rounding, not bit for bit: nothing is symmetrised.
        """
        return self._checked(self._hessian(x, weights, params))

    def taylor(self, x: ArrayLike, v: ArrayLike, degree: int, params: ArrayLike | None = None) -> np.ndarray:
        """Taylor coefficients of t -> f(x + t v) at t = 0, degrees 0..degree.

        Coefficient k is the k-th derivative along v divided by k!. Returns (degree + 1,)
        for a scalar tape, (m, degree + 1) otherwise. Degree 1 is jvp(x, v), degree 2 is
        v^T H v / 2. At points where an op has no series (sqrt, cbrt, x ** c at 0, a pole)
        coefficients from degree 2 on are NaN or inf (see docs/conventions.md).
        """
        return self._checked(self._taylor(x, v, degree, params))

    def _require_rules(self, order, what):
        """Refuse `what` when a user primitive on the tape lacks rules of its derivative order."""
        state = self._derived
        if "primitives" not in state:  # the arrays never change: scanned once, not per call
            state["primitives"] = user.primitives_used(self.arrays.op, self.arrays.c)
        if not state["primitives"]:
            return
        reason = user.missing_rule(state["primitives"], order, what)  # the registry may have changed
        if reason is not None:
            raise ValueError(reason)

    def _hvp(self, x, v, weights, params):
        self._require_rules(2, "hvp")
        x, p = self._point(x, params)
        V, single = self._directions(v, self.n_inputs, "v")
        weights = self._output_weights(weights)
        out = np.empty((self.n_inputs, V.shape[1]))
        failed = drivers.hvp_into(self.arrays, x, p, V, weights, *self._second_order_buffers(V.shape[1]), out)
        return (out[:, 0] if single else out), failed

    def _hessian(self, x, weights, params):
        self._require_rules(2, "hessian")
        n = self.n_inputs
        plan = self.sparse_hessian_plan()
        if n >= 2 and plan.n_colors <= COMPRESS_BELOW * n:
            values, failed = self._sparse_hessian_values(x, weights, None, params)
            out = np.zeros((n, n))
            out[plan.rows, plan.cols] = values
            return out, failed
        state = self._derived
        if state.get("eye") is None:
            state["eye"] = np.eye(n)
        x, p = self._point(x, params)
        weights = self._output_weights(weights)
        out = np.empty((n, n))
        failed = drivers.hvp_into(self.arrays, x, p, state["eye"], weights, *self._second_order_buffers(n), out)
        return out, failed

    def _taylor(self, x, v, degree, params):
        x, p = self._point(x, params)
        if isinstance(degree, (bool, np.bool_)) or not isinstance(degree, (int, np.integer)):
            raise TypeError(f"degree must be a non-negative integer; got {degree!r} ({type(degree).__name__})")
        if degree < 0:
            raise ValueError(f"degree must be a non-negative integer; got {degree}")
        v_arr = as_real_array(v, "v")
        if v_arr.shape != (self.n_inputs,):
            raise ValueError(f"v must have shape ({self.n_inputs},), one direction; got shape {v_arr.shape}")
        self._require_rules(int(degree), f"taylor of degree {int(degree)}")
        D1 = int(degree) + 1
        state = self._buffers().second
        X = state.get("taylor")
        if X is None or X.shape[1] != D1:
            X = state["taylor"] = np.empty((self.n_ops, D1))
        out = np.empty((self.n_outputs, D1))
        failed = drivers.taylor_into(self.arrays, x, p, v_arr, X, np.empty((drivers.TAYLOR_SCRATCH_ROWS, D1)), out)
        return (out[0] if self.scalar_output else out), failed

    def _output_weights(self, weights):
        """The weights (m,) of the outputs for second-order requests, validated."""
        m = self.n_outputs
        if weights is None:
            if self.scalar_output:
                return _ONE_WEIGHT
            raise ValueError(
                f"this tape has {m} outputs: pass weights= of shape ({m},) for the Hessian of "
                f"sum_i weights[i] * f_i (weights=np.eye({m})[i] for output i alone)"
            )
        arr = as_real_array(weights, "weights")
        if self.scalar_output and arr.ndim == 0:
            return arr.reshape(1)
        if arr.shape != (m,):
            raise ValueError(
                f"weights must have shape ({m},)"
                + (" or be a float" if self.scalar_output else "")
                + f"; got shape {arr.shape}"
            )
        return arr

    def _second_order_buffers(self, K):
        """(work, lanes_dot, lanes_bar) for drivers.hvp_into with K directions."""
        state = self._buffers().second
        buffers = state.get(K)
        if buffers is None:
            work = state.get("work")
            if work is None:
                work = state["work"] = np.empty((drivers.WORK_ROWS, self.n_ops))
            shape = (1, 1) if K == 1 else (self.n_ops, max(1, min(K, MAX_LANES)))  # one direction: no lanes
            lanes = state.get(shape)
            if lanes is None:
                lanes = state[shape] = (np.empty(shape), np.empty(shape))
            buffers = state[K] = (work,) + lanes
        return buffers

    # -- buffers for @njit code (numba_ad.nb) -----------------------------------------------
    def workspace(self, lanes: int | None = None, second_order: bool = False) -> Workspace:
        """Preallocated buffers for this tape, passable to @njit code with ``self.arrays``:
        see :mod:`numba_ad.nb` (second_order=True for hvp_into, sparse_hessian_into). Set
        parameters with ``work.params[:] = p``."""
        from numba_ad.tape import nb

        return nb.workspace(self, lanes, second_order)

    def workspaces(self, k: int, lanes: int | None = None, second_order: bool = False) -> List:
        """k independent workspaces in a numba typed List, one per thread of a prange loop."""
        from numba_ad.tape import nb

        return nb.workspaces(self, k, lanes, second_order)

    # -- inputs and buffers -------------------------------------------------------------
    def _entry(self, driver, *args):
        """driver(*args) through its compiled entry point, found once per tape and driver.

        numba's dispatcher types every argument on each call, and typing the TapeArrays
        NamedTuple is most of it: P1 at n = 10 measured 2.0 us per driver call through the
        dispatcher, 1.16 through the entry point. Every argument here has a fixed type per
        tape (_point and the buffers normalise them), so the overload found once stays right.
        """
        entry = self._entries.get(driver)
        if entry is None:
            result = driver(*args)
            overloads = getattr(driver, "overloads", None)  # None: NUMBA_DISABLE_JIT=1, plain Python
            self._entries[driver] = (
                driver if overloads is None else overloads[tuple(typeof(arg) for arg in args)].entry_point
            )
            return result
        return entry(*args)

    def _point(self, x, params):
        # the common case first: a float64 vector of the right length, used as it is
        if (
            type(x) is np.ndarray
            and x.dtype == np.float64
            and x.shape == (self.n_inputs,)
            and x.flags.c_contiguous
            and x.flags.writeable
            and params is None
            and not self.n_params
        ):
            return x, _NO_PARAMS
        x = _vector(x, self.n_inputs, "x")
        if params is None:
            if self.n_params:
                raise ValueError(f"this tape was recorded with {self.n_params} parameters: pass params=")
            return x, _NO_PARAMS
        if not self.n_params:
            raise ValueError("this tape was recorded without parameters; params must be None")
        return x, _vector(params, self.n_params, "params")

    @staticmethod
    def _directions(v, rows, name):
        arr = as_real_array(v, name)
        if arr.ndim == 1 and arr.shape[0] == rows:
            return arr.reshape(rows, 1), True
        if arr.ndim == 2 and arr.shape[0] == rows:
            return arr, False
        raise ValueError(f"{name} must have shape ({rows},) or ({rows}, K); got shape {arr.shape}")

    def _buffers(self) -> _Buffers:
        """This thread's work buffers for this tape, made on its first request."""
        try:
            return self._local.buffers
        except AttributeError:
            buffers = self._local.buffers = _Buffers(self.n_ops)
            return buffers

    def _linear_buffers(self):
        buffers = self._buffers()
        if buffers.linear is None:
            n_slots = self.n_ops
            buffers.linear = (np.empty(n_slots), np.empty(n_slots), np.empty(n_slots))
        return buffers.linear

    def _lane_buffer(self, K):
        L = max(1, min(K, MAX_LANES))
        lanes = self._buffers().lanes
        buffer = lanes.get(L)
        if buffer is None:
            buffer = lanes[L] = np.empty((self.n_ops, L))
        return buffer


def _unpickled(contents, guard_info, optimize_report, primitives, structure=(None, None)) -> Tape:
    user.ensure_registered(primitives)  # before from_contents maps primitive names to indices
    arrays, scalar_output = from_contents(contents, "unpickled numba_ad.Tape")
    tape = Tape(arrays, scalar_output, guard_info)
    tape.optimize_report = optimize_report
    tape.signature, tape.output = structure
    return tape


def load(path: str | os.PathLike) -> Tape:
    """The Tape saved at `path` by :meth:`Tape.save` (or by the older np.savez recipe), validated.

    Raises ValueError naming the file and what is wrong when it is not a tape file, was written
    by a newer numba_ad (an unknown format version), uses an opcode this numba_ad does not know
    or knows under another name, or fails the checks of :meth:`Tape.from_arrays`.
    """
    arrays, scalar_output = load_arrays(path)
    return Tape(arrays, scalar_output)


__all__ = ["Tape", "TapeArrays", "load"]
