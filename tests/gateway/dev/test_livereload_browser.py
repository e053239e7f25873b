"""Live reload in a real headless Chromium: save a file, see the page change."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

from gateway.app import create_app
from gateway.config import Mode
from tests.gateway.sitefarm import settings_for, write_site

# Flags from this machine's notes: without the background-networking ones Chromium keeps
# trying to reach Google's hosts through a closed network.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

LAYOUT = """<!doctype html><html><head><title>live reload</title>
<link rel="stylesheet" href="/theme.css"></head>
<body>{% include "ui/banner.html" %}{% block body %}{% endblock %}</body></html>
"""


def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "Chromium is not installed: `make test` installs it (apt-get install chromium)"
    return found


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        yield launched
        await launched.close()


def jinja_site(sites: Path, name: str, heading: str) -> Path:
    return write_site(
        sites,
        name,
        {
            "layouts/base.html": LAYOUT,
            "pages/index.html": '{% extends "layouts/base.html" %}{% block body %}<h1>' + heading + "</h1>{% endblock %}",
            "pages/other.html": '{% extends "layouts/base.html" %}{% block body %}<h1>other</h1>{% endblock %}',
        },
        'builder = "jinja"\n',
    )


@pytest.fixture
async def dev_gateway(aiohttp_server, tmp_path: Path) -> str:  # type: ignore[no-untyped-def]
    shared = tmp_path / "shared"
    (shared / "ui").mkdir(parents=True)
    (shared / "ui" / "banner.html").write_text('<p class="banner">shared banner v1</p>')
    jinja_site(tmp_path / "sites", "one.test", "first site")
    jinja_site(tmp_path / "sites", "two.test", "second site")
    settings = settings_for(tmp_path, mode=Mode.DEVELOPMENT, shared_dir=shared, watch_debounce_ms=20)
    server = await aiohttp_server(create_app(settings))
    return f"localhost:{server.port}"


async def open_tab(browser: Browser, url: str) -> Page:
    page = await browser.new_page()
    await page.goto(url)
    # Wait until the live-reload stream is open, then mark the page: a reload wipes the mark.
    await page.wait_for_function("window.__sitegate && window.__sitegate.connected")
    await page.evaluate("window.__notReloaded = true")
    return page


async def reloaded(page: Page) -> bool:
    return not await page.evaluate("window.__notReloaded === true")


async def test_editing_a_page_shows_the_new_text_without_any_action(browser: Browser, dev_gateway: str, tmp_path: Path) -> None:
    page = await open_tab(browser, f"http://one.test.{dev_gateway}/")
    assert await page.text_content("h1") == "first site"
    index = tmp_path / "sites" / "one.test" / "pages" / "index.html"
    index.write_text(index.read_text().replace("first site", "edited live"))
    await page.wait_for_selector("h1:text('edited live')", timeout=15_000)


async def test_a_broken_template_shows_the_overlay_and_the_fix_clears_it(browser: Browser, dev_gateway: str, tmp_path: Path) -> None:
    page = await open_tab(browser, f"http://one.test.{dev_gateway}/")
    index = tmp_path / "sites" / "one.test" / "pages" / "index.html"
    good = index.read_text()
    index.write_text(good.replace("{% endblock %}", "{% endblok %}"))
    overlay = await page.wait_for_selector("#sitegate-error-overlay", timeout=15_000)
    assert "index.html" in (await overlay.text_content() or "")
    index.write_text(good.replace("first site", "fixed"))
    await page.wait_for_selector("h1:text('fixed')", timeout=15_000)
    assert await page.query_selector("#sitegate-error-overlay") is None


async def test_a_shared_component_edit_reloads_tabs_of_both_sites(browser: Browser, dev_gateway: str, tmp_path: Path) -> None:
    first = await open_tab(browser, f"http://one.test.{dev_gateway}/")
    second = await open_tab(browser, f"http://two.test.{dev_gateway}/")
    (tmp_path / "shared" / "ui" / "banner.html").write_text('<p class="banner">shared banner v2</p>')
    for page in (first, second):
        await page.wait_for_selector(".banner:text('shared banner v2')", timeout=15_000)


async def test_an_edit_to_another_site_leaves_this_tab_alone(browser: Browser, dev_gateway: str, tmp_path: Path) -> None:
    watched = await open_tab(browser, f"http://one.test.{dev_gateway}/")
    other = await open_tab(browser, f"http://two.test.{dev_gateway}/")
    index = tmp_path / "sites" / "two.test" / "pages" / "index.html"
    index.write_text(index.read_text().replace("second site", "second, edited"))
    await other.wait_for_selector("h1:text('second, edited')", timeout=15_000)
    await asyncio.sleep(0.3)
    assert not await reloaded(watched)


async def test_an_edit_to_another_page_of_the_site_leaves_this_tab_alone(browser: Browser, dev_gateway: str, tmp_path: Path) -> None:
    watched = await open_tab(browser, f"http://one.test.{dev_gateway}/")
    other = await open_tab(browser, f"http://one.test.{dev_gateway}/other")
    page = tmp_path / "sites" / "one.test" / "pages" / "other.html"
    page.write_text(page.read_text().replace("other", "other, edited"))
    await other.wait_for_selector("h1:text('other, edited')", timeout=15_000)
    await asyncio.sleep(0.3)
    assert not await reloaded(watched)


async def test_a_stylesheet_edit_is_swapped_in_without_a_reload(browser: Browser, dev_gateway: str, tmp_path: Path) -> None:
    write_site(
        tmp_path / "sites",
        "styled.test",
        {
            "public/index.html": '<link rel="stylesheet" href="/style.css"><h1>styled</h1>',
            "public/style.css": "h1 { color: rgb(255, 0, 0); }",
        },
    )
    page = await open_tab(browser, f"http://styled.test.{dev_gateway}/")
    color = "getComputedStyle(document.querySelector('h1')).color"
    assert await page.evaluate(color) == "rgb(255, 0, 0)"
    (tmp_path / "sites" / "styled.test" / "public" / "style.css").write_text("h1 { color: rgb(0, 0, 255); }")
    await page.wait_for_function(f"{color} === 'rgb(0, 0, 255)'", timeout=15_000)
    assert not await reloaded(page)
