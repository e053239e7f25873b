"""Relaying a WebSocket between a client and an upstream (the backend's ``/api`` sockets, a
framework dev server's hot reload), message by message, close codes included."""

from __future__ import annotations

import asyncio
import logging

import aiohttp
from aiohttp import WSMsgType, hdrs, web
from multidict import CIMultiDict
from yarl import URL

from gateway.serving.negotiation import comma_list

_log = logging.getLogger(__name__)

_WebSocket = web.WebSocketResponse | aiohttp.ClientWebSocketResponse

# aiohttp's WebSocket client writes its own handshake; the client's would contradict it.
_WEBSOCKET_HANDSHAKE_HEADERS = frozenset(
    {"sec-websocket-key", "sec-websocket-version", "sec-websocket-extensions", "sec-websocket-protocol",
     "sec-websocket-accept"}
)
# Close codes that describe a lost connection and may not be sent in a close frame (RFC 6455 7.4.1).
_UNSENDABLE_CLOSE_CODES = frozenset({1005, 1006, 1015})
# As long as aiohttp itself waits for the other end's close frame.
_WEBSOCKET_CLOSE_GRACE = 10.0
# Pings on both legs of a relayed WebSocket: a peer that vanished without closing (a laptop
# lid shut, a dropped network) is noticed, and its other leg closed, instead of held forever.
WEBSOCKET_HEARTBEAT = 30.0


def is_websocket_request(request: web.BaseRequest) -> bool:
    upgrade = {token.strip().lower() for token in request.headers.get(hdrs.UPGRADE, "").split(",")}
    return request.method == hdrs.METH_GET and "websocket" in upgrade


async def relay_websocket(
    request: web.Request, url: URL, headers: CIMultiDict[str], session: aiohttp.ClientSession
) -> web.StreamResponse:
    """Open the upstream's socket with ``headers`` (already the ones to send), then the client's,
    and pass messages both ways until one side closes."""
    for name in _WEBSOCKET_HANDSHAKE_HEADERS:
        headers.popall(name, None)
    # The upstream picks the subprotocol; the client is then offered only that one, so both
    # ends agree on it.
    protocols = comma_list(request.headers, hdrs.SEC_WEBSOCKET_PROTOCOL)
    async with session.ws_connect(
        url, headers=headers, protocols=protocols, heartbeat=WEBSOCKET_HEARTBEAT
    ) as upstream_ws:
        client_ws = web.WebSocketResponse(
            protocols=(upstream_ws.protocol,) if upstream_ws.protocol else (), heartbeat=WEBSOCKET_HEARTBEAT
        )
        await client_ws.prepare(request)
        relays = asyncio.gather(_relay(client_ws, upstream_ws), _relay(upstream_ws, client_ws))
        try:
            await asyncio.shield(relays)
        except asyncio.CancelledError:
            # aiohttp can cancel the handler as the client's connection drops, with its close
            # frame received but not yet relayed; the relays finish by themselves and pass it on.
            await asyncio.wait((relays,), timeout=_WEBSOCKET_CLOSE_GRACE)
            raise
        finally:
            relays.cancel()
        return client_ws


async def _relay(source: _WebSocket, target: _WebSocket) -> None:
    """Pass messages from one WebSocket to the other until ``source`` closes, then close
    ``target`` with the same code and reason."""
    reason = b""
    try:
        while True:
            message = await source.receive()
            if message.type is WSMsgType.TEXT:
                await target.send_str(message.data)
            elif message.type is WSMsgType.BINARY:
                await target.send_bytes(message.data)
            elif message.type is WSMsgType.CLOSE:
                reason = (message.extra or "").encode()
                break
            elif message.type in (WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                break
        await target.close(code=_close_code(source.close_code), message=reason)
    except ConnectionResetError:
        _log.debug("WebSocket peer went away while relaying")


def _close_code(code: int | None) -> int:
    if code is None or code == 1005:
        return 1000
    if code in _UNSENDABLE_CLOSE_CODES:
        return 1011
    return code
