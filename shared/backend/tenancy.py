"""Who may talk to the backend, and which site (tenant) a request speaks for.

The tenant header (and the gateway's other say, whether a site takes sign-ups) is only as
trustworthy as its sender, so trust comes first: with a backend token configured, only
requests carrying it (the gateway's) pass; without one, only peers on this machine do.
"""

from __future__ import annotations

import hmac
import ipaddress
import re

from aiohttp import web
from aiohttp.typedefs import Handler

from .errors import ApiError
from .keys import SETTINGS
from .settings import IpNetwork

TENANT_HEADER = "X-Tenant-Domain"
TOKEN_HEADER = "X-Sitegate-Token"
# The gateway's reading of the site's ``[auth] registration``; the gateway drops a client's copy.
REGISTRATION_HEADER = "X-Sitegate-Registration"

# Paths an orchestrator probes without speaking for a site; they reveal nothing of one.
OPEN_PATHS = frozenset({"/api/health"})

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_DOMAIN = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$")


def normalise_tenant(raw: str | None) -> str | None:
    """The tenant a header value names (lower case, no trailing dot), or None if it names none."""
    if raw is None:
        return None
    domain = raw.strip().lower().removesuffix(".")
    if not domain or len(domain) > 253 or not _DOMAIN.match(domain):
        return None
    return domain


def tenant_of(request: web.Request) -> str:
    """The request's tenant; the middleware has already refused requests without one."""
    tenant = normalise_tenant(request.headers.get(TENANT_HEADER))
    if tenant is None:
        raise ApiError(400, "tenant_required", f"the {TENANT_HEADER} header must name a site's domain")
    return tenant


def registration_open(request: web.Request) -> bool:
    """Whether the site takes sign-ups. Only the gateway's requests pass the trust middleware,
    so this header is the gateway's, as the tenant is; without it, sign-ups are closed."""
    return request.headers.get(REGISTRATION_HEADER, "").strip().lower() == "open"


def is_loopback(remote: str | None) -> bool:
    if remote is None:
        return False
    try:
        address = ipaddress.ip_address(remote.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def client_address(request: web.Request, trusted_proxies: tuple[IpNetwork, ...]) -> str:
    """The address of whoever the gateway served: the right-most ``X-Forwarded-For`` hop that
    is not one of our own proxies, since every hop further left was written by the client."""
    hops = [hop.strip() for hop in request.headers.get("X-Forwarded-For", "").split(",") if hop.strip()]
    for hop in reversed(hops):
        try:
            address = ipaddress.ip_address(hop)
        except ValueError:
            return hop
        if not any(address in network for network in trusted_proxies):
            return hop
    return hops[0] if hops else (request.remote or "unknown")


def came_over_https(request: web.Request) -> bool:
    """Only trusted requests reach the routes, so the gateway's ``X-Forwarded-Proto`` holds."""
    forwarded = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    return request.secure or forwarded == "https"


@web.middleware
async def trust_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path in OPEN_PATHS:
        return await handler(request)
    token = request.app[SETTINGS].backend_token
    if token is not None:
        # surrogateescape gives back the bytes sent, even those that are not UTF-8.
        given = request.headers.get(TOKEN_HEADER, "").encode("utf-8", "surrogateescape")
        if not hmac.compare_digest(given, token.encode()):
            raise ApiError(401, "untrusted", f"this backend answers only requests carrying a valid {TOKEN_HEADER}")
    elif not is_loopback(request.remote):
        raise ApiError(403, "untrusted", "this backend answers only local peers when no backend token is set")
    return await handler(request)


@web.middleware
async def tenant_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path not in OPEN_PATHS:
        tenant_of(request)
    return await handler(request)
