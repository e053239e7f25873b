"""A body or an answer that came whole with its head is passed on in one piece, anything else
streams (issue 14, forwarding cheaply): whichever way, the backend gets the same request and
the client the same answer. Sent raw, so that the test decides what arrives when."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpServer

from gateway.config import Settings
from gateway.forwarding import proxy
from tests.gateway.forwarding.test_proxy import DEFAULTS, gateway_app

FRAMING = {"content-length", "transfer-encoding"}
# Answers a client gets: all but the Date, which moves with the clock.
Answer = tuple[int, list[tuple[str, str]], bytes]


class Recorder:
    """A backend that records each request, answering ``?size=N`` bytes whole, or, with
    ``&trickle=1``, its head first and the body a moment later."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, list[tuple[str, str]], bytes]] = []
        self.lengths: list[str | None] = []

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.lengths.append(request.headers.get("Content-Length"))
        kept = [(name, value) for name, value in request.headers.items() if name.lower() not in FRAMING]
        self.seen.append((request.method, request.raw_path, kept, body))
        size = int(request.query.get("size", "5"))
        payload = bytes(index % 251 for index in range(size))
        headers = {"Content-Type": "application/octet-stream", "X-Answer": "yes", "Content-Length": str(size)}
        if "trickle" not in request.query:
            return web.Response(body=payload, headers=headers)
        response = web.StreamResponse(headers=headers)
        await response.prepare(request)
        await asyncio.sleep(0.05)
        if request.method != "HEAD":
            await response.write(payload)
        return response


@pytest.fixture
async def gateway(aiohttp_server: AiohttpServer) -> AsyncIterator[tuple[int, Recorder]]:
    recorder = Recorder()
    backend = web.Application()
    backend.router.add_route("*", "/{tail:.*}", recorder.handle)
    backend_server = await aiohttp_server(backend)
    runner = web.AppRunner(gateway_app(f"http://127.0.0.1:{backend_server.port}", DEFAULTS))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield runner.addresses[0][1], recorder
    await runner.cleanup()


async def exchange(port: int, *parts: bytes) -> Answer:
    """Send ``parts`` 50 ms apart on one connection; the answer, read to the connection's end."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for index, part in enumerate(parts):
        if index:
            await asyncio.sleep(0.05)
        writer.write(part)
        await writer.drain()
    raw = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *lines = head.decode().split("\r\n")
    headers = [(name, value.strip()) for name, _, value in (line.partition(":") for line in lines)]
    return int(status_line.split()[1]), [(n, v) for n, v in headers if n.lower() != "date"], body


def request(method: str, target: str, framing: str = "") -> bytes:
    return f"{method} {target} HTTP/1.1\r\nHost: example.com\r\nX-Custom: kept\r\nConnection: close\r\n{framing}\r\n".encode()


def chunked(body: bytes, size: int) -> bytes:
    pieces = [body[start : start + size] for start in range(0, len(body), size)]
    return b"".join(b"%x\r\n%b\r\n" % (len(piece), piece) for piece in pieces) + b"0\r\n\r\n"


@pytest.fixture
def streamed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The answers that took the streaming way, by path."""
    seen: list[str] = []
    stream_body = proxy._stream_body

    async def spy(request: web.Request, response: web.StreamResponse, payload: object) -> None:
        seen.append(request.path_qs)
        await stream_body(request, response, payload)  # type: ignore[arg-type]

    monkeypatch.setattr(proxy, "_stream_body", spy)
    return seen


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("size", [0, 80, 300_000])
async def test_an_answer_whole_or_streamed_reaches_the_client_alike(
    gateway: tuple[int, Recorder], streamed: list[str], method: str, size: int
) -> None:
    port, _ = gateway
    whole = await exchange(port, request(method, f"/api/x?size={size}"))
    trickled = await exchange(port, request(method, f"/api/x?size={size}&trickle=1"))

    assert whole == trickled
    status, headers, body = whole
    assert status == 200
    assert ("Content-Length", str(size)) in headers and ("X-Answer", "yes") in headers
    assert body == (b"" if method == "HEAD" else bytes(index % 251 for index in range(size)))
    # A trickled body streamed; an answer whole with its head did not (a HEAD's has no body,
    # and 300,000 bytes come in more than one read).
    assert (f"/api/x?size={size}&trickle=1" in streamed) == (method == "GET" and size > 0)
    assert (f"/api/x?size={size}" in streamed) == (method == "GET" and size == 300_000)


BODY = bytes(range(256)) * 40


@pytest.mark.parametrize(
    "parts",
    [
        pytest.param((request("POST", "/api/x", f"Content-Length: {len(BODY)}\r\n") + BODY,), id="length, whole"),
        pytest.param((request("POST", "/api/x", f"Content-Length: {len(BODY)}\r\n"), BODY), id="length, trickled"),
        pytest.param((request("POST", "/api/x", "Transfer-Encoding: chunked\r\n") + chunked(BODY, 1000),), id="chunked, whole"),
        pytest.param(
            (request("POST", "/api/x", "Transfer-Encoding: chunked\r\n") + chunked(BODY, 1000)[:3000], chunked(BODY, 1000)[3000:]),
            id="chunked, trickled",
        ),
    ],
)  # fmt: skip
async def test_a_body_whole_or_streamed_reaches_the_backend_alike(
    gateway: tuple[int, Recorder], parts: tuple[bytes, ...]
) -> None:
    port, recorder = gateway

    status, _, body = await exchange(port, *parts)

    assert (status, body) == (200, bytes(range(5)))
    [(method, path, headers, received)] = recorder.seen
    assert (method, path, received) == ("POST", "/api/x", BODY)
    names = [name for name, _ in headers]
    assert ("X-Custom", "kept") in headers and ("X-Tenant-Domain", "example.com") in headers
    assert names.count("Host") == 1 and "Connection" not in names


async def test_without_a_body_a_post_says_length_0_and_a_get_nothing(gateway: tuple[int, Recorder]) -> None:
    # As aiohttp's client framed them before.
    port, recorder = gateway

    for method in ("POST", "GET", "DELETE", "HEAD"):
        await exchange(port, request(method, "/api/x"))

    assert recorder.lengths == ["0", None, "0", None]
    assert [body for *_, body in recorder.seen] == [b""] * 4


async def test_a_chunked_body_in_hand_past_the_limit_is_refused_before_forwarding(
    aiohttp_server: AiohttpServer,
) -> None:
    recorder = Recorder()
    backend = web.Application()
    backend.router.add_route("*", "/{tail:.*}", recorder.handle)
    backend_server = await aiohttp_server(backend)
    runner = web.AppRunner(gateway_app(f"http://127.0.0.1:{backend_server.port}", Settings(max_api_body_bytes=1000)))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        status, _, body = await exchange(
            runner.addresses[0][1], request("POST", "/api/x", "Transfer-Encoding: chunked\r\n") + chunked(BODY, 1000)
        )
    finally:
        await runner.cleanup()

    assert status == 413 and b"payload_too_large" in body
    assert recorder.seen == []
