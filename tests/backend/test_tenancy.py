"""Who may talk to the backend, and one site's data never reaching another."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.typedefs import Handler

from .conftest import OPEN_REGISTRATION, BackendFactory, Visitor, file_form

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def pretend_peer(address: str):
    """Make the backend see requests as coming from ``address`` (as a remote peer would)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        return await handler(request.clone(remote=address))

    def install(app: web.Application) -> None:
        app.middlewares.insert(0, middleware)

    return install


async def error_of(response) -> dict:
    body = await response.json()
    return body["error"]


@pytest.mark.parametrize("tenant", [None, "", "not a domain", "a..example", "-a.example", "a_b.example", "x" * 300])
async def test_a_request_without_a_valid_tenant_is_refused_with_400(site_a: Visitor, tenant: str | None) -> None:
    visitor = site_a.as_tenant(None)
    headers = {} if tenant is None else {"X-Tenant-Domain": tenant}
    response = await visitor.get("/api/blog/posts", headers=headers)
    assert response.status == 400
    assert (await error_of(response))["code"] == "tenant_required"


async def test_the_tenant_header_is_read_case_and_trailing_dot_insensitively(editor_a: Visitor) -> None:
    await editor_a.publish("Hello")
    same_site = editor_a.stranger().as_tenant("A.Example.")
    response = await same_site.get("/api/blog/posts/hello")
    assert response.status == 200


async def test_health_needs_no_tenant(site_a: Visitor) -> None:
    response = await site_a.as_tenant(None).get("/api/health")
    assert response.status == 200
    assert await response.json() == {"status": "ok"}


async def test_with_a_token_configured_requests_without_it_get_401(start_backend: BackendFactory) -> None:
    client = await start_backend(backend_token="s3cret-token")
    visitor = Visitor(client, "a.example")
    assert (await visitor.get("/api/blog/posts")).status == 401
    wrong = await visitor.get("/api/blog/posts", headers={"X-Sitegate-Token": "s3cret-tokeN"})
    assert wrong.status == 401
    assert (await error_of(wrong))["code"] == "untrusted"
    right = await visitor.get("/api/blog/posts", headers={"X-Sitegate-Token": "s3cret-token"})
    assert right.status == 200


async def test_with_a_token_configured_a_remote_peer_carrying_it_is_accepted(start_backend: BackendFactory) -> None:
    client = await start_backend(app_hook=pretend_peer("203.0.113.9"), backend_token="tok")
    visitor = Visitor(client, "a.example", headers={"X-Sitegate-Token": "tok"})
    assert (await visitor.get("/api/blog/posts")).status == 200


async def test_without_a_token_only_loopback_peers_are_accepted(start_backend: BackendFactory) -> None:
    remote = Visitor(await start_backend(app_hook=pretend_peer("203.0.113.9")), "a.example")
    response = await remote.get("/api/blog/posts")
    assert response.status == 403
    assert (await error_of(response))["code"] == "untrusted"
    for loopback in ("127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"):
        local = Visitor(await start_backend(app_hook=pretend_peer(loopback)), "a.example")
        assert (await local.get("/api/blog/posts")).status == 200, loopback


async def test_an_untrusted_peer_cannot_sign_in_even_with_a_tenant_header(start_backend: BackendFactory) -> None:
    remote = Visitor(await start_backend(app_hook=pretend_peer("198.51.100.7")), "a.example")
    response = await remote.post("/api/auth/register", json={"email": "x@a.example", "password": "long enough"})
    assert response.status == 403


async def test_only_the_gateway_can_open_registration(start_backend: BackendFactory) -> None:
    sign_up = {"email": "x@a.example", "password": "long enough"}
    client = await start_backend(backend_token="tok")
    forged = Visitor(client, "a.example", {**OPEN_REGISTRATION, "X-Sitegate-Token": "forged"})
    assert (await forged.post("/api/auth/register", json=sign_up)).status == 401
    remote = Visitor(await start_backend(app_hook=pretend_peer("198.51.100.7")), "a.example", dict(OPEN_REGISTRATION))
    assert (await remote.post("/api/auth/register", json=sign_up)).status == 403

    closed_site = Visitor(client, "a.example", {"X-Sitegate-Token": "tok"})
    response = await closed_site.post("/api/auth/register", json=sign_up)
    assert response.status == 403
    assert (await error_of(response))["code"] == "registration_closed"
    open_site = Visitor(client, "a.example", {"X-Sitegate-Token": "tok", **OPEN_REGISTRATION})
    assert (await open_site.post("/api/auth/register", json=sign_up)).status == 201


