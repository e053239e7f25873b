"""The hot path: most requests a site gets are a GET of a small file by its plain path, with no
conditions and no range. Their answer depends only on the file and the encoding chosen, so its
headers are worked out once (by ``static.decide`` itself, so they are the very same) and kept
with the build's table; each such request is then two dictionary lookups and a response.
Anything else, or anything unsure, returns None and takes the full path."""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from gateway.serving.files import FileTable
from gateway.serving.negotiation import choose_variant
from gateway.serving.rules import RULE_FILE_PATHS, SiteRules
from gateway.serving.static import decide, find_entry

# Headers under which the answer is not the plain file: the full path decides those.
_CONDITIONS = ("Range", "If-None-Match", "If-Modified-Since", "If-Range")


def hot_response(request: web.BaseRequest, table: FileTable, rules: SiteRules) -> web.Response | None:
    method = request.method
    if method != "GET" and method != "HEAD":
        return None
    path = request.raw_path
    # Percent-encoded or with a query, the path is the full path's to decode and judge.
    if "%" in path or "?" in path or path in RULE_FILE_PATHS or rules.shadows_files:
        return None
    headers = request.headers
    if any(name in headers for name in _CONDITIONS):
        return None
    entry = find_entry(table, path)
    if entry is None:
        return None
    accept = headers.get("Accept-Encoding", "")
    variant = choose_variant(entry, accept) if entry.encodings else None
    body = entry.body if variant is None else variant.body
    if body is None:
        return None
    key = (path, variant.coding if variant is not None else "")
    ready = table.replies.get(key)
    if ready is None:
        ready = _headers(path, accept, table, rules)
        table.replies[key] = ready
    return web.Response(body=body, headers=ready)


def _headers(path: str, accept: str, table: FileTable, rules: SiteRules) -> Mapping[str, str]:
    reply = decide("GET", path, {"Accept-Encoding": accept}, table, dev=False, spa_fallback=False)
    assert reply.status == 200, reply
    return {**reply.headers, **dict(rules.headers_for(path))}
