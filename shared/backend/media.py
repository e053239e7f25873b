"""The media API: editors upload files, anyone on the site reads them, editors delete them.

Uploads are streamed to disk and refused (413) as soon as they pass the limit, or (408) when
they are not in within the upload time limit; their type comes from their first bytes, and a
name or declared type that disagrees is refused (415).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable
from pathlib import PurePosixPath
from typing import Any, TypeVar
from urllib.parse import quote

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from .bodies import json_time, read_by
from .errors import ApiError, invalid
from .keys import SETTINGS, STORE
from .media_files import IncomingFile, media_path, open_stored, remove, send
from .media_types import EXTENSIONS, SNIFF_BYTES, declared_type_conflict, sniff
from .sessions import require_editor
from .store import MediaItem, new_id, utc_now
from .tenancy import tenant_of

FILE_FIELD = "file"
MEDIA_ID = re.compile(r"^[A-Za-z0-9_-]{22}$")
MAX_FILENAME = 200
# Room for multipart boundaries and part headers around a file of the largest allowed size.
MULTIPART_OVERHEAD = 64 * 1024
CACHE_FOREVER = "public, max-age=31536000, immutable"

T = TypeVar("T")

routes = web.RouteTableDef()


def media_json(item: MediaItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "url": f"/api/media/{item.id}",
        "filename": item.filename,
        "content_type": item.content_type,
        "size": item.size,
        "created_at": json_time(item.created_at),
    }


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "payload_too_large", f"the file is larger than the {limit} byte limit")


def _unsupported(reason: str) -> ApiError:
    allowed = ", ".join(sorted(EXTENSIONS))
    return ApiError(415, "unsupported_media_type", f"{reason}; allowed types: {allowed}")


def _clean_filename(raw: str | None) -> str:
    name = PurePosixPath((raw or "").replace("\\", "/")).name
    name = "".join(char for char in name if char.isprintable())
    return name[:MAX_FILENAME]


async def _form_read(deadline: float, read: Awaitable[T]) -> T:
    """One read of the form: 408 past ``deadline``, 400 when the form is malformed (aiohttp's
    multipart reader says so with ``ValueError`` or its header parser's errors)."""
    try:
        return await read_by(deadline, read)
    except (ValueError, HttpProcessingError) as error:
        raise ApiError(400, "malformed_body", f"the multipart form is malformed: {error}") from None


async def _file_part(request: web.Request, limit: int, deadline: float) -> BodyPartReader:
    """The form's ``file`` part; other fields before it are read and dropped."""
    reader = await _form_read(deadline, request.multipart())
    skipped = 0
    while (part := await _form_read(deadline, reader.next())) is not None:
        if not isinstance(part, BodyPartReader):
            raise invalid(FILE_FIELD, "nested multipart bodies are not accepted")
        if part.name == FILE_FIELD:
            return part
        while chunk := await _form_read(deadline, part.read_chunk()):
            skipped += len(chunk)
            if skipped > limit:
                raise _too_large(limit)
    raise invalid(FILE_FIELD, f"send the file as the form field {FILE_FIELD!r}")


async def _receive(part: BodyPartReader, incoming: IncomingFile, limit: int, deadline: float) -> str:
    """Stream ``part`` into ``incoming``; returns the content's type once it is known."""
    head = b""
    sniffed: str | None = None
    filename = part.filename
    while chunk := await _form_read(deadline, part.read_chunk()):
        if incoming.size + len(chunk) > limit:
            raise _too_large(limit)
        if sniffed is None:
            head = (head + chunk)[:SNIFF_BYTES]
            if len(head) >= SNIFF_BYTES:
                sniffed = _checked_type(head, part.headers.get("Content-Type"), filename)
        await incoming.write(chunk)
    if incoming.size == 0:
        raise invalid(FILE_FIELD, "the file is empty")
    return sniffed or _checked_type(head, part.headers.get("Content-Type"), filename)


def _checked_type(head: bytes, declared: str | None, filename: str | None) -> str:
    sniffed = sniff(head)
    if sniffed is None:
        raise _unsupported("the content is not a recognised file type")
    conflict = declared_type_conflict(sniffed, declared, filename)
    if conflict is not None:
        raise _unsupported(conflict)
    return sniffed


@routes.post("/api/media")
async def upload(request: web.Request) -> web.Response:
    editor = await require_editor(request)
    settings = request.app[SETTINGS]
    limit = settings.media_max_bytes
    deadline = asyncio.get_running_loop().time() + settings.upload_timeout_seconds
    if request.content_length is not None and request.content_length > limit + MULTIPART_OVERHEAD:
        raise _too_large(limit)
    if request.content_type != "multipart/form-data":
        raise ApiError(415, "unsupported_media_type", f"send multipart/form-data with a {FILE_FIELD!r} field")
    tenant = tenant_of(request)
    media_id = new_id()
    part = await _file_part(request, limit, deadline)
    incoming = IncomingFile(media_path(settings.media_dir, tenant, media_id))
    await incoming.open()
    try:
        content_type = await _receive(part, incoming, limit, deadline)
        sha256 = await incoming.publish()
    except BaseException:
        await incoming.discard()
        raise
    item = MediaItem(
        id=media_id,
        tenant=tenant,
        filename=_clean_filename(part.filename),
        content_type=content_type,
        size=incoming.size,
        sha256=sha256,
        uploaded_by=editor.id,
        created_at=utc_now(),
    )
    try:
        stored = await request.app[STORE].create_media(tenant, item)
    except BaseException:
        await remove(media_path(settings.media_dir, tenant, media_id))
        raise
    return web.json_response({"media": media_json(stored)}, status=201, headers={"Location": f"/api/media/{media_id}"})


def _path_id(request: web.Request) -> str:
    media_id = request.match_info["media_id"]
    if not MEDIA_ID.match(media_id):
        raise ApiError(404, "not_found", "no such media item")
    return media_id


def _etag_matches(header: str | None, etag: str) -> bool:
    if header is None:
        return False
    candidates = {candidate.strip().removeprefix("W/") for candidate in header.split(",")}
    return "*" in candidates or etag in candidates


@routes.get("/api/media/{media_id}")
async def download(request: web.Request) -> web.StreamResponse:
    tenant = tenant_of(request)
    item = await request.app[STORE].get_media(tenant, _path_id(request))
    etag = f'"{item.sha256}"'
    headers = {"ETag": etag, "Cache-Control": CACHE_FOREVER, "X-Content-Type-Options": "nosniff"}
    if _etag_matches(request.headers.get("If-None-Match"), etag):
        return web.Response(status=304, headers=headers)
    handle = await open_stored(media_path(request.app[SETTINGS].media_dir, tenant, item.id))
    if handle is None:
        raise ApiError(404, "not_found", "the media item's file is gone")
    response = web.StreamResponse(headers=headers)
    response.content_type = item.content_type
    response.content_length = item.size
    if item.filename:
        response.headers["Content-Disposition"] = f"inline; filename*=UTF-8''{quote(item.filename)}"
    await response.prepare(request)
    await send(handle, response, body=request.method != "HEAD")
    await response.write_eof()
    return response


@routes.delete("/api/media/{media_id}")
async def delete(request: web.Request) -> web.Response:
    await require_editor(request)
    tenant = tenant_of(request)
    item = await request.app[STORE].delete_media(tenant, _path_id(request))
    await remove(media_path(request.app[SETTINGS].media_dir, tenant, item.id))
    return web.Response(status=204)
