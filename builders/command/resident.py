"""A site's own program kept running between builds, asked one JSON line at a time.

It runs as ``process.run`` runs a command: without a shell, with exactly the command's
environment, as its user, in a process group of its own. Each question has a time limit, and
``stopping`` (set when the gateway stops) ends it at once; either way its whole group is killed,
and so is it when ``close`` is called. Its stdin is a pipe from the gateway, so a program that
ends when stdin closes also ends when the gateway dies, however it dies.

Blocking: call it from a build worker, never on the event loop.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import threading
import time
from collections import deque
from typing import Any

from builders.command.process import Command, start, stop_group
from builders.errors import BuildError

_STDERR_LINES = 200
_POLL_SECONDS = 0.1
_READ_SIZE = 64 * 1024
# A program that was asked to stop gets this long before its group is killed.
_STOP_GRACE_SECONDS = 1.0


class ResidentGone(BuildError):
    """The program ended, could not start, answered nonsense or ran past its time: it is
    stopped, and a new one (or another way) is up to the caller. ``ended``: it ended by itself."""

    def __init__(self, message: str, ended: bool = False) -> None:
        super().__init__(message)
        self.ended = ended


class Resident:
    def __init__(self, command: Command, stopping: threading.Event | None = None) -> None:
        self.command = command
        self._stopping = stopping
        self._stderr: deque[str] = deque(maxlen=_STDERR_LINES)
        self._buffer = b""
        self._lock = threading.Lock()
        try:
            self._process = start(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except OSError as error:
            raise ResidentGone(f"cannot start `{command.display}`: {error}") from None
        assert self._process.stdout is not None and self._process.stderr is not None
        os.set_blocking(self._process.stdout.fileno(), False)
        threading.Thread(target=self._keep_stderr, name="sitegate-resident-stderr", daemon=True).start()
        if stopping is not None:
            threading.Thread(target=self._stop_with, args=(stopping,), name="sitegate-resident-stop", daemon=True).start()

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def alive(self) -> bool:
        return self._process.poll() is None

    def take_stderr(self) -> str:
        """Its lines of stderr since the last call (the last 200 at most)."""
        lines = []
        while self._stderr:
            lines.append(self._stderr.popleft())
        return "\n".join(lines)

    def read(self, timeout: float) -> dict[str, Any]:
        """Its next line, as a JSON object."""
        deadline = time.monotonic() + timeout
        try:
            return self._next(deadline, timeout)
        except BaseException:
            # Cut off anywhere (a build's deadline lands as an exception): a late answer would be
            # taken for the next question's, so this one is done.
            self.close()
            raise

    def ask(self, question: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Send ``question`` as one line and read the answer, within ``timeout`` seconds."""
        assert self._process.stdin is not None
        try:
            self._process.stdin.write(json.dumps(question).encode() + b"\n")
            self._process.stdin.flush()
        except OSError:
            self.close()
            raise ResidentGone(self._ended(), ended=True) from None
        return self.read(timeout)

    def close(self) -> None:
        """Stop it and every process of its group (no-op when it has ended)."""
        with self._lock:
            if self._process.stdin is not None and not self._process.stdin.closed:
                try:
                    self._process.stdin.close()
                except OSError:
                    pass
            stop_group(self._process, grace=_STOP_GRACE_SECONDS)

    def _next(self, deadline: float, timeout: float) -> dict[str, Any]:
        assert self._process.stdout is not None
        stream = self._process.stdout.fileno()
        with selectors.DefaultSelector() as selector:
            selector.register(stream, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                if self._stopping is not None and self._stopping.is_set():
                    raise ResidentGone(f"`{self.command.display}` was stopped because the gateway is shutting down")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise ResidentGone(f"`{self.command.display}` did not answer within {timeout:g} s")
                if not selector.select(min(_POLL_SECONDS, remaining)):
                    continue
                try:
                    chunk = os.read(stream, _READ_SIZE)
                except BlockingIOError:
                    continue
                if not chunk:
                    raise ResidentGone(self._ended(), ended=True)
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        try:
            answer = json.loads(line)
        except ValueError:
            raise ResidentGone(f"`{self.command.display}` answered {line[:200]!r}, not JSON") from None
        if not isinstance(answer, dict):
            raise ResidentGone(f"`{self.command.display}` answered {line[:200]!r}, not a JSON object")
        return answer

    def _ended(self) -> str:
        try:
            status = self._process.wait(timeout=_STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            status = None
        last = next((line for line in reversed(self._stderr) if line.strip()), "")
        return f"`{self.command.display}` ended (exit {status})" + (f": {last}" if last else "")

    def _keep_stderr(self) -> None:
        assert self._process.stderr is not None
        for raw in self._process.stderr:
            self._stderr.append(raw.decode("utf-8", errors="replace").rstrip("\n"))
        self._process.stderr.close()

    def _stop_with(self, stopping: threading.Event) -> None:
        while self.alive:
            if stopping.wait(_POLL_SECONDS * 5):
                self.close()
                return
