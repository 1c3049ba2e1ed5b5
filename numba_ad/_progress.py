"""Notices while numba compiles numba_ad's kernels, so that a long first call is not silent.

The first call of each kind in a new process (gradient, hvp, a compiled tape ...) can wait
seconds for numba's JIT: with an empty cache the first HVP compiles for about 30 s on two
cores, and silence looks like a hang. numba broadcasts a ``"numba:compile"`` event around
every real compilation (cache loads raise none); the listener here starts a timer at the
outermost compilation of a numba_ad kernel (a function of a ``numba_ad`` module, generated
tape modules included) and, when it is still compiling after ``AFTER`` seconds, says what it
is compiling, then how long it took. Compiles that finish sooner say nothing.

Where it goes: standard error when that is a terminal, otherwise an INFO record of the
``numba_ad`` logger (so test runs and services stay quiet unless they configure logging).
``NUMBA_AD_PROGRESS=0`` or ``numba_ad.set_progress(False)`` silences it.

Long work of numba_ad's own (tracing a large function, ``tape.optimize()``, planning a
``tape.compile()``, a large ``*_many`` call) runs inside a ``Task``: when it is still running
after ``AFTER`` seconds it says what it is doing and how far it is, and when it ends, how long it
took. On a terminal that is a tqdm progress bar when tqdm is installed (``pip install
numba_ad[progress]``), a line every few seconds otherwise; elsewhere INFO records of the
``numba_ad`` logger. One watcher thread polls the running tasks: entering a task costs a list
append, nothing per step of the work (a task's ``count`` is read by the watcher).
"""

import logging
import os
import sys
import threading
import time

from numba.core import event

AFTER = 2.0  # seconds a compilation runs before it is announced
LOGGER = logging.getLogger("numba_ad")
_enabled = os.environ.get("NUMBA_AD_PROGRESS", "1") != "0"
_installed = False


def set_progress(enabled: bool) -> None:
    """Turn the compile notices on or off for this process (NUMBA_AD_PROGRESS=0 starts off)."""
    global _enabled
    _enabled = bool(enabled)


def _say(message: str) -> None:
    stream = sys.stderr
    if stream is not None and getattr(stream, "isatty", lambda: False)():
        print(message, file=stream, flush=True)
    else:
        LOGGER.info(message)


def _owned(dispatcher) -> bool:
    """True for numba_ad's own kernels and the modules tape.compile() generates."""
    module = getattr(getattr(dispatcher, "py_func", None), "__module__", None) or ""
    return module.startswith("numba_ad")


