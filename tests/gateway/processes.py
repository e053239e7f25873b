"""Test helper: real gateway and backend processes on loopback, always stopped by their PID."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.ports import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]


def spawn(args: list[str], env: dict[str, str] | None = None, code: str | None = None) -> subprocess.Popen[bytes]:
    """``sitegate ARGS``, or ``python -c CODE`` (which runs ``sitegate`` itself) when given."""
    command = ["-c", code] if code is not None else ["-m", "gateway.cli"]
    return subprocess.Popen(
        [sys.executable, *command, *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def stop(process: subprocess.Popen[bytes], sig: signal.Signals = signal.SIGTERM, seconds: float = 15.0) -> int:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if process.stderr is not None:
        process.stderr.close()
    return process.returncode


@contextmanager
def gateway(
    sites: Path, builds: Path, *, port: int | None = None, env: dict[str, str] | None = None, code: str | None = None
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """``sitegate serve`` on a free port (or ``port``), stopped when the block ends. Its builds run
    as the test's own user: pytest's temporary folders are out of a build user's reach."""
    port = port or free_port()
    args = ["serve", "--host", "127.0.0.1", "--port", str(port), "--sites", str(sites), "--build-dir", str(builds)]
    process = spawn(args, {"SITEGATE_BUILD_USER": "root", **(env or {})}, code)
    try:
        wait_for_port(port, process, "sitegate")
        yield process, f"http://127.0.0.1:{port}"
    finally:
        stop(process)


def processes_building_into(folder: Path) -> list[int]:
    """Build commands whose output folder is under ``folder``: what a killed gateway leaves."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(item.startswith(b"SITEGATE_OUT_DIR=" + str(folder).encode()) for item in environ):
            found.append(int(entry.name))
    return found


def kill(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            continue
