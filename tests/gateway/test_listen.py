"""The gateway's listener and its limits on a real socket (issue 11, load and limits): a
slowloris client is cut off after the header timeout while others are served, oversized heads
get 400, and connections past SITEGATE_MAX_CONNECTIONS get 503."""

from __future__ import annotations

import asyncio
import time
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from pathlib import Path

import pytest
from aiohttp import web

from gateway.app import create_app
from gateway.config import Settings
from gateway.listen import Gateway, LimitedSite
from tests.gateway.sitefarm import settings_for, write_site

Start = Callable[..., Awaitable[int]]
HEADER_TIMEOUT = 1.0
# Loopback on a busy machine: how much later than the timeout a close may come.
SLACK_SECONDS = 1.5


@pytest.fixture
async def start_gateway(tmp_path: Path) -> AsyncIterator[Start]:
    """Starts a gateway with the given setting overrides behind ``LimitedSite``; its port."""
    write_site(tmp_path / "sites", "a.test", {"public/index.html": "home"})
    runners: list[web.AppRunner] = []

    async def start(**overrides: object) -> int:
        settings: Settings = replace(settings_for(tmp_path, host="127.0.0.1", port=0), **overrides)
        runner = web.AppRunner(create_app(settings), access_log=None)
        await runner.setup()
        runners.append(runner)
        site = LimitedSite(runner, "127.0.0.1", 0, max_connections=settings.max_connections)
        await site.start()
        return site.port

    yield start
    for runner in runners:
        await runner.cleanup()


async def request(port: int, head: bytes) -> bytes:
    """The whole answer to ``head`` (sent with Connection: close), read until the close."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head + b"Connection: close\r\n\r\n")
        return await asyncio.wait_for(reader.read(), 5.0)
    finally:
        writer.close()


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


async def slowloris(port: int, interval: float) -> tuple[float, bytes]:
    """A request head that never ends, one header byte per ``interval``: the seconds until the
    gateway closes the connection, and what it sent meanwhile."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    opened = time.monotonic()
    writer.write(b"GET / HTTP/1.1\r\nHost: a.test\r\nX-Slow: ")

    async def trickle() -> None:
        for _ in range(int(5.0 / interval)):
            await asyncio.sleep(interval)
            writer.write(b"a")

    trickling = asyncio.create_task(trickle())
    try:
        answer = await asyncio.wait_for(reader.read(), 5.0)
    except ConnectionResetError:
        answer = b""
    finally:
        trickling.cancel()
        writer.close()
    return time.monotonic() - opened, answer


async def test_slowloris_clients_are_cut_off_while_others_are_served(start_gateway: Start) -> None:
    port = await start_gateway(header_timeout=HEADER_TIMEOUT)
    lorises = [asyncio.create_task(slowloris(port, interval=0.2)) for _ in range(50)]
    await asyncio.sleep(0.5)
    served = await request(port, b"GET / HTTP/1.1\r\nHost: a.test\r\n")
    results = await asyncio.gather(*lorises)

    assert status_of(served) == 200 and served.endswith(b"home")
    # Trickling bytes does not buy time: each is closed one header timeout after it opened.
    assert all(answer == b"" for _, answer in results)
    assert all(HEADER_TIMEOUT * 0.9 <= seconds <= HEADER_TIMEOUT + SLACK_SECONDS for seconds, _ in results)


async def test_a_keepalive_connection_gets_the_header_timeout_again_after_each_response(
    start_gateway: Start,
) -> None:
    port = await start_gateway(header_timeout=HEADER_TIMEOUT)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5.0)
        await reader.readexactly(len(b"home"))
        answered = time.monotonic()
        writer.write(b"GET / HTTP/1.1\r\nHost: a.test\r\n")  # and the rest never comes
        rest = await asyncio.wait_for(reader.read(), 5.0)
    finally:
        writer.close()
    assert status_of(head) == 200 and rest == b""
    assert time.monotonic() - answered <= HEADER_TIMEOUT + SLACK_SECONDS


async def test_oversized_request_heads_are_refused(start_gateway: Start) -> None:
    port = await start_gateway(max_header_bytes=1024, max_headers=20)
    fine = b"GET /" + b"a" * 900 + b" HTTP/1.1\r\nHost: a.test\r\nX-Long: " + b"b" * 900 + b"\r\n"
    assert status_of(await request(port, fine)) == 404

    long_line = b"GET /" + b"a" * 1100 + b" HTTP/1.1\r\nHost: a.test\r\n"
    long_field = b"GET / HTTP/1.1\r\nHost: a.test\r\nX-Long: " + b"b" * 1100 + b"\r\n"
    many_fields = b"GET / HTTP/1.1\r\nHost: a.test\r\n" + b"".join(b"X-%d: 1\r\n" % n for n in range(30))
    for head in (long_line, long_field, many_fields):
        assert status_of(await request(port, head)) == 400


async def test_connections_past_the_limit_get_503_until_one_closes(start_gateway: Start) -> None:
    port = await start_gateway(max_connections=5)
    held = [await asyncio.open_connection("127.0.0.1", port) for _ in range(5)]
    try:
        await asyncio.sleep(0.2)  # each joins aiohttp's count when the loop first runs it
        refused = await request(port, b"GET / HTTP/1.1\r\nHost: a.test\r\n")
        assert status_of(refused) == 503
        assert b"Retry-After: 1" in refused

        held.pop()[1].close()
        deadline = time.monotonic() + 5.0
        while status_of(answer := await request(port, b"GET / HTTP/1.1\r\nHost: a.test\r\n")) == 503:
            assert time.monotonic() < deadline, "the closed connection was never counted out"
            await asyncio.sleep(0.05)
        assert status_of(answer) == 200
    finally:
        for _, writer in held:
            writer.close()


async def test_the_gateway_app_offers_each_request_to_its_shortcut_first(aiohttp_client) -> None:
    """``Gateway`` overrides aiohttp's ``Application._handle``: if aiohttp stops calling it, or
    calls it differently, the shortcut is never taken and this fails."""
    passed: list[str] = []

    @web.middleware
    async def middleware(request: web.Request, handler: Callable[..., Awaitable[web.Response]]) -> web.Response:
        passed.append(request.path)
        return await handler(request)

    async def answer(request: web.Request) -> web.StreamResponse:
        return web.Response(text=f"short {request.raw_path}")

    async def routed(request: web.Request) -> web.StreamResponse:
        return web.Response(text=f"routed {request.match_info['path']}")

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # made without a warning
        app = Gateway(middlewares=[middleware])
    app.router.add_get("/{path:.*}", routed)
    app.shortcut = lambda request: answer(request) if request.path == "/fast" else None
    client = await aiohttp_client(app)
    assert await (await client.get("/fast")).text() == "short /fast"
    assert await (await client.get("/slow")).text() == "routed slow"
    assert passed == ["/slow"]
