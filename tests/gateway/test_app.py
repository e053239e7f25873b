"""The whole gateway, as a browser or an API client sees it."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest
from aiohttp import web

from gateway.app import create_app
from gateway.config import Mode
from tests.gateway.rawhttp import running_gateway, status_of
from tests.gateway.sitefarm import settings_for, write_site


async def test_hosts_pick_sites_and_bad_hosts_are_refused(aiohttp_client, tmp_path: Path) -> None:
    write_site(tmp_path / "sites", "a.test", {"public/index.html": "site a"}, 'aliases = ["www.a.test"]\n')
    client = await aiohttp_client(create_app(settings_for(tmp_path)))
    for host in ("a.test", "WWW.A.TEST:3000", "a.test."):
        response = await client.get("/", headers={"Host": host})
        assert response.status == 200 and await response.text() == "site a"
    unknown = await client.get("/", headers={"Host": "b.test"})
    assert unknown.status == 404 and "No site here" in await unknown.text()
    hostile = await client.get("/", headers={"Host": "a..test"})
    assert hostile.status == 400


async def test_a_broken_site_toml_answers_503_and_the_others_keep_working(aiohttp_client, tmp_path: Path) -> None:
    write_site(tmp_path / "sites", "ok.test", {"public/index.html": "fine"})
    write_site(tmp_path / "sites", "broken.test", {"public/index.html": "x"}, 'builder = "static"\naliases = [\n')
    client = await aiohttp_client(create_app(settings_for(tmp_path)))
    broken = await client.get("/", headers={"Host": "broken.test"})
    assert broken.status == 503
    assert "site.toml, line" in await broken.text()
    assert (await client.get("/", headers={"Host": "ok.test"})).status == 200


async def test_a_link_out_of_a_site_is_never_served_and_the_build_error_names_it(aiohttp_client, tmp_path: Path) -> None:
    """Issue 11: a static site's public/escape.txt linked to a file of the server's served it."""
    secret = tmp_path / "secret.txt"
    secret.write_text("the server's own secret")
    targets = {secret: secret.read_text()}
    if os.path.isfile("/etc/hostname"):
        targets[Path("/etc/hostname")] = Path("/etc/hostname").read_text()
    root = write_site(tmp_path / "sites", "a.test", {"public/index.html": "home"})
    for target, content in targets.items():
        (root / "public" / "escape.txt").unlink(missing_ok=True)
        os.symlink(target, root / "public" / "escape.txt")
        for mode in Mode:
            settings = settings_for(tmp_path, mode=mode, build_dir=tmp_path / "builds" / f"{target.name}-{mode.value}")
            client = await aiohttp_client(create_app(settings))
            for path in ("/escape.txt", "/"):
                response = await client.get(path, headers={"Host": "a.test"})
                body = await response.text()
                # Served, the file would be the whole body; the secret is long enough to look for.
                assert response.status == 503 and body != content and "the server's own secret" not in body
            if mode is Mode.DEVELOPMENT:
                assert "public/escape.txt: a link that points outside the site" in body
            health = await (await client.get("/_sitegate/health")).json()
            assert "public/escape.txt: a link that points outside the site" in health["sites"]["a.test"]["last_error"]
            await client.close()


async def test_a_new_site_is_picked_up_on_sighup(aiohttp_client, tmp_path: Path) -> None:
    (tmp_path / "sites").mkdir()
    client = await aiohttp_client(create_app(settings_for(tmp_path)))
    assert (await client.get("/", headers={"Host": "new.test"})).status == 404
    write_site(tmp_path / "sites", "new.test", {"public/index.html": "new"})
    os.kill(os.getpid(), signal.SIGHUP)
    for _ in range(50):
        response = await client.get("/", headers={"Host": "new.test"})
        if response.status == 200:
            break
        await asyncio.sleep(0.05)
    assert response.status == 200 and await response.text() == "new"


async def test_a_removed_site_is_gone_without_a_restart(aiohttp_client, tmp_path: Path) -> None:
    root = write_site(tmp_path / "sites", "gone.test", {"public/index.html": "here"})
    client = await aiohttp_client(create_app(settings_for(tmp_path)))
    assert (await client.get("/", headers={"Host": "gone.test"})).status == 200
    for path in sorted(root.rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    root.rmdir()
    os.kill(os.getpid(), signal.SIGHUP)
    for _ in range(50):
        response = await client.get("/", headers={"Host": "gone.test"})
        if response.status == 404:
            break
        await asyncio.sleep(0.05)
    assert response.status == 404


async def test_only_api_paths_go_to_the_backend(aiohttp_client, aiohttp_server, tmp_path: Path) -> None:
    async def echo_path(request: web.Request) -> web.Response:
        return web.Response(text=f"backend {request.path_qs}")

    backend_app = web.Application()
    backend_app.router.add_route("*", "/{path:.*}", echo_path)
    backend = await aiohttp_server(backend_app)
    write_site(tmp_path / "sites", "a.test", {"public/apiary.html": "bees", "public/index.html": "home"})
    settings = settings_for(tmp_path, backend_url=f"http://127.0.0.1:{backend.port}")
    client = await aiohttp_client(create_app(settings))
    for path, expected in (("/api", "backend /api"), ("/api/blog/posts?page=2", "backend /api/blog/posts?page=2"), ("/apiary", "bees")):
        response = await client.get(path, headers={"Host": "a.test"})
        assert await response.text() == expected


async def test_health_lists_every_site_with_its_build(aiohttp_client, tmp_path: Path) -> None:
    write_site(tmp_path / "sites", "a.test", {"public/index.html": "a"})
    write_site(tmp_path / "sites", "b.test", {"public/index.html": "b"})
    client = await aiohttp_client(create_app(settings_for(tmp_path)))
    await client.get("/", headers={"Host": "a.test"})
    response = await client.get("/_sitegate/health", headers={"Host": "whatever.example"})
    health = await response.json()
    assert response.status == 200 and health["status"] == "ok" and health["site_count"] == 2
    assert health["sites"]["a.test"]["current_build"] and health["sites"]["a.test"]["builds_started"] == 1
    assert health["sites"]["b.test"]["current_build"] is None


async def test_the_rebuild_hook_wants_the_token_when_one_is_set(aiohttp_client, tmp_path: Path) -> None:
    write_site(tmp_path / "sites", "a.test", {"public/index.html": "a"})
    client = await aiohttp_client(create_app(settings_for(tmp_path, backend_token="s3cret")))
    assert (await client.post("/_sitegate/hooks/rebuild/a.test")).status == 401
    wrong = await client.post("/_sitegate/hooks/rebuild/a.test", headers={"X-Sitegate-Token": "guess"})
    assert wrong.status == 401
    right = await client.post("/_sitegate/hooks/rebuild/a.test", headers={"X-Sitegate-Token": "s3cret"})
    assert right.status == 202
    unknown = await client.post("/_sitegate/hooks/rebuild/nope.test", headers={"X-Sitegate-Token": "s3cret"})
    assert unknown.status == 404


@pytest.mark.parametrize("target", [b"/%61pi/blog/posts", b"/api%2fblog/posts", b"/%2fapi/blog", b"/API/blog"])
def test_only_a_path_sent_as_api_goes_to_the_backend(tmp_path: Path, target: bytes) -> None:
    """The gateway decides on the path as sent and forwards it as sent, so it and the backend
    never read one request two ways."""
    write_site(tmp_path / "sites", "a.test", {"public/index.html": "home"})
    with running_gateway(lambda backend_url: settings_for(tmp_path, backend_url=backend_url)) as gateway:
        assert status_of(gateway.get(b"/api/blog/posts")) == 200
        gateway.backend.seen.clear()
        assert status_of(gateway.get(target)) == 404
        assert gateway.backend.seen == []
