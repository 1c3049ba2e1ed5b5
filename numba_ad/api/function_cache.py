"""``ad.function(f)``: f compiled to tapes, one per branch, cached and chosen by their guards.

A tape holds one path through f's control flow; its guards say where that path is valid.
``Function`` keeps every tape recorded for f (up to ``max_tapes``, least recently used
evicted). A call at x first runs the request on the tape used last; when a guard fails
there, it asks the other cached tapes, most recent first, with ``check`` (a primal sweep that
stops at the first failing guard, so a miss usually costs a few ops); when none fits, it
traces f at x (or, by policy, raises or warns). A piecewise function with k pieces is
therefore traced at most k times, whatever the number of calls.

Thread-safe: the tapes keep per-thread work buffers, and the cache's bookkeeping (which tape
was used last, the counts, insertions and evictions) happens under one lock, held only for
that; replays and tracing run outside it, so several threads replay in parallel.
"""

from __future__ import annotations

import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import ArrayLike

from numba_ad.api import requests
from numba_ad.api.record import trace_structured
from numba_ad.api.structure import describe, normalize_argnums
from numba_ad.errors import BranchChangedWarning

if TYPE_CHECKING:
    from numba_ad.api.tape import Tape

POLICIES = ("retrace", "raise", "warn")
BranchPolicy = Literal["retrace", "raise", "warn"]  # what on_branch_change may be: one of POLICIES
# A cached tape is replaced by tape.optimize() on its OPTIMIZE_AFTER-th replay. optimize
# costs 50-190 ns per slot, 10 to 50 gradients' worth (GMM, 34M slots: 6.6 s against 0.13 s
# per gradient), and saved 5% of each gradient on P2 but nothing on GMM: after 1000 replays
# it adds at most ~5% to the calls already made, and a tape used that much is likely to be
# used as much again.
OPTIMIZE_AFTER = 1000


