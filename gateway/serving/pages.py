"""The gateway's own small pages: bad host, unknown site, broken site, failed build."""

from __future__ import annotations

from html import escape

from aiohttp import web

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:4rem auto;padding:0 1rem;color:#222}}
pre{{background:#f4f4f4;padding:1rem;overflow:auto;font-size:13px}}</style></head>
<body><h1>{title}</h1><p>{message}</p>{detail}</body></html>
"""


def page(status: int, title: str, message: str, detail: str | None = None) -> web.Response:
    body = _PAGE.format(
        title=escape(title),
        message=escape(message),
        detail=f"<pre>{escape(detail)}</pre>" if detail else "",
    )
    return web.Response(
        status=status,
        text=body,
        content_type="text/html",
        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
    )


def bad_host(reason: str) -> web.Response:
    return page(400, "Bad request", f"The Host header is not a valid host name: {reason}.")


def unknown_site(host: str) -> web.Response:
    return page(404, "No site here", f"This server hosts no site named {host}.")


def broken_site(site_name: str, reason: str) -> web.Response:
    return page(503, "Site unavailable", f"{site_name} cannot be served: its configuration is broken.", reason)


def build_failed(site_name: str, message: str, log: str | None) -> web.Response:
    """Only development shows the reason and log; in production they stay in the server's log."""
    if log is None:
        return page(503, "Site unavailable", f"{site_name} is not available right now. Please try again soon.")
    return page(503, "Build failed", f"{site_name} could not be built: {message}", log)
