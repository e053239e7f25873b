"""The headers of a forwarded request and of its answer: the client's end-to-end ones with the
hop-by-hop ones left out, and on the request ours on top (the tenant, X-Forwarded-*), which a
client can never set. Worked out as plain lists of pairs, the peer's address parsed once."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from aiohttp import hdrs, web
from multidict import CIMultiDictProxy

from gateway.config import IpNetwork, Settings
from gateway.serving.negotiation import comma_list
from gateway.sites.auth_options import registration
from gateway.sites.registry import Site

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Headers = list[tuple[str, str]]

HOP_BY_HOP_HEADERS = frozenset(
    {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection", "te", "trailer",
     "transfer-encoding", "upgrade"}
)
# Headers the gateway writes itself, so a client's copy must never reach the upstream. Host is
# the upstream's own; Content-Length says how the body is framed on the upstream's connection;
# Expect was already answered by our server; Forwarded would be a second, unchecked account of
# the client next to X-Forwarded-*.
_REPLACED_REQUEST_HEADERS = frozenset(
    {"host", "content-length", "expect", "forwarded", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host",
     "x-real-ip", "x-tenant-domain", "x-site-name", "x-sitegate-token", "x-sitegate-registration"}
)
_DROPPED_REQUEST_HEADERS = HOP_BY_HOP_HEADERS | _REPLACED_REQUEST_HEADERS


def upstream_headers(request: web.BaseRequest, *, site: Site, settings: Settings) -> Headers:
    """The headers to send upstream: the client's end-to-end ones, then ours."""
    client_headers = request.headers
    dropped = _DROPPED_REQUEST_HEADERS | _connection_named(client_headers)
    headers = [(name, value) for name, value in client_headers.items() if name.lower() not in dropped]
    headers += [
        ("X-Tenant-Domain", site.name),
        ("X-Site-Name", site.name),
        ("X-Sitegate-Registration", registration(site.options)),
    ]
    if settings.backend_token:
        headers.append(("X-Sitegate-Token", settings.backend_token))

    peer = _peer_address(request)
    peer_text = str(peer) if peer is not None else (request.remote or "unknown")
    if peer is not None and _is_trusted(peer, settings.trusted_proxies):
        chain = comma_list(client_headers, hdrs.X_FORWARDED_FOR)
        proto = _first_value(client_headers.get(hdrs.X_FORWARDED_PROTO)) or request.scheme
        host = _first_value(client_headers.get(hdrs.X_FORWARDED_HOST)) or request.host
        real_ip = _client_behind(peer, chain, settings.trusted_proxies) if chain else peer_text
    else:
        chain, proto, host, real_ip = [], request.scheme, request.host, peer_text
    headers += [
        (hdrs.X_FORWARDED_FOR, ", ".join([*chain, peer_text])),
        (hdrs.X_FORWARDED_PROTO, proto),
        (hdrs.X_FORWARDED_HOST, host),
        ("X-Real-IP", real_ip),
    ]
    return headers


def downstream_headers(upstream_headers: CIMultiDictProxy[str]) -> Headers:
    """The headers of the upstream's answer that go on to the client."""
    dropped = HOP_BY_HOP_HEADERS | _connection_named(upstream_headers)
    return [(name, value) for name, value in upstream_headers.items() if name.lower() not in dropped]


def client_address(request: web.BaseRequest, trusted: Iterable[IpNetwork]) -> str:
    """The address of the client behind any trusted proxies.

    A trusted proxy's X-Forwarded-For is read from the right, skipping the hops that are
    trusted proxies themselves; anything further left could be made up by the client.
    """
    trusted = tuple(trusted)
    peer = _peer_address(request)
    if peer is None:
        return request.remote or "unknown"
    if not _is_trusted(peer, trusted):
        return str(peer)
    return _client_behind(peer, comma_list(request.headers, hdrs.X_FORWARDED_FOR), trusted)


def _client_behind(peer: IpAddress, chain: list[str], trusted: Iterable[IpNetwork]) -> str:
    address = peer
    for hop in reversed(chain):
        hop_address = _parse_ip(hop)
        if hop_address is None:
            break
        address = hop_address
        if not _is_trusted(hop_address, trusted):
            break
    return str(address)


def _connection_named(headers: CIMultiDictProxy[str]) -> frozenset[str]:
    """The headers a message's ``Connection`` names as hop-by-hop."""
    if hdrs.CONNECTION not in headers:
        return frozenset()
    return frozenset(token.lower() for token in comma_list(headers, hdrs.CONNECTION))


def _first_value(value: str | None) -> str | None:
    first = (value or "").split(",")[0].strip()
    return first or None


def _peer_address(request: web.BaseRequest) -> IpAddress | None:
    return _parse_ip(request.remote or "")


def _parse_ip(text: str) -> IpAddress | None:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    # A dual-stack listener reports IPv4 clients as ::ffff:a.b.c.d.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _is_trusted(address: IpAddress, trusted: Iterable[IpNetwork]) -> bool:
    return any(address in network for network in trusted)
