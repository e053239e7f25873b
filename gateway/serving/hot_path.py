"""The hot path: most requests a site gets are a GET of a small file by its plain path, with no
conditions and no range. Their answer depends only on the file and the encoding chosen, so its
headers are worked out once (by ``static.decide`` itself, so they are the very same) and kept
with the build's table; each such request is then two dictionary lookups and a response.
Anything else, or anything unsure, returns None and takes the full path."""

from __future__ import annotations

from aiohttp import hdrs, web
from multidict import CIMultiDict

from gateway.serving.files import FileTable
from gateway.serving.negotiation import choose_variant
from gateway.serving.rules import RULE_FILE_PATHS, SiteRules
from gateway.serving.static import decide, find_entry


def hot_response(request: web.BaseRequest, table: FileTable, rules: SiteRules) -> web.Response | None:
    method = request.method
    if method != "GET" and method != "HEAD":
        return None
    path = request.raw_path
    # Percent-encoded or with a query, the path is the full path's to decode and judge.
    if "%" in path or "?" in path or path in RULE_FILE_PATHS or rules.shadows_files:
        return None
    headers = request.headers
    # Under these headers the answer is not the plain file: the full path decides those.
    if "Range" in headers or "If-None-Match" in headers or "If-Modified-Since" in headers or "If-Range" in headers:
        return None
    # A file's own path first: what find_entry tries first too, without making its other names.
    entry = table.entries.get(path) or find_entry(table, path)
    if entry is None:
        return None
    accept = headers.get("Accept-Encoding", "")
    # No Accept-Encoding accepts no coding: nothing to weigh.
    variant = choose_variant(entry, accept) if entry.encodings and accept else None
    body = entry.body if variant is None else variant.body
    if body is None:
        return None
    key = (path, variant.coding if variant is not None else "")
    ready = table.replies.get(key)
    if ready is None:
        ready = table.replies[key] = _headers(path, accept, len(body), table, rules)
    return web.Response(body=body, headers=ready)


def _headers(path: str, accept: str, length: int, table: FileTable, rules: SiteRules) -> CIMultiDict[str]:
    reply = decide("GET", path, {"Accept-Encoding": accept}, table, dev=False, spa_fallback=False)
    assert reply.status == 200, reply
    ready = CIMultiDict({**reply.headers, **dict(rules.headers_for(path))})
    # Where aiohttp would put it, as it would write it; a response copies a CIMultiDict cheaply.
    # (An empty body has no length on a HEAD, which aiohttp leaves to itself.)
    if length and hdrs.CONTENT_LENGTH not in ready:
        ready[hdrs.CONTENT_LENGTH] = str(length)
    return ready
