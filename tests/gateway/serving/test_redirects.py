"""A site's _redirects and _headers, honoured when its build is served."""

from __future__ import annotations

from pathlib import Path

from gateway.app import create_app
from tests.gateway.sitefarm import settings_for, write_site

REDIRECTS = """
/old-blog/*        /blog/:splat            301
/news/:year/:slug  /blog/:slug?y=:year     302
/app/*             /app/index.html         200
/shadowed          /index.html             200
/forced            /index.html             200!
/gone              /tombstone.html         410
/elsewhere         https://example.org/x   200
"""

HEADERS = """
/*
  X-Frame-Options: DENY
/blog/*
  Cache-Control: public, max-age=60
"""


async def client_for(aiohttp_client, tmp_path: Path):  # type: ignore[no-untyped-def]
    write_site(
        tmp_path / "sites",
        "a.test",
        {
            "public/index.html": "home",
            "public/shadowed.html": "the file",
            "public/forced.html": "never shown",
            "public/app/index.html": "spa shell",
            "public/tombstone.html": "gone for good",
            "public/blog/hello.html": "hello post",
            "public/_redirects": REDIRECTS,
            "public/_headers": HEADERS,
        },
    )
    return await aiohttp_client(create_app(settings_for(tmp_path)))


async def test_redirects_with_splats_and_placeholders(aiohttp_client, tmp_path: Path) -> None:
    client = await client_for(aiohttp_client, tmp_path)
    moved = await client.get("/old-blog/hello", headers={"Host": "a.test"}, allow_redirects=False)
    assert moved.status == 301 and moved.headers["Location"] == "/blog/hello"
    news = await client.get("/news/2024/launch", headers={"Host": "a.test"}, allow_redirects=False)
    assert news.status == 302 and news.headers["Location"] == "/blog/launch?y=2024"


async def test_rewrites_serve_another_file_and_existing_files_win_unless_forced(aiohttp_client, tmp_path: Path) -> None:
    client = await client_for(aiohttp_client, tmp_path)
    app_route = await client.get("/app/users/42", headers={"Host": "a.test"})
    assert app_route.status == 200 and await app_route.text() == "spa shell"
    assert await (await client.get("/shadowed", headers={"Host": "a.test"})).text() == "the file"
    assert await (await client.get("/forced", headers={"Host": "a.test"})).text() == "home"
    gone = await client.get("/gone", headers={"Host": "a.test"})
    assert gone.status == 410 and await gone.text() == "gone for good"


async def test_an_external_rewrite_is_a_redirect_not_a_proxy(aiohttp_client, tmp_path: Path) -> None:
    client = await client_for(aiohttp_client, tmp_path)
    response = await client.get("/elsewhere", headers={"Host": "a.test"}, allow_redirects=False)
    assert response.status == 302 and response.headers["Location"] == "https://example.org/x"


async def test_header_rules_add_up_by_path(aiohttp_client, tmp_path: Path) -> None:
    client = await client_for(aiohttp_client, tmp_path)
    home = await client.get("/", headers={"Host": "a.test"})
    assert home.headers["X-Frame-Options"] == "DENY"
    post = await client.get("/blog/hello", headers={"Host": "a.test"})
    assert post.headers["X-Frame-Options"] == "DENY"
    assert post.headers["Cache-Control"] == "public, max-age=60"


async def test_the_rule_files_themselves_are_not_served(aiohttp_client, tmp_path: Path) -> None:
    client = await client_for(aiohttp_client, tmp_path)
    for path in ("/_redirects", "/_headers"):
        assert (await client.get(path, headers={"Host": "a.test"})).status == 404
