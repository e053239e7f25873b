"""Turning a request and a build's ``FileTable`` into a response.

``decide`` (file, encoding, status, headers) is pure: request line + headers + table in, a
``Reply`` out. ``respond`` is the thin aiohttp adapter that sends it. Request paths are only
ever looked up in the table, never joined onto the file system.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import mktime_tz, parsedate_tz
from types import MappingProxyType
from urllib.parse import unquote_to_bytes, urlsplit

from aiohttp import web

from gateway.files import CACHE_REVALIDATE, FileEntry, FileTable, Precompressed

ALLOWED_METHODS = ("GET", "HEAD")
CACHE_DEV = "no-store"
NOT_FOUND_PAGE = "/404.html"
SPA_ENTRY = "/index.html"

_ETAG_IN_LIST = re.compile(r'(?:W/)?"[^"]*"')
_Q_PARAM = re.compile(r"(?:^|;)\s*q\s*=\s*([^;\s]*)", re.IGNORECASE)
_SINGLE_RANGE = re.compile(r"bytes=(\d*)-(\d*)", re.IGNORECASE)
# Longer numbers than this are beyond any file; capping them avoids int() on huge digit strings.
_MAX_RANGE_DIGITS = 18
_EMPTY_HEADERS: Mapping[str, str] = MappingProxyType({})


class BadPath(ValueError):
    """A request path that can never name a file of a build."""


class RangeNotSatisfiable(ValueError):
    """A byte range that starts beyond the end of the file."""


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # inclusive, as in Content-Range

    @property
    def length(self) -> int:
        return self.end - self.start + 1


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


def accepted_codings(accept_encoding: str) -> dict[str, float]:
    """Content codings with their q values; a malformed q makes that coding unacceptable."""
    weights: dict[str, float] = {}
    for item in accept_encoding.split(","):
        coding, _, params = item.partition(";")
        if coding := coding.strip().lower():
            q_value = _Q_PARAM.search(params)
            weights[coding] = _float_or_zero(q_value.group(1)) if q_value else 1.0
    return weights


def _float_or_zero(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 0.0


def choose_variant(entry: FileEntry, accept_encoding: str) -> Precompressed | None:
    """The best acceptable precompressed sibling (highest q, then br before gzip), if any."""
    weights = accepted_codings(accept_encoding)
    best: Precompressed | None = None
    best_weight = 0.0
    for variant in entry.encodings:
        weight = weights.get(variant.coding, weights.get("*", 0.0))
        if weight > best_weight:
            best, best_weight = variant, weight
    return best


def etag_matches(header: str, etag: str) -> bool:
    """Weak comparison of ``etag`` against an If-None-Match list (or ``*``)."""
    if header.strip() == "*":
        return True
    opaque = etag.removeprefix("W/")
    return any(tag.removeprefix("W/") == opaque for tag in _ETAG_IN_LIST.findall(header))


def parse_http_date(value: str) -> int | None:
    try:
        parsed = parsedate_tz(value)
        return None if parsed is None else mktime_tz(parsed)
    except (ValueError, OverflowError, IndexError, TypeError):
        # The stdlib parser raises on some malformed dates (a year past datetime's range).
        return None


def is_not_modified(headers: Mapping[str, str], etag: str, mtime: int) -> bool:
    if_none_match = headers.get("If-None-Match")
    if if_none_match is not None:
        return etag_matches(if_none_match, etag)
    since = parse_http_date(headers.get("If-Modified-Since", ""))
    return since is not None and mtime <= since


def range_still_valid(if_range: str | None, entry: FileEntry) -> bool:
    """If-Range: the range is wanted only if the client's copy is still this file (strong match)."""
    if if_range is None:
        return True
    value = if_range.strip()
    if value.startswith(('"', "W/")):
        return value == entry.etag
    return parse_http_date(value) == entry.mtime


def parse_range(header: str, size: int) -> ByteRange | None:
    """One byte range of a file of ``size`` bytes; None when the header is to be ignored
    (malformed, or several ranges: RFC 9110 lets a server send the whole file instead)."""
    match = _SINGLE_RANGE.fullmatch(header.strip())
    if match is None or match.group(1) == match.group(2) == "":
        return None
    first, last = (_range_number(group) for group in match.groups())
    if first is None:
        assert last is not None
        if last == 0 or size == 0:
            raise RangeNotSatisfiable
        return ByteRange(max(size - last, 0), size - 1)
    if last is not None and last < first:
        return None
    if first >= size:
        raise RangeNotSatisfiable
    return ByteRange(first, size - 1 if last is None else min(last, size - 1))


def _range_number(digits: str) -> int | None:
    if not digits:
        return None
    return int(digits) if len(digits) <= _MAX_RANGE_DIGITS else 10**_MAX_RANGE_DIGITS


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
    request: web.Request, table: FileTable, *, dev: bool = False, spa_fallback: bool = False
) -> web.StreamResponse:
    """Answer ``request`` from the build described by ``table``."""
    reply = decide(request.method, request.raw_path, request.headers, table, dev=dev, spa_fallback=spa_fallback)
    source = reply.source
    if source is None:
        return _text_response(reply)
    start, length = (0, source.size) if reply.byte_range is None else (reply.byte_range.start, reply.byte_range.length)
    if source.body is not None:
        return web.Response(status=reply.status, headers=reply.headers, body=source.body[start : start + length])
    return await _send_file(request, reply, source, start, length)


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
