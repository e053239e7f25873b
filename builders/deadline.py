"""A time limit for work that runs Python code in the caller's thread (rendering templates).

A template can loop for hours (``{% for i in range(10**10) %}``), and a thread cannot be killed.
When the limit passes, or the gateway stops, a watchdog raises an exception in the working
thread, as ``PyThreadState_SetAsyncExc`` allows: it lands at the thread's next Python
instruction, so a render stops wherever it is, and the template error names the file and line
it was on. Code blocked inside a C call sees it only once the call returns.
"""

from __future__ import annotations

import ctypes
import threading
import time
from types import TracebackType
from typing import Self

from builders.errors import BuildError, BuildStopped, BuildTimedOut

_POLL_SECONDS = 0.2


class Deadline:
    """``with Deadline(seconds, stopping):`` raises ``BuildTimedOut`` in this thread once
    ``seconds`` pass, or ``BuildStopped`` once ``stopping`` is set. ``fired`` tells afterwards."""

    def __init__(self, seconds: float, stopping: threading.Event) -> None:
        self.seconds = seconds
        self.fired: type[BuildError] | None = None
        self._stopping = stopping
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._thread_id = 0

    def __enter__(self) -> Self:
        self._thread_id = threading.get_ident()
        threading.Thread(target=self._watch, name="sitegate-deadline", daemon=True).start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        with self._lock:
            self._done.set()
            if self.fired is not None:
                # It may have fired as the work finished: take back an exception still on its way,
                # or it would land in whatever this thread runs next.
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self._thread_id), None)

    def _watch(self) -> None:
        ends = time.monotonic() + self.seconds
        while not self._done.wait(_POLL_SECONDS):
            stopped = self._stopping.is_set()
            if stopped or time.monotonic() >= ends:
                with self._lock:
                    if not self._done.is_set():
                        self.fired = BuildStopped if stopped else BuildTimedOut
                        ctypes.pythonapi.PyThreadState_SetAsyncExc(
                            ctypes.c_ulong(self._thread_id), ctypes.py_object(self.fired)
                        )
                return
