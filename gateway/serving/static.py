"""Turning a request and a build's ``FileTable`` into a response.

``decide`` (file, encoding, status, headers) is pure: request line + headers + table in, a
``Reply`` out. ``respond`` is the thin aiohttp adapter that sends it. Request paths are only
ever looked up in the table, never joined onto the file system.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType
from urllib.parse import unquote_to_bytes, urlsplit

from aiohttp import web

from gateway.serving.files import CACHE_REVALIDATE, FileEntry, FileTable, Precompressed
from gateway.serving.negotiation import (
    ByteRange,
    RangeNotSatisfiable,
    choose_variant,
    is_not_modified,
    parse_range,
    range_still_valid,
)

ALLOWED_METHODS = ("GET", "HEAD")
CACHE_DEV = "no-store"
NOT_FOUND_PAGE = "/404.html"
SPA_ENTRY = "/index.html"

_EMPTY_HEADERS: Mapping[str, str] = MappingProxyType({})


class BadPath(ValueError):
    """A request path that can never name a file of a build."""


@dataclass(frozen=True)
class Reply:
    """What to send: a status, headers, and either a file (or a slice of it) or a short text."""

    status: int
    headers: Mapping[str, str]
    source: FileEntry | Precompressed | None = None
    byte_range: ByteRange | None = None
    text: str = ""


def request_path(target: str) -> str:
    """The request target's path, percent-decoded exactly once; ``BadPath`` if it is hostile."""
    if not target.startswith("/"):
        target = urlsplit(target).path or "/"
    raw = target.split("?", 1)[0].split("#", 1)[0]
    try:
        path = unquote_to_bytes(raw).decode("utf-8")
    except UnicodeError:
        raise BadPath("the path is not valid UTF-8") from None
    if not path.startswith("/"):
        raise BadPath("the path must start with /")
    if "\x00" in path or "\\" in path:
        raise BadPath("the path contains a NUL or a backslash")
    if any(segment in (".", "..") for segment in path.split("/")):
        raise BadPath("the path contains a . or .. segment")
    return path


def find_entry(table: FileTable, path: str) -> FileEntry | None:
    """The file a clean URL means: ``/`` and ``/docs/`` → index, ``/about`` → about.html or about/."""
    candidates = (path + "index.html",) if path.endswith("/") else (path, path + ".html", path + "/index.html")
    for candidate in candidates:
        if (entry := table.get(candidate)) is not None:
            return entry
    return None


def looks_like_asset(path: str) -> bool:
    """Whether the last segment has a file extension; SPA routes (``/users/42``) do not."""
    return "." in path.rsplit("/", 1)[-1].lstrip(".")


def decide(
    method: str, target: str, headers: Mapping[str, str], table: FileTable, *, dev: bool, spa_fallback: bool
) -> Reply:
    """The whole static-serving decision for one request, with no I/O."""
    if method not in ALLOWED_METHODS:
        return _plain(405, "405: Method Not Allowed", dev, {"Allow": ", ".join(ALLOWED_METHODS)})
    try:
        path = request_path(target)
    except BadPath as error:
        return _plain(400, f"400: Bad Request: {error}", dev)
    entry = find_entry(table, path)
    if entry is None and spa_fallback and not looks_like_asset(path):
        entry = table.get(SPA_ENTRY)
    if entry is None:
        return _not_found(table, headers, dev)
    return _file_reply(entry, method, headers, dev)


def _file_reply(entry: FileEntry, method: str, headers: Mapping[str, str], dev: bool) -> Reply:
    # Range is defined for GET only (RFC 9110 §14.2), and applies to the identity bytes only.
    wants_range = method == "GET" and "Range" in headers
    variant = None if wants_range else choose_variant(entry, headers.get("Accept-Encoding", ""))
    etag = entry.etag if variant is None else variant.etag
    cache_control = CACHE_DEV if dev else entry.cache_control
    if not dev and is_not_modified(headers, etag, entry.mtime):
        return Reply(304, {"ETag": etag, "Cache-Control": cache_control, **_vary(entry)})
    common = {
        "Content-Type": entry.content_type,
        "ETag": etag,
        "Last-Modified": entry.last_modified,
        "Cache-Control": cache_control,
        "Accept-Ranges": "bytes",
        "X-Content-Type-Options": "nosniff",
        **_vary(entry),
    }
    if wants_range and range_still_valid(headers.get("If-Range"), entry):
        try:
            byte_range = parse_range(headers["Range"], entry.size)
        except RangeNotSatisfiable:
            unsatisfiable = {
                **common,
                "Content-Range": f"bytes */{entry.size}",
                "Content-Type": "text/plain; charset=utf-8",
            }
            return Reply(416, unsatisfiable, text="416: Range Not Satisfiable")
        if byte_range is not None:
            content_range = f"bytes {byte_range.start}-{byte_range.end}/{entry.size}"
            return Reply(206, {**common, "Content-Range": content_range}, entry, byte_range)
    if variant is not None:
        return Reply(200, {**common, "Content-Encoding": variant.coding}, variant)
    return Reply(200, common, entry)


