from __future__ import annotations

import asyncio
import gzip
import os
from collections.abc import Awaitable, Callable
from email.utils import formatdate
from pathlib import Path
from typing import Any

import brotli
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from gateway.building.compress import precompress
from gateway.serving.files import FileTable
from gateway.serving.static import respond

HOME = b"<!doctype html><h1>home</h1>" + b"<p>welcome to the site</p>" * 100
SECRET = b"TOPSECRET-do-not-serve"
BIG = os.urandom(5 * 1024 * 1024)
MTIME = 1_700_000_000

MakeClient = Callable[..., Awaitable[TestClient[web.Request, web.Application]]]


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, (MTIME, MTIME))
    return path


@pytest.fixture
def build(tmp_path: Path) -> Path:
    write(tmp_path / "secret.txt", SECRET)
    root = tmp_path / "build"
    write(root / "index.html", HOME)
    write(root / "about.html", b"<h1>about</h1>")
    write(root / "blog" / "index.html", b"<h1>blog</h1>")
    write(root / "docs" / "index.html", b"<h1>docs</h1>")
    write(root / "assets" / "index-B3xk9_aZ.js", b"console.log('hashed');" * 100)
    write(root / "assets" / "plain.js", b"console.log('plain');")
    write(root / "digits.txt", b"0123456789" * 10)
    write(root / "big.bin", BIG)
    (root / "leak.txt").symlink_to(tmp_path / "secret.txt")
    precompress(root)
    return root


@pytest.fixture
def make_client(aiohttp_client: Any, build: Path) -> MakeClient:
    async def make(root: Path = build, **options: bool) -> TestClient[web.Request, web.Application]:
        table = await asyncio.to_thread(FileTable.scan, root)

        # A middleware answers every request, so the router never rewrites or rejects a path first.
        @web.middleware
        async def serve(request: web.Request, handler: Any) -> web.StreamResponse:
            return await respond(request, table, **options)

        app = web.Application(middlewares=[serve])
        client: TestClient[web.Request, web.Application] = await aiohttp_client(
            app, auto_decompress=False, skip_auto_headers=("Accept-Encoding",)
        )
        return client

    return make


async def raw_request(client: TestClient[Any, Any], target: bytes, method: bytes = b"GET") -> tuple[int, bytes]:
    """Send a request line exactly as written, bypassing any client-side path normalisation."""
    reader, writer = await asyncio.open_connection(client.host, client.port)
    writer.write(method + b" " + target + b" HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n")
    await writer.drain()
    response = await reader.read()
    writer.close()
    await writer.wait_closed()
    return int(response.split(b" ", 2)[1]), response


async def test_serves_files_with_their_headers(make_client: MakeClient) -> None:
    client = await make_client()

    response = await client.get("/about.html")

    assert response.status == 200
    assert await response.read() == b"<h1>about</h1>"
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.headers["Content-Length"] == "14"
    assert response.headers["ETag"].startswith('"')
    assert response.headers["Last-Modified"] == formatdate(MTIME, usegmt=True)
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Accept-Ranges"] == "bytes"
    assert "Vary" not in response.headers


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/", HOME),
        ("/index.html", HOME),
        ("/about", b"<h1>about</h1>"),
        ("/blog", b"<h1>blog</h1>"),
        ("/blog/", b"<h1>blog</h1>"),
        ("/docs/", b"<h1>docs</h1>"),
        ("/docs/index.html", b"<h1>docs</h1>"),
        ("/about.html?utm=1", b"<h1>about</h1>"),
    ],
)
async def test_clean_urls_and_index_files(make_client: MakeClient, path: str, body: bytes) -> None:
    client = await make_client()

    response = await client.get(path)

    assert response.status == 200
    assert await response.read() == body


