"""``nginx-config --upstream``: several gateways behind one nginx ``upstream``, with passive
health checks and retries of what a gateway failed.

A gateway counts as failed for what says that *it* failed: a refused or broken connection, no
answer in time, a 502 or 504 for a page (it makes those only as a proxy, never for a build).
Not a 503: a gateway answers 503 for a site whose ``site.toml`` is broken or whose build
failed, and every gateway answers it alike; retried, each would count as failed, and one
tenant's broken site would take every gateway out of the upstream. Under ``/api`` not even a
502 or 504: that is the backend's answer (or its absence), relayed alike by every gateway.

What nginx retries is its own rule, kept: a request no gateway has seen (a refused connection)
goes to the next whatever its method; once a gateway has it, only an idempotent one goes to the
next, never a POST, PATCH or LOCK (no ``non_idempotent``). Uploads still stream
(``proxy_request_buffering off``): nginx resends a request without a body, or with one that
came whole with its head, but not one whose body was still arriving when it went out.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence

UPSTREAM = "sitegate_gateways"
MAX_FAILS = 2
FAIL_TIMEOUT = "5s"
CONNECT_TIMEOUT = "2s"
RETRY_WITHIN = "10s"
IDLE_PER_GATEWAY = 32
# A 502 or 504 for a page is never a build's answer: something on the way failed, which
# another gateway may not.
RETRY_ON = "error timeout http_502 http_504"
# /api: the backend's 502/503/504 come back alike from every gateway.
RETRY_ON_API = "error timeout"

_LABEL = re.compile(r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)")


def server_address(text: str) -> str:
    """``HOST:PORT`` (a host name, an IPv4 address or ``[IPv6]``) as nginx's ``server`` takes
    it; ``ValueError`` with the reason otherwise."""
    host, colon, port = text.rpartition(":")
    if "://" in text or "/" in text:
        raise ValueError("expected HOST:PORT, without a scheme or a path")
    if not colon or not host:
        raise ValueError("expected HOST:PORT (the port is needed)")
    if not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
        raise ValueError("the port is not a number from 1 to 65535")
    if host.startswith("[") and host.endswith("]"):
        try:
            address = ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            address = None
        if address is None or address.scope_id is not None:  # nginx reads no %zone
            raise ValueError(f"{host} is no IPv6 address")
        return f"[{address.compressed}]:{int(port)}"
    if ":" in host:
        raise ValueError("an IPv6 address goes in brackets: [ADDRESS]:PORT")
    labels = host.split(".")
    if all(label.isascii() and label.isdigit() for label in labels):
        try:
            return f"{ipaddress.IPv4Address(host)}:{int(port)}"
        except ValueError:
            raise ValueError(f"{host} is no IPv4 address") from None
    if len(host) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise ValueError(f"{host!r} is no host name (letters, digits, - and _ between dots)")
    return f"{host}:{int(port)}"


def upstream_block(servers: Sequence[str]) -> str:
    """The ``upstream`` of the gateways, with why its numbers are what they are."""
    lines = [
        f"# --upstream: {len(servers)} gateways, in turn.",
        f"# Passive health checks (max_fails={MAX_FAILS} fail_timeout={FAIL_TIMEOUT}): a gateway that fails twice within",
        f"#   {FAIL_TIMEOUT} is left out for {FAIL_TIMEOUT}, then given one request again. Twice, not once: one connection",
        "#   reset in a race does not drop a healthy gateway. 5s: a restarted gateway is back soon, and a",
        "#   request that finds one still dead goes on to the next (a refused connect costs next to nothing).",
        "# What fails a gateway is what it cannot answer: a refused or broken connection, no answer in time",
        f"#   (connect: {CONNECT_TIMEOUT}), a 502 or 504 for a page. Not a 503: every gateway answers 503 alike for a broken",
        "#   site or a failed build, and counted, one broken site would take them all out. Under /api not",
        "#   even a 502 or 504: those are the backend's, relayed alike by every gateway.",
        "# Retries: a request a gateway failed goes to the next, each gateway tried once, within",
        f"#   {RETRY_WITHIN} of the first try. nginx never sends a POST, PATCH or LOCK a gateway has received to",
        "#   another (no non_idempotent here, on purpose: the client gets the 502); one no gateway has seen",
        "#   (a refused connection) goes to the next. Uploads stream (proxy_request_buffering off), so a",
        "#   request whose body was still arriving when it went to a gateway is not resent either.",
        f"upstream {UPSTREAM} {{",
        *(f"    server {server} max_fails={MAX_FAILS} fail_timeout={FAIL_TIMEOUT};" for server in servers),
        # As for one gateway: idle connections close before the gateway's header timeout does.
        f"    keepalive {IDLE_PER_GATEWAY * len(servers)};",
        "    keepalive_timeout 5s;",
        "}",
    ]
    return "\n".join(lines) + "\n"


def retry_settings(servers: Sequence[str]) -> tuple[str, ...]:
    """A server block's settings for the gateways' upstream (its locations inherit them); none
    for one gateway."""
    if not servers:
        return ()
    return (
        f"proxy_next_upstream {RETRY_ON};",
        f"proxy_next_upstream_tries {len(servers)};",
        f"proxy_next_upstream_timeout {RETRY_WITHIN};",
        f"proxy_connect_timeout {CONNECT_TIMEOUT};",
    )