def _not_found(table: FileTable, headers: Mapping[str, str], dev: bool) -> Reply:
    page = table.get(NOT_FOUND_PAGE)
    if page is None:
        return _plain(404, "404: Not Found", dev)
    variant = choose_variant(page, headers.get("Accept-Encoding", ""))
    page_headers = {
        "Content-Type": page.content_type,
        "Cache-Control": CACHE_DEV if dev else CACHE_REVALIDATE,
        "X-Content-Type-Options": "nosniff",
        **_vary(page),
        **({"Content-Encoding": variant.coding} if variant else {}),
    }
    return Reply(404, page_headers, variant or page)


def _vary(entry: FileEntry) -> dict[str, str]:
    # Every response for a file with siblings varies, so caches never hand br to a gzip client.
    return {"Vary": "Accept-Encoding"} if entry.encodings else {}


def _plain(status: int, text: str, dev: bool, extra: Mapping[str, str] = _EMPTY_HEADERS) -> Reply:
    headers = {
        "Content-Type": "text/plain; charset=utf-8",
        "Cache-Control": CACHE_DEV if dev else CACHE_REVALIDATE,
        "X-Content-Type-Options": "nosniff",
        **extra,
    }
    return Reply(status, headers, text=text)


async def respond(
    request: web.Request,
    table: FileTable,
    *,
    dev: bool = False,
    spa_fallback: bool = False,
    html_transform: Callable[[bytes], bytes] | None = None,
    target: str | None = None,
    status: int | None = None,
    extra_headers: Sequence[tuple[str, str]] = (),
) -> web.StreamResponse:
    """Answer ``request`` from the build described by ``table``.

    ``html_transform`` rewrites whole HTML bodies (development's live-reload script);
    ``target`` serves another path than the request's (a rewrite rule), with ``status`` instead
    of 200 when given; ``extra_headers`` are added to the response (header rules).
    """
    reply = decide(
        request.method, target or request.raw_path, request.headers, table, dev=dev, spa_fallback=spa_fallback
    )
    if status is not None and reply.status == 200:
        reply = replace(reply, status=status)
    if extra_headers:
        reply = replace(reply, headers={**reply.headers, **dict(extra_headers)})
    source = reply.source
    if source is None:
        return _text_response(reply)
    if html_transform is not None and _is_whole_html(reply, source):
        body = source.body if source.body is not None else await asyncio.to_thread(source.path.read_bytes)
        return web.Response(status=reply.status, headers=_without_etag(reply.headers), body=html_transform(body))
    start, length = (0, source.size) if reply.byte_range is None else (reply.byte_range.start, reply.byte_range.length)
    if source.body is not None:
        return web.Response(status=reply.status, headers=reply.headers, body=source.body[start : start + length])
    return await _send_file(request, reply, source, start, length)


def _is_whole_html(reply: Reply, source: FileEntry | Precompressed) -> bool:
    return isinstance(source, FileEntry) and reply.byte_range is None and source.content_type.startswith("text/html")


def _without_etag(headers: Mapping[str, str]) -> dict[str, str]:
    # The body sent is not the file the ETag names.
    return {name: value for name, value in headers.items() if name != "ETag"}


def _text_response(reply: Reply) -> web.Response:
    return web.Response(status=reply.status, headers=reply.headers, body=reply.text.encode())


async def _send_file(
    request: web.Request, reply: Reply, source: FileEntry | Precompressed, start: int, length: int
) -> web.StreamResponse:
    # Opened before the status line goes out, so a build folder removed under us still gets an
    # honest 404 instead of a truncated 200.
    try:
        stream = await asyncio.to_thread(source.path.open, "rb")
    except OSError:
        return _text_response(_plain(404, "404: Not Found", dev=False))
    try:
        response = web.StreamResponse(status=reply.status, headers=reply.headers)
        response.content_length = length
        await response.prepare(request)
        if request.method != "HEAD" and length > 0:
            transport = request.transport
            if transport is None:
                raise ConnectionResetError("the client went away")
            # loop.sendfile uses the kernel's sendfile where it can and falls back to chunked
            # reads in a worker thread (TLS, uvloop), never reading the whole file into memory.
            await asyncio.get_running_loop().sendfile(transport, stream, start, length)
        await response.write_eof()
        return response
    finally:
        await asyncio.to_thread(stream.close)
