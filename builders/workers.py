"""Worker processes for the CPU-bound part of builds (rendering pages), kept between builds.

Starting a Python process and importing Jinja and Markdown takes a few tenths of a second, most
of what parallel rendering saves on a large site. So the processes are started ahead of a build
that will need them (``warm``), while the build does its serial part, and stay for the next
large build; after sitting idle they are stopped, so a gateway that is done building holds no
extra memory.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from typing import Any, TypeVar

from builders.base import BuildError

T = TypeVar("T")

STOPPED = "the build was stopped: the gateway is shutting down"
# Pages render in at most this many processes: more than the cores only adds start-up and memory.
MAX_WORKERS = 4
IDLE_SECONDS = 300.0
_STOP_POLL_SECONDS = 0.2


def _default_count() -> int:
    return min(os.cpu_count() or 1, MAX_WORKERS)


class ProcessWorkers:
    """A lazily started process pool, shared by the builds of one gateway. Spawned, not forked:
    forking a threaded server is unsafe. Thread-safe."""

    def __init__(self, count: int | None = None, idle_seconds: float = IDLE_SECONDS) -> None:
        self.count = count if count is not None else _default_count()
        self._idle_seconds = idle_seconds
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._busy = 0
        self._last_used = time.monotonic()
        self._reaper: threading.Timer | None = None
        self._closed = False

    @property
    def started(self) -> bool:
        """Whether processes are running or starting (they stop after sitting idle)."""
        with self._lock:
            return self._pool is not None

    def warm(self, ready: Callable[[], object]) -> None:
        """Start every process now without waiting for them; ``ready`` (a module-level function
        of the module the work will need) runs once in each, so its imports are done too. Only
        a head start: a process that cannot start now fails the run that needs it."""
        with self._lock:
            if self._closed:
                return
            if self._pool is None:
                pool = self._pool_locked()
                assert pool is not None
                try:
                    # A pool spawns a process for each task submitted while none is idle.
                    for _ in range(self.count):
                        pool.submit(ready)
                except (OSError, BrokenProcessPool):
                    self._stop_locked()
                    return
            self._touch_locked()

    def run(self, task: Callable[..., T], arguments: Sequence[tuple[Any, ...]], stopping: threading.Event) -> list[T]:
        """``task(*args)`` for each of ``arguments`` in the processes; results in completion
        order. A ``BuildError`` when ``stopping`` is set meanwhile; ``BrokenProcessPool`` when a
        process died (the pool is then started afresh next time)."""
        with self._lock:
            pool = self._pool_locked()
            if pool is None:
                raise BuildError(STOPPED)
            self._busy += 1
        try:
            return self._gather([pool.submit(task, *args) for args in arguments], stopping)
        except BrokenProcessPool:
            with self._lock:
                if self._pool is pool:
                    self._pool = None
                    pool.shutdown(wait=False, cancel_futures=True)
            raise
        finally:
            with self._lock:
                self._busy -= 1
                self._touch_locked()

    def close(self) -> None:
        """Stop the processes (a running task finishes first, off the caller's thread)."""
        with self._lock:
            self._closed = True
            self._stop_locked()

    @staticmethod
    def _gather(waiting_list: list[Future[T]], stopping: threading.Event) -> list[T]:
        results: list[T] = []
        waiting = set(waiting_list)
        try:
            while waiting:
                done, waiting = wait(waiting, timeout=_STOP_POLL_SECONDS, return_when=FIRST_EXCEPTION)
                for future in done:
                    results.append(future.result())
                if stopping.is_set():
                    raise BuildError(STOPPED)
        except BaseException:
            for future in waiting:
                future.cancel()
            raise
        return results

    def _pool_locked(self) -> ProcessPoolExecutor | None:
        if self._closed:
            return None
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=self.count, mp_context=get_context("spawn"))
        return self._pool

    def _touch_locked(self) -> None:
        self._last_used = time.monotonic()
        if self._closed:
            return
        if self._reaper is not None:
            self._reaper.cancel()
        self._reaper = threading.Timer(self._idle_seconds, self._reap)
        self._reaper.daemon = True
        self._reaper.start()

    def _reap(self) -> None:
        with self._lock:
            if self._busy == 0 and time.monotonic() - self._last_used >= self._idle_seconds:
                self._stop_locked()

    def _stop_locked(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
            self._reaper = None
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
