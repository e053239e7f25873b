"""Forwarding through a real gateway app to a real backend, both on 127.0.0.1."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import ipaddress
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient, AiohttpServer
from yarl import URL

from gateway.config import Settings
from gateway.forwarding.proxy import client_address, create_client_session, forward
from gateway.sites.registry import Site

SITE = Site(name="example.com", root=Path("sites/example.com"))
DEFAULTS = Settings()
UNTRUSTING = Settings(trusted_proxies=())
MB = 1024 * 1024
# Guards against a deadlock hanging the suite; never a claim about speed.
DEADLOCK_GUARD = 30.0

SESSION = web.AppKey("session", aiohttp.ClientSession)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
StartBackend = Callable[[Handler], Awaitable[str]]
GatewayClient = TestClient[web.Request, web.Application]
StartGateway = Callable[..., Awaitable[GatewayClient]]
ServeGateway = Callable[..., Awaitable[str]]
OnConnect = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def gateway_app(upstream: str, settings: Settings, site: Site = SITE) -> web.Application:
    async def client_session(app: web.Application) -> AsyncIterator[None]:
        app[SESSION] = create_client_session(settings)
        yield
        await app[SESSION].close()

    async def handle(request: web.Request) -> web.StreamResponse:
        return await forward(request, site=site, upstream=upstream, session=request.app[SESSION], settings=settings)

    app = web.Application()
    app.cleanup_ctx.append(client_session)
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


@pytest.fixture
def backend(aiohttp_server: AiohttpServer) -> StartBackend:
    async def start(handler: Handler) -> str:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handler)
        server = await aiohttp_server(app)
        return f"http://127.0.0.1:{server.port}"

    return start


@pytest.fixture
def gateway(aiohttp_client: AiohttpClient) -> StartGateway:
    async def start(upstream: str, settings: Settings = DEFAULTS, site: Site = SITE) -> GatewayClient:
        return await aiohttp_client(gateway_app(upstream, settings, site))

    return start


@pytest.fixture
async def served_gateway() -> AsyncIterator[ServeGateway]:
    """The gateway on a plain AppRunner. Production keeps handlers running when a client leaves;
    aiohttp's test server cancels them; both must stay quiet and pass close codes on."""
    runners: list[web.AppRunner] = []

    async def serve(upstream: str, *, handler_cancellation: bool) -> str:
        runner = web.AppRunner(gateway_app(upstream, DEFAULTS), handler_cancellation=handler_cancellation)
        await runner.setup()
        runners.append(runner)
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        return f"http://127.0.0.1:{runner.addresses[0][1]}"

    yield serve
    for runner in runners:
        await runner.cleanup()


def warnings_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING]


def echo_headers_backend(seen: list[web.Request]) -> Handler:
    async def handle(request: web.Request) -> web.Response:
        seen.append(request)
        return web.Response(text="ok")

    return handle


async def raw_server(on_connect: OnConnect) -> tuple[asyncio.Server, str]:
    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}"


async def test_method_path_query_and_body_arrive_unchanged(backend: StartBackend, gateway: StartGateway) -> None:
    seen: dict[str, str] = {}

    async def handle(request: web.Request) -> web.Response:
        seen.update(
            method=request.method,
            target=request.raw_path,
            body=(await request.read()).decode(),
            length=request.headers.get("Content-Length", ""),
        )
        return web.Response(status=201, text="created")

    client = await gateway(await backend(handle))
    response = await client.patch("/api/blog/posts%2Fdraft?page=2&tag=a%20b&tag=c", data=b"hello")

    assert response.status == 201
    assert await response.text() == "created"
    assert seen == {
        "method": "PATCH",
        "target": "/api/blog/posts%2Fdraft?page=2&tag=a%20b&tag=c",
        "body": "hello",
        "length": "5",
    }


async def test_tenant_headers_are_ours_whatever_the_client_claims(backend: StartBackend, gateway: StartGateway) -> None:
    seen: list[web.Request] = []
    client = await gateway(await backend(echo_headers_backend(seen)), Settings(backend_token="s3cret"))

    await client.get(
        "/api/me",
        headers=[
            ("X-Tenant-Domain", "evil.com"),
            ("x-tenant-domain", "evil.org"),
            ("x-site-name", "evil.com"),
            ("X-SITEGATE-TOKEN", "forged"),
        ],
    )

    headers = seen[0].headers
    assert headers.getall("X-Tenant-Domain") == ["example.com"]
    assert headers.getall("X-Site-Name") == ["example.com"]
    assert headers.getall("X-Sitegate-Token") == ["s3cret"]


