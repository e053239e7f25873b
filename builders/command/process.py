"""Running a site's own command for a build: without a shell, in its own process group, with the
output streamed into the build log as it comes, and the whole group killed on a timeout, on
gateway shutdown, and after the command ends (so nothing it started outlives it).

Blocking: call it from a build worker, never on the event loop.
"""

from __future__ import annotations

import os
import re
import selectors
import shlex
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from builders.base import BuildUser
from builders.errors import BuildError

# What the error page and a failed build's log keep of a command's output.
TAIL_LINES = 200
TERMINATE_GRACE_SECONDS = 5.0
_POLL_SECONDS = 0.1
_READ_SIZE = 64 * 1024
# A process outside the group may hold the output pipe open; its end is not waited for longer.
_DRAIN_SECONDS = 2.0
_MAX_LINE_BYTES = 64 * 1024
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07")


@dataclass(frozen=True)
class Command:
    """One program to run: ``argv`` without a shell, in ``cwd``, with exactly ``env``."""

    argv: tuple[str, ...]
    cwd: Path
    env: Mapping[str, str]
    timeout: float
    user: BuildUser | None = None

    @property
    def display(self) -> str:
        return shlex.join(self.argv)


class OutputLog:
    """The output of a build's commands, line by line: each line is handed to ``on_line`` as it
    arrives, and the text is kept up to ``max_chars`` (the oldest lines go first)."""

    def __init__(self, on_line: Callable[[str], None] | None = None, max_chars: int = 2_000_000) -> None:
        self._lines: deque[str] = deque()
        self._chars = 0
        self._dropped = 0
        self._partial = b""
        self._on_line = on_line
        self._max_chars = max_chars

    def note(self, line: str) -> None:
        """A line of sitegate's own, such as the command about to run."""
        self._add(line)

    def feed(self, chunk: bytes) -> None:
        *lines, self._partial = (self._partial + chunk).split(b"\n")
        for line in lines:
            self._add(_printable(line))
        if len(self._partial) > _MAX_LINE_BYTES:
            self.flush()

    def flush(self) -> None:
        if self._partial:
            self._add(_printable(self._partial))
            self._partial = b""

    def text(self) -> str:
        return self._join(list(self._lines), self._dropped)

    def tail(self, count: int = TAIL_LINES) -> str:
        lines = list(self._lines)
        return self._join(lines[-count:], self._dropped + max(0, len(lines) - count))

    def last_line(self) -> str:
        return next((line for line in reversed(self._lines) if line.strip()), "")

    def _add(self, line: str) -> None:
        self._lines.append(line)
        self._chars += len(line) + 1
        if self._on_line is not None:
            self._on_line(line)
        while self._chars > self._max_chars and len(self._lines) > 1:
            self._chars -= len(self._lines.popleft()) + 1
            self._dropped += 1

    @staticmethod
    def _join(lines: list[str], dropped: int) -> str:
        header = [f"[… {dropped} earlier lines not shown]"] if dropped else []
        return "\n".join(header + lines) + "\n" if header or lines else ""


def _printable(raw: bytes) -> str:
    # A progress bar redraws its line with "\r"; a terminal would show only the last drawing.
    text = raw.decode("utf-8", errors="replace").rstrip("\r").rsplit("\r", 1)[-1]
    return _ANSI_ESCAPE.sub("", text)


def start(command: Command, **streams: Any) -> subprocess.Popen[bytes]:
    """``command`` in a process group of its own (so it can be ended whole), as its build user
    when it has one, with none of the gateway's supplementary groups. The one place a site's
    command is started."""
    return subprocess.Popen(
        list(command.argv),
        cwd=command.cwd,
        env=dict(command.env),
        start_new_session=True,
        user=command.user.uid if command.user else None,
        group=command.user.gid if command.user else None,
        extra_groups=[] if command.user else None,
        **streams,
    )


