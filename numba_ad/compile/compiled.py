"""``CompiledTape``: a tape written out as numba source, loops and registers instead of a replay.

``tape.compile()`` plans loops over the tape's runs (compile/plan.py), writes a module
(compile/lower.py, or compile/straight.py for small tapes) to a file named after a hash of
its source, imports it, and numba compiles it with the options of numba_ad._config (cached
unless NUMBA_AD_CACHE=0): a second process that compiles the same tape loads the machine
code from numba's cache instead of compiling again. Where the files live, and why they are
trusted, is compile/source_cache.py's (``$NUMBA_AD_COMPILE_DIR``, else
``$NUMBA_CACHE_DIR/numba_ad_tapes``, else the user's cache folder).

A CompiledTape answers eval, gradient, value_and_gradient, vjp and the ``*_many`` batch
methods with the tape's own API and errors; everything else (JVP, Hessians, Taylor, check,
margins) goes to the tape it was made from, ``.tape``. Values equal the tape's bit for bit;
derivatives agree to rounding (adjoints are summed in another order).

Generated code reads only inside its arrays: every index is a position the planner
computed from a validated tape, and the Python layer checks the shapes it passes.
"""

import functools
import hashlib
import inspect
import threading

import numba
import numpy as np

from numba_ad._progress import Task
from numba_ad.compile.loops import NotCompilable
from numba_ad.compile.lower import module_source
from numba_ad.compile.plan import make_plan
from numba_ad.compile.source_cache import PREFIX, load_module, source_dir
from numba_ad.compile.straight import MAX_STRAIGHT_OPS, straight_source
from numba_ad.errors import OffBranchSignal
from numba_ad.ops.table import FIRST_MATH
from numba_ad.tape.arrays import frozen_array

# the file name hashes the source and this: bump it when what generated modules import
# (ops.source, ops.rules, ops.special: the op rows' helpers) changes, which their source does not show
CODEGEN_VERSION = "8"  # 8: argument checks, read-only T with a fingerprint, expect_array
_ONE = np.ones(1)
_COMPILE_LOCK = threading.Lock()


def _digest(source):
    # the source, not the tape: one tape compiles to other sources (straight_line, nest), and
    # tapes of one structure share a module (constants and tables are passed in, not written)
    return hashlib.sha256(CODEGEN_VERSION.encode() + source.encode()).hexdigest()[:24]


def _entry(dispatcher):
    """The one compiled overload of a dispatcher with an explicit signature (itself without JIT)."""
    overloads = getattr(dispatcher, "overloads", None)
    return dispatcher if overloads is None else next(iter(overloads.values())).entry_point