@pytest.mark.parametrize(
    ("options", "sent"),
    [
        ({}, "closed"),
        ({"auth": MappingProxyType({})}, "closed"),
        ({"auth": MappingProxyType({"registration": "closed"})}, "closed"),
        ({"auth": MappingProxyType({"registration": "open"})}, "open"),
    ],
)
async def test_the_registration_header_is_the_sites_whatever_the_client_claims(
    backend: StartBackend, gateway: StartGateway, options: dict[str, object], sent: str
) -> None:
    seen: list[web.Request] = []
    site = replace(SITE, options=MappingProxyType(options))
    client = await gateway(await backend(echo_headers_backend(seen)), DEFAULTS, site)

    claimed = "closed" if sent == "open" else "open"
    await client.post("/api/auth/register", headers={"x-sitegate-registration": claimed})

    assert seen[0].headers.getall("X-Sitegate-Registration") == [sent]


async def test_client_token_is_dropped_when_none_is_configured(backend: StartBackend, gateway: StartGateway) -> None:
    seen: list[web.Request] = []
    client = await gateway(await backend(echo_headers_backend(seen)))

    await client.get("/api/me", headers={"X-Sitegate-Token": "forged"})

    assert "X-Sitegate-Token" not in seen[0].headers


SPOOFED_FORWARDING = {
    "X-Forwarded-For": "203.0.113.7",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "www.example.com",
    "X-Real-IP": "198.51.100.1",
    "Forwarded": "for=198.51.100.1;host=evil.com",
}


async def test_forwarding_claims_of_an_untrusted_peer_are_replaced(
    backend: StartBackend, gateway: StartGateway
) -> None:
    seen: list[web.Request] = []
    client = await gateway(await backend(echo_headers_backend(seen)), UNTRUSTING)

    await client.get("/api/me", headers=SPOOFED_FORWARDING)

    headers = seen[0].headers
    assert headers["X-Forwarded-For"] == "127.0.0.1"
    assert headers["X-Forwarded-Proto"] == "http"
    assert headers["X-Forwarded-Host"] == f"127.0.0.1:{client.port}"
    assert headers["X-Real-IP"] == "127.0.0.1"
    assert "Forwarded" not in headers


async def test_forwarding_claims_of_a_trusted_proxy_are_kept(backend: StartBackend, gateway: StartGateway) -> None:
    seen: list[web.Request] = []
    client = await gateway(await backend(echo_headers_backend(seen)))

    await client.get("/api/me", headers=SPOOFED_FORWARDING)

    headers = seen[0].headers
    assert headers["X-Forwarded-For"] == "203.0.113.7, 127.0.0.1"
    assert headers["X-Forwarded-Proto"] == "https"
    assert headers["X-Forwarded-Host"] == "www.example.com"
    assert headers["X-Real-IP"] == "203.0.113.7"


async def test_client_address_skips_trusted_hops_from_the_right(aiohttp_client: AiohttpClient) -> None:
    trusted = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("10.0.0.0/8"))

    async def handle(request: web.Request) -> web.Response:
        return web.Response(text=f"{client_address(request, trusted)} {client_address(request, ())}")

    app = web.Application()
    app.router.add_get("/", handle)
    client = await aiohttp_client(app)
    response = await client.get("/", headers={"X-Forwarded-For": "198.51.100.1, 203.0.113.7, 10.0.0.2"})

    assert await response.text() == "203.0.113.7 127.0.0.1"


