"""WebSockets relayed through the gateway's proxy: messages, close codes, subprotocols, refused
upgrades, idle sockets and vanished peers."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import aiohttp
import pytest
from aiohttp import WSMsgType, web

from gateway.forwarding import websocket_relay
from tests.gateway.forwarding.test_proxy import (
    DEADLOCK_GUARD,
    DEFAULTS,
    Handler,
    ServeGateway,
    StartBackend,
    StartGateway,
    backend,
    gateway,
    served_gateway,
)

__all__ = ["backend", "gateway", "served_gateway"]


def ws_backend(seen: list[web.Request], close_codes: asyncio.Queue[int | None]) -> Handler:
    async def handle(request: web.Request) -> web.WebSocketResponse:
        seen.append(request)
        ws = web.WebSocketResponse(protocols=("v2",))
        await ws.prepare(request)
        async for message in ws:
            if message.type is WSMsgType.TEXT and message.data == "close-me":
                await ws.close(code=4001, message=b"bye")
            elif message.type is WSMsgType.TEXT:
                await ws.send_str(f"echo {message.data}")
            elif message.type is WSMsgType.BINARY:
                await ws.send_bytes(message.data[::-1])
        close_codes.put_nowait(ws.close_code)
        return ws

    return handle


@pytest.mark.parametrize("handler_cancellation", [False, True])
async def test_websocket_messages_and_client_close_code_pass_through(
    backend: StartBackend, served_gateway: ServeGateway, handler_cancellation: bool
) -> None:
    seen: list[web.Request] = []
    close_codes: asyncio.Queue[int | None] = asyncio.Queue()
    url = await served_gateway(await backend(ws_backend(seen, close_codes)), handler_cancellation=handler_cancellation)

    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(
            f"{url}/api/live", protocols=("v1", "v2"), headers={"X-Tenant-Domain": "evil.com"}
        )
        await ws.send_str("hi")
        text = await ws.receive_str()
        await ws.send_bytes(b"\x00\x01\x02")
        binary = await ws.receive_bytes()
        await ws.close(code=4002)

    assert ws.protocol == "v2"
    assert (text, binary) == ("echo hi", b"\x02\x01\x00")
    assert await asyncio.wait_for(close_codes.get(), DEADLOCK_GUARD) == 4002
    assert seen[0].headers.getall("X-Tenant-Domain") == ["example.com"]
    assert seen[0].headers["X-Site-Name"] == "example.com"
    assert seen[0].headers["X-Forwarded-For"] == "127.0.0.1"


async def test_websocket_close_from_the_backend_reaches_the_client(
    backend: StartBackend, gateway: StartGateway
) -> None:
    client = await gateway(await backend(ws_backend([], asyncio.Queue())))

    ws = await client.ws_connect("/api/live")
    await ws.send_str("close-me")
    message = await ws.receive()

    assert message.type is WSMsgType.CLOSE
    assert (message.data, message.extra) == (4001, "bye")


async def test_a_refused_websocket_upgrade_is_a_bad_gateway(backend: StartBackend, gateway: StartGateway) -> None:
    async def handle(request: web.Request) -> web.Response:
        raise web.HTTPForbidden()

    client = await gateway(await backend(handle))
    handshake = {
        "Connection": "Upgrade",
        "Upgrade": "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    }
    response = await client.get("/api/live", headers=handshake)

    assert response.status == 502
    assert (await response.json())["error"]["code"] == "bad_gateway"


async def test_an_idle_websocket_outlives_the_read_timeout(backend: StartBackend, gateway: StartGateway) -> None:
    """A live-reload or HMR socket may say nothing for minutes; the read timeout is for answers."""
    client = await gateway(await backend(ws_backend([], asyncio.Queue())), replace(DEFAULTS, proxy_read_timeout=0.5))
    ws = await client.ws_connect("/api/live")
    await asyncio.sleep(1.5)
    await ws.send_str("still there")
    assert await asyncio.wait_for(ws.receive_str(), DEADLOCK_GUARD) == "echo still there"
    await ws.close()


async def test_a_relayed_websocket_pings_its_client_and_closes_on_one_that_vanished(
    backend: StartBackend, gateway: StartGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(websocket_relay, "WEBSOCKET_HEARTBEAT", 0.3)
    close_codes: asyncio.Queue[int | None] = asyncio.Queue()
    client = await gateway(await backend(ws_backend([], close_codes)))
    # A client that never answers pings, as one gone without a word.
    ws = await client.ws_connect("/api/live", autoping=False)
    message = await asyncio.wait_for(ws.receive(), DEADLOCK_GUARD)
    assert message.type is WSMsgType.PING
    # No pong: the gateway gives up on the client and closes the backend's leg too.
    assert await asyncio.wait_for(close_codes.get(), DEADLOCK_GUARD) is not None
