"""Builds as a user of the gateway sees them: on demand, once, reused, kept when a new one fails."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient

from gateway.app import create_app
from gateway.building import site_state
from gateway.config import Mode
from gateway.keys import BUILDS, SITES
from shared.backend.app import create_app as create_backend
from shared.backend.settings import BackendSettings, PasswordCost
from shared.backend.stores import store_for_url
from tests.gateway.sitefarm import (
    ConcurrencyCountingBuilder,
    CountingStaticBuilder,
    CrashingBuilder,
    lookup_with,
    settings_for,
    write_site,
)
from tests.ports import free_port

PAGE = "<!doctype html><title>a</title><h1>{}</h1>"


async def get(client: TestClient, host: str, path: str = "/") -> tuple[int, str]:
    response = await client.get(path, headers={"Host": host})
    return response.status, await response.text()


async def health(client: TestClient) -> dict:
    response = await client.get("/_sitegate/health")
    return (await response.json())["sites"]


async def test_first_request_builds_and_serves_the_site(aiohttp_client, tmp_path: Path) -> None:
    write_site(tmp_path / "sites", "a.test", {"public/index.html": PAGE.format("hello")})
    client = await aiohttp_client(create_app(settings_for(tmp_path)))
    status, body = await get(client, "a.test")
    assert status == 200 and "hello" in body
    site_builds = tmp_path / "builds" / "a.test"
    build_id = os.readlink(site_builds / "current")
    assert (site_builds / build_id / "index.html").is_file()
    assert (site_builds / f"{build_id}.json").is_file()
    assert "copied 1 files" in (site_builds / f"{build_id}.log").read_text()


async def test_fifty_concurrent_first_requests_share_one_build(aiohttp_client, tmp_path: Path) -> None:
    write_site(tmp_path / "sites", "a.test", {"public/index.html": PAGE.format("once")})
    builder = CountingStaticBuilder(delays={"a.test": 0.5})
    client = await aiohttp_client(create_app(settings_for(tmp_path), lookup_with(static=builder)))
    results = await asyncio.gather(*(get(client, "a.test") for _ in range(50)))
    assert all(status == 200 and "once" in body for status, body in results)
    assert builder.builds == ["a.test"]
    stats = (await health(client))["a.test"]
    assert stats["builds_started"] == 1 and stats["builds_run"] == 1 and stats["builds_reused"] == 0


async def test_restart_reuses_the_build_on_disk(aiohttp_client, tmp_path: Path) -> None:
    write_site(tmp_path / "sites", "a.test", {"public/index.html": PAGE.format("kept")})
    first = CountingStaticBuilder()
    client = await aiohttp_client(create_app(settings_for(tmp_path), lookup_with(static=first)))
    await get(client, "a.test")
    build_id = (await health(client))["a.test"]["current_build"]
    await client.close()

    second = CountingStaticBuilder()
    client = await aiohttp_client(create_app(settings_for(tmp_path), lookup_with(static=second)))
    status, body = await get(client, "a.test")
    assert status == 200 and "kept" in body
    assert second.builds == []
    # The look behind the build served from disk finds the same inputs: nothing runs.
    for _ in range(200):
        stats = (await health(client))["a.test"]
        if stats["builds_started"] and not stats["building"]:
            break
        await asyncio.sleep(0.02)
    assert stats["current_build"] == build_id
    assert (stats["builds_started"], stats["builds_run"], stats["builds_reused"]) == (1, 0, 1)


async def test_equal_inputs_give_the_same_build_id_in_another_build_dir(aiohttp_client, tmp_path: Path) -> None:
    write_site(tmp_path / "sites", "a.test", {"public/index.html": PAGE.format("same")})
    ids = []
    for build_dir in ("one", "two"):
        settings = settings_for(tmp_path, build_dir=tmp_path / build_dir)
        client = await aiohttp_client(create_app(settings))
        await get(client, "a.test")
        ids.append((await health(client))["a.test"]["current_build"])
        await client.close()
    assert ids[0] == ids[1]


async def test_a_failed_rebuild_keeps_the_last_good_build_in_service(aiohttp_client, tmp_path: Path) -> None:
    root = write_site(tmp_path / "sites", "a.test", {"public/index.html": PAGE.format("good")})
    client = await aiohttp_client(create_app(settings_for(tmp_path)))
    assert (await get(client, "a.test"))[0] == 200

    (root / "public" / "index.html").unlink()  # an empty public/ cannot be built
    hook = await client.post("/_sitegate/hooks/rebuild/a.test")
    assert hook.status == 202
    for _ in range(100):
        if (await health(client))["a.test"]["builds_failed"]:
            break
        await asyncio.sleep(0.05)
    stats = (await health(client))["a.test"]
    assert stats["builds_failed"] == 1 and "empty" in stats["last_error"]
    status, body = await get(client, "a.test")
    assert status == 200 and "good" in body


async def test_after_a_restart_a_site_whose_build_fails_serves_its_last_good_build(
    aiohttp_client, tmp_path: Path
) -> None:
    root = write_site(tmp_path / "sites", "a.test", {"public/index.html": PAGE.format("good")})
    first = await aiohttp_client(create_app(settings_for(tmp_path)))
    assert (await get(first, "a.test"))[0] == 200
    await first.close()

    (root / "public" / "new.html").write_text("changed, and the build now crashes")
    restarted = await aiohttp_client(create_app(settings_for(tmp_path), lookup_with(static=CrashingBuilder())))
    status, body = await get(restarted, "a.test")
    assert status == 200 and "good" in body
    # The first request is answered from disk at once; the build runs, and fails, behind it.
    for _ in range(100):
        if (stats := (await health(restarted))["a.test"])["last_error"]:
            break
        await asyncio.sleep(0.05)
    assert stats["stale"] is True and "disk on fire" in stats["last_error"]
    assert (await get(restarted, "a.test"))[1] == body


async def test_a_site_that_never_built_answers_503_without_details_in_production(
    aiohttp_client, tmp_path: Path
) -> None:
    write_site(tmp_path / "sites", "a.test", {"public/.keep": ""})
    client = await aiohttp_client(create_app(settings_for(tmp_path)))
    status, body = await get(client, "a.test")
    assert status == 503
    assert "a.test" in body and "empty" not in body


async def test_a_site_that_never_built_shows_the_log_in_development(aiohttp_client, tmp_path: Path) -> None:
    write_site(tmp_path / "sites", "a.test", {"public/.keep": ""})
    client = await aiohttp_client(create_app(settings_for(tmp_path, mode=Mode.DEVELOPMENT)))
    status, body = await get(client, "a.test")
    assert status == 503 and "public/ is empty" in body


async def test_a_crashing_builder_leaves_nothing_half_built(aiohttp_client, tmp_path: Path) -> None:
    write_site(tmp_path / "sites", "a.test", {"public/index.html": PAGE.format("x")})
    lookup = lookup_with(static=CrashingBuilder())
    client = await aiohttp_client(create_app(settings_for(tmp_path, mode=Mode.DEVELOPMENT), lookup))
    status, body = await get(client, "a.test")
    assert status == 503 and "disk on fire" in body
    site_builds = tmp_path / "builds" / "a.test"
    assert [p for p in site_builds.iterdir() if p.is_dir()] == []
    assert not (site_builds / "current").exists()


async def test_other_sites_answer_while_one_builds(aiohttp_client, tmp_path: Path) -> None:
    write_site(tmp_path / "sites", "slow.test", {"public/index.html": PAGE.format("slow")})
    write_site(tmp_path / "sites", "fast.test", {"public/index.html": PAGE.format("fast")})
    builder = CountingStaticBuilder(delays={"slow.test": 2.0})
    client = await aiohttp_client(create_app(settings_for(tmp_path), lookup_with(static=builder)))
    await get(client, "fast.test")

    finished: list[str] = []

    async def fetch(host: str) -> None:
        status, _ = await get(client, host)
        assert status == 200
        finished.append(host)

    slow = asyncio.create_task(fetch("slow.test"))
    await asyncio.sleep(0.1)
    for _ in range(5):
        await fetch("fast.test")
    assert "slow.test" not in finished
    await slow
    assert finished[-1] == "slow.test"


async def test_only_the_last_three_builds_are_kept(aiohttp_client, tmp_path: Path) -> None:
    root = write_site(tmp_path / "sites", "a.test", {"public/index.html": PAGE.format(0)})
    client = await aiohttp_client(create_app(settings_for(tmp_path)))
    builds = client.app[BUILDS]
    site = client.app[SITES].registry.sites["a.test"]
    ids = []
    for version in range(5):
        (root / "public" / "index.html").write_text(PAGE.format(version))
        builds.invalidate("a.test")
        ids.append((await builds.current(site)).build_id)
    site_builds = tmp_path / "builds" / "a.test"
    assert len(set(ids)) == 5
    # Old builds are removed just after the new one is in service.
    for _ in range(100):
        on_disk = sorted(p.name for p in site_builds.iterdir() if p.is_dir() and not p.is_symlink())
        if on_disk == sorted(ids[-3:]):
            break
        await asyncio.sleep(0.02)
    assert on_disk == sorted(ids[-3:])
    assert os.readlink(site_builds / "current") == ids[-1]
    assert "4" in (await get(client, "a.test"))[1]


async def test_a_changed_site_toml_is_rebuilt_while_the_old_build_serves(aiohttp_client, tmp_path: Path) -> None:
    root = write_site(tmp_path / "sites", "a.test", {"public/index.html": PAGE.format("v1")})
    builder = CountingStaticBuilder(delays={"a.test": 1.0})
    client = await aiohttp_client(create_app(settings_for(tmp_path), lookup_with(static=builder)))
    assert "v1" in (await get(client, "a.test"))[1]

    (root / "public" / "index.html").write_text(PAGE.format("v2"))
    (root / "site.toml").write_text('builder = "static"\nspa = true\n')
    await client.app[SITES].reload()
    status, body = await get(client, "a.test")
    assert status == 200 and "v1" in body  # answered at once, from the build in service
    for _ in range(100):
        if "v2" in (await get(client, "a.test"))[1]:
            break
        await asyncio.sleep(0.05)
    assert "v2" in (await get(client, "a.test"))[1]
    assert builder.builds == ["a.test", "a.test"]


async def test_a_production_build_is_precompressed_once_it_is_in_service(aiohttp_client, tmp_path: Path) -> None:
    write_site(tmp_path / "sites", "a.test", {"public/index.html": PAGE.format("squeeze me " * 300)})
    client = await aiohttp_client(create_app(settings_for(tmp_path)))
    first = await client.get("/", headers={"Host": "a.test", "Accept-Encoding": "br"})
    assert first.status == 200 and "squeeze me" in await first.text()
    for _ in range(100):
        response = await client.get("/", headers={"Host": "a.test", "Accept-Encoding": "br"}, auto_decompress=False)
        if response.headers.get("Content-Encoding") == "br":
            break
        await asyncio.sleep(0.05)
    assert response.headers.get("Content-Encoding") == "br"
    build_id = (await health(client))["a.test"]["current_build"]
    assert (tmp_path / "builds" / "a.test" / build_id / "index.html.gz").is_file()


async def test_a_development_build_is_never_compressed(aiohttp_client, tmp_path: Path) -> None:
    write_site(tmp_path / "sites", "a.test", {"public/index.html": PAGE.format("squeeze me " * 300)})
    client = await aiohttp_client(create_app(settings_for(tmp_path, mode=Mode.DEVELOPMENT)))
    await get(client, "a.test")
    await asyncio.sleep(0.3)
    build_id = (await health(client))["a.test"]["current_build"]
    assert not list((tmp_path / "builds" / "a.test" / build_id).glob("*.gz"))


def backend_app(tmp_path: Path) -> web.Application:
    settings = BackendSettings(
        data_dir=tmp_path / "data",
        store_url=f"sqlite:///{tmp_path / 'data' / 'backend.sqlite3'}",
        password_cost=PasswordCost(time_cost=1, memory_kib=8 * 1024, parallelism=1),
    )
    return create_backend(store_for_url(settings.store_url), settings=settings)


async def test_a_data_site_restarted_while_its_backend_is_down_serves_its_last_good_build(
    aiohttp_server, tmp_path: Path
) -> None:
    listing = '{% extends "layouts/base.html" %}{% block content %}<p id="n">{{ data.posts|length }} posts</p>{% endblock %}'
    write_site(tmp_path / "sites", "news.test", {"pages/index.html": listing}, 'builder = "jinja"\n[data]\nposts = "/api/blog/posts"\n')
    backend_port = free_port()
    settings = settings_for(tmp_path, backend_url=f"http://127.0.0.1:{backend_port}")
    backend = await aiohttp_server(backend_app(tmp_path), port=backend_port)
    first = await aiohttp_server(create_app(settings))
    async with aiohttp.ClientSession(base_url=str(first.make_url("/"))) as client:
        async with client.get("/", headers={"Host": "news.test"}) as response:
            assert response.status == 200 and "0 posts" in await response.text()
    await first.close()
    await backend.close()

    restarted = await aiohttp_server(create_app(settings))
    async with aiohttp.ClientSession(base_url=str(restarted.make_url("/"))) as client:

        async def news() -> dict:
            async with client.get("/_sitegate/health") as response:
                return (await response.json())["sites"]["news.test"]

        for _ in range(3):
            async with client.get("/", headers={"Host": "news.test"}) as response:
                assert response.status == 200 and "0 posts" in await response.text()
        outage = await news()
        assert outage["stale"] is True and "cannot fetch" in outage["last_error"]
        # Retried with backoff, not once per request.
        assert outage["builds_started"] == 1

        await aiohttp_server(backend_app(tmp_path), port=backend_port)
        for _ in range(150):
            if not (await news())["stale"]:
                break
            await asyncio.sleep(0.1)
        back = await news()
        assert back["stale"] is False and back["last_error"] is None


async def test_a_site_whose_builds_keep_failing_is_tried_again_less_and_less_often(
    aiohttp_client, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setattr(site_state, "FAILED_RETRY_FIRST_SECONDS", 0.2)
    write_site(tmp_path / "sites", "a.test", {"public/index.html": PAGE.format("x")})
    client = await aiohttp_client(create_app(settings_for(tmp_path), lookup_with(static=CrashingBuilder())))
    # A crawler asking all the time for 1.5 s: tries at 0, 0.2, 0.6 and 1.4 s at most (backoff
    # doubles), where a fixed 0.2 s would have made eight.
    ends = asyncio.get_running_loop().time() + 1.5
    while asyncio.get_running_loop().time() < ends:
        assert (await get(client, "a.test"))[0] == 503
    assert 2 <= (await health(client))["a.test"]["builds_started"] <= 4


async def test_cold_sites_asked_at_once_build_at_most_max_builds_at_a_time(aiohttp_client, tmp_path: Path) -> None:
    names = [f"s{number}.test" for number in range(6)]
    for name in names:
        write_site(tmp_path / "sites", name, {"public/index.html": PAGE.format(name)})
    builder = ConcurrencyCountingBuilder()
    client = await aiohttp_client(create_app(settings_for(tmp_path, max_builds=2), lookup_with(static=builder)))
    results = await asyncio.gather(*(get(client, name) for name in names))
    assert all(status == 200 and name in body for (status, body), name in zip(results, names))
    assert builder.most_at_once == 2
