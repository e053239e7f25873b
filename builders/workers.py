"""Worker processes for the CPU-bound part of builds (rendering pages), kept between builds.

Starting a Python process and importing Jinja and Markdown takes a few tenths of a second, most
of what parallel rendering saves on a large site. So the processes are started ahead of a build
that will need them (``warm``), while the build does its serial part, and stay for the next
large build; after sitting idle they are stopped, so a gateway that is done building holds no
extra memory.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from typing import Any, TypeVar

from builders.errors import BuildStopped

T = TypeVar("T")

# Pages render in at most this many processes: more than the cores only adds start-up and memory.
MAX_WORKERS = 4
IDLE_SECONDS = 300.0
_STOP_POLL_SECONDS = 0.2


def _terminate(pool: ProcessPoolExecutor) -> None:
    """Shut ``pool`` down and end its processes now, whatever they are running."""
    # Python 3.14 has this in public (terminate_workers); before it, the pool's process table
    # is the only way to the processes.
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()


# Enough for the scheduler to run the serving process about ten times as often as a renderer.
_WORKER_NICENESS = 10


def _start_worker() -> None:
    """In each worker: Ctrl-C in the gateway's terminal reaches the whole process group, and the
    gateway ends its workers itself; a traceback from each would only bury its own last words.
    A lower priority: on a busy core, the gateway's requests go before a build's pages."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.nice(_WORKER_NICENESS)


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
        order. A task's own exception is raised as it is. When the caller gives up (``stopping``
        set, a ``BuildStopped``; a deadline in its thread) or a process died
        (``BrokenProcessPool``), the processes are ended: a runaway task would otherwise keep a
        core busy. The next run starts fresh ones."""
        with self._lock:
            pool = self._pool_locked()
            if pool is None:
                raise BuildStopped()
            self._busy += 1
        waiting: set[Future[T]] = set()
        results: list[T] = []
        task_failed = False
        try:
            # A pool that broke since it was last used refuses tasks (BrokenProcessPool).
            waiting = {pool.submit(task, *args) for args in arguments}
            while waiting:
                done, waiting = wait(waiting, timeout=_STOP_POLL_SECONDS, return_when=FIRST_EXCEPTION)
                for future in done:
                    error = future.exception()
                    if error is not None:
                        task_failed = not isinstance(error, BrokenProcessPool)
                        raise error
                    results.append(future.result())
                if stopping.is_set():
                    raise BuildStopped()
            return results
        except BaseException:
            for future in waiting:
                future.cancel()
            if not task_failed:
                with self._lock:
                    if self._pool is pool:
                        self._pool = None
                _terminate(pool)
            raise
        finally:
            with self._lock:
                self._busy -= 1
                self._touch_locked()

    def close(self) -> None:
        """Stop the processes; a task still running is ended."""
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
            self._stop_locked()
        if pool is not None:
            _terminate(pool)

    def _pool_locked(self) -> ProcessPoolExecutor | None:
        if self._closed:
            return None
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.count, mp_context=get_context("spawn"), initializer=_start_worker
            )
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
