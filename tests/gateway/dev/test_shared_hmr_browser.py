"""Development: an edit of a shared React component reaches an open tab of a Vite site that imports
it through Vite's own hot module replacement (React Fast Refresh), in a real headless Chromium,
without a page reload."""

from __future__ import annotations

import shutil
from pathlib import Path

from gateway.app import create_app
from gateway.config import PACKAGED_COMPONENTS, PACKAGED_TEMPLATES, Mode
from gateway.sites.create import create_site
from tests.builders.npm_cache import link_dependencies
from tests.gateway.dev.test_livereload_browser import browser
from tests.gateway.sitefarm import settings_for

__all__ = ["browser"]


async def test_a_shared_component_edit_is_hot_replaced_in_an_open_vite_tab(aiohttp_server, tmp_path: Path, browser) -> None:  # type: ignore[no-untyped-def]
    shared = tmp_path / "shared"
    shutil.copytree(PACKAGED_COMPONENTS, shared)
    link_dependencies(create_site(tmp_path / "sites", PACKAGED_TEMPLATES, "hmr.test", "vite"))
    settings = settings_for(tmp_path, mode=Mode.DEVELOPMENT, shared_dir=shared, watch_debounce_ms=20)
    server = await aiohttp_server(create_app(settings))
    page = await browser.new_page()
    await page.goto(f"http://hmr.test.localhost:{server.port}/")
    # Rendered by React in the browser: one React, or the hooks of the site's App would throw.
    await page.wait_for_selector(".sg-hero.site-hero .sg-hero__title", timeout=60_000)
    await page.evaluate("window.__notReloaded = true")

    hero = shared / "react" / "ui" / "Hero.jsx"
    hero.write_text(hero.read_text().replace('className="sg-hero__title"', 'className="sg-hero__title sg-hero__title--edited"'))
    await page.wait_for_selector(".sg-hero__title--edited", timeout=30_000)
    assert await page.evaluate("window.__notReloaded === true")
