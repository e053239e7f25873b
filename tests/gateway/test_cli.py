"""The sitegate command as a user runs it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.gateway.processes import gateway
from tests.gateway.sitefarm import write_site

ROOT = Path(__file__).resolve().parents[2]


def run_sitegate(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_bad_setting_is_one_line_on_stderr_and_exit_code_2(tmp_path: Path) -> None:
    result = run_sitegate("serve", "--sites", str(tmp_path), env={"SITEGATE_PORT": "nope"})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["sitegate: SITEGATE_PORT='nope': must be a whole number"]


def test_a_bad_flag_value_is_reported_the_same_way(tmp_path: Path) -> None:
    result = run_sitegate("serve", "--sites", str(tmp_path), "--port", "99999")
    assert result.returncode == 2
    assert "SITEGATE_PORT='99999': must be between 0 and 65535" in result.stderr


def test_a_missing_sites_folder_is_reported(tmp_path: Path) -> None:
    result = run_sitegate("serve", "--sites", str(tmp_path / "nowhere"))
    assert result.returncode == 2
    assert "no such folder" in result.stderr


def test_sigterm_lets_a_slow_download_finish_and_exits_0(tmp_path: Path) -> None:
    """Issue 11, faults: a gateway stopped mid-download (a deploy) finishes what it is sending."""
    size = 50 * 1024 * 1024
    write_site(tmp_path / "sites", "a.test", {"public/index.html": "home"})
    (tmp_path / "sites" / "a.test" / "public" / "big.bin").write_bytes(os.urandom(size))
    with gateway(tmp_path / "sites", tmp_path / "builds") as (process, base):
        port = int(base.rsplit(":", 1)[1])
        assert urllib.request.urlopen(f"{base}/_sitegate/health", timeout=10).status == 200
        with socket.create_connection(("127.0.0.1", port), timeout=30) as client:
            client.sendall(b"GET /big.bin HTTP/1.1\r\nHost: a.test\r\nAccept-Encoding: identity\r\n\r\n")
            received = bytearray(client.recv(64 * 1024))
            process.send_signal(signal.SIGTERM)
            started = time.monotonic()
            # A slow reader: the rest over about two seconds.
            while len(received) < size and time.monotonic() - started < 2:
                received += client.recv(64 * 1024)
                time.sleep(0.005)
            # Still sending to us: shutting down waits for the response in flight.
            assert process.poll() is None and len(received) < size
            while chunk := client.recv(1024 * 1024):
                received += chunk
        head, _, body = received.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200") and len(body) == size
        assert process.wait(timeout=15) == 0


def test_sigterm_waits_no_longer_than_the_shutdown_grace_for_a_stalled_download(tmp_path: Path) -> None:
    """A client that stops reading cannot hold a stopping gateway past SITEGATE_SHUTDOWN_GRACE."""
    size = 50 * 1024 * 1024
    write_site(tmp_path / "sites", "a.test", {"public/index.html": "home"})
    (tmp_path / "sites" / "a.test" / "public" / "big.bin").write_bytes(os.urandom(size))
    with gateway(tmp_path / "sites", tmp_path / "builds", env={"SITEGATE_SHUTDOWN_GRACE": "1"}) as (process, base):
        port = int(base.rsplit(":", 1)[1])
        assert urllib.request.urlopen(f"{base}/_sitegate/health", timeout=10).status == 200
        with socket.create_connection(("127.0.0.1", port), timeout=30) as client:
            client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            client.sendall(b"GET /big.bin HTTP/1.1\r\nHost: a.test\r\nAccept-Encoding: identity\r\n\r\n")
            client.recv(4096)
            started = time.monotonic()
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=15) == 0
            assert time.monotonic() - started < 8
