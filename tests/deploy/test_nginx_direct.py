"""``sitegate nginx-config --direct`` in a real nginx, in front of a real gateway: nginx serves
built files itself, with the gateway's policy, and the gateway sees only what nginx cannot do."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from gateway.app import create_app
from gateway.config import Settings
from tests.deploy.nginx import ROOT, check_config, has_brotli, nginx_config, running_nginx, write_nginx_conf
from tests.deploy.test_nginx import echo_backend
from tests.gateway.sitefarm import settings_for, write_site
from tests.ports import free_port

HASHED = "assets/app-3f2a1b9c.js"
STYLES = "styles.css"
BIG_CSS = "body { color: #123456; margin: 0 auto; }\n" * 200


@dataclass
class Front:
    url: str
    conf: Path
    settings: Settings
    gateway_log: list[str]

    async def get(self, host: str, path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
        async with aiohttp.ClientSession(auto_decompress=False) as client:
            async with client.get(self.url + path, headers={"Host": host, **headers}, allow_redirects=False) as reply:
                return reply.status, dict(reply.headers), await reply.read()

    def gateway_saw(self, host: str, path: str) -> bool:
        return any(host in line and f" {path} " in line for line in self.gateway_log)


class _Lines(logging.Handler):
    def __init__(self, lines: list[str]) -> None:
        super().__init__(logging.INFO)
        self.lines = lines

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def write_sites(sites: Path) -> None:
    write_site(
        sites, "shop.test",
        {
            "public/index.html": "<h1>the shop</h1>",
            "public/about.html": "<h1>about</h1>",
            "public/docs/index.html": "<h1>docs</h1>",
            "public/404.html": "<h1>lost in the shop</h1>",
            f"public/{HASHED}": "console.log('app')",
            "public/lib-4b5c6d7e8f.js": "console.log('lib')",
            f"public/{STYLES}": BIG_CSS,
            "public/.env": "SECRET=1",
            "public/_headers": "/*\n  X-Frame-Options: DENY\n/assets/*\n  Cache-Control: public, max-age=60\n",
            "public/_redirects": "/old /about 301\n",
        },
        'builder = "static"\naliases = ["www.shop.test", "*.shop.test"]\n',
    )  # fmt: skip
    write_site(sites, "forced.test", {"public/index.html": "<h1>home</h1>", "public/_redirects": "/ /moved 302!\n"})
    write_site(sites, "later.test", {"public/index.html": "<h1>built on demand</h1>"})


def sitegate_build(settings: Settings, *names: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "build", *names, "--sites", str(settings.sites_dir),
         "--build-dir", str(settings.build_dir)],
        cwd=ROOT, env={**os.environ, "SITEGATE_BUILD_USER": "root"}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture
async def front(aiohttp_server, tmp_path: Path) -> AsyncIterator[Front]:
    backend_app = web.Application()
    backend_app.router.add_route("*", "/{path:.*}", echo_backend)
    backend = await aiohttp_server(backend_app)
    write_sites(tmp_path / "sites")
    settings = settings_for(tmp_path, backend_url=f"http://127.0.0.1:{backend.port}").with_absolute_paths()
    sitegate_build(settings, "shop.test", "forced.test")
    gateway = await aiohttp_server(create_app(settings))
    lines: list[str] = []
    handler = _Lines(lines)
    access = logging.getLogger("sitegate.access")
    level = access.level
    access.setLevel(logging.INFO)
    access.addHandler(handler)
    port = free_port()
    brotli = has_brotli()
    site_conf = nginx_config(
        "--direct", "--listen", f"127.0.0.1:{port}", *(["--brotli"] if brotli else []),
        sites=settings.sites_dir, builds=settings.build_dir, gateway_port=gateway.port,
    )  # fmt: skip
    (tmp_path / "nginx").mkdir()
    conf = write_nginx_conf(tmp_path / "nginx", site_conf, brotli=brotli)
    try:
        with running_nginx(conf, port):
            yield Front(f"http://127.0.0.1:{port}", conf, settings, lines)
    finally:
        access.removeHandler(handler)
        access.setLevel(level)


async def test_nginx_accepts_the_config(front: Front) -> None:
    checked = check_config(front.conf)
    assert checked.returncode == 0, checked.stderr
    assert "[warn]" not in checked.stderr, checked.stderr


async def test_a_built_file_is_served_by_nginx_without_reaching_the_gateway(front: Front) -> None:
    for path, text in (("/", b"the shop"), ("/about", b"about"), ("/docs/", b"docs"), ("/docs", b"docs")):
        status, headers, body = await front.get("shop.test", path)
        assert (status, text in body) == (200, True), path
        assert headers["Content-Type"] == "text/html; charset=utf-8"
        assert headers["Cache-Control"] == "no-cache"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
    for host in ("www.shop.test", "any.shop.test"):
        assert (await front.get(host, "/about"))[0] == 200
    assert front.gateway_log == []


async def test_cache_headers_and_encodings_follow_the_gateways_policy(front: Front) -> None:
    _, hashed, _ = await front.get("shop.test", "/lib-4b5c6d7e8f.js")
    assert hashed["Cache-Control"] == "public, max-age=31536000, immutable"
    assert hashed["Content-Type"] == "text/javascript; charset=utf-8"
    # _headers replaces the policy where it says so.
    assert (await front.get("shop.test", "/" + HASHED))[1]["Cache-Control"] == "public, max-age=60"
    status, gzipped, body = await front.get("shop.test", "/" + STYLES, **{"Accept-Encoding": "gzip"})
    assert (status, gzipped.get("Content-Encoding"), gzipped.get("Vary")) == (200, "gzip", "Accept-Encoding")
    assert body == (front.settings.build_dir / "shop.test" / "current" / (STYLES + ".gz")).read_bytes()
    if has_brotli():
        assert (await front.get("shop.test", "/" + STYLES, **{"Accept-Encoding": "br"}))[1]["Content-Encoding"] == "br"
    assert front.gateway_log == []


async def test_misses_rules_and_refusals_go_to_the_gateway(front: Front) -> None:
    status, _, body = await front.get("shop.test", "/nowhere")
    assert (status, b"lost in the shop" in body) == (404, True)
    status, headers, _ = await front.get("shop.test", "/old")
    assert (status, headers["Location"]) == (301, "/about")
    for path in ("/.env", "/_headers", "/_redirects"):
        assert (await front.get("shop.test", path))[0] == 404, path
    assert all(front.gateway_saw("shop.test", path) for path in ("/nowhere", "/old", "/.env", "/_headers"))
    # A forced rule shadows files nginx would serve: the site is the gateway's.
    status, headers, _ = await front.get("forced.test", "/")
    assert (status, headers["Location"]) == (302, "/moved")
    assert front.gateway_saw("forced.test", "/")
    assert "# forced.test: left to the gateway" in front.conf.with_name("sitegate.conf").read_text()


async def test_a_site_never_built_is_built_by_the_gateway_then_served_by_nginx(front: Front) -> None:
    status, _, body = await front.get("later.test", "/")
    assert (status, b"built on demand" in body) == (200, True)
    assert front.gateway_saw("later.test", "/")
    front.gateway_log.clear()
    await front.get("later.test", "/")
    assert front.gateway_log == []


async def test_a_build_whose_rules_changed_is_served_by_the_gateway_until_the_config_is_written_again(
    front: Front,
) -> None:
    site = front.settings.sites_dir / "shop.test" / "public"
    (site / "_headers").write_text("/*\n  X-Frame-Options: SAMEORIGIN\n")
    sitegate_build(front.settings, "shop.test")
    _, headers, _ = await front.get("shop.test", "/about")
    assert headers["X-Frame-Options"] == "SAMEORIGIN"
    assert front.gateway_saw("shop.test", "/about")


def test_a_link_out_of_the_site_never_reaches_a_build_nginx_serves(tmp_path: Path) -> None:
    """nginx follows links (checking each path for them cost it ~5x per small file), so builds
    must hold none: a site author's link out of the site fails the build, loudly."""
    secret = tmp_path / "secret.txt"
    secret.write_text("the other tenant's data")
    write_site(tmp_path / "sites", "leaky.test", {"public/index.html": "<h1>hi</h1>"})
    os.symlink(secret, tmp_path / "sites" / "leaky.test" / "public" / "leak.txt")
    result = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "build", "leaky.test", "--sites", str(tmp_path / "sites"),
         "--build-dir", str(tmp_path / "builds")],
        cwd=ROOT, env={**os.environ, "SITEGATE_BUILD_USER": "root"}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 1 and "points outside the site" in result.stdout
    assert not (tmp_path / "builds" / "leaky.test" / "current").exists()


async def test_api_and_the_gateways_own_pages(front: Front) -> None:
    _, _, body = await front.get("shop.test", "/api/whoami", **{"X-Tenant-Domain": "victim.test"})
    assert b'"X-Tenant-Domain": "shop.test"' in body
    assert (await front.get("shop.test", "/_sitegate/health"))[0] == 200
    assert (await front.get("shop.test", "/_sitegate/status"))[0] == 404
    async with aiohttp.ClientSession() as client:
        async with client.post(front.url + "/about", headers={"Host": "shop.test"}, data=b"x") as reply:
            assert reply.status == 405