async def test_head_sends_the_headers_without_a_body(make_client: MakeClient) -> None:
    client = await make_client()

    for path, size in (("/about.html", 14), ("/big.bin", len(BIG))):
        get = await client.get(path)
        head = await client.head(path)
        assert head.status == 200
        assert head.headers["Content-Length"] == str(size)
        assert head.headers["ETag"] == get.headers["ETag"]
        assert await head.read() == b""


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
async def test_other_methods_are_not_allowed(make_client: MakeClient, method: str) -> None:
    client = await make_client()

    response = await client.request(method, "/index.html")

    assert response.status == 405
    assert response.headers["Allow"] == "GET, HEAD"


@pytest.mark.parametrize(
    ("target", "status"),
    [
        (b"/../secret.txt", 400),
        (b"/docs/../../secret.txt", 400),
        (b"/%2e%2e/secret.txt", 400),
        (b"/%2E%2E/%2e%2e/secret.txt", 400),
        (b"/docs/%2e%2e/%2e%2e/secret.txt", 400),
        (b"/./index.html", 400),
        (b"/%2e/index.html", 400),
        (b"/..%2fsecret.txt", 400),
        (b"/..\\secret.txt", 400),
        (b"/%5c..%5csecret.txt", 400),
        (b"/docs%5cindex.html", 400),
        (b"/index.html%00", 400),
        (b"/%00/../secret.txt", 400),
        (b"/%ff%fe", 400),
        (b"http://example.com/../secret.txt", 400),
        (b"/%252e%252e/secret.txt", 404),
        (b"//etc/passwd", 404),
        (b"/etc/passwd", 404),
        (b"/%2fetc%2fpasswd", 404),
        (b"/leak.txt", 404),
        (b"/secret.txt", 404),
    ],
)
async def test_hostile_paths_never_reach_files_outside_the_build(
    make_client: MakeClient, target: bytes, status: int
) -> None:
    client = await make_client()

    got, response = await raw_request(client, target)

    assert got == status
    assert SECRET not in response
    assert b"Traceback" not in response


async def test_absolute_form_targets_are_served_by_their_path(make_client: MakeClient) -> None:
    client = await make_client()

    status, response = await raw_request(client, b"http://example.com/about.html")

    assert status == 200
    assert response.endswith(b"<h1>about</h1>")


async def test_matching_etag_gives_304(make_client: MakeClient) -> None:
    client = await make_client()
    first = await client.get("/about.html")
    etag = first.headers["ETag"]

    for if_none_match in (etag, f'"other", {etag}', "*", f"W/{etag}"):
        response = await client.get("/about.html", headers={"If-None-Match": if_none_match})
        assert response.status == 304, if_none_match
        assert response.headers["ETag"] == etag
        assert response.headers["Cache-Control"] == "no-cache"
        assert await response.read() == b""

    changed = await client.get("/about.html", headers={"If-None-Match": '"other"'})
    assert changed.status == 200
    assert await changed.read() == b"<h1>about</h1>"


async def test_if_modified_since(make_client: MakeClient) -> None:
    client = await make_client()

    unchanged = await client.get("/about.html", headers={"If-Modified-Since": formatdate(MTIME, usegmt=True)})
    later = await client.get("/about.html", headers={"If-Modified-Since": formatdate(MTIME + 60, usegmt=True)})
    earlier = await client.get("/about.html", headers={"If-Modified-Since": formatdate(MTIME - 60, usegmt=True)})
    garbage = await client.get("/about.html", headers={"If-Modified-Since": "yesterday"})
    far_future = await client.get("/about.html", headers={"If-Modified-Since": "Mon, 01 Jan 99999999999 00:00:00 GMT"})
    # If-None-Match wins over If-Modified-Since when both are sent.
    etag_differs = await client.get(
        "/about.html",
        headers={"If-Modified-Since": formatdate(MTIME + 60, usegmt=True), "If-None-Match": '"other"'},
    )

    statuses = [r.status for r in (unchanged, later, earlier, garbage, far_future, etag_differs)]
    assert statuses == [304, 304, 200, 200, 200, 200]


