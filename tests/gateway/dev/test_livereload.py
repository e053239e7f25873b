"""Live reload in development: the events a tab hears, and the script in its pages."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestClient

from gateway.app import create_app
from gateway.config import Mode
from gateway.dev.livereload import changed_paths, inject_script, tab_event
from gateway.serving.files import FileTable
from tests.gateway.sitefarm import settings_for, write_site


def table_of(tmp_path: Path, files: dict[str, str]) -> FileTable:
    root = tmp_path / "build"
    for relative, text in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)
    return FileTable.scan(root)


def test_only_tabs_whose_page_changed_reload(tmp_path: Path) -> None:
    table = table_of(tmp_path, {"index.html": "i", "blog/post/index.html": "p", "app.css": "c"})
    changed = frozenset({"/blog/post/index.html"})
    assert tab_event("/blog/post/", table, changed, "b2")[0] == "reload"
    assert tab_event("/", table, changed, "b2") == ("build", {"build": "b2"})


def test_a_stylesheet_change_alone_swaps_stylesheets(tmp_path: Path) -> None:
    table = table_of(tmp_path, {"index.html": "i", "app.css": "c"})
    assert tab_event("/", table, frozenset({"/app.css"}), "b2") == ("css", {"build": "b2", "paths": ["/app.css"]})


def test_any_other_asset_reloads_every_tab(tmp_path: Path) -> None:
    table = table_of(tmp_path, {"index.html": "i", "logo.svg": "<svg/>"})
    assert tab_event("/", table, frozenset({"/logo.svg"}), "b2")[0] == "reload"


def test_changed_paths_compares_contents(tmp_path: Path) -> None:
    before = table_of(tmp_path / "one", {"a.html": "same", "b.html": "old", "gone.html": "x"})
    after = table_of(tmp_path / "two", {"a.html": "same", "b.html": "new", "new.html": "y"})
    assert changed_paths(before, after) == {"/b.html", "/gone.html", "/new.html"}


def test_the_script_goes_before_the_last_closing_body() -> None:
    html = b"<html><body><p>&lt;/body&gt;</p></BODY></html>"
    injected = inject_script(html, "abc")
    assert injected.index(b"livereload.js") < injected.index(b"</BODY>")
    assert b'data-build="abc"' in injected
    assert inject_script(b"<p>fragment</p>", "abc").startswith(b"<p>fragment</p><script")


async def next_event(stream: aiohttp.ClientResponse) -> tuple[str, dict]:
    name = ""
    while True:
        line = (await asyncio.wait_for(stream.content.readline(), 10)).decode().rstrip("\n")
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: ") and name:
            return name, json.loads(line.removeprefix("data: "))


async def dev_client(aiohttp_client, tmp_path: Path) -> TestClient:  # type: ignore[no-untyped-def]
    settings = settings_for(tmp_path, mode=Mode.DEVELOPMENT, watch_debounce_ms=20)
    return await aiohttp_client(create_app(settings))


async def test_pages_carry_the_script_only_in_development(aiohttp_client, tmp_path: Path) -> None:
    write_site(tmp_path / "sites", "a.test", {"public/index.html": "<body>hi</body>"})
    dev = await dev_client(aiohttp_client, tmp_path)
    page = await dev.get("/", headers={"Host": "a.test"})
    assert "/_sitegate/livereload.js" in await page.text()
    assert page.headers["Cache-Control"] == "no-store"
    script = await dev.get("/_sitegate/livereload.js")
    assert script.status == 200 and "EventSource" in await script.text()

    production = await aiohttp_client(create_app(settings_for(tmp_path / "prod", sites_dir=tmp_path / "sites")))
    page = await production.get("/", headers={"Host": "a.test"})
    assert "livereload" not in await page.text()
    assert (await production.get("/_sitegate/events", headers={"Host": "a.test"})).status != 200


async def test_saving_a_file_reloads_the_open_tab(aiohttp_client, tmp_path: Path) -> None:
    root = write_site(tmp_path / "sites", "a.test", {"public/index.html": "<body>one</body>"})
    client = await dev_client(aiohttp_client, tmp_path)
    await client.get("/", headers={"Host": "a.test"})
    async with client.get("/_sitegate/events?path=/", headers={"Host": "a.test"}) as stream:
        name, hello = await next_event(stream)
        assert name == "hello" and hello["build"]
        (root / "public" / "index.html").write_text("<body>two</body>")
        name, data = await next_event(stream)
        assert name == "reload" and data["build"] != hello["build"]
    page = await client.get("/", headers={"Host": "a.test"})
    assert "two" in await page.text()


async def test_a_broken_build_shows_the_overlay_and_a_fix_reloads(aiohttp_client, tmp_path: Path) -> None:
    root = write_site(tmp_path / "sites", "a.test", {"public/index.html": "<body>one</body>"})
    client = await dev_client(aiohttp_client, tmp_path)
    await client.get("/", headers={"Host": "a.test"})
    async with client.get("/_sitegate/events?path=/", headers={"Host": "a.test"}) as stream:
        await next_event(stream)
        (root / "public" / "index.html").unlink()
        name, data = await next_event(stream)
        assert name == "error-overlay" and data["site"] == "a.test" and "empty" in data["message"]
        failing = await client.get("/", headers={"Host": "a.test"})
        assert failing.status == 503 and "/_sitegate/livereload.js" in await failing.text()
        (root / "public" / "index.html").write_text("<body>fixed</body>")
        name, _ = await next_event(stream)
        assert name == "reload"


async def test_a_change_to_another_site_does_not_reach_this_tab(aiohttp_client, tmp_path: Path) -> None:
    write_site(tmp_path / "sites", "a.test", {"public/index.html": "<body>a</body>"})
    other = write_site(tmp_path / "sites", "b.test", {"public/index.html": "<body>b</body>"})
    client = await dev_client(aiohttp_client, tmp_path)
    await client.get("/", headers={"Host": "a.test"})
    await client.get("/", headers={"Host": "b.test"})
    async with client.get("/_sitegate/events?path=/", headers={"Host": "a.test"}) as stream:
        await next_event(stream)
        (other / "public" / "index.html").write_text("<body>b2</body>")
        for _ in range(100):
            if "b2" in await (await client.get("/", headers={"Host": "b.test"})).text():
                break
            await asyncio.sleep(0.05)
        try:
            event = await asyncio.wait_for(next_event(stream), 0.5)
        except TimeoutError:
            event = None
        assert event is None


async def test_sites_answer_on_localhost_names_in_development(aiohttp_client, tmp_path: Path) -> None:
    write_site(tmp_path / "sites", "a.test", {"public/index.html": "<body>a</body>"})
    client = await aiohttp_client(
        create_app(settings_for(tmp_path, mode=Mode.DEVELOPMENT, default_site="a.test"))
    )
    for host in ("a.test.localhost:3000", "localhost:3000"):
        response = await client.get("/", headers={"Host": host})
        assert response.status == 200 and "a" in await response.text()
