"""The backend restarting under a real gateway (issue 11, faults): requests in flight get a 502
at once, none hangs past the proxy's read timeout, and requests succeed again once it is back."""

from __future__ import annotations

import http.client
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.gateway.processes import gateway, spawn, stop
from tests.gateway.sitefarm import write_site
from tests.ports import free_port, wait_for_port

READ_TIMEOUT = 2.0


class Backend:
    """``sitegate backend`` on a fixed port, so it can come back where the gateway expects it."""

    def __init__(self, tmp_path: Path) -> None:
        self.port = free_port()
        self.args = ["backend", "--port", str(self.port), "--store", f"sqlite:///{tmp_path / 'backend.sqlite3'}"]
        self.env = {"SITEGATE_DATA_DIR": str(tmp_path / "data")}
        self.process = spawn(self.args, self.env)
        wait_for_port(self.port, self.process, "the backend")

    def restart(self) -> None:
        self.process = spawn(self.args, self.env)
        wait_for_port(self.port, self.process, "the backend")


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[Backend, str]]:
    write_site(tmp_path / "sites", "a.test", {"public/index.html": "home"})
    backend = Backend(tmp_path)
    env = {"SITEGATE_BACKEND_URL": f"http://127.0.0.1:{backend.port}", "SITEGATE_PROXY_READ_TIMEOUT": str(READ_TIMEOUT)}
    try:
        with gateway(tmp_path / "sites", tmp_path / "builds", env=env) as (_, base):
            yield backend, base
    finally:
        backend.process.send_signal(signal.SIGCONT)
        stop(backend.process)


def api(base: str, path: str = "/api/health") -> int:
    host, port = base.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request("GET", path, headers={"Host": "a.test"})
        return connection.getresponse().status
    finally:
        connection.close()


def test_requests_in_flight_get_a_502_when_the_backend_dies_and_later_ones_succeed_once_it_is_back(
    site: tuple[Backend, str],
) -> None:
    backend, base = site
    assert api(base) == 200
    port = int(base.rsplit(":", 1)[1])
    # A sign-in whose body is still on its way: the backend is waiting for the rest of it.
    with socket.create_connection(("127.0.0.1", port), timeout=10) as upload:
        upload.sendall(
            b"POST /api/auth/login HTTP/1.1\r\nHost: a.test\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\n\r\n{\"email\": \"a@a.test\", "
        )
        time.sleep(0.3)
        backend.process.kill()
        backend.process.wait()
        started = time.monotonic()
        answer = upload.recv(65536)
        assert answer.startswith(b"HTTP/1.1 502") and b"bad_gateway" in answer
        assert time.monotonic() - started < READ_TIMEOUT
    started = time.monotonic()
    assert api(base) == 502 and time.monotonic() - started < READ_TIMEOUT

    backend.restart()
    deadline = time.monotonic() + 10
    while api(base) != 200:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert api(base, "/api/blog/posts") == 200


def test_a_backend_that_stops_answering_is_a_504_within_the_read_timeout(site: tuple[Backend, str]) -> None:
    backend, base = site
    assert api(base) == 200
    backend.process.send_signal(signal.SIGSTOP)
    try:
        started = time.monotonic()
        assert api(base) == 504
        assert time.monotonic() - started < READ_TIMEOUT + 2
    finally:
        backend.process.send_signal(signal.SIGCONT)
    assert api(base) == 200