class _Compiling:
    """One announced-or-not compilation: its timer, and whether the notice went out."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.started = time.perf_counter()
        self.lock = threading.Lock()
        self.announced = False
        self.timer = threading.Timer(AFTER, self.announce)
        self.timer.daemon = True

    def announce(self) -> None:
        with self.lock:
            if self.timer is None:
                return  # finished meanwhile
            self.announced = True
        _say(
            f"numba_ad: compiling {self.name} (first use in this process; numba caches it on disk, "
            "so later processes load it in a fraction of the time)..."
        )

    def finish(self) -> None:
        with self.lock:
            self.timer.cancel()
            self.timer = None
            announced = self.announced
        if announced:
            _say(f"numba_ad: compiled {self.name} in {time.perf_counter() - self.started:.1f} s")


class _CompileNotice(event.Listener):
    """Counts nested compilations per thread; times the outermost one of a numba_ad kernel."""

    def __init__(self) -> None:
        self._local = threading.local()

    def on_start(self, ev) -> None:
        state = self._local
        depth = getattr(state, "depth", 0)
        state.depth = depth + 1
        if depth or not _enabled:
            return
        dispatcher = (ev.data or {}).get("dispatcher")
        if dispatcher is None or not _owned(dispatcher):
            return
        name = getattr(dispatcher.py_func, "__qualname__", "a kernel")
        state.current = _Compiling(name)
        state.current.timer.start()

    def on_end(self, ev) -> None:
        state = self._local
        state.depth = max(getattr(state, "depth", 1) - 1, 0)
        current = getattr(state, "current", None)
        if state.depth == 0 and current is not None:
            state.current = None
            current.finish()


class Task:
    """A step that may take seconds, announced once it has run AFTER seconds.

    ``with Task("tracing f", unit="ops", count=lambda: len(rec.op)):`` reports the count the
    callable returns (read by the watcher thread, so the work itself pays nothing); or call
    ``task.update(done)``. `total`, when known, gives the fraction done.
    """

    def __init__(self, what: str, total: int | None = None, unit: str = "", count=None) -> None:
        self.what, self.total, self.unit, self.count = what, total, unit, count
        self.done = 0
        self.started = 0.0
        self.announced = False
        self.bar = None  # tqdm's, on a terminal with tqdm installed
        self.last_line = 0.0

    def update(self, done: int) -> None:
        self.done = done

    def progress(self) -> int:
        if self.count is not None:
            try:
                return int(self.count())
            except Exception:  # noqa: BLE001 - a count read mid-update: report the last one
                return self.done
        return self.done

    def __enter__(self) -> "Task":
        if _enabled:
            self.started = time.perf_counter()
            _watcher.add(self)
        return self

    def __exit__(self, *exc) -> None:
        if not self.started:
            return
        _watcher.remove(self)
        if self.announced:
            elapsed = time.perf_counter() - self.started
            if self.bar is not None:
                self.bar.n = (
                    self.progress() if self.total is None else (self.total if exc[0] is None else self.progress())
                )
                self.bar.close()
            outcome = "done" if exc[0] is None else f"stopped ({exc[0].__name__})"
            _say(f"numba_ad: {self.what}: {outcome} in {elapsed:.1f} s")

    def _tick(self, now: float) -> None:
        """Called by the watcher: announce after AFTER seconds, then report."""
        elapsed = now - self.started
        if elapsed < AFTER:
            return
        done = self.progress()
        if not self.announced:
            self.announced = True
            self.bar = _bar(self)
        if self.bar is not None:
            self.bar.n = done
            self.bar.refresh()
        elif now - self.last_line >= _LINE_EVERY:
            self.last_line = now
            of = f" of {self.total:,}" if self.total else ""
            share = f" ({100.0 * done / self.total:.0f}%)" if self.total else ""
            _say(f"numba_ad: {self.what}: {done:,}{of} {self.unit}{share}, {elapsed:.0f} s".replace("  ", " "))


_LINE_EVERY = 5.0  # seconds between the text lines where there is no progress bar


def _bar(task: Task):
    """A tqdm bar on a terminal when tqdm is installed, else None (text lines or log records)."""
    stream = sys.stderr
    if stream is None or not getattr(stream, "isatty", lambda: False)():
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(
        total=task.total,
        desc=f"numba_ad: {task.what}",
        unit=f" {task.unit}" if task.unit else "it",
        unit_scale=True,
        initial=task.progress(),
        file=stream,
        leave=True,
    )


class _Watcher:
    """One daemon thread polling the running tasks a few times a second, started on first use."""

    def __init__(self) -> None:
        self.tasks: list[Task] = []
        self.lock = threading.Lock()
        self.thread = None

    def add(self, task: Task) -> None:
        with self.lock:
            self.tasks.append(task)
            if self.thread is None:
                self.thread = threading.Thread(target=self.run, name="numba_ad progress", daemon=True)
                self.thread.start()

    def remove(self, task: Task) -> None:
        with self.lock:
            if task in self.tasks:
                self.tasks.remove(task)

    def run(self) -> None:
        while True:
            time.sleep(_POLL)
            now = time.perf_counter()
            with self.lock:  # held while ticking: a task's __exit__ waits for its tick to end
                for task in self.tasks:
                    try:
                        task._tick(now)
                    except Exception:  # noqa: BLE001 - progress must never break the work
                        pass


_POLL = 0.25
_watcher = _Watcher()


def install() -> None:
    """Register the listener once per process (numba_ad._config does, at import)."""
    global _installed
    if not _installed:
        event.register("numba:compile", _CompileNotice())
        _installed = True
