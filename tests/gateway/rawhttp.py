"""Test helpers: a real gateway (and a backend that records what reaches it) on loopback in a
thread of its own, and raw bytes sent to it over a plain socket.

Raw, because aiohttp's client normalises paths and refuses hostile headers before sending; in
a thread, so synchronous Hypothesis tests can send hundreds of requests to one gateway.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from aiohttp import web

from gateway.app import create_app
from gateway.config import Settings

TIMEOUT = 5.0


@dataclass
class Backend:
    """What reached the /api backend: (method, raw path, headers, body) per request."""

    seen: list[tuple[str, str, dict[str, str], bytes]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.seen.append((request.method, request.raw_path, dict(request.headers), body))
        return web.Response(text="backend-ok")


@dataclass(frozen=True)
class Gateway:
    port: int
    backend: Backend

    def send(self, data: bytes) -> bytes:
        """The whole response to ``data``, read until the gateway closes the connection."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=TIMEOUT) as conn:
            conn.sendall(data)
            chunks = []
            while chunk := conn.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks)

    def get(self, target: bytes, host: bytes = b"a.test", headers: bytes = b"") -> bytes:
        head = b"GET " + target + b" HTTP/1.1\r\nHost: " + host + b"\r\n" + headers
        return self.send(head + b"Connection: close\r\n\r\n")


def status_of(response: bytes) -> int:
    """The status code; an empty or garbled answer fails the test here."""
    return int(response.split(b" ", 2)[1])


def header_of(response: bytes, name: bytes) -> bytes | None:
    head = response.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]
    for line in head:
        key, _, value = line.partition(b":")
        if key.strip().lower() == name.lower():
            return value.strip()
    return None


def body_of(response: bytes) -> bytes:
    return response.split(b"\r\n\r\n", 1)[1]


@contextmanager
def running_gateway(settings_for_backend: Callable[[str], Settings]) -> Iterator[Gateway]:
    """A gateway made by ``settings_for_backend(backend_url)`` and a recording backend, both
    served on 127.0.0.1 by one event loop in a thread, stopped on exit."""
    backend = Backend()
    loop = asyncio.new_event_loop()
    runners: list[web.AppRunner] = []

    async def start() -> int:
        backend_app = web.Application()
        backend_app.router.add_route("*", "/{path:.*}", backend.handle)
        backend_port = await _serve(backend_app, runners)
        settings = settings_for_backend(f"http://127.0.0.1:{backend_port}")
        return await _serve(create_app(settings), runners)

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        port = asyncio.run_coroutine_threadsafe(start(), loop).result(TIMEOUT * 4)
        yield Gateway(port, backend)
    finally:
        asyncio.run_coroutine_threadsafe(_stop(runners), loop).result(TIMEOUT * 4)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(TIMEOUT)
        loop.close()


async def _serve(app: web.Application, runners: list[web.AppRunner]) -> int:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    runners.append(runner)
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner.addresses[0][1]


async def _stop(runners: list[web.AppRunner]) -> None:
    for runner in reversed(runners):
        await runner.cleanup()