async def test_posts_of_one_site_are_invisible_and_untouchable_from_another(
    editor_a: Visitor, site_b: Visitor
) -> None:
    await editor_a.publish("Only on A", tags=["shared-tag"])
    draft = await editor_a.post("/api/blog/posts", json={"title": "A draft"})
    assert draft.status == 201
    await site_b.become_editor("editor@b.example")

    listing = await (await site_b.get("/api/blog/posts")).json()
    assert listing["items"] == [] and listing["pagination"]["total"] == 0
    tagged = await (await site_b.get("/api/blog/posts", params={"tag": "shared-tag"})).json()
    assert tagged["items"] == []
    for slug in ("only-on-a", "a-draft"):
        assert (await site_b.get(f"/api/blog/posts/{slug}")).status == 404
        assert (await site_b.patch(f"/api/blog/posts/{slug}", json={"title": "Hijacked"})).status == 404
        assert (await site_b.put(f"/api/blog/posts/{slug}", json={"title": "Hijacked"})).status == 404
        assert (await site_b.delete(f"/api/blog/posts/{slug}")).status == 404

    post = await (await editor_a.get("/api/blog/posts/only-on-a")).json()
    assert post["post"]["title"] == "Only on A"


async def test_the_same_slug_can_exist_on_two_sites(editor_a: Visitor, site_b: Visitor) -> None:
    await site_b.become_editor("editor@b.example")
    first = await editor_a.publish("Welcome", body="from A")
    second = await site_b.publish("Welcome", body="from B")
    assert first["slug"] == second["slug"] == "welcome"
    assert (await (await editor_a.get("/api/blog/posts/welcome")).json())["post"]["body"] == "from A"
    assert (await (await site_b.get("/api/blog/posts/welcome")).json())["post"]["body"] == "from B"


async def test_an_account_and_its_session_belong_to_one_site(editor_a: Visitor, site_b: Visitor) -> None:
    same_person_on_b = editor_a.as_tenant("b.example")
    assert (await same_person_on_b.get("/api/auth/me")).status == 401
    assert (await same_person_on_b.post("/api/blog/posts", json={"title": "Sneaky"})).status == 401
    assert (await site_b.login("editor@a.example")).status == 401
    # On B the same email is a new account, with nothing of A's: not its editor role either.
    user = await site_b.register("editor@a.example")
    assert user["role"] == "reader"
    assert user["id"] != (await (await editor_a.get("/api/auth/me")).json())["user"]["id"]


async def test_media_of_one_site_cannot_be_read_or_deleted_from_another(
    editor_a: Visitor, site_b: Visitor
) -> None:
    uploaded = await editor_a.post("/api/media", data=file_form(PNG))
    assert uploaded.status == 201
    media_id = (await uploaded.json())["media"]["id"]
    await site_b.become_editor("editor@b.example")

    assert (await site_b.get(f"/api/media/{media_id}")).status == 404
    assert (await site_b.delete(f"/api/media/{media_id}")).status == 404
    assert (await site_b.stranger().get(f"/api/media/{media_id}")).status == 404
    assert (await editor_a.stranger().get(f"/api/media/{media_id}")).status == 200


@pytest.mark.parametrize(
    "guess", ["AAAAAAAAAAAAAAAAAAAAAA", "..%2F..%2Fbackend.sqlite3", "1", "%2e%2e", "a" * 200]
)
async def test_guessed_media_ids_find_nothing(editor_a: Visitor, guess: str) -> None:
    assert (await editor_a.post("/api/media", data=file_form(PNG))).status == 201
    response = await editor_a.get(f"/api/media/{guess}")
    assert response.status == 404
    assert (await error_of(response))["code"] == "not_found"