class CompiledTape:
    """A Tape compiled to its own numba functions. Made by :meth:`Tape.compile`.

    Attributes
    ----------
    tape : Tape
        The tape it was compiled from (JVPs, Hessians, checks go there).
    eval_into, vjp_into, vjp_many, gradient_into : numba dispatchers
        The generated kernels, callable from users' own @njit code with the buffers of
        :meth:`workspace`: ``vjp_into(x, p, w, w_bar, T, y_bar, y, g)`` returns 0, or 1 when
        x left the recorded branch.
    path : str
        The generated source file.
    source : str
        Its text. A CompiledTape pickles as its tape, plan and source (never machine code);
        unpickling writes the source to the receiving process's source_dir() and imports it,
        so numba loads the kernels from that process's own cache or compiles them there.
    """

    def __init__(self, tape, straight_line: bool | None = None, nest: bool | None = None) -> None:
        arrays = tape.arrays
        if straight_line is None:
            straight_line = int(np.count_nonzero(arrays.op >= FIRST_MATH)) <= MAX_STRAIGHT_OPS
        self.tape = tape
        self.straight_line = bool(straight_line)
        with_gradient = tape.scalar_output and tape.n_params == 0
        if self.straight_line:
            self.plan = None
            source = straight_source(arrays, with_gradient)
            self._table = np.empty(0, dtype=np.int64)
        else:
            with Task(f"planning loops for a tape of {tape.n_ops:,} slots"):  # then numba's compile notices
                plan = self.plan = make_plan(arrays, nest)
                with_gradient = with_gradient and plan.const_positions.shape[0] == 0 and plan.table.shape[0] == 0
                source, self._table, with_gradient = module_source(
                    plan, tape.n_inputs, tape.n_params, tape.n_outputs, with_gradient
                )
            self._table = np.ascontiguousarray(self._table, dtype=np.int64)
        self._with_gradient = with_gradient
        self._bind(source)

    def __reduce__(self):
        """Pickle as the tape, the plan and the generated source, never machine code: the
        receiving process writes the source to its own source_dir() and numba loads the kernels
        from its own cache there (compiling them if that cache lacks them)."""
        state = (self.tape, self.straight_line, self.plan, self._table, self._with_gradient, self.source)
        return _unpickled, state

    def _bind(self, source):
        """Import the module of `source` and take its kernels and buffers."""
        self.source = source
        module = load_module(f"{PREFIX}{_digest(source)}", source)
        self.path = module.__file__
        self.eval_into, self.vjp_into, self.vjp_many = module.eval_into, module.vjp_into, module.vjp_many
        # Their compiled entry points skip numba's typing of 8 arguments on each call; only
        # called with arrays this class made or normalised (an entry point does not check types).
        self._eval_entry, self._vjp_entry = _entry(module.eval_into), _entry(module.vjp_into)
        self._gradient_kernel = module.gradient_into if self._with_gradient else None
        self._table = frozen_array(self._table)  # T indexes w: immutable, as a validated tape's arrays
        for name in ("eval_into", "vjp_into"):
            _name_bad_arguments(getattr(module, name), f"compiled.{name}")
        self._local = threading.local()  # per thread (w, w_bar): one CompiledTape serves many threads

    def _buffers(self):
        """This thread's (w, w_bar), made on its first call (w holds the stored constants)."""
        try:
            return self._local.buffers
        except AttributeError:
            buffers = self._local.buffers = self.workspace()[:2]
            return buffers

    def __repr__(self):
        if self.straight_line:
            return f"<numba_ad.CompiledTape of {self.tape!r}: straight-line code>"
        return (
            f"<numba_ad.CompiledTape of {self.tape!r}: {len(self.plan.groups)} loops, {self.plan.n_work} stored values>"
        )

    n_inputs = property(lambda self: self.tape.n_inputs)
    n_outputs = property(lambda self: self.tape.n_outputs)
    n_params = property(lambda self: self.tape.n_params)
    scalar_output = property(lambda self: self.tape.scalar_output)

    def workspace(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(w, w_bar, T): buffers for the kernels; w holds the constants that live in memory.
        Straight-line code keeps everything in locals: its buffers are empty."""
        if self.straight_line:
            return np.empty(0), np.empty(0), self._table
        w = np.empty(self.plan.n_work)
        w[self.plan.const_positions] = self.plan.const_values
        return w, np.empty(self.plan.n_work), self._table

    # -- one point ------------------------------------------------------------------------
    def eval(self, x, params=None) -> float | np.ndarray:
        """f(x): a float for a scalar tape, an array (m,) otherwise (as Tape.eval)."""
        x, p = self.tape._point(x, params)
        y = np.empty(self.n_outputs)
        if self._eval_entry(x, p, self._buffers()[0], self._table, y):
            self._off_branch(x, p)
        return float(y[0]) if self.scalar_output else y

    __call__ = eval

    def gradient(self, x, params=None) -> np.ndarray:
        """Gradient (n,) of a scalar tape at x (as Tape.gradient)."""
        return self.value_and_gradient(x, params)[1]

    @functools.cached_property
    def gradient_into(self):
        """f(x), writing the gradient into g (n,): ``value = compiled.gradient_into(x, g)``,
        the fastest call from Python.

        For scalar tapes without parameters and stored constants this is the compiled kernel
        itself (about 2.7x a plain @njit f(x) call at P1 n = 10), compiled on first use (as
        long as vjp_into again: most tapes never need it), for float64 C-contiguous x and g
        only (numba's TypeError otherwise); a point off the recorded branch raises a
        BranchChangedError that does not name the guard. Elsewhere it validates as gradient().
        """
        kernel = self._gradient_kernel
        if kernel is None:
            return self._gradient_into
        # not under NUMBA_DISABLE_JIT; and once per module: two CompiledTapes of one tape share
        # it, and compile() on a disabled dispatcher raises even for a signature it has
        with _COMPILE_LOCK:  # two threads' first calls: one compiles, the other then finds it
            if hasattr(kernel, "disable_compile") and not kernel.signatures:
                vector = numba.types.float64[::1]
                kernel.compile((vector, vector))
                kernel.disable_compile()  # another dtype is then a TypeError, not a new version
                _name_bad_arguments(kernel, "compiled.gradient_into")
        return kernel

    def _gradient_into(self, x, g, params=None):
        n = self.n_inputs
        if not (isinstance(g, np.ndarray) and g.dtype == np.float64 and g.shape == (n,)):
            got = f"{g.dtype} array of shape {g.shape}" if isinstance(g, np.ndarray) else type(g).__name__
            raise TypeError(f"compiled.gradient_into: g must be a float64 array of shape ({n},); got {got}")
        if not g.flags.writeable:
            raise ValueError("compiled.gradient_into: g is read-only: pass a writable array")
        value, grad = self.value_and_gradient(x, params)
        g[...] = grad
        return value

    def value_and_gradient(self, x, params=None) -> tuple[float, np.ndarray]:
        """(f(x), gradient (n,)) of a scalar tape."""
        if (
            self.straight_line
            and self._gradient_kernel is not None
            and params is None
            and type(x) is np.ndarray
            and x.dtype == np.float64
            and x.shape == (self.n_inputs,)
            and x.flags.c_contiguous
        ):
            # straight-line code through gradient_into: 8 arrays to the vjp kernel cost more than
            # its whole work (P1 at n = 10: 1.6 against 0.6 us)
            g = np.empty(self.n_inputs)
            try:
                return float(self.gradient_into(x, g)), g
            except OffBranchSignal:
                self._off_branch(x, None)
        if not self.scalar_output:
            raise ValueError(
                f"gradient needs a scalar tape; this one has {self.n_outputs} outputs: use jacobian(x) or vjp(x, w)"
            )
        y, g = self._vjp(x, _ONE, params)
        return float(y[0]), g

    def vjp(self, x, w, params=None) -> np.ndarray:
        """J(x)^T w, shape (n,), for w of shape (m,) (a float for a scalar tape)."""
        w_bar = self.tape._directions(w if not self.scalar_output else np.reshape(w, (1,)), self.n_outputs, "w")[0]
        if w_bar.shape[1] != 1:
            raise ValueError("CompiledTape.vjp takes one w of shape (m,); for several, use tape.vjp")
        return self._vjp(x, np.ascontiguousarray(w_bar[:, 0]), params)[1]

    def _vjp(self, x, y_bar, params):
        x, p = self.tape._point(x, params)
        y, g = np.empty(self.n_outputs), np.empty(self.n_inputs)
        w, wb = self._buffers()
        if self._vjp_entry(x, p, w, wb, self._table, y_bar, y, g):
            self._off_branch(x, p)
        return y, g

    def _off_branch(self, x, p):
        failed = self.tape.check(x, p if p is not None and p.shape[0] else None)
        self.tape._raise_if_failed(-1 if failed is None else failed)
        raise AssertionError("the compiled tape saw a changed guard that the tape does not see")  # a bug

    # -- many points ------------------------------------------------------------------------
    def value_and_gradient_many(self, X, params=None, *, device="cpu") -> tuple[np.ndarray, np.ndarray]:
        """(values (N,), gradients (N, n)) of a scalar tape at the rows of X, in parallel;
        device="cuda" runs the tape's GPU replay instead (Tape.value_and_gradient_many)."""
        if device != "cpu":
            return self.tape.value_and_gradient_many(X, params, device=device)
        if not self.scalar_output:
            raise ValueError(f"gradient_many needs a scalar tape; this one has {self.n_outputs} outputs")
        Y, G = self._vjp_many(X, params, _ONE)
        return Y[:, 0].copy(), G

    def gradient_many(self, X, params=None, *, device="cpu") -> np.ndarray:
        """Gradients (N, n) of a scalar tape at the rows of X (N, n), in parallel; device as
        for value_and_gradient_many."""
        return self.value_and_gradient_many(X, params, device=device)[1]

    def vjp_many(self, X, w, params=None) -> np.ndarray:
        """J(x_i)^T w for each row x_i of X: (N, n); w (m,) is shared."""
        return self._vjp_many(X, params, np.ascontiguousarray(self.tape._directions(w, self.n_outputs, "w")[0][:, 0]))[
            1
        ]

    def _vjp_many(self, X, params, y_bar):
        X, P = self.tape._batch(X, params, buffers=1)[:2]
        N = X.shape[0]
        Y, G = np.empty((N, self.n_outputs)), np.empty((N, self.n_inputs))
        status = np.zeros(N, dtype=np.int64)
        if N:
            self.vjp_many(X, P, self._buffers()[0], self._table, y_bar, Y, G, status)
        bad = np.flatnonzero(status)
        if bad.shape[0]:
            i = int(bad[0])
            try:
                self._off_branch(X[i], P[i if P.shape[0] > 1 else 0] if P.shape[1] else None)
            except Exception as error:
                error.add_note(
                    f"{bad.shape[0]} of {N} points left the recorded branch, the first at row {i}; "
                    "tape.check_many(X) finds them all"
                )
                raise
        return Y, G


def _name_bad_arguments(dispatcher, label):
    """Make a kernel with fixed signatures say which argument does not fit, instead of numba's
    "No matching definition for argument type(s) ...". numba's C dispatcher calls this method
    only after no signature matched, so the call that fits costs nothing more."""
    if not hasattr(dispatcher, "nopython_signatures"):  # NUMBA_DISABLE_JIT=1: a plain function
        return
    names = list(inspect.signature(dispatcher.py_func).parameters)

    def explain(*args, **kws):
        sigs = dispatcher.nopython_signatures
        if kws or len(args) != len(names) or not sigs:
            raise TypeError(f"{label} takes {len(names)} arguments ({', '.join(names)}); got {len(args)}")
        formal = sigs[0].args
        for name, arg, want in zip(names, args, formal, strict=True):
            got = dispatcher.typeof_pyval(arg)
            if got != want and dispatcher.typingctx.can_convert(got, want) is None:
                raise TypeError(f"{label}: {name} must be {_describe(want)}; got {got}")
        raise TypeError(f"{label}: no compiled version takes these arguments")

    dispatcher._explain_matching_error = explain


def _describe(t):
    if isinstance(t, numba.types.Array):
        return (
            f"a {'writable ' if t.mutable else ''}{'C-contiguous ' if t.layout == 'C' else ''}"
            f"{t.dtype} array of {t.ndim} dimension{'s' if t.ndim != 1 else ''}"
        )
    return str(t)


def _unpickled(tape, straight_line, plan, table, with_gradient, source) -> CompiledTape:
    compiled = CompiledTape.__new__(CompiledTape)
    compiled.tape, compiled.straight_line, compiled.plan = tape, straight_line, plan
    compiled._table, compiled._with_gradient = table, with_gradient
    compiled._bind(source)
    return compiled


__all__ = ["CompiledTape", "NotCompilable", "source_dir"]