def run(command: Command, output: OutputLog, stopping: threading.Event | None = None) -> int:
    """Run ``command`` to its end and return its exit status.

    Raises ``BuildError`` when it cannot start, runs past its timeout, or ``stopping`` is set;
    its process group is killed then, and also after a normal end, so no child outlives it.
    """
    if not command.cwd.is_dir():
        raise BuildError(f"cannot run `{command.display}`: the folder {command.cwd} does not exist")
    output.note(f"$ {command.display}")
    try:
        process = start(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    except FileNotFoundError:
        raise BuildError(_not_found(command), log=output.tail()) from None
    except PermissionError:
        raise BuildError(
            f"cannot run `{command.display}`: {command.argv[0]} is not executable", log=output.tail()
        ) from None
    assert process.stdout is not None
    stream = process.stdout.fileno()
    os.set_blocking(stream, False)
    reason: str | None = None
    try:
        reason = _pump(process, stream, output, time.monotonic() + command.timeout, command.timeout, stopping)
    finally:
        stop_group(process)
        _drain(stream, output)
        process.stdout.close()
        output.flush()
    if reason is not None:
        output.note(f"[sitegate] `{command.display}` {reason}; it and every process it started were killed")
        raise BuildError(f"`{command.display}` {reason}", log=output.tail())
    return process.returncode


def _not_found(command: Command) -> str:
    program = command.argv[0]
    if "/" in program:
        return f"cannot run `{command.display}`: {program} does not exist"
    return f"cannot run `{command.display}`: {program} was not found on the gateway's PATH; is it installed?"


def _pump(
    process: subprocess.Popen[bytes],
    stream: int,
    output: OutputLog,
    deadline: float,
    timeout: float,
    stopping: threading.Event | None,
) -> str | None:
    """Copy output into the log until the process ends; the reason it was cut short, if it was."""
    with selectors.DefaultSelector() as selector:
        selector.register(stream, selectors.EVENT_READ)
        reading = True
        while process.poll() is None:
            if stopping is not None and stopping.is_set():
                return "was stopped because the gateway is shutting down"
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return f"ran longer than its timeout of {timeout:g} s"
            wait = min(_POLL_SECONDS, remaining)
            if not reading:
                time.sleep(wait)
            elif selector.select(wait):
                chunk = _read(stream)
                if chunk == b"":
                    selector.unregister(stream)
                    reading = False
                elif chunk is not None:
                    output.feed(chunk)
    return None


def _read(stream: int) -> bytes | None:
    try:
        return os.read(stream, _READ_SIZE)
    except BlockingIOError:
        return None


def _drain(stream: int, output: OutputLog) -> None:
    deadline = time.monotonic() + _DRAIN_SECONDS
    with selectors.DefaultSelector() as selector:
        selector.register(stream, selectors.EVENT_READ)
        while (remaining := deadline - time.monotonic()) > 0 and selector.select(remaining):
            chunk = _read(stream)
            if chunk == b"":
                return
            if chunk is not None:
                output.feed(chunk)


def stop_group(process: subprocess.Popen[bytes], grace: float = TERMINATE_GRACE_SECONDS) -> None:
    """End ``process`` and every process of its group: SIGTERM, then SIGKILL for what is left
    after ``grace`` seconds. Returns once the group's leader is reaped."""
    group = process.pid
    process.poll()
    if group_members(group):
        signal_group(group, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and group_members(group):
            process.poll()
            time.sleep(0.05)
        signal_group(group, signal.SIGKILL)
    process.wait()


def signal_group(group: int, signum: int) -> None:
    try:
        os.killpg(group, signum)
    except (ProcessLookupError, PermissionError):
        pass


def group_members(group: int) -> list[int]:
    """The live processes of a process group. Zombies do not count: they run nothing, and
    whoever inherited them (init) reaps them in its own time."""
    proc = Path("/proc")
    if not (proc / "self" / "stat").exists():
        try:
            os.killpg(group, 0)
        except (ProcessLookupError, PermissionError):
            return []
        return [group]
    members: list[int] = []
    for entry in os.scandir(proc):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        # The command name (field 2) may hold spaces and ")"; the fields after its last ")" do not.
        fields = stat.rpartition(")")[2].split()
        if len(fields) > 2 and int(fields[2]) == group and fields[0] not in ("Z", "X"):
            members.append(int(entry.name))
    return members