async def test_dev_mode_never_caches(make_client: MakeClient) -> None:
    client = await make_client(dev=True)
    first = await client.get("/assets/index-B3xk9_aZ.js")

    again = await client.get("/assets/index-B3xk9_aZ.js", headers={"If-None-Match": first.headers["ETag"]})

    assert first.headers["Cache-Control"] == "no-store"
    assert again.status == 200
    assert again.headers["Cache-Control"] == "no-store"


async def test_cache_control_follows_content_hashes(make_client: MakeClient) -> None:
    client = await make_client()

    hashed = await client.get("/assets/index-B3xk9_aZ.js")
    plain = await client.get("/assets/plain.js")
    page = await client.get("/")

    assert hashed.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert plain.headers["Cache-Control"] == "no-cache"
    assert page.headers["Cache-Control"] == "no-cache"


@pytest.mark.parametrize(
    ("range_header", "content_range", "body"),
    [
        ("bytes=0-9", "bytes 0-9/100", b"0123456789"),
        ("bytes=5-7", "bytes 5-7/100", b"567"),
        ("bytes=95-", "bytes 95-99/100", b"56789"),
        ("bytes=-3", "bytes 97-99/100", b"789"),
        ("bytes=90-500", "bytes 90-99/100", b"0123456789"),
        ("bytes=-500", "bytes 0-99/100", b"0123456789" * 10),
        ("bytes=0-99999999999999999999999", "bytes 0-99/100", b"0123456789" * 10),
    ],
)
async def test_single_ranges_give_206(
    make_client: MakeClient, range_header: str, content_range: str, body: bytes
) -> None:
    client = await make_client()

    response = await client.get("/digits.txt", headers={"Range": range_header})

    assert response.status == 206
    assert response.headers["Content-Range"] == content_range
    assert response.headers["Content-Length"] == str(len(body))
    assert await response.read() == body


@pytest.mark.parametrize("range_header", ["bytes=100-", "bytes=500-600", "bytes=-0"])
async def test_unsatisfiable_ranges_give_416(make_client: MakeClient, range_header: str) -> None:
    client = await make_client()

    response = await client.get("/digits.txt", headers={"Range": range_header})

    assert response.status == 416
    assert response.headers["Content-Range"] == "bytes */100"


@pytest.mark.parametrize("range_header", ["bytes=0-1,5-6", "bytes=5-1", "bytes=x-y", "items=0-5", "bytes=-"])
async def test_multiple_or_malformed_ranges_send_the_whole_file(make_client: MakeClient, range_header: str) -> None:
    client = await make_client()

    response = await client.get("/digits.txt", headers={"Range": range_header})

    assert response.status == 200
    assert "Content-Range" not in response.headers
    assert await response.read() == b"0123456789" * 10


async def test_if_range(make_client: MakeClient) -> None:
    client = await make_client()
    etag = (await client.get("/digits.txt")).headers["ETag"]

    same = await client.get("/digits.txt", headers={"Range": "bytes=0-1", "If-Range": etag})
    other = await client.get("/digits.txt", headers={"Range": "bytes=0-1", "If-Range": '"old"'})
    weak = await client.get("/digits.txt", headers={"Range": "bytes=0-1", "If-Range": f"W/{etag}"})
    same_date = await client.get(
        "/digits.txt", headers={"Range": "bytes=0-1", "If-Range": formatdate(MTIME, usegmt=True)}
    )

    assert (same.status, await same.read()) == (206, b"01")
    assert (other.status, len(await other.read())) == (200, 100)
    assert weak.status == 200
    assert same_date.status == 206


async def test_ranges_of_a_large_file(make_client: MakeClient) -> None:
    client = await make_client()

    full = await client.get("/big.bin")
    middle = await client.get("/big.bin", headers={"Range": "bytes=1000000-1999999"})
    tail = await client.get("/big.bin", headers={"Range": "bytes=-4096"})

    assert full.status == 200
    assert full.headers["Content-Length"] == str(len(BIG))
    assert await full.read() == BIG
    assert middle.status == 206
    assert middle.headers["Content-Range"] == f"bytes 1000000-1999999/{len(BIG)}"
    assert await middle.read() == BIG[1_000_000:2_000_000]
    assert await tail.read() == BIG[-4096:]


