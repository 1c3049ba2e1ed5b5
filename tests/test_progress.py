"""Compile notices (numba_ad/_progress.py): a numba_ad kernel still compiling after AFTER
seconds is announced, then its time; user functions and short compiles are not; the setting
silences it; a terminal gets the text, anything else a log record."""

import io
import logging

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
