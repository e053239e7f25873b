"""The MongoDB server going away under a running backend (issue 11, faults): requests answer a
JSON 503 within seconds, not a 500 and not a hang, and the backend recovers by itself when the
server is back on the same address."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from shared.backend.app import create_app
from shared.backend.settings import BackendSettings
from shared.backend.store import Store
from shared.backend.store_mongo import MongoStore
from shared.backend.stores import store_for_url
from tests.ports import free_port, wait_for_port

from .conftest import FAST_PASSWORDS, SECANTUS, stop

TENANT = {"X-Tenant-Domain": "a.example"}
# Every answer, in an outage too, comes well within this.
BOUND_SECONDS = 8.0


class Server:
    """A SecantusDB server that keeps its data on disk and can come back on the same port."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [str(SECANTUS), "--host", "127.0.0.1", "--port", str(self.port), "--storage-path", str(self.workdir / "data")],
            cwd=self.workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, self.process, "secantusd-py")

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)
            stop(self.process)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    server = Server(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def backend_on(  # type: ignore[no-untyped-def]
    aiohttp_client, tmp_path: Path, url: str, store: Store | None = None
) -> TestClient[web.Request, web.Application]:
    settings = BackendSettings(data_dir=tmp_path / "app", store_url=url, password_cost=FAST_PASSWORDS)
    return await aiohttp_client(create_app(store or store_for_url(url), settings=settings))


async def status_of(client: TestClient[web.Request, web.Application], path: str) -> tuple[int, dict]:
    async with asyncio.timeout(BOUND_SECONDS):
        response = await client.get(path, headers=TENANT)
        return response.status, await response.json()


async def until_answered(client: TestClient[web.Request, web.Application], path: str, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while (await status_of(client, path))[0] != 200:
        assert time.monotonic() < deadline, f"{path} did not recover within {seconds} s"
        await asyncio.sleep(0.2)


async def test_a_mongodb_restart_answers_503_meanwhile_and_the_backend_recovers_by_itself(
    aiohttp_client, tmp_path: Path, server: Server
) -> None:
    # The URL's own option shortens the wait for a server (the backend's default is 5 s).
    url = f"mongodb://127.0.0.1:{server.port}/sitegate?serverSelectionTimeoutMS=1000"
    client = await backend_on(aiohttp_client, tmp_path, url)
    assert (await status_of(client, "/api/blog/posts"))[0] == 200

    server.stop()
    for path in ("/api/blog/posts", "/api/health", "/api/blog/posts/some-post"):
        started = time.monotonic()
        status, body = await status_of(client, path)
        assert status == 503 and body["error"]["code"] == "store_unavailable"
        assert time.monotonic() - started < 3

    server.start()
    await until_answered(client, "/api/blog/posts")
    assert (await status_of(client, "/api/health"))[0] == 200


async def test_a_mongodb_server_that_stops_answering_is_a_503_within_the_socket_timeout(
    aiohttp_client, tmp_path: Path, server: Server
) -> None:
    url = f"mongodb://127.0.0.1:{server.port}/sitegate?serverSelectionTimeoutMS=1000"
    # Without a socket timeout (PyMongo's default) this request would wait forever.
    client = await backend_on(aiohttp_client, tmp_path, url, MongoStore(url, socket_timeout_ms=1000))
    assert (await status_of(client, "/api/blog/posts"))[0] == 200
    assert server.process is not None
    # Stopped, not gone: connections are accepted and never answered.
    server.process.send_signal(signal.SIGSTOP)
    try:
        status, body = await status_of(client, "/api/blog/posts")
        assert status == 503 and body["error"]["code"] == "store_unavailable"
    finally:
        server.process.send_signal(signal.SIGCONT)
    await until_answered(client, "/api/blog/posts")
