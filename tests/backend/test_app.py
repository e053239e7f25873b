"""The application as a whole: health, and failures that stay well-formed."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from shared.backend.app import create_app
from shared.backend.settings import BackendSettings
from shared.backend.store import Store
from shared.backend.store_mongo import MongoStore

from .conftest import FAST_PASSWORDS, BackendFactory, Visitor, start_secantus, stop


async def test_health_is_ok_while_the_store_answers(site_a: Visitor) -> None:
    response = await site_a.get("/api/health")
    assert response.status == 200
    assert await response.json() == {"status": "ok"}


async def test_a_store_that_stops_answering_gives_503_not_a_traceback(site_a: Visitor, store: Store) -> None:
    await store.close()
    health = await site_a.get("/api/health")
    assert health.status == 503
    assert (await health.json())["error"]["code"] == "store_unavailable"
    posts = await site_a.get("/api/blog/posts")
    assert posts.status == 503
    assert (await posts.json())["error"]["code"] == "store_unavailable"


async def test_an_unexpected_error_is_a_plain_500(start_backend: BackendFactory) -> None:
    async def broken(request: web.Request) -> web.Response:
        raise RuntimeError("secret internals")

    client = await start_backend(app_hook=lambda app: app.router.add_get("/api/broken", broken))
    response = await Visitor(client, "a.example").get("/api/broken")
    assert response.status == 500
    text = await response.text()
    assert "secret internals" not in text and "Traceback" not in text
    assert (await response.json())["error"] == {"code": "internal", "message": "internal error"}


async def test_a_mongodb_server_going_away_turns_health_to_503(aiohttp_client, tmp_path: Path) -> None:
    process, url = start_secantus(tmp_path)
    try:
        store = MongoStore(f"{url}/outage", server_timeout_ms=300)
        settings = BackendSettings(data_dir=tmp_path / "data", store_url=f"{url}/outage", password_cost=FAST_PASSWORDS)
        client = await aiohttp_client(create_app(store, settings=settings))
        assert (await client.get("/api/health")).status == 200
        stop(process)
        response = await client.get("/api/health")
        assert response.status == 503
        posts = await client.get("/api/blog/posts", headers={"X-Tenant-Domain": "a.example"})
        assert posts.status == 503
    finally:
        stop(process)
