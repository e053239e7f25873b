"""The pool of kept-alive connections forwarded requests go on, against raw upstreams that
show what it sends and answer as the test says."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest

from gateway.forwarding.upstream import Exchange, UpstreamPool, origin_of, request_head

Answer = Callable[[int, bytes], Awaitable[bytes | None]]
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


class RawUpstream:
    """Answers each request (by its number on its connection, from 0) with what ``answer``
    returns; None closes the connection unanswered. Records the connections and requests."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.connections = 0
        self.requests: list[bytes] = []
        self.server: asyncio.Server | None = None

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            for number in range(100):
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line[15:]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")), 0)
                self.requests.append(head + await reader.readexactly(length))
                reply = await self.answer(number, head)
                if reply is None:
                    break
                writer.write(reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()


@pytest.fixture
async def pool() -> AsyncIterator[UpstreamPool]:
    upstreams = UpstreamPool(connect_timeout=2.0, read_timeout=0.5)
    yield upstreams
    upstreams.close()


async def fetch(pool: UpstreamPool, upstream: str, method: str = "GET", body: bytes | None = None) -> tuple[int, bytes]:
    exchange: Exchange = await pool.send(upstream, method, "/api/x", [], body, len(body or b""))
    try:
        assert exchange.message is not None and exchange.payload is not None
        return exchange.message.code, await exchange.payload.read()
    finally:
        exchange.release()


async def test_a_connection_is_kept_for_the_next_request(pool: UpstreamPool) -> None:
    async def ok(number: int, head: bytes) -> bytes:
        return OK

    upstream = RawUpstream(ok)
    url = await upstream.start()

    assert [await fetch(pool, url) for _ in range(3)] == [(200, b"ok")] * 3
    assert upstream.connections == 1


@pytest.mark.parametrize(
    "reply",
    [
        pytest.param(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", id="connection close"),
        pytest.param(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", id="HTTP/1.0"),
    ],
)
async def test_a_connection_the_upstream_will_close_is_not_kept(pool: UpstreamPool, reply: bytes) -> None:
    async def answer(number: int, head: bytes) -> bytes:
        return reply

    upstream = RawUpstream(answer)
    url = await upstream.start()

    assert [await fetch(pool, url) for _ in range(2)] == [(200, b"ok")] * 2
    assert upstream.connections == 2


async def test_an_answer_without_a_length_is_read_to_the_close(pool: UpstreamPool) -> None:
    async def until_close(number: int, head: bytes) -> bytes:
        return b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + b"x" * 100_000

    async def close_after(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(await until_close(0, b""))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(close_after, "127.0.0.1", 0)
    async with server:
        url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        assert await fetch(pool, url) == (200, b"x" * 100_000)


async def test_an_interim_answer_is_skipped(pool: UpstreamPool) -> None:
    async def early_hints(number: int, head: bytes) -> bytes:
        return b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n" + OK

    upstream = RawUpstream(early_hints)
    assert await fetch(pool, await upstream.start()) == (200, b"ok")


@pytest.mark.parametrize(("method", "sent_again"), [("GET", True), ("PUT", True), ("POST", False)])
async def test_a_kept_connection_found_closed_is_retried_once_for_idempotent_methods(
    pool: UpstreamPool, method: str, sent_again: bool
) -> None:
    async def first_only(number: int, head: bytes) -> bytes | None:
        return OK if number == 0 else None  # drops a kept connection as its next request comes

    upstream = RawUpstream(first_only)
    url = await upstream.start()
    assert await fetch(pool, url) == (200, b"ok")

    if sent_again:
        assert await fetch(pool, url, method, b"{}") == (200, b"ok")
    else:
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await fetch(pool, url, method, b"{}")
    assert upstream.connections == (2 if sent_again else 1)


async def test_an_idle_connection_past_its_time_is_not_used(pool: UpstreamPool) -> None:
    async def ok(number: int, head: bytes) -> bytes:
        return OK

    upstream = RawUpstream(ok)
    url = await upstream.start()
    pool.idle_seconds = 0.05
    await fetch(pool, url)
    await asyncio.sleep(0.1)
    await fetch(pool, url)

    assert upstream.connections == 2


async def test_an_upstream_silent_mid_body_fails_the_body_within_the_read_timeout(pool: UpstreamPool) -> None:
    async def stall(number: int, head: bytes) -> bytes:
        return b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"  # and then nothing

    upstream = RawUpstream(stall)
    exchange = await pool.send(await upstream.start(), "GET", "/api/x", [], None, 0)
    try:
        assert exchange.payload is not None
        started = asyncio.get_running_loop().time()
        with pytest.raises(aiohttp.ServerTimeoutError):
            await exchange.payload.read()
        assert asyncio.get_running_loop().time() - started < 2.0
    finally:
        exchange.release()


async def test_a_streamed_body_is_sent_in_chunks_after_the_head(pool: UpstreamPool) -> None:
    async def ok(number: int, head: bytes) -> bytes:
        return OK

    upstream = RawUpstream(ok)
    url = await upstream.start()

    async def chunks() -> AsyncIterator[bytes]:
        yield b"hello "
        yield b""
        yield b"world"

    exchange = await pool.send(url, "POST", "/api/x", [("X-A", "1")], chunks(), None)
    exchange.release()
    await asyncio.sleep(0.05)  # the raw upstream reads up to the head only; the rest is on the wire

    head = upstream.requests[0]
    assert head.startswith(b"POST /api/x HTTP/1.1\r\nHost: 127.0.0.1:")
    assert b"\r\nX-A: 1\r\nTransfer-Encoding: chunked\r\n\r\n" in head


def test_the_request_head_frames_the_body_and_names_the_upstream() -> None:
    origin = origin_of("http://backend.internal/prefix/")
    headers = [("X-A", "1")]

    assert request_head("GET", "/api/x?q=1", origin, headers, 0) == (
        b"GET /prefix/api/x?q=1 HTTP/1.1\r\nHost: backend.internal\r\nX-A: 1\r\n\r\n"
    )
    assert request_head("POST", "/api", origin_of("http://[::1]:8000"), [], 0) == (
        b"POST /api HTTP/1.1\r\nHost: [::1]:8000\r\nContent-Length: 0\r\n\r\n"
    )
    assert request_head("PUT", "/api", origin, [], 5).endswith(b"\r\nContent-Length: 5\r\n\r\n")
    assert request_head("PUT", "/api", origin, [], None).endswith(b"\r\nTransfer-Encoding: chunked\r\n\r\n")
    with pytest.raises(ValueError, match="line break"):
        request_head("GET", "/api", origin, [("X-A", "1\r\nX-Injected: 1")], 0)


async def test_a_streamed_body_goes_on_a_new_connection(pool: UpstreamPool) -> None:
    # It cannot be sent again if a kept connection turns out closed.
    async def ok(number: int, head: bytes) -> bytes:
        return OK

    upstream = RawUpstream(ok)
    url = await upstream.start()
    assert await fetch(pool, url) == (200, b"ok")

    async def chunks() -> AsyncIterator[bytes]:
        yield b"{}"

    exchange = await pool.send(url, "POST", "/api/x", [], chunks(), 2)
    exchange.release()

    assert upstream.connections == 2
