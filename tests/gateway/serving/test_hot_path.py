"""The hot path answers exactly as the full path does, or leaves the request to it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from gateway.app import create_app
from tests.gateway.sitefarm import settings_for, write_site

PAGES = {
    "public/index.html": "<h1>home</h1>" * 200,
    "public/about/index.html": "<h1>about</h1>",
    "public/app-3f2a1b9c.js": "console.log(1);" * 200,
    "public/logo.png": "not really a png",
    "public/_headers": "/*\n  X-Frame-Options: DENY\n/app-*\n  Cache-Control: public, max-age=60\n",
    "public/_redirects": "/gone /about 301\n",
}


@pytest.fixture
async def client(aiohttp_client, tmp_path: Path):
    write_site(tmp_path / "sites", "a.test", PAGES)
    client = await aiohttp_client(create_app(settings_for(tmp_path)))
    # The tidy step precompresses the build after it went into service; wait for its siblings.
    for _ in range(200):
        response = await client.get("/", headers={"Host": "a.test", "Accept-Encoding": "br"})
        if response.headers.get("Content-Encoding") == "br":
            return client
        await asyncio.sleep(0.025)
    raise AssertionError("the build was never precompressed")


@pytest.mark.parametrize("path", ["/", "/index.html", "/about", "/about/", "/app-3f2a1b9c.js", "/logo.png",
                                  "/_headers", "/_redirects", "/gone", "/missing"])  # fmt: skip
@pytest.mark.parametrize("accept", ["", "gzip", "br, gzip", "identity"])
@pytest.mark.parametrize("method", ["GET", "HEAD"])
async def test_a_plain_request_gets_what_the_full_path_gives(client, path: str, accept: str, method: str) -> None:
    """A query sends a request down the full path; the answer must not change."""
    answers = []
    for target in (path, path + "?full=1"):
        response = await client.request(
            method, target, headers={"Host": "a.test", "Accept-Encoding": accept}, allow_redirects=False
        )
        headers = {k: v for k, v in response.headers.items() if k not in ("Date", "Server")}
        if "Location" in headers:
            headers["Location"] = headers["Location"].split("?")[0]
        answers.append((response.status, headers, await response.read()))
    assert answers[0] == answers[1]


async def test_conditions_and_ranges_still_get_their_answers(client) -> None:
    first = await client.get("/", headers={"Host": "a.test"})
    again = await client.get("/", headers={"Host": "a.test", "If-None-Match": first.headers["ETag"]})
    part = await client.get("/", headers={"Host": "a.test", "Range": "bytes=0-3"})
    assert (again.status, part.status, await part.read()) == (304, 206, b"<h1>")


@pytest.mark.parametrize("path", ["/", "/index.html", "/about", "/about/", "/app-3f2a1b9c.js", "/logo.png",
                                  "/_headers", "/_redirects", "/gone", "/missing"])  # fmt: skip
@pytest.mark.parametrize("accept", ["", "gzip", "br, gzip", "identity"])
@pytest.mark.parametrize("method", ["GET", "HEAD"])
async def test_the_app_s_shortcut_answers_as_the_router_and_the_middlewares_do(
    client, path: str, accept: str, method: str
) -> None:
    """The same request, answered before routing (app.py's shortcut) and, with the shortcut
    off, through the router and the middlewares: byte for byte the same answer."""
    app = client.server.app
    shortcut, taken = app.shortcut, []

    def watched(request):
        answer = shortcut(request)
        taken.append(answer is not None)
        return answer

    answers = []
    for app.shortcut in (watched, None):
        response = await client.request(
            method, path, headers={"Host": "a.test", "Accept-Encoding": accept}, allow_redirects=False
        )
        headers = [(k, v) for k, v in response.headers.items() if k not in ("Date", "Server")]
        answers.append((response.status, headers, await response.read()))
    app.shortcut = shortcut
    assert taken == [True]
    assert answers[0] == answers[1]
