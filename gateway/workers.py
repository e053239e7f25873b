"""``sitegate serve --workers N``: N gateway processes on one port.

Each worker is a whole gateway listening with ``SO_REUSEPORT``, so the kernel spreads new
connections over them; they share the build folder, where a lock per site lets one build while
the others wait for its result (``building.step``), and they follow each other's publishing
(``building.follow``). This parent only starts them, passes SIGHUP on, replaces one that dies,
and on SIGTERM or SIGINT stops them all and exits once they have.

The workers are forked before anything starts a thread or an event loop here.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import time
from collections.abc import Callable

from gateway.config import ConfigError, Settings

log = logging.getLogger("sitegate")

_WATCHED = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGCHLD}
# A worker that dies this soon after starting is started again only after this long, so a
# gateway that cannot start at all does not spin.
_RESTART_PAUSE_SECONDS = 1.0


def check_port(settings: Settings) -> None:
    """Bind once here, so a port already taken is one clear error rather than N dying workers."""
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        try:
            probe.bind((settings.host, settings.port))
        except OSError as error:
            raise ConfigError(f"cannot listen on {settings.host}:{settings.port}: {error.strerror}") from None


def supervise(count: int, run_worker: Callable[[int], None]) -> int:
    """Run ``run_worker(number)`` in ``count`` forked processes until told to stop."""
    previous_mask = signal.pthread_sigmask(signal.SIG_BLOCK, _WATCHED)
    children: dict[int, tuple[int, float]] = {}

    def start(number: int) -> None:
        pid = os.fork()
        if pid == 0:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous_mask)
            code = 1
            try:
                run_worker(number)
                code = 0
            except BaseException:
                log.exception("worker %d stopped by an error", number)
            finally:
                logging.shutdown()
                os._exit(code)
        children[pid] = (number, time.monotonic())

    for number in range(count):
        start(number)
    log.info("sitegate: %d workers (pids %s)", count, ", ".join(map(str, children)))
    stopping = False
    while children:
        received = signal.sigtimedwait(_WATCHED, 1.0)
        for number, started in _reap(children):
            if stopping:
                continue
            log.warning("worker %d ended; starting it again", number)
            if time.monotonic() - started < _RESTART_PAUSE_SECONDS:
                time.sleep(_RESTART_PAUSE_SECONDS)
            start(number)
        if received is None:
            continue
        if received.si_signo in (signal.SIGTERM, signal.SIGINT) and not stopping:
            stopping = True
            _tell(children, signal.SIGTERM)
        elif received.si_signo == signal.SIGHUP:
            _tell(children, signal.SIGHUP)
    signal.pthread_sigmask(signal.SIG_SETMASK, previous_mask)
    return 0


def _reap(children: dict[int, tuple[int, float]]) -> list[tuple[int, float]]:
    """The workers that ended since last asked, taken out of ``children``."""
    ended = []
    while children:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            break
        if pid in children:
            ended.append(children.pop(pid))
    return ended


def _tell(children: dict[int, tuple[int, float]], signum: signal.Signals) -> None:
    for pid in children:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            continue
