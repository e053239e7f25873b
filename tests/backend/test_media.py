"""Media uploads: streamed to disk, typed by content, served with long caching."""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from shared.backend.settings import BackendSettings

from .conftest import BackendFactory, Visitor, file_form

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
SAMPLES = {
    "image/png": ("logo.png", PNG),
    "image/jpeg": ("photo.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x01" * 500),
    "image/gif": ("tiny.gif", b"GIF89a"),
    "image/webp": ("pic.webp", b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x02" * 300),
    "application/pdf": ("paper.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + b"0" * 300),
}


async def error_of(response) -> dict[str, Any]:
    return dict((await response.json())["error"])


async def upload(visitor: Visitor, content: bytes, filename: str = "upload.png", content_type: str | None = None):
    return await visitor.post("/api/media", data=file_form(content, filename, content_type))


def stored_files(settings: BackendSettings) -> list[Path]:
    root = settings.media_dir
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []


@pytest.mark.parametrize("content_type", sorted(SAMPLES))
async def test_an_upload_is_served_back_with_its_type_and_long_caching(editor_a: Visitor, content_type: str) -> None:
    filename, content = SAMPLES[content_type]
    response = await upload(editor_a, content, filename)
    assert response.status == 201
    media = (await response.json())["media"]
    assert media["content_type"] == content_type
    assert media["size"] == len(content) and media["filename"] == filename
    assert response.headers["Location"] == media["url"] == f"/api/media/{media['id']}"

    served = await editor_a.stranger().get(media["url"])
    assert served.status == 200
    assert await served.read() == content
    assert served.headers["Content-Type"] == content_type
    assert served.headers["ETag"] == f'"{hashlib.sha256(content).hexdigest()}"'
    assert served.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert served.headers["X-Content-Type-Options"] == "nosniff"


async def test_a_matching_if_none_match_gets_304(editor_a: Visitor) -> None:
    media = (await (await upload(editor_a, PNG)).json())["media"]
    etag = (await editor_a.get(media["url"])).headers["ETag"]
    for header in (etag, f'"other", {etag}', f"W/{etag}", "*"):
        response = await editor_a.get(media["url"], headers={"If-None-Match": header})
        assert response.status == 304, header
        assert await response.read() == b""
        assert response.headers["ETag"] == etag
    changed = await editor_a.get(media["url"], headers={"If-None-Match": '"something-else"'})
    assert changed.status == 200


async def test_head_gives_the_headers_without_the_body(editor_a: Visitor) -> None:
    media = (await (await upload(editor_a, PNG)).json())["media"]
    response = await editor_a.request("HEAD", media["url"])
    assert response.status == 200
    assert response.headers["Content-Length"] == str(len(PNG))
    assert await response.read() == b""


async def test_ids_are_long_random_and_distinct(editor_a: Visitor) -> None:
    ids = [(await (await upload(editor_a, PNG)).json())["media"]["id"] for _ in range(3)]
    assert len(set(ids)) == 3
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{22}", media_id) for media_id in ids)


@pytest.mark.parametrize(
    ("content", "filename", "content_type"),
    [
        (b"just some text", "notes.txt", "text/plain"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "x.svg", "image/svg+xml"),
        (b"<!doctype html><script>alert(1)</script>", "page.png", "image/png"),
        (b"MZ\x90\x00" + b"\x00" * 100, "setup.exe", None),
        (b"PK\x03\x04" + b"\x00" * 100, "archive.png", None),
        (PNG, "logo.jpg", None),
        (PNG, "logo.pdf", "application/pdf"),
        (PNG, "logo", "image/jpeg"),
        (SAMPLES["application/pdf"][1], "paper.png", None),
    ],
)
async def test_content_that_is_not_allowed_or_not_what_it_claims_is_415(
    editor_a: Visitor, settings: BackendSettings, content: bytes, filename: str, content_type: str | None
) -> None:
    response = await upload(editor_a, content, filename, content_type)
    assert response.status == 415
    assert (await error_of(response))["code"] == "unsupported_media_type"
    assert stored_files(settings) == []


async def test_a_usual_alias_of_the_real_type_is_accepted(editor_a: Visitor) -> None:
    filename, content = SAMPLES["image/jpeg"]
    response = await upload(editor_a, content, "photo.JPEG", "image/jpg")
    assert response.status == 201


async def test_an_upload_that_is_not_a_multipart_form_is_415(editor_a: Visitor) -> None:
    response = await editor_a.post("/api/media", data=PNG, headers={"Content-Type": "image/png"})
    assert response.status == 415


async def test_a_form_without_a_file_or_with_an_empty_one_is_422(editor_a: Visitor) -> None:
    form = aiohttp.FormData()
    form.add_field("title", "no file here")
    form.add_field("other", b"data", filename="x.png")
    response = await editor_a.post("/api/media", data=form)
    assert response.status == 422
    assert (await error_of(response))["field"] == "file"
    empty = await upload(editor_a, b"", "empty.png")
    assert empty.status == 422


async def test_other_form_fields_before_the_file_are_ignored(editor_a: Visitor) -> None:
    form = aiohttp.FormData()
    form.add_field("alt", "A logo")
    form.add_field("file", PNG, filename="logo.png", content_type="image/png")
    assert (await editor_a.post("/api/media", data=form)).status == 201


async def test_a_file_over_the_limit_is_413_and_leaves_nothing(
    start_backend: BackendFactory, settings: BackendSettings
) -> None:
    visitor = Visitor(await start_backend(media_max_bytes=64 * 1024), "a.example")
    await visitor.become_editor("editor@a.example")
    at_limit = PNG + b"\x00" * (64 * 1024 - len(PNG))
    assert (await upload(visitor, at_limit)).status == 201
    response = await upload(visitor, at_limit + b"\x00")
    assert response.status == 413
    assert (await error_of(response))["code"] == "payload_too_large"
    assert len(stored_files(settings)) == 1


async def test_a_streamed_upload_is_refused_while_it_streams(
    start_backend: BackendFactory, settings: BackendSettings
) -> None:
    visitor = Visitor(await start_backend(media_max_bytes=256 * 1024), "a.example")
    await visitor.become_editor("editor@a.example")
    endless = 1024 * 1024 * 1024
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        yield PNG
        while sent < endless:
            sent += 64 * 1024
            yield b"\x00" * (64 * 1024)

    # No Content-Length: the body arrives chunked, so only counting while reading can stop it.
    with aiohttp.MultipartWriter("form-data") as form:
        part = form.append(chunks(), {"Content-Type": "image/png"})
        part.set_content_disposition("form-data", name="file", filename="huge.png")
        response = await visitor.post("/api/media", data=form)
    assert response.status == 413
    assert sent < endless // 10
    assert stored_files(settings) == []


async def test_deleting_media(editor_a: Visitor, settings: BackendSettings) -> None:
    media = (await (await upload(editor_a, PNG)).json())["media"]
    assert len(stored_files(settings)) == 1
    assert (await editor_a.delete(media["url"])).status == 204
    assert (await editor_a.get(media["url"])).status == 404
    assert (await editor_a.delete(media["url"])).status == 404
    assert stored_files(settings) == []


async def test_only_editors_upload_and_delete(editor_a: Visitor) -> None:
    media = (await (await upload(editor_a, PNG)).json())["media"]
    anonymous = editor_a.stranger()
    reader = editor_a.stranger()
    await reader.register("reader@a.example")
    for visitor, status in ((anonymous, 401), (reader, 403)):
        assert (await upload(visitor, PNG)).status == status
        assert (await visitor.delete(media["url"])).status == status
        assert (await visitor.get(media["url"])).status == 200
