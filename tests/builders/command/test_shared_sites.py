"""The shared React library in real framework builds: the three templates and the two example
sites are installed (once per lockfile, tests/builders/npm_cache.py), built by their own
toolchain and served, showing the shared components' markup with each site's own classes."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from gateway.app import create_app
from gateway.config import PACKAGED_TEMPLATES
from gateway.sites.create import create_site
from tests.builders.blog_stub import POST, blog_backend
from tests.builders.npm_cache import link_dependencies
from tests.gateway.sitefarm import settings_for

__all__ = ["blog_backend"]

SITES = Path(__file__).resolve().parents[3] / "sites"
POST_PAGE = f"/blog/{POST['slug']}/"


def example(sites: Path, name: str) -> Path:
    site = sites / name
    shutil.copytree(SITES / name, site, ignore=shutil.ignore_patterns("node_modules", ".sitegate", ".astro", ".next"))
    return site


async def serve(aiohttp_client, tmp_path: Path, backend: str, site: Path):  # type: ignore[no-untyped-def]
    link_dependencies(site)
    return await aiohttp_client(create_app(settings_for(tmp_path, backend_url=backend)))


async def page(client, host: str, path: str = "/") -> str:  # type: ignore[no-untyped-def]
    response = await client.get(path, headers={"Host": host})
    text = await response.text()
    assert response.status == 200, text[-2000:]
    return text


async def test_the_vite_template_bundles_the_shared_components_with_its_own_classes(
    aiohttp_client, tmp_path: Path, blog_backend
) -> None:
    site = create_site(tmp_path / "sites", PACKAGED_TEMPLATES, "vite.test", "vite")
    client = await serve(aiohttp_client, tmp_path, blog_backend[0], site)
    home = await page(client, "vite.test")
    script = re.search(r'src="(/assets/index-[\w-]+\.js)"', home)
    assert script is not None
    bundle = await page(client, "vite.test", script[1])
    # The shared components' classes, and the site's own passed to them.
    assert "sg-post-card" in bundle and "sg-hero" in bundle and "site-posts" in bundle


@pytest.mark.parametrize(
    ("template", "about", "absent"),
    [
        # Astro leaves modules of its content layer beside the pages when it builds outside the project.
        ("astro", "An Astro page at /about/.", ("/content-assets.mjs", "/content-modules.mjs")),
        # A Next build that is not a static export has a manifest and a trace, never to be served.
        ("next", "A Next.js page at /about/.", ("/build-manifest.json", "/trace")),
    ],
)
async def test_the_astro_and_next_templates_render_the_shared_components_with_the_posts(
    aiohttp_client, tmp_path: Path, blog_backend, template: str, about: str, absent: tuple[str, ...]
) -> None:
    """A site made by ``sitegate create``: installed, built once and served with nothing but its pages."""
    site = create_site(tmp_path / "sites", PACKAGED_TEMPLATES, "framework.test", template)
    client = await serve(aiohttp_client, tmp_path, blog_backend[0], site)
    home = await page(client, "framework.test")
    assert 'class="sg-hero rounded-xl"' in home and 'class="sg-body min-h-screen"' in home
    assert 'class="sg-post-card"' in home and POST["title"] in home
    if template == "astro":
        assert 'class="sg-post max-w-prose"' in await page(client, "framework.test", POST_PAGE)
    assert about in await page(client, "framework.test", "/about/")
    for leftover in absent:
        assert (await client.get(leftover, headers={"Host": "framework.test"})).status == 404
    again = await client.get("/", headers={"Host": "framework.test"})
    assert again.headers["ETag"] == (await client.get("/", headers={"Host": "framework.test"})).headers["ETag"]
    health = await (await client.get("/_sitegate/health")).json()
    assert health["sites"]["framework.test"]["builds_started"] == 1


async def test_the_astro_example_extends_the_shared_blog_post_and_has_its_own_hero(
    aiohttp_client, tmp_path: Path, blog_backend
) -> None:
    site = example(tmp_path / "sites", "astro.clientsite.com")
    client = await serve(aiohttp_client, tmp_path, blog_backend[0], site)
    home = await page(client, "astro.clientsite.com")
    assert 'class="astro-hero' in home and "sg-hero" not in home
    assert 'class="sg-post-card astro-card' in home and 'class="sg-body astro-site' in home
    # Rendered at build time: no React shipped to the browser.
    assert "<script" not in home
    post = await page(client, "www.astro.clientsite.com", POST_PAGE)
    assert 'class="sg-post astro-article' in post and "min read" in post and "The second paragraph." in post


async def test_the_next_example_replaces_blog_post_and_uses_the_shared_layout_and_post_card(
    aiohttp_client, tmp_path: Path, blog_backend
) -> None:
    site = example(tmp_path / "sites", "next.clientsite.com")
    client = await serve(aiohttp_client, tmp_path, blog_backend[0], site)
    home = await page(client, "next.clientsite.com")
    assert 'class="sg-body next-site' in home and 'class="sg-post-card next-card' in home
    blog = await page(client, "next.clientsite.com", "/blog/")
    assert 'class="next-post' in blog and 'class="sg-post ' not in blog and "The second paragraph." in blog
