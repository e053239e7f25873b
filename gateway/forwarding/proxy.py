"""Forwarding a request to an upstream HTTP server: the shared backend for ``/api``, or a site's
dev server. Bodies stream both ways, WebSockets are relayed (``gateway.forwarding.websocket_relay``), and
the tenant headers (and whether the site takes sign-ups) are always ours, never the client's.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable

import aiohttp
from aiohttp import hdrs, web
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from gateway.config import IpNetwork, Settings
from gateway.forwarding.body import BoundedBody, Refusal, declared_too_large
from gateway.forwarding.framing import send_and_close
from gateway.forwarding.websocket_relay import is_websocket_request, relay_websocket
from gateway.serving.negotiation import comma_list
from gateway.sites.auth_options import registration
from gateway.sites.registry import Site

_log = logging.getLogger(__name__)

_IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Set on a request answered 502/504 by us because the upstream failed, as opposed to an
# upstream's own 502, for the metrics.
UPSTREAM_FAILED = web.RequestKey("upstream_failed", bool)

_HOP_BY_HOP_HEADERS = frozenset(
    {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection", "te", "trailer",
     "transfer-encoding", "upgrade"}
)
# Headers the gateway writes itself, so a client's copy must never reach the upstream. Host is
# the upstream's own; Expect was already answered by our server; Forwarded would be a second,
# unchecked account of the client next to X-Forwarded-*.
_REPLACED_REQUEST_HEADERS = frozenset(
    {"host", "expect", "forwarded", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-real-ip",
     "x-tenant-domain", "x-site-name", "x-sitegate-token", "x-sitegate-registration"}
)
# Left to aiohttp these would be invented for the client: an Accept-Encoding the client never
# sent would bring back compressed bodies it cannot read, since we do not decompress.
_NO_AUTO_HEADERS = frozenset({hdrs.USER_AGENT, hdrs.ACCEPT, hdrs.ACCEPT_ENCODING, hdrs.CONTENT_TYPE})


def create_client_session(settings: Settings) -> aiohttp.ClientSession:
    """The one session every forwarded request shares; create it inside the running loop."""
    # No pool limit: WebSockets and slow downloads each hold a connection for long, and a limit
    # would turn them into 502s for everybody else once it is reached.
    connector = aiohttp.TCPConnector(limit=0, limit_per_host=0)
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


async def forward(
    request: web.Request,
    *,
    site: Site,
    upstream: str,
    session: aiohttp.ClientSession,
    settings: Settings,
) -> web.StreamResponse:
    """Send ``request`` to ``upstream`` (a base URL) under the same path and query, and return
    the upstream's answer as it streams in; a 502 or 504 JSON error when there is none."""
    target = request.rel_url
    if _has_dot_segment(target.path):
        return _error(400, "bad_request", "the path must not contain '.' or '..' segments")
    too_large = declared_too_large(request.content_length, settings.max_api_body_bytes)
    if too_large is not None:
        return await _refuse(request, too_large)
    url = URL(upstream.rstrip("/") + target.raw_path_qs, encoded=True)
    headers = _upstream_headers(request, site=site, settings=settings)
    body = BoundedBody(request.content, max_bytes=settings.max_api_body_bytes, idle_timeout=settings.body_timeout)
    try:
        if is_websocket_request(request):
            return await relay_websocket(request, url, headers, session)
        return await _forward_http(request, url, headers, session, body)
    except aiohttp.ClientError as error:
        if body.refusal is not None:
            return await _refuse(request, body.refusal)
        # A client leaving mid-upload breaks the upstream request too; that is no upstream fault.
        level = logging.DEBUG if _client_gone(request) else logging.WARNING
        _log.log(level, "%s: %s %s via %s failed: %r", site.name, request.method, request.path, upstream, error)
        request[UPSTREAM_FAILED] = True
        return _upstream_error(error)


def client_address(request: web.BaseRequest, trusted: Iterable[IpNetwork]) -> str:
    """The address of the client behind any trusted proxies.

    A trusted proxy's X-Forwarded-For is read from the right, skipping the hops that are
    trusted proxies themselves; anything further left could be made up by the client.
    """
    trusted = tuple(trusted)
    peer = _peer_address(request)
    if peer is None or not _is_trusted(peer, trusted):
        return _peer_text(request)
    address = peer
    for hop in reversed(comma_list(request.headers, hdrs.X_FORWARDED_FOR)):
        hop_address = _parse_ip(hop)
        if hop_address is None:
            break
        address = hop_address
        if not _is_trusted(hop_address, trusted):
            break
    return str(address)