async def test_hop_by_hop_headers_are_dropped_both_ways(backend: StartBackend, gateway: StartGateway) -> None:
    seen: list[web.Request] = []

    async def handle(request: web.Request) -> web.Response:
        seen.append(request)
        response = web.Response(text="ok")
        response.headers.update(
            {
                "Connection": "X-Upstream-Hop",
                "X-Upstream-Hop": "secret",
                "Keep-Alive": "timeout=5",
                "Proxy-Authenticate": "Basic",
                "X-Kept": "yes",
            }
        )
        return response

    client = await gateway(await backend(handle))
    response = await client.get(
        "/api/me",
        headers={
            "Connection": "keep-alive, X-Client-Hop",
            "X-Client-Hop": "secret",
            "Keep-Alive": "timeout=5",
            "TE": "trailers",
            "Trailer": "X-Checksum",
            "Proxy-Authorization": "Basic c2VjcmV0",
            "Upgrade": "h2c",
            "X-Custom": "kept",
        },
    )

    forwarded = seen[0].headers
    for name in ("X-Client-Hop", "Keep-Alive", "TE", "Trailer", "Proxy-Authorization", "Upgrade"):
        assert name not in forwarded, name
    assert forwarded["X-Custom"] == "kept"
    for name in ("X-Upstream-Hop", "Keep-Alive", "Proxy-Authenticate"):
        assert name not in response.headers, name
    assert response.headers["X-Kept"] == "yes"


async def test_every_set_cookie_reaches_the_client(backend: StartBackend, gateway: StartGateway) -> None:
    async def handle(request: web.Request) -> web.Response:
        response = web.Response(text="ok")
        response.headers.add("Set-Cookie", "session=abc; HttpOnly; Path=/")
        response.headers.add("Set-Cookie", "theme=dark; Path=/")
        return response

    client = await gateway(await backend(handle))
    response = await client.get("/api/login")

    assert response.headers.getall("Set-Cookie") == ["session=abc; HttpOnly; Path=/", "theme=dark; Path=/"]


async def test_redirects_are_passed_on_not_followed(backend: StartBackend, gateway: StartGateway) -> None:
    async def handle(request: web.Request) -> web.Response:
        raise web.HTTPFound("/api/elsewhere")

    client = await gateway(await backend(handle))
    response = await client.get("/api/old", allow_redirects=False)

    assert response.status == 302
    assert response.headers["Location"] == "/api/elsewhere"


async def test_a_large_upload_streams_through(backend: StartBackend, gateway: StartGateway) -> None:
    first_chunk_arrived = asyncio.Event()
    digest = hashlib.sha256()
    chunk = bytes(range(256)) * 4096

    async def handle(request: web.Request) -> web.Response:
        received = hashlib.sha256()
        async for piece in request.content.iter_any():
            received.update(piece)
            first_chunk_arrived.set()
        return web.Response(text=received.hexdigest())

    async def body() -> AsyncIterator[bytes]:
        for index in range(20):
            digest.update(chunk)
            yield chunk
            if index == 0:
                # The backend sees the start of the upload while the client still holds the rest.
                await asyncio.wait_for(first_chunk_arrived.wait(), DEADLOCK_GUARD)

    client = await gateway(await backend(handle))
    response = await client.post("/api/media", data=body())

    assert response.status == 200
    assert await response.text() == digest.hexdigest()