class Function:
    """f with a cache of tapes keyed by guard outcomes: replays where it can, traces where it must.

    Parameters
    ----------
    f : callable
        ``f(*args)``: the arguments may be arrays of any shape, numbers, and tuples, lists,
        dicts and NamedTuples of them; it returns a scalar, an array or such a structure.
    max_tapes : int
        Tapes kept per function (default 64); the least recently used is evicted.
    on_branch_change : {"retrace", "raise", "warn"}
        What to do when x lies on no cached tape's branch: trace f at x ("retrace", the
        default), raise the BranchChangedError of the tape used last ("raise"; only the first
        call for a given input size traces), or trace and emit a BranchChangedWarning ("warn").
    argnums : int or tuple of ints
        The arguments derivatives are taken with respect to (default 0). The floating leaves
        of the others are parameters: a new value replays without tracing. Their other
        leaves (ints, strings, integer arrays) are static: a new value records a new tape.
    has_aux : bool
        f returns ``(output, aux)``: derivatives are of output; aux (any arrays computed on the
        way) is replayed with it and returned beside the derivatives, as in JAX.

    Calls: ``fn(x)`` (value), ``fn.gradient(x)``, ``fn.value_and_gradient(x)``,
    ``fn.jacobian(x, mode=)``, ``fn.jvp(x, v)``, ``fn.vjp(x, w)``, ``fn.hvp(x, v)``,
    ``fn.hessian(x)`` (``weights=`` for vector f), ``fn.sparse_jacobian(x)``,
    ``fn.sparse_hessian(x)`` (scipy.sparse); parameters follow x:
    ``fn(x, p)``. ``fn.stats()`` says how calls were served; ``fn.tape_at(x)`` gives the tape.
    """

    def __init__(
        self,
        f: Callable,
        max_tapes: int = 64,
        on_branch_change: BranchPolicy = "retrace",
        *,
        argnums: int | tuple[int, ...] = 0,
        has_aux: bool = False,
    ) -> None:
        if not callable(f):
            raise TypeError(f"function needs a callable f(x); got {type(f).__name__}")
        if on_branch_change not in POLICIES:
            raise ValueError(f"on_branch_change must be one of {POLICIES}; got {on_branch_change!r}")
        if isinstance(max_tapes, bool) or not isinstance(max_tapes, (int, np.integer)) or max_tapes < 1:
            raise ValueError(f"max_tapes must be a positive integer; got {max_tapes!r}")
        self.f = f
        self.argnums = normalize_argnums(argnums)
        self._argnums_for = {}  # number of positional arguments -> argnums checked against it
        self.has_aux = bool(has_aux)
        self.max_tapes = int(max_tapes)
        self.on_branch_change = on_branch_change
        self._tapes = OrderedDict()  # key -> Tape; the most recently used last
        self._counts = dict(calls=0, replays=0, switches=0, traces=0, evictions=0, optimized=0)
        self._replays_of = {}  # key -> replays served by that tape, until it is optimised
        self._lock = threading.Lock()  # over _tapes, _counts and _replays_of

    def __getstate__(self) -> dict:
        """Everything but the lock (f, the policy, the cached tapes and the counts)."""
        with self._lock:
            state = dict(self.__dict__, _tapes=OrderedDict(self._tapes), _counts=dict(self._counts))
        del state["_lock"]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    # -- the requests -----------------------------------------------------------------------
    # Each request describes the call (structure.describe), finds the tape whose branch holds
    # it (_find, which runs `request` on the candidate tapes), and puts the flat result back
    # into the structure of f's arguments and results (api/requests.py).
    def __call__(self, *args: Any) -> Any:
        """f(*args), in f's structure (a float for a scalar f; with its aux when has_aux)."""
        return self._request(args, requests.EVAL)

    def value_and_gradient(self, *args: Any) -> tuple[Any, Any]:
        """(f(*args), gradient) of scalar f, the gradient shaped like args[argnums];
        ((value, aux), gradient) when has_aux."""
        return self._request(args, requests.VALUE_AND_GRADIENT)

    def gradient(self, *args: Any) -> Any:
        """Gradient of scalar f, shaped like args[argnums] (a tuple for a tuple argnums);
        (gradient, aux) when has_aux."""
        return self._request(args, requests.GRADIENT)

    def jacobian(self, *args: Any, mode: Literal["auto", "forward", "reverse"] = "auto") -> Any:
        """Jacobian of f as JAX's jacfwd/jacrev give it: for each output leaf, for each input leaf,
        an array of shape output.shape + input.shape ((m, n) for vector f of a vector x, (n,)
        for scalar f); mode as for Tape.jacobian; (jacobian, aux) when has_aux."""
        if mode not in ("auto", "forward", "reverse"):
            raise ValueError(f"mode must be 'auto', 'forward' or 'reverse'; got {mode!r}")
        return self._request(args, requests.jacobian(mode))

    def jvp(self, x: Any, v: Any, *params: Any) -> Any:
        """J(x) v, v shaped like x, the result like f's output (aux left out). A vector x also
        takes v of shape (n, K): K directions, giving (m, K) ((K,) for scalar f)."""
        return self._request((x, *params), requests.jvp(v), first_only="jvp")

    def vjp(self, x: Any, w: Any, *params: Any) -> Any:
        """J(x)^T w, w shaped like f's output (a float for scalar f, (m, K) for K at once), the
        result like x."""
        return self._request((x, *params), requests.vjp(w), first_only="vjp")

    def hvp(self, x: Any, v: Any, *params: Any, weights: ArrayLike | None = None) -> Any:
        """H(x) v, shapes as for jvp (weights (m,) for vector f: the Hessian of sum_i w_i f_i)."""
        return self._request((x, *params), requests.hvp(v, weights), first_only="hvp")

    def hessian(self, *args: Any, weights: ArrayLike | None = None) -> Any:
        """Hessian of scalar f (or of sum_i weights[i] f_i for vector f): for each input leaf, for
        each input leaf, shape a.shape + b.shape ((n, n) for a vector x); (hessian, aux) when has_aux."""
        return self._request(args, requests.hessian(weights))

    def sparse_jacobian(self, *args: Any, mode: Literal["auto", "forward", "reverse"] = "auto"):
        """Jacobian (m, n) at x as a ``scipy.sparse.csr_array``, as Tape.sparse_jacobian (rows and
        columns index the raveled outputs and inputs). The pattern is that of the branch x
        lies on: fixed while x stays on one branch."""
        return self._request(args, requests.flat("_sparse_jacobian", mode))

    def sparse_hessian(self, *args: Any, weights: ArrayLike | None = None):
        """Hessian (n, n) at x as a symmetric ``scipy.sparse.csr_array``, as Tape.sparse_hessian
        (weights (m,) for vector f); its pattern is that of the branch x lies on."""
        return self._request(args, requests.flat("_sparse_hessian", weights))

    def tape_at(self, *args: Any) -> Tape:
        """The cached Tape whose branch holds the call (traced there if none does)."""
        return self._located(args)[0]

    def _located(self, args):
        """(tape, signature, x, p) of a call: the tape whose branch holds it, and the call's flat
        vectors, for the free functions (jvp, vjp, vmap) that go on to use both."""
        signature, x, p = self._describe(args)
        _, tape, _ = self._find(signature, args, x, p, None)
        return tape, signature, x, p

    # -- observing the cache ----------------------------------------------------------------
    def stats(self) -> dict[str, int]:
        """How calls were served: a dict with

        calls (requests made), replays (served by a cached tape), switches (of those, served by
        a tape other than the one used just before), traces (times f was run), tapes (cached
        now), evictions (tapes dropped for max_tapes), optimized (tapes replaced by their
        tape.optimize() after OPTIMIZE_AFTER replays) and max_tapes."""
        with self._lock:
            return dict(self._counts, tapes=len(self._tapes), max_tapes=self.max_tapes)

    @property
    def tapes(self) -> list[Tape]:
        """The cached tapes, most recently used first."""
        with self._lock:
            return list(reversed(self._tapes.values()))

    @property
    def tape(self) -> Tape | None:
        """The tape used last (None before the first call)."""
        with self._lock:
            return next(reversed(self._tapes.values())) if self._tapes else None

    @property
    def n_traces(self) -> int:
        """Times f was traced."""
        return self._counts["traces"]

    def clear(self) -> None:
        """Drop every cached tape (the counts stay)."""
        with self._lock:
            self._tapes.clear()
            self._replays_of.clear()

    def __repr__(self) -> str:
        name = getattr(self.f, "__name__", type(self.f).__name__)
        return f"<numba_ad.Function {name}: {len(self._tapes)} tapes cached, {self._counts['traces']} traces>"

    # -- the cache --------------------------------------------------------------------------
    def _describe(self, args):
        argnums = self._argnums_for.get(len(args))
        if argnums is None:  # checked once per number of arguments
            if not args:
                raise TypeError("f needs at least one argument to differentiate; got none")
            argnums = self._argnums_for[len(args)] = normalize_argnums(self.argnums, len(args))
        return describe(args, argnums)

    def _request(self, args, request, first_only=None):
        if first_only is not None and self.argnums != 0:
            raise TypeError(
                f"Function.{first_only}(x, v, *rest) differentiates the first argument; this function has "
                f"argnums={self.argnums!r}: use ad.{first_only}(f, ...) with the arguments in JAX's form"
            )
        signature, x, p = self._describe(args)
        request = request.bind(signature)
        key, _, result = self._find(signature, args, x, p, request, counted=True)
        return request.finish(result, signature, key[2])

    def _find(self, signature, args, x, p, request, counted=False):
        """(key, tape, result) of `request` on the tape whose branch holds x, tracing if needed;
        request None only checks the branch."""
        with self._lock:  # the tape used last; other threads may add or evict tapes meanwhile
            if counted:
                self._counts["calls"] += 1
            last = next(reversed(self._tapes.items()), None)
        tried = None
        if last is not None and last[0][0] == signature:  # the common case: run the request itself
            result, failed = self._attempt(last[1], request, x, p, last[0][2])
            if failed < 0:
                return self._hit(last[0], last[1], 0, result)
            tried = last[1], failed
        with self._lock:  # a snapshot of the others of this signature, most recent first
            candidates = [(key, tape) for key, tape in reversed(self._tapes.items()) if key[0] == signature]
        for rank, (key, tape) in enumerate(candidates):
            if tried is not None and tape is tried[0]:
                continue
            if tried is None:  # the most recent of this signature: run the request itself
                result, failed = self._attempt(tape, request, x, p, key[2])
                if failed < 0:
                    return self._hit(key, tape, rank, result)
                tried = tape, failed
            elif tape.check(x, p) is None:
                result, failed = self._attempt(tape, request, x, p, key[2])
                return self._hit(key, tape, rank, result)
        if tried is not None:
            if self.on_branch_change == "raise":
                tried[0]._raise_if_failed(tried[1])
            if self.on_branch_change == "warn":
                self._warn(*tried)
        return self._trace(signature, args, x, p, request)

    @staticmethod
    def _attempt(tape, request, x, p, output):
        if request is None:
            return None, -1 if tape.check(x, p) is None else 0
        return request.run(tape, x, p, output)

    def _hit(self, key, tape, rank, result):
        with self._lock:
            self._counts["replays"] += 1
            if key not in self._tapes:  # evicted by another thread since the snapshot
                return key, tape, result
            uses = self._replays_of.get(key, 0) + 1
            self._replays_of[key] = uses
            if rank:
                self._counts["switches"] += 1
                self._tapes.move_to_end(key)
            if uses != OPTIMIZE_AFTER:
                return key, tape, result
            cached = self._tapes[key]
        optimized = cached.optimize()  # outside the lock: seconds on a large tape
        with self._lock:
            if self._tapes.get(key) is cached:
                self._tapes[key] = optimized
                self._counts["optimized"] += 1
        return key, tape, result

    def _trace(self, signature, args, x, p, request):
        # outside the lock: threads trace in parallel
        tape, output = trace_structured(self.f, signature, args, x, p, self.has_aux)
        g = tape.arrays.guards
        # the key: the call's signature, the branch (the guards' ops and constants) and the
        # structure of what f returned on it (one signature's branches may return different ones)
        key = (signature, tape.arrays.op[g].tobytes() + tape.arrays.c[g].tobytes(), output)
        with self._lock:
            self._counts["traces"] += 1
            self._tapes.pop(key, None)
            self._replays_of.pop(key, None)
            self._tapes[key] = tape
            while len(self._tapes) > self.max_tapes:
                self._tapes.popitem(last=False)
                self._counts["evictions"] += 1
        result, failed = self._attempt(tape, request, x, p, output)
        tape._raise_if_failed(failed)  # the tracer and the kernels disagreed on a comparison
        return key, tape, result

    def _warn(self, tape, failed):
        text, location, recorded = tape.guard_description(int(failed))
        name = getattr(self.f, "__name__", "f")
        warnings.warn(
            BranchChangedWarning(
                f"{name}: `{text}` (made at {location}) is now {not recorded} and no cached tape fits; "
                f"tracing again ({len(self._tapes) + 1} tapes of at most {self.max_tapes})"
            ),
            stacklevel=4,
        )


def function(
    f: Callable,
    max_tapes: int = 64,
    on_branch_change: BranchPolicy = "retrace",
    *,
    argnums: int | tuple[int, ...] = 0,
    has_aux: bool = False,
) -> Function:
    """f compiled to a :class:`Function`: tapes cached per branch, replayed at new points.

    >>> fn = ad.function(lambda x: abs(x[0]) * x[1])
    >>> fn.gradient(np.array([-1.0, 2.0])), fn.gradient(np.array([1.0, 2.0])), fn.stats()["traces"]
    (array([-2., -1.]), array([2., 1.]), 2)
    """
    return Function(f, max_tapes, on_branch_change, argnums=argnums, has_aux=has_aux)
