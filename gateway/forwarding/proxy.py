"""Forwarding a request to an upstream HTTP server: the shared backend for ``/api``, or a site's
dev server. Requests go on kept-alive connections (``gateway.forwarding.upstream``); a body or
an answer that came whole with its head is passed on in one piece, anything longer streams
both ways; WebSockets are relayed (``gateway.forwarding.websocket_relay``); and the tenant
headers (and whether the site takes sign-ups) are always ours, never the client's
(``gateway.forwarding.headers``).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterable
from typing import Any

import aiohttp
from aiohttp import web
from multidict import CIMultiDict
from yarl import URL

from gateway.config import Settings
from gateway.forwarding.body import BoundedBody, Refusal, declared_too_large, received_whole
from gateway.forwarding.framing import send_and_close
from gateway.forwarding.headers import Headers, client_address, downstream_headers, upstream_headers
from gateway.forwarding.upstream import UpstreamPool
from gateway.forwarding.websocket_relay import is_websocket_request, relay_websocket
from gateway.sites.registry import Site

__all__ = ["UPSTREAM_FAILED", "client_address", "create_client_session", "forward"]

_log = logging.getLogger(__name__)

# Set on a request answered 502/504 by us because the upstream failed, as opposed to an
# upstream's own 502, for the metrics.
UPSTREAM_FAILED = web.RequestKey("upstream_failed", bool)

# Left to aiohttp these would be invented for the client: an Accept-Encoding the client never
# sent would bring back compressed bodies it cannot read, since we do not decompress.
_NO_AUTO_HEADERS = frozenset({"User-Agent", "Accept", "Accept-Encoding", "Content-Type"})


class _Connector(aiohttp.TCPConnector):
    """aiohttp's connector (for WebSockets, and a build's ``[data]``) holding beside it the
    pool that forwarded requests go on, so that closing the session closes both."""

    def __init__(self, upstreams: UpstreamPool, **options: Any) -> None:
        super().__init__(**options)
        self.upstreams = upstreams

    def close(self, *args: Any, **kwargs: Any) -> Any:
        self.upstreams.close()
        return super().close(*args, **kwargs)


def create_client_session(settings: Settings) -> aiohttp.ClientSession:
    """The one session every forwarded request shares; create it inside the running loop."""
    upstreams = UpstreamPool(connect_timeout=settings.proxy_connect_timeout, read_timeout=settings.proxy_read_timeout)
    # No pool limit: WebSockets and slow downloads each hold a connection for long, and a limit
    # would turn them into 502s for everybody else once it is reached.
    connector = _Connector(upstreams, limit=0, limit_per_host=0)
    timeout = aiohttp.ClientTimeout(
        total=None,
        connect=settings.proxy_connect_timeout,
        sock_read=settings.proxy_read_timeout,
    )
    return aiohttp.ClientSession(
        connector=connector,
        timeout=timeout,
        auto_decompress=False,
        cookie_jar=aiohttp.DummyCookieJar(),
        skip_auto_headers=_NO_AUTO_HEADERS,
        trust_env=False,
    )


def _upstreams(session: aiohttp.ClientSession) -> UpstreamPool:
    connector = session.connector
    if not isinstance(connector, _Connector):
        raise TypeError("forward() takes the session create_client_session made")
    return connector.upstreams


async def forward(
    request: web.Request,
    *,
    site: Site,
    upstream: str,
    session: aiohttp.ClientSession,
    settings: Settings,
) -> web.StreamResponse:
    """Send ``request`` to ``upstream`` (a base URL) under the same path and query, and return
    the upstream's answer; a 502 or 504 JSON error when there is none."""
    target = request.rel_url
    if _has_dot_segment(target.path):
        return _error(400, "bad_request", "the path must not contain '.' or '..' segments")
    too_large = declared_too_large(request.content_length, settings.max_api_body_bytes)
    if too_large is not None:
        return await _refuse(request, too_large)
    headers = upstream_headers(request, site=site, settings=settings)
    body = BoundedBody(request.content, max_bytes=settings.max_api_body_bytes, idle_timeout=settings.body_timeout)
    try:
        if is_websocket_request(request):
            url = URL(upstream.rstrip("/") + target.raw_path_qs, encoded=True)
            return await relay_websocket(request, url, CIMultiDict(headers), session)
        content, length = _request_body(request, body)
        if isinstance(content, bytes) and (too_large := declared_too_large(length, settings.max_api_body_bytes)):
            return await _refuse(request, too_large)
        return await _forward_http(request, _upstreams(session), upstream, headers, content, length)
    except aiohttp.ClientError as error:
        if body.refusal is not None:
            return await _refuse(request, body.refusal)
        # A client leaving mid-upload breaks the upstream request too; that is no upstream fault.
        level = logging.DEBUG if _client_gone(request) else logging.WARNING
        _log.log(level, "%s: %s %s via %s failed: %r", site.name, request.method, request.path, upstream, error)
        request[UPSTREAM_FAILED] = True
        return _upstream_error(error)


