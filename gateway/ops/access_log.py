"""The one middleware that watches every request: it counts it in the metrics and, where the
access log is on, writes one line for it (``sitegate.access``, through ``access_lines``)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from gateway.forwarding.proxy import UPSTREAM_FAILED
from gateway.keys import CACHE, KIND, SITE_NAME
from gateway.ops.access_lines import AccessFields, AccessLines
from gateway.ops.metrics import NO_SITE, GatewayMetrics

ADMIN_PREFIX = "/_sitegate/"
# nginx's code for a request whose client left before it was answered.
CLIENT_GONE = 499

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def observe_requests(
    metrics: GatewayMetrics, *, access_log: bool, json_lines: bool = False
) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    lines = AccessLines(json_lines) if access_log else None

    @web.middleware
    async def observe(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        response: web.StreamResponse | None = None
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as error:
            status = error.status
            raise
        except asyncio.CancelledError:
            status = CLIENT_GONE
            raise
        finally:
            seconds = time.perf_counter() - started
            site = request.get(SITE_NAME, NO_SITE)
            kind = request.get(KIND) or ("admin" if request.raw_path.startswith(ADMIN_PREFIX) else "static")
            body_bytes = _body_bytes(request, response)
            metrics.count(site, kind, status, body_bytes, seconds)
            if request.get(UPSTREAM_FAILED):
                metrics.upstream_error(site, status)
            if lines is not None:
                lines.add(_fields(request, site, kind, status, body_bytes, seconds))

    return observe


def _body_bytes(request: web.Request, response: web.StreamResponse | None) -> int:
    if response is None or request.method == "HEAD":
        return 0
    # A file goes out by sendfile, past aiohttp's writer, so its declared length is the count;
    # a streamed /api answer has none, and the writer counted what it wrote.
    length = response.content_length
    return length if length is not None else response.body_length


def _fields(request: web.Request, site: str, kind: str, status: int, body_bytes: int, seconds: float) -> AccessFields:
    cache = request.get(CACHE, "-")
    if cache == "hit" and status == 304:
        cache = "304"
    duration_ms = round(seconds * 1000, 2)
    return AccessFields(site, request.method, request.rel_url.raw_path, status, body_bytes, duration_ms, cache, kind)
