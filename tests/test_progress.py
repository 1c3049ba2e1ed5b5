"""Compile notices (numba_ad/_progress.py): a numba_ad kernel still compiling after AFTER
seconds is announced, then its time; user functions and short compiles are not; the setting
silences it; a terminal gets the text, anything else a log record."""

import io
import logging
import time

import numpy as np
import pytest
from numba import njit

import numba_ad as ad
from numba_ad import _progress


def _fresh_function(module):
    """A new function (numba has compiled nothing for it) whose __module__ is `module`."""

    def work(x):
        s = 0.0
        for i in range(x.shape[0]):
            s += np.sin(x[i]) * np.exp(-x[i] * x[i]) + np.sqrt(abs(x[i]))
        return s + np.sum(np.cos(x) ** 2)

    work.__module__ = module
    return njit(cache=False)(work)


@pytest.fixture
def notices(monkeypatch, caplog):
    monkeypatch.setattr(_progress, "AFTER", 0.0)
    monkeypatch.setattr(_progress, "_enabled", True)
    caplog.set_level(logging.INFO, logger="numba_ad")
    return caplog


def test_a_numba_ad_kernel_compiling_long_is_announced_then_timed(notices):
    _fresh_function("numba_ad_tape_fake")(np.linspace(0.0, 1.0, 5))
    messages = [r.getMessage() for r in notices.records if r.name == "numba_ad"]
    assert any(m.startswith("numba_ad: compiling") and "work" in m for m in messages), messages
    assert any(m.startswith("numba_ad: compiled") and m.endswith(" s") for m in messages), messages


def test_user_functions_and_the_off_switch_stay_silent(notices):
    _fresh_function("users_own_module")(np.ones(3))
    ad.set_progress(False)
    try:
        _fresh_function("numba_ad_tape_fake2")(np.ones(3))
    finally:
        ad.set_progress(True)
    assert not [r for r in notices.records if r.name == "numba_ad"]


def test_a_compile_quicker_than_after_says_nothing(monkeypatch, caplog):
    monkeypatch.setattr(_progress, "AFTER", 60.0)
    monkeypatch.setattr(_progress, "_enabled", True)
    caplog.set_level(logging.INFO, logger="numba_ad")
    _fresh_function("numba_ad_tape_fake3")(np.ones(3))
    assert not [r for r in caplog.records if r.name == "numba_ad"]


def test_a_terminal_gets_the_text_and_other_streams_a_log_record(monkeypatch, caplog):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    caplog.set_level(logging.INFO, logger="numba_ad")
    _progress._say("numba_ad: compiling something...")
    assert terminal.getvalue() == "numba_ad: compiling something...\n"
    assert not caplog.records
    monkeypatch.setattr("sys.stderr", io.StringIO())
    _progress._say("numba_ad: compiled something in 3.0 s")
    assert [r.getMessage() for r in caplog.records] == ["numba_ad: compiled something in 3.0 s"]


# -- long work of numba_ad's own: Task -----------------------------------------------------------
@pytest.fixture
def task_notices(monkeypatch, caplog):
    monkeypatch.setattr(_progress, "AFTER", 0.0)
    monkeypatch.setattr(_progress, "_POLL", 0.01)
    monkeypatch.setattr(_progress, "_watcher", _progress._Watcher())  # its own thread, polling at 0.01 s
    monkeypatch.setattr(_progress, "_LINE_EVERY", 0.0)
    monkeypatch.setattr(_progress, "_enabled", True)
    caplog.set_level(logging.INFO, logger="numba_ad")
    return caplog


def _messages(caplog):
    return [r.getMessage() for r in caplog.records if r.name == "numba_ad"]


def _slow_loop(x):
    s = 0.0
    for i in range(len(x)):
        s = s + np.sin(x[i]) * x[i]
        time.sleep(0.004)  # a trace that takes a while (0.8 s): the watcher, polling every 0.25 s, sees it run
    return s


def test_a_long_trace_says_how_many_ops_then_its_time(task_notices):
    ad.trace(_slow_loop, np.linspace(0.0, 1.0, 200))
    messages = _messages(task_notices)
    assert any(m.startswith("numba_ad: tracing _slow_loop: ") and " ops" in m for m in messages), messages
    assert any(m.startswith("numba_ad: tracing _slow_loop: done in") for m in messages), messages


def test_a_task_counts_what_it_is_told_and_reports_the_share(task_notices):
    with _progress.Task("counting", total=10, unit="things") as task:
        for k in range(10):
            task.update(k + 1)
            time.sleep(0.03)
    messages = _messages(task_notices)
    assert any("counting:" in m and "of 10 things (" in m and "%)" in m for m in messages), messages
    assert messages[-1].startswith("numba_ad: counting: done in")


def test_a_failed_task_says_it_stopped(task_notices):
    with pytest.raises(KeyError):
        with _progress.Task("failing"):
            time.sleep(0.05)
            raise KeyError("x")
    assert _messages(task_notices)[-1].startswith("numba_ad: failing: stopped (KeyError) in")


def test_a_large_gradient_many_reports_its_points_and_answers_as_one_call(task_notices, monkeypatch):
    from numba_ad.api import batch

    tape = ad.trace(lambda x: np.sum(np.exp(x) * x), np.linspace(0.0, 1.0, 4))
    X = np.random.default_rng(0).uniform(-1, 1, (3000, 4))
    expected = tape.gradient_many(X), tape.eval_many(X), tape.jacobian_many(X)
    monkeypatch.setattr(batch, "LONG_CALL_OPS", 0)
    monkeypatch.setattr(batch, "SLICES", 7)
    monkeypatch.setattr(batch, "MAX_BLOCK", 8)
    np.testing.assert_array_equal(tape.gradient_many(X), expected[0])  # slicing changes no bit
    np.testing.assert_array_equal(tape.eval_many(X), expected[1])
    np.testing.assert_array_equal(tape.jacobian_many(X), expected[2])


def test_tasks_stay_silent_when_short_or_switched_off(monkeypatch, caplog):
    caplog.set_level(logging.INFO, logger="numba_ad")
    with _progress.Task("quick"):
        pass
    ad.set_progress(False)
    try:
        monkeypatch.setattr(_progress, "AFTER", 0.0)
        with _progress.Task("silenced"):
            time.sleep(0.6)
    finally:
        ad.set_progress(True)
    assert not _messages(caplog)
