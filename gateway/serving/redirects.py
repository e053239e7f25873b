"""A build's ``_redirects`` and ``_headers`` (``gateway.serving.rules``) applied to one request."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from gateway.serving import static
from gateway.serving.files import FileTable
from gateway.serving.rules import RULE_FILE_PATHS, SiteRules


async def respond_with_rules(
    request: web.Request,
    table: FileTable,
    rules: SiteRules,
    *,
    dev: bool,
    spa_fallback: bool,
    html_transform: Callable[[bytes], bytes] | None,
) -> web.StreamResponse:
    path = request.path
    if path in RULE_FILE_PATHS:
        return await static.respond(request, table, dev=dev, target="/404.html", status=404)
    # Most sites have no _redirects: then no rule lookup, and no table lookup ahead of serving's own.
    match = None
    if rules.redirects:
        exists = static.find_entry(table, path) is not None
        # The query as sent (still percent-encoded): it is parsed by the rule, or appended to a
        # Location as it came, where a decoded CR or "#" would break the header or the URL.
        match = rules.match_redirect(path, request.rel_url.raw_query_string, forced_only=exists)
    target, status = None, None
    if match is not None:
        if match.is_redirect or match.is_external:
            # An external 200 would make the gateway a proxy to anywhere; it redirects instead.
            code = match.status if match.is_redirect else 302
            return web.Response(status=code, headers={"Location": match.to, "Cache-Control": "no-cache"})
        target, status = match.path, (None if match.status == 200 else match.status)
    return await static.respond(
        request,
        table,
        dev=dev,
        spa_fallback=spa_fallback,
        html_transform=html_transform,
        target=target,
        status=status,
        extra_headers=rules.headers_for(path),
    )
