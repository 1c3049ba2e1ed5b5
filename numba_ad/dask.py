"""Evaluate-many on Dask: a tape's ``*_many`` methods over a Dask array of points, on any scheduler.

``numba_ad.dask.gradient_many(tape, X)`` returns a lazy Dask array: one task per chunk of rows of
X, each calling the tape's own ``gradient_many`` on its rows (numba's threads inside a task), so
the answers equal a local ``tape.gradient_many(X)`` bit for bit (every point is computed alone,
by the same kernel, whatever chunk it falls in). Works on the threaded and multiprocessing
schedulers and on ``dask.distributed``; install with ``pip install numba_ad[dask]``.

How the tape travels. It enters the graph once, as one key (``dask.delayed``) that every task
depends on. On ``dask.distributed`` a worker receives a dependency once and keeps it, so a tape
crosses the network once per worker, not once per task; the multiprocessing scheduler sends
dependencies with each task, and there the per-process cache below makes each later copy cost
only its transfer. The tape is pickled once, on the caller (Tape.__reduce__: its arrays, user
primitives by definition; a CompiledTape as its generated source, which a worker imports into
its own numba cache, never machine code); a worker unpickles a given tape once and keeps it,
by content hash, in ``_RECEIVED``.

When to use it rather than ``tape.gradient_many``: when the points outgrow one machine, or
their results do not fit in memory at once (the results stay chunked, to be written out or
reduced by Dask). On one machine, a local ``gradient_many`` already uses every core; the
benchmark (benchmarks/bench_dask.py) measures the overhead per chunk.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import threading
from collections import Counter, OrderedDict
from typing import Any, Literal

import cloudpickle
import dask
import dask.array as da
import numba
import numpy as np
from numpy.typing import ArrayLike

from numba_ad.api.tape import Tape
from numba_ad.compile.compiled import CompiledTape

# Rows per chunk when X is a NumPy array: benchmarks/bench_dask.py measured about 5 to 8 ms per
# chunk beyond its work (P2 at n = 10, a LocalCluster of 2 workers on 2 cores); from 2^17 rows a
# chunk's work (~0.1 s a core) hides it, and the cluster matched the local gradient_many.
DEFAULT_CHUNK_ROWS = 1 << 17
_KEEP = 8  # tapes a worker process keeps unpickled (the least recently used is dropped)
_RECEIVED: OrderedDict[str, Any] = OrderedDict()
_RECEIVED_LOCK = threading.Lock()
# How many times this process unpickled each tape, by token: what tests and users read to see
# that a tape crossed to a worker once (receive_counts()).
_UNPICKLED: Counter[str] = Counter()
# The workqueue threading layer of numba aborts when two threads launch parallel kernels at once
# (numba's docs, "threading layers"); a Dask worker runs tasks on several threads. omp and tbb
# are safe, so the lock is taken only where the layer is workqueue or not yet known.
_KERNEL_LOCK = threading.Lock()
_WORKER_THREADS = 0  # numba threads per task on this worker (NumbaThreads); 0: numba's own count

try:
    from distributed.diagnostics.plugin import WorkerPlugin
except ImportError:  # numba_ad.dask without distributed: the threaded and processes schedulers
    WorkerPlugin = object


class _Shipped:
    """A Tape or CompiledTape as it travels: pickled once on the caller, unpickled once per
    process (``_receive``), identified by the hash of its pickle."""

    def __init__(self, tape: Tape | CompiledTape) -> None:
        self.tape = tape
        self.payload = cloudpickle.dumps(tape, protocol=pickle.HIGHEST_PROTOCOL)  # lambdas in primitives too
        self.token = hashlib.sha256(self.payload).hexdigest()

    def __reduce__(self):
        return _receive, (self.token, self.payload)

    def __dask_tokenize__(self):
        return self.token


def _receive(token: str, payload: bytes) -> _Shipped:
    """The _Shipped of `token`, unpickled from `payload` the first time this process sees it."""
    with _RECEIVED_LOCK:
        shipped = _RECEIVED.get(token)
        if shipped is not None:
            _RECEIVED.move_to_end(token)
            return shipped
    shipped = _Shipped.__new__(_Shipped)
    shipped.tape, shipped.payload, shipped.token = pickle.loads(payload), payload, token
    with _RECEIVED_LOCK:
        _UNPICKLED[token] += 1
        _RECEIVED[token] = shipped
        while len(_RECEIVED) > _KEEP:
            _RECEIVED.popitem(last=False)
    return shipped


def receive_counts() -> dict[str, int]:
    """Per tape (by the hash of its pickle), how many times this process unpickled it: run it on
    the workers (``client.run(numba_ad.dask.receive_counts)``) to see that each received a tape
    once. A process keeps the last few tapes it received, so a tape used again is not counted again."""
    with _RECEIVED_LOCK:
        return dict(_UNPICKLED)


def token_of(tape: Tape | CompiledTape) -> str:
    """The hash a tape travels under (the key of receive_counts)."""
    return _Shipped(tape).token


class NumbaThreads(WorkerPlugin):
    """A worker plugin: numba_ad's kernels on each worker run on `threads` numba threads.

    Register it with ``client.register_plugin(NumbaThreads(k))``; workers that join or restart
    later get it too. Each task then calls ``numba.set_num_threads`` (a per-thread setting) before
    its kernel. Without it every worker runs numba on all of its machine's cores: 2 workers on 2
    cores would run 4 threads. (Setting NUMBA_NUM_THREADS through distributed's
    ``nanny.pre-spawn-environ`` would reach the workers too, but the nanny writes it into the
    client process's own environment, where numba then refuses to change its thread count.)
    """

    name = "numba_ad-numba-threads"

    def __init__(self, threads: int) -> None:
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
            raise ValueError(f"threads must be a positive integer; got {threads!r}")
        self.threads = threads

    def setup(self, worker) -> None:
        global _WORKER_THREADS
        _WORKER_THREADS = self.threads


def local_cluster(n_workers: int = 2, numba_threads: int | None = None, **kwargs: Any):
    """A ``distributed.LocalCluster`` sized for numba_ad: `n_workers` worker processes of one
    Dask thread each, each running numba's kernels on `numba_threads` threads (default: the
    machine's cores shared out, at least 1; see NumbaThreads), on localhost, with the dashboard
    on a free port. `kwargs` go to LocalCluster. Use it as a context manager, with a Client on it.
    """
    from distributed import Client, LocalCluster

    if numba_threads is None:
        numba_threads = max(1, (os.cpu_count() or 1) // n_workers)
    options = dict(threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=":0")
    options.update(kwargs)
    cluster = LocalCluster(n_workers=n_workers, **options)
    try:
        with Client(cluster) as client:
            client.register_plugin(NumbaThreads(int(numba_threads)))
    except BaseException:
        cluster.close()
        raise
    return cluster


def _needs_lock() -> bool:
    try:
        return numba.threading_layer() == "workqueue"
    except ValueError:  # no parallel kernel has run in this process yet
        return True


def _evaluate(method: str, shipped: _Shipped, X: np.ndarray, P: np.ndarray | None, *args: Any) -> Any:
    """tape.<method>(X, P, *args) on one chunk's rows (a worker runs this for every task)."""
    tape = shipped.tape
    if _WORKER_THREADS:
        numba.set_num_threads(min(_WORKER_THREADS, numba.config.NUMBA_NUM_THREADS))
    if _needs_lock():
        with _KERNEL_LOCK:
            return getattr(tape, method)(X, P, *args)
    return getattr(tape, method)(X, P, *args)


def _first_row(block_info: dict | None) -> int:
    return 0 if not block_info else int(block_info[0]["array-location"][0][0])


def _task(*blocks, method, finish, per_point, shared, args, block_info=None):
    """One chunk: blocks are (X rows, P rows, shipped tape) or (X rows, shipped tape) with
    `shared` params; the tape's method on those rows. A ValueError (BranchChangedError ...)
    notes which rows of the whole X the chunk holds."""
    X, shipped = blocks[0], blocks[-1]
    P = blocks[1] if per_point else shared
    try:
        return finish(_evaluate(method, shipped, X, P, *args))
    except ValueError as error:
        first = _first_row(block_info)
        error.add_note(f"in the Dask chunk of rows {first}..{first + X.shape[0] - 1} of X")
        raise


def _stack_value_and_gradient(out):
    values, G = out
    return np.concatenate([values[:, None], G], axis=1)


def _prepare(tape, X, params, chunk_rows):
    """(dask X with rows in chunks and one column chunk, params as a dask array aligned with X's
    rows or a NumPy vector, the tape as one delayed key)."""
    n = tape.n_inputs
    if not isinstance(X, da.Array):
        X = np.asarray(X)
        if X.ndim != 2:
            raise ValueError(f"X must have shape (N, {n}), one point per row; got shape {X.shape}")
        X = da.from_array(X, chunks=(chunk_rows, -1))
    if X.ndim != 2 or X.shape[1] != n:
        raise ValueError(f"X must have shape (N, {n}), one point per row; got shape {X.shape}")
    if X.dtype.kind not in "fiu":
        raise TypeError(f"X must hold real numbers; got dtype {X.dtype}")
    X = X.rechunk({1: -1})
    P = None
    if params is not None:
        if not tape.n_params:
            raise ValueError("this tape was recorded without parameters; params must be None")
        if isinstance(params, da.Array) and params.ndim == 2:
            if params.shape != (X.shape[0], tape.n_params):
                raise ValueError(
                    f"params must have shape ({tape.n_params},) or ({X.shape[0]}, {tape.n_params}); "
                    f"got shape {params.shape}"
                )
            P = params.rechunk((X.chunks[0], -1))
        else:
            P = np.asarray(params)
            if P.ndim == 2 and P.shape == (X.shape[0], tape.n_params):
                P = da.from_array(P, chunks=(X.chunks[0], -1))
            elif P.shape != (tape.n_params,):
                raise ValueError(
                    f"params must have shape ({tape.n_params},) or ({X.shape[0]}, {tape.n_params}); got shape {P.shape}"
                )
    elif tape.n_params:
        raise ValueError(
            f"this tape was recorded with {tape.n_params} parameters: pass params= "
            f"of shape ({tape.n_params},) or (N, {tape.n_params})"
        )
    shipped = dask.delayed(_Shipped(tape), pure=True)
    return X, P, shipped


def _map(method, finish, tape, X, params, chunk_rows, out_columns, args=()):
    """The lazy dask array of `method` over X's row chunks: (N,) when out_columns is None,
    else (N,) + out_columns."""
    X, P, shipped = _prepare(tape, X, params, chunk_rows)
    if out_columns is None:
        kwargs = dict(drop_axis=1, chunks=(X.chunks[0],))
    elif len(out_columns) == 1:
        kwargs = dict(chunks=(X.chunks[0], (out_columns[0],)))
    else:
        kwargs = dict(
            chunks=(X.chunks[0],) + tuple((k,) for k in out_columns), new_axis=list(range(2, 1 + len(out_columns)))
        )
    per_point = isinstance(P, da.Array)
    arrays = (X, P) if per_point else (X,)
    meta = np.empty((0,) * (1 + len(out_columns or ())))
    return da.map_blocks(
        _task,
        *arrays,
        shipped,
        method=method,
        finish=finish,
        per_point=per_point,
        shared=None if per_point else P,
        args=args,
        dtype=np.float64,
        meta=meta,
        token=f"numba_ad-{method}",
        **kwargs,
    )


def eval_many(
    tape: Tape | CompiledTape,
    X: ArrayLike | da.Array,
    params: ArrayLike | da.Array | None = None,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> da.Array:
    """f at each row of X, lazily: (N,) for a scalar tape, (N, m) otherwise (as Tape.eval_many).

    X: a Dask array (N, n) (its row chunks are the tasks) or a NumPy array, cut into chunks of
    `chunk_rows` rows. params: None, (p,) shared by every point, or (N, p) per point (NumPy or
    Dask, aligned with X's rows). A point off the recorded branch raises BranchChangedError at
    compute(), noting which rows its chunk holds.
    """
    _check_tape(tape)
    tape_ = tape.tape if isinstance(tape, CompiledTape) else tape  # CompiledTape has no eval_many
    columns = None if tape_.scalar_output else (tape_.n_outputs,)
    return _map("eval_many", _identity, tape_, X, params, chunk_rows, columns)


def value_and_gradient_many(
    tape: Tape | CompiledTape,
    X: ArrayLike | da.Array,
    params: ArrayLike | da.Array | None = None,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> tuple[da.Array, da.Array]:
    """(values (N,), gradients (N, n)) of a scalar tape at each row of X, lazily, from one task
    per chunk (compute both with ``dask.compute(values, G)``); X and params as for eval_many."""
    _require_scalar(tape)
    both = _map("value_and_gradient_many", _stack_value_and_gradient, tape, X, params, chunk_rows, (1 + tape.n_inputs,))
    return both[:, 0], both[:, 1:]


def gradient_many(
    tape: Tape | CompiledTape,
    X: ArrayLike | da.Array,
    params: ArrayLike | da.Array | None = None,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> da.Array:
    """Gradients (N, n) of a scalar tape at each row of X, lazily; X and params as for eval_many."""
    _require_scalar(tape)
    return _map("gradient_many", _identity, tape, X, params, chunk_rows, (tape.n_inputs,))


def jacobian_many(
    tape: Tape | CompiledTape,
    X: ArrayLike | da.Array,
    params: ArrayLike | da.Array | None = None,
    mode: Literal["auto", "forward", "reverse"] = "auto",
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> da.Array:
    """Jacobians at each row of X, lazily: (N, m, n), or (N, n) for a scalar tape (as
    Tape.jacobian_many, whose `mode` this passes on); X and params as for eval_many."""
    if mode not in ("auto", "forward", "reverse"):
        raise ValueError(f"mode must be 'auto', 'forward' or 'reverse'; got {mode!r}")
    _check_tape(tape)
    tape_ = tape.tape if isinstance(tape, CompiledTape) else tape
    columns = (tape_.n_inputs,) if tape_.scalar_output else (tape_.n_outputs, tape_.n_inputs)
    return _map("jacobian_many", _identity, tape_, X, params, chunk_rows, columns, (mode,))


def _identity(out):
    return out


def _check_tape(tape):
    if not isinstance(tape, (Tape, CompiledTape)):
        raise TypeError(
            f"numba_ad.dask needs a Tape or a CompiledTape; got {type(tape).__name__} "
            "(for an ad.function, pass fn.tape_at(x0): one branch's tape)"
        )


def _require_scalar(tape):
    _check_tape(tape)
    if not tape.scalar_output:
        raise ValueError(
            f"gradient_many needs a scalar tape; this one has {tape.n_outputs} outputs: use jacobian_many(tape, X)"
        )


__all__ = [
    "DEFAULT_CHUNK_ROWS", "NumbaThreads", "eval_many", "gradient_many", "jacobian_many", "local_cluster",
    "receive_counts", "token_of", "value_and_gradient_many",
]  # fmt: skip
