"""Worker processes kept between builds: started ahead, reused, stopped when idle or closed."""

from __future__ import annotations

import os
import signal
import threading
import time
from concurrent.futures.process import BrokenProcessPool

import pytest

from builders.errors import STOPPED, BuildError
from builders.workers import ProcessWorkers


def ready() -> None:
    """What ``warm`` runs in each new process."""


def process_id(_: int) -> int:
    time.sleep(0.05)
    return os.getpid()


def niceness(_: int) -> int:
    return os.nice(0)


@pytest.fixture
def workers() -> ProcessWorkers:
    pool = ProcessWorkers(count=2)
    yield pool
    pool.close()


def test_tasks_run_in_other_processes_and_all_results_come_back(workers: ProcessWorkers) -> None:
    assert sorted(workers.run(pow, [(2, 3), (3, 2), (4, 1)], threading.Event())) == [4, 8, 9]
    pids = workers.run(process_id, [(n,) for n in range(8)], threading.Event())
    assert os.getpid() not in pids
    assert 1 <= len(set(pids)) <= 2


def test_the_same_processes_serve_the_next_run(workers: ProcessWorkers) -> None:
    workers.warm(ready)
    assert workers.started
    first = set(workers.run(process_id, [(n,) for n in range(6)], threading.Event()))
    second = set(workers.run(process_id, [(n,) for n in range(6)], threading.Event()))
    assert second <= first | second and first & second


def test_a_stopping_gateway_ends_a_run_at_once(workers: ProcessWorkers) -> None:
    stopping = threading.Event()
    threading.Timer(0.1, stopping.set).start()
    started = time.monotonic()
    with pytest.raises(BuildError, match=STOPPED):
        workers.run(time.sleep, [(30,)] * 4, stopping)
    assert time.monotonic() - started < 5
    # The tasks still running were ended with their processes, not left to finish.
    assert not workers.started


def test_a_failing_task_keeps_the_processes(workers: ProcessWorkers) -> None:
    with pytest.raises(ZeroDivisionError):
        workers.run(divmod, [(1, 0)], threading.Event())
    assert workers.started
    assert workers.run(divmod, [(7, 2)], threading.Event()) == [(3, 1)]


def test_a_process_that_dies_fails_the_run_and_the_next_run_starts_afresh(workers: ProcessWorkers) -> None:
    with pytest.raises(BrokenProcessPool):
        workers.run(os._exit, [(3,)], threading.Event())
    assert workers.run(pow, [(2, 2)], threading.Event()) == [4]


def test_idle_processes_stop_and_start_again_when_needed() -> None:
    pool = ProcessWorkers(count=1, idle_seconds=0.3)
    try:
        assert pool.run(pow, [(5, 2)], threading.Event()) == [25]
        assert pool.started
        deadline = time.monotonic() + 10
        while pool.started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not pool.started
        assert pool.run(pow, [(2, 5)], threading.Event()) == [32]
    finally:
        pool.close()


def test_a_closed_pool_runs_nothing(workers: ProcessWorkers) -> None:
    workers.close()
    workers.warm(ready)
    assert not workers.started
    with pytest.raises(BuildError, match=STOPPED):
        workers.run(pow, [(2, 2)], threading.Event())


def test_ctrl_c_in_the_terminal_leaves_the_workers_to_the_gateway(workers: ProcessWorkers) -> None:
    pids = set(workers.run(process_id, [(n,) for n in range(4)], threading.Event()))
    for pid in pids:
        os.kill(pid, signal.SIGINT)
    time.sleep(0.3)
    assert set(workers.run(process_id, [(n,) for n in range(4)], threading.Event())) <= pids


def test_pages_render_at_a_lower_priority_than_the_gateway_serves(workers: ProcessWorkers) -> None:
    """On a busy core the scheduler runs the gateway's requests before a build's pages."""
    assert set(workers.run(niceness, [(0,), (1,)], threading.Event())) == {os.nice(0) + 10}