def _upstream_headers(request: web.BaseRequest, *, site: Site, settings: Settings) -> CIMultiDict[str]:
    """The headers to send upstream: the client's end-to-end ones, then ours on top."""
    dropped = _hop_by_hop(request.headers) | _REPLACED_REQUEST_HEADERS
    headers: CIMultiDict[str] = CIMultiDict(
        (name, value) for name, value in request.headers.items() if name.lower() not in dropped
    )
    headers["X-Tenant-Domain"] = site.name
    headers["X-Site-Name"] = site.name
    headers["X-Sitegate-Registration"] = registration(site.options)
    if settings.backend_token:
        headers["X-Sitegate-Token"] = settings.backend_token

    peer = _peer_address(request)
    from_trusted_proxy = peer is not None and _is_trusted(peer, settings.trusted_proxies)
    chain = comma_list(request.headers, hdrs.X_FORWARDED_FOR) if from_trusted_proxy else []
    headers[hdrs.X_FORWARDED_FOR] = ", ".join([*chain, _peer_text(request)])
    claimed_proto = _first_value(request.headers.get(hdrs.X_FORWARDED_PROTO)) if from_trusted_proxy else None
    claimed_host = _first_value(request.headers.get(hdrs.X_FORWARDED_HOST)) if from_trusted_proxy else None
    headers[hdrs.X_FORWARDED_PROTO] = claimed_proto or request.scheme
    headers[hdrs.X_FORWARDED_HOST] = claimed_host or request.host
    headers["X-Real-IP"] = client_address(request, settings.trusted_proxies)
    return headers


async def _forward_http(
    request: web.Request, url: URL, headers: CIMultiDict[str], session: aiohttp.ClientSession, body: BoundedBody
) -> web.StreamResponse:
    async with session.request(
        request.method,
        url,
        headers=headers,
        data=body.chunks() if request.body_exists else None,
        allow_redirects=False,
        auto_decompress=False,
        skip_auto_headers=_NO_AUTO_HEADERS,
    ) as upstream:
        response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
        response.headers.extend(_downstream_headers(upstream.headers))
        await _stream_body(request, response, upstream)
        return response


async def _stream_body(request: web.Request, response: web.StreamResponse, upstream: aiohttp.ClientResponse) -> None:
    """Copy the upstream body to the client chunk by chunk, as it arrives."""
    try:
        await response.prepare(request)
    except ConnectionError:
        return
    while True:
        try:
            chunk = await upstream.content.readany()
        except (aiohttp.ClientError, OSError) as error:
            # The status line is already sent; cutting the connection is the only way left to
            # tell the client its body is incomplete.
            _log.warning("upstream body of %s %s broke off: %r", request.method, upstream.url, error)
            _abort(request)
            return
        if not chunk:
            return
        try:
            await response.write(chunk)
        except ConnectionError:
            _log.debug("client went away during %s %s", request.method, upstream.url)
            return


def _downstream_headers(upstream_headers: CIMultiDictProxy[str]) -> CIMultiDict[str]:
    dropped = _hop_by_hop(upstream_headers)
    return CIMultiDict((name, value) for name, value in upstream_headers.items() if name.lower() not in dropped)


def _hop_by_hop(headers: CIMultiDictProxy[str]) -> frozenset[str]:
    """The fixed hop-by-hop names plus every header the message's ``Connection`` names."""
    return _HOP_BY_HOP_HEADERS | {token.lower() for token in comma_list(headers, hdrs.CONNECTION)}


def _has_dot_segment(path: str) -> bool:
    # The upstream may resolve "/api/../admin" to "/admin", outside the prefix we forward.
    return any(segment in (".", "..") for segment in path.split("/"))


def _first_value(value: str | None) -> str | None:
    first = (value or "").split(",")[0].strip()
    return first or None


def _peer_text(request: web.BaseRequest) -> str:
    address = _peer_address(request)
    return str(address) if address is not None else (request.remote or "unknown")


def _peer_address(request: web.BaseRequest) -> _IpAddress | None:
    return _parse_ip(request.remote or "")


def _parse_ip(text: str) -> _IpAddress | None:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    # A dual-stack listener reports IPv4 clients as ::ffff:a.b.c.d.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _is_trusted(address: _IpAddress, trusted: Iterable[IpNetwork]) -> bool:
    return any(address in network for network in trusted)


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
