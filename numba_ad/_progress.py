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

The rest of issue 15's "progress on long work" (tracing, optimize, gradient_many) is not
here yet: this covers the JIT waits only.
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


def install() -> None:
    """Register the listener once per process (numba_ad._config does, at import)."""
    global _installed
    if not _installed:
        event.register("numba:compile", _CompileNotice())
        _installed = True