async def test_brotli_then_gzip_by_accept_encoding(make_client: MakeClient) -> None:
    client = await make_client()

    identity = await client.get("/", headers={"Accept-Encoding": "identity"})
    br = await client.get("/", headers={"Accept-Encoding": "gzip, deflate, br"})
    gz = await client.get("/", headers={"Accept-Encoding": "gzip"})
    br_refused = await client.get("/", headers={"Accept-Encoding": "br;q=0, gzip"})
    gzip_preferred = await client.get("/", headers={"Accept-Encoding": "gzip;q=1, br;q=0.5"})
    anything = await client.get("/", headers={"Accept-Encoding": "*"})
    none = await client.get("/")

    assert brotli.decompress(await br.read()) == HOME
    assert gzip.decompress(await gz.read()) == HOME
    assert await identity.read() == HOME
    assert await none.read() == HOME
    assert br.headers["Content-Encoding"] == "br"
    assert br.headers["Content-Length"] == str(len(await br.read()))
    assert gz.headers["Content-Encoding"] == "gzip"
    assert br_refused.headers["Content-Encoding"] == "gzip"
    assert gzip_preferred.headers["Content-Encoding"] == "gzip"
    assert anything.headers["Content-Encoding"] == "br"
    assert "Content-Encoding" not in identity.headers and "Content-Encoding" not in none.headers
    assert len({identity.headers["ETag"], br.headers["ETag"], gz.headers["ETag"]}) == 3
    for response in (identity, br, gz, none):
        assert response.headers["Vary"] == "Accept-Encoding"


async def test_conditional_requests_per_encoding(make_client: MakeClient) -> None:
    client = await make_client()
    br = await client.get("/", headers={"Accept-Encoding": "br"})

    cached = await client.get("/", headers={"Accept-Encoding": "br", "If-None-Match": br.headers["ETag"]})
    other_encoding = await client.get("/", headers={"Accept-Encoding": "gzip", "If-None-Match": br.headers["ETag"]})

    assert cached.status == 304
    assert cached.headers["Vary"] == "Accept-Encoding"
    assert cached.headers["ETag"] == br.headers["ETag"]
    assert other_encoding.status == 200


async def test_ranges_use_the_identity_bytes(make_client: MakeClient) -> None:
    client = await make_client()

    response = await client.get("/", headers={"Accept-Encoding": "br, gzip", "Range": "bytes=0-14"})

    assert response.status == 206
    assert "Content-Encoding" not in response.headers
    assert response.headers["Vary"] == "Accept-Encoding"
    assert await response.read() == HOME[:15]


async def test_missing_files_get_a_plain_404(make_client: MakeClient) -> None:
    client = await make_client()

    response = await client.get("/nope")

    assert response.status == 404
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert "Not Found" in await response.text()


async def test_the_sites_404_page_is_served_with_status_404(make_client: MakeClient, build: Path) -> None:
    write(build / "404.html", b"<h1>lost?</h1>")
    client = await make_client()

    response = await client.get("/nope")

    assert response.status == 404
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-cache"
    assert await response.read() == b"<h1>lost?</h1>"


async def test_spa_fallback_serves_index_for_routes_but_not_assets(make_client: MakeClient) -> None:
    client = await make_client(spa_fallback=True)
    plain = await make_client()

    route = await client.get("/dashboard/settings")
    asset = await client.get("/app.js")
    image = await client.get("/img/x.png")
    without_fallback = await plain.get("/dashboard/settings")

    assert route.status == 200
    assert await route.read() == HOME
    assert (asset.status, image.status, without_fallback.status) == (404, 404, 404)


async def test_a_file_removed_after_the_scan_is_a_404_not_a_crash(make_client: MakeClient, build: Path) -> None:
    client = await make_client()
    (build / "big.bin").unlink()

    response = await client.get("/big.bin")

    assert response.status == 404
