"""Time limits for work in the caller's thread: a runaway loop ends, finished work is left alone."""

from __future__ import annotations

import threading
import time

import pytest

from builders.deadline import Deadline
from builders.errors import STOPPED, BuildStopped, BuildTimedOut


def spin(seconds: float) -> int:
    """Python code that keeps running, as a runaway template loop does."""
    ends, turns = time.monotonic() + seconds, 0
    while time.monotonic() < ends:
        turns += 1
    return turns


def test_a_loop_running_past_the_limit_is_ended_there() -> None:
    started = time.monotonic()
    with pytest.raises(BuildTimedOut, match="time limit"), Deadline(0.3, threading.Event()) as deadline:
        spin(30)
    assert deadline.fired is BuildTimedOut
    assert time.monotonic() - started < 5


def test_work_done_in_time_is_left_alone_afterwards() -> None:
    with Deadline(0.3, threading.Event()) as deadline:
        spin(0.05)
    # Nothing may land later in whatever the thread does next.
    assert spin(1.0) > 0
    assert deadline.fired is None


def test_a_stopping_gateway_ends_the_work() -> None:
    stopping = threading.Event()
    threading.Timer(0.2, stopping.set).start()
    with pytest.raises(BuildStopped, match=STOPPED), Deadline(60, stopping) as deadline:
        spin(30)
    assert deadline.fired is BuildStopped