async def test_a_large_download_streams_through(backend: StartBackend, gateway: StartGateway) -> None:
    client_has_first_chunk = asyncio.Event()
    chunk = b"x" * MB

    async def handle(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.content_length = 20 * MB
        await response.prepare(request)
        for index in range(20):
            if index == 19:
                # The client reads the start of the body before the backend sends its end.
                await asyncio.wait_for(client_has_first_chunk.wait(), DEADLOCK_GUARD)
            await response.write(chunk)
        return response

    client = await gateway(await backend(handle))
    response = await client.get("/api/media/big")
    received = len(await response.content.readexactly(MB))
    client_has_first_chunk.set()
    received += len(await response.read())

    assert response.headers["Content-Length"] == str(20 * MB)
    assert received == 20 * MB


async def test_compressed_bodies_pass_through_untouched(backend: StartBackend, gateway: StartGateway) -> None:
    compressed = gzip.compress(b"hello " * 1000)
    accept_encodings: list[str | None] = []

    async def handle(request: web.Request) -> web.Response:
        accept_encodings.append(request.headers.get("Accept-Encoding"))
        return web.Response(body=compressed, headers={"Content-Encoding": "gzip", "Content-Type": "text/plain"})

    client = await gateway(await backend(handle))
    response = await client.get("/api/text", headers={"Accept-Encoding": "gzip"}, auto_decompress=False)
    await client.get("/api/text", skip_auto_headers=["Accept-Encoding"])

    assert response.headers["Content-Encoding"] == "gzip"
    assert response.headers["Content-Length"] == str(len(compressed))
    assert await response.read() == compressed
    assert accept_encodings == ["gzip", None]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(
    "upstream",
    [
        pytest.param(lambda: f"http://127.0.0.1:{closed_port()}", id="refused"),
        # .invalid never resolves (RFC 2606); without DNS at all the connect timeout ends it.
        pytest.param(lambda: "http://sitegate-test.invalid:8000", id="no-such-host"),
    ],
)
async def test_an_unreachable_backend_is_a_bad_gateway(gateway: StartGateway, upstream: Callable[[], str]) -> None:
    client = await gateway(upstream(), Settings(proxy_connect_timeout=2.0))

    response = await client.get("/api/posts")

    assert response.status == 502
    assert (await response.json())["error"]["code"] == "bad_gateway"


async def test_a_silent_backend_is_a_gateway_timeout(gateway: StartGateway) -> None:
    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()
        writer.close()

    server, url = await raw_server(never_answer)
    async with server:
        client = await gateway(url, Settings(proxy_read_timeout=0.3))
        response = await client.get("/api/posts")

        assert response.status == 504
        assert (await response.json())["error"]["code"] == "gateway_timeout"


@pytest.mark.parametrize(
    "head, partial_body",
    [
        (b"Content-Length: 1000", b"only a little"),
        (b"Transfer-Encoding: chunked", b"d\r\nonly a little\r\n"),
    ],
)
async def test_a_backend_dropping_mid_body_cuts_the_client_off(
    gateway: StartGateway, head: bytes, partial_body: bytes
) -> None:
    async def drop_mid_body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\n" + head + b"\r\n\r\n" + partial_body)
        await writer.drain()
        writer.close()

    server, url = await raw_server(drop_mid_body)
    async with server:
        client = await gateway(url)
        response = await client.get("/api/file")

        assert response.status == 200
        with pytest.raises(aiohttp.ClientPayloadError):
            await response.read()


@pytest.mark.parametrize("handler_cancellation", [False, True])
async def test_a_client_leaving_mid_download_is_quiet(
    backend: StartBackend, served_gateway: ServeGateway, caplog: pytest.LogCaptureFixture, handler_cancellation: bool
) -> None:
    backend_stopped = asyncio.Event()

    async def handle(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        try:
            while True:
                await response.write(b"x" * 65536)
        except ConnectionError:
            return response
        finally:
            backend_stopped.set()

    url = await served_gateway(await backend(handle), handler_cancellation=handler_cancellation)
    with caplog.at_level(logging.WARNING):
        async with aiohttp.ClientSession() as session:
            response = await session.get(f"{url}/api/stream")
            await response.content.readexactly(65536)
            response.close()
        await asyncio.wait_for(backend_stopped.wait(), DEADLOCK_GUARD)

    assert warnings_logged(caplog) == []


@pytest.mark.parametrize("handler_cancellation", [False, True])
async def test_a_client_leaving_mid_upload_is_quiet(
    backend: StartBackend, served_gateway: ServeGateway, caplog: pytest.LogCaptureFixture, handler_cancellation: bool
) -> None:
    upload_started = asyncio.Event()
    backend_stopped = asyncio.Event()

    async def handle(request: web.Request) -> web.Response:
        try:
            async for _ in request.content.iter_any():
                upload_started.set()
        except ConnectionError:
            pass
        finally:
            backend_stopped.set()
        return web.Response()

    url = await served_gateway(await backend(handle), handler_cancellation=handler_cancellation)
    with caplog.at_level(logging.WARNING):
        reader, writer = await asyncio.open_connection("127.0.0.1", URL(url).port)
        writer.write(b"POST /api/media HTTP/1.1\r\nHost: example.com\r\nContent-Length: 10000000\r\n\r\n")
        writer.write(b"x" * 65536)
        await asyncio.wait_for(upload_started.wait(), DEADLOCK_GUARD)
        writer.close()
        await asyncio.wait_for(backend_stopped.wait(), DEADLOCK_GUARD)

    assert warnings_logged(caplog) == []


async def test_dot_segments_are_refused(gateway: StartGateway) -> None:
    client = await gateway("http://127.0.0.1:9")
    reader, writer = await asyncio.open_connection("127.0.0.1", client.port)
    writer.write(b"GET /api/../admin HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n")
    answer = await reader.read()
    writer.close()

    assert answer.startswith(b"HTTP/1.1 400 ")
    assert b'"bad_request"' in answer