def _request_body(request: web.Request, body: BoundedBody) -> tuple[bytes | AsyncIterable[bytes] | None, int | None]:
    """What to send upstream and its length: the body whole if all of it came with the head
    (as a small request's does), else its chunks as they come (chunked when of unknown length)."""
    if not request.body_exists:
        return None, 0
    whole = received_whole(request.content)
    if whole is not None:
        return whole, len(whole)
    return body.chunks(), request.content_length


async def _forward_http(
    request: web.Request,
    upstreams: UpstreamPool,
    upstream: str,
    headers: Headers,
    content: bytes | AsyncIterable[bytes] | None,
    length: int | None,
) -> web.StreamResponse:
    exchange = await upstreams.send(upstream, request.method, request.rel_url.raw_path_qs, headers, content, length)
    try:
        message, payload = exchange.message, exchange.payload
        assert message is not None and payload is not None
        answer_headers = downstream_headers(message.headers)
        if payload.is_eof():
            # The whole answer came with its head: one Response, written in one go.
            whole = payload.read_nowait()
            return web.Response(status=message.code, reason=message.reason, headers=answer_headers, body=whole or None)
        response = web.StreamResponse(status=message.code, reason=message.reason, headers=answer_headers)
        await _stream_body(request, response, payload)
        return response
    finally:
        exchange.release()


async def _stream_body(request: web.Request, response: web.StreamResponse, payload: aiohttp.StreamReader) -> None:
    """Copy the upstream body to the client chunk by chunk, as it arrives."""
    try:
        await response.prepare(request)
    except ConnectionError:
        return
    while True:
        try:
            chunk = await payload.readany()
        except (aiohttp.ClientError, OSError) as error:
            # The status line is already sent; cutting the connection is the only way left to
            # tell the client its body is incomplete.
            _log.warning("upstream body of %s %s broke off: %r", request.method, request.path, error)
            _abort(request)
            return
        if not chunk:
            return
        try:
            await response.write(chunk)
        except ConnectionError:
            _log.debug("client went away during %s %s", request.method, request.path)
            return


def _has_dot_segment(path: str) -> bool:
    # The upstream may resolve "/api/../admin" to "/admin", outside the prefix we forward.
    return any(segment in (".", "..") for segment in path.split("/"))


def _upstream_error(error: aiohttp.ClientError) -> web.Response:
    if isinstance(error, aiohttp.ConnectionTimeoutError):
        return _error(502, "bad_gateway", "the upstream server could not be reached in time")
    if isinstance(error, aiohttp.ServerTimeoutError):
        return _error(504, "gateway_timeout", "the upstream server did not answer in time")
    if isinstance(error, aiohttp.WSServerHandshakeError):
        return _error(502, "bad_gateway", f"the upstream server refused the WebSocket upgrade ({error.status})")
    return _error(502, "bad_gateway", "the upstream server could not be reached or gave no valid answer")


def _client_gone(request: web.BaseRequest) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


def _abort(request: web.BaseRequest) -> None:
    transport = request.transport
    if transport is not None:
        transport.close()


async def _refuse(request: web.Request, refusal: Refusal) -> web.Response:
    return await send_and_close(request, _error(refusal.status, refusal.code, refusal.message))


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)
