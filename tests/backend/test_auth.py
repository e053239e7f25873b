"""Accounts: registering (open, closed, by invitation), signing in and out, sessions, and the
brake on guessing passwords."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from shared.backend.sessions import COOKIE_NAME
from shared.backend.store import Invitation, NotFound, Role, Session, Store, utc_now
from shared.backend.tenancy import REGISTRATION_HEADER

from .conftest import OPEN_REGISTRATION, PASSWORD, BackendFactory, Visitor


async def error_of(response) -> dict[str, Any]:
    return dict((await response.json())["error"])


def set_cookie_header(response) -> str:
    return next(value for value in response.headers.getall("Set-Cookie") if value.startswith(COOKIE_NAME))


async def test_register_signs_the_user_in_with_a_safe_cookie(site_a: Visitor) -> None:
    response = await site_a.post(
        "/api/auth/register", json={"email": " Ada@Example.COM ", "password": PASSWORD, "name": "Ada"}
    )
    assert response.status == 201
    user = (await response.json())["user"]
    assert user["email"] == "ada@example.com" and user["name"] == "Ada"
    assert "password" not in str(user) and "hash" not in str(user)
    cookie = set_cookie_header(response)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie
    me = await site_a.get("/api/auth/me")
    assert me.status == 200
    assert (await me.json())["user"]["id"] == user["id"]


async def test_the_cookie_is_secure_when_the_gateway_says_the_client_used_https(site_a: Visitor) -> None:
    response = await site_a.post(
        "/api/auth/register",
        json={"email": "ada@example.com", "password": PASSWORD},
        headers={"X-Forwarded-Proto": "https"},
    )
    assert "Secure" in set_cookie_header(response)


async def test_the_first_user_of_a_site_is_a_reader_like_everyone_after(site_a: Visitor) -> None:
    first = await site_a.register("first@a.example")
    assert first["role"] == "reader"
    assert (await site_a.post("/api/blog/posts", json={"title": "Mine now"})).status == 403
    assert (await site_a.post("/api/auth/invitations", json={"role": "editor"})).status == 403
    assert (await site_a.stranger().register("second@a.example"))["role"] == "reader"


@pytest.mark.parametrize("said", [None, "closed", "", "yes", "opened"])
async def test_registration_is_closed_unless_the_gateway_says_open(
    backend: TestClient[web.Request, web.Application], said: str | None
) -> None:
    visitor = Visitor(backend, "a.example", {} if said is None else {REGISTRATION_HEADER: said})
    response = await visitor.post("/api/auth/register", json={"email": "ada@a.example", "password": PASSWORD})
    assert response.status == 403
    error = await error_of(response)
    assert error["code"] == "registration_closed" and "invite" in error["message"]
    assert visitor.session is None
    assert (await visitor.login("ada@a.example")).status == 401


async def invite(editor: Visitor, **fields: Any) -> dict[str, Any]:
    response = await editor.post("/api/auth/invitations", json=fields)
    assert response.status == 201, await response.text()
    return dict((await response.json())["invitation"])


def closed(visitor: Visitor) -> Visitor:
    """Someone signed out on the same site, as it would be with registration closed."""
    return Visitor(visitor.client, visitor.tenant)


async def test_an_editors_invitation_makes_an_editor_on_a_closed_site(editor_a: Visitor) -> None:
    invitation = await invite(editor_a, role="editor")
    assert invitation["role"] == "editor" and invitation["email"] is None
    expires = datetime.fromisoformat(invitation["expires_at"].replace("Z", "+00:00"))
    assert timedelta(days=6, hours=23) < expires - utc_now() <= timedelta(days=7)

    newcomer = closed(editor_a)
    user = await newcomer.register("grace@a.example", invitation=invitation["token"], name="Grace")
    assert user["role"] == "editor" and user["name"] == "Grace"
    assert (await newcomer.post("/api/blog/posts", json={"title": "By Grace"})).status == 201


async def test_an_invitation_makes_a_reader_by_default(editor_a: Visitor) -> None:
    invitation = await invite(editor_a)
    assert invitation["role"] == "reader"
    assert (await closed(editor_a).register("r@a.example", invitation=invitation["token"]))["role"] == "reader"


async def test_an_invitation_works_once(editor_a: Visitor) -> None:
    token = (await invite(editor_a, role="editor"))["token"]
    await closed(editor_a).register("grace@a.example", invitation=token)
    again = await closed(editor_a).post(
        "/api/auth/register", json={"email": "mallory@a.example", "password": PASSWORD, "invitation": token}
    )
    assert again.status == 403
    assert (await error_of(again))["code"] == "invalid_invitation"
    assert (await closed(editor_a).login("mallory@a.example")).status == 401


async def test_simultaneous_uses_of_one_invitation_make_one_account(editor_a: Visitor) -> None:
    token = (await invite(editor_a, role="editor"))["token"]
    visitors = [closed(editor_a) for _ in range(5)]
    responses = await asyncio.gather(
        *(
            visitor.post(
                "/api/auth/register", json={"email": f"user{n}@a.example", "password": PASSWORD, "invitation": token}
            )
            for n, visitor in enumerate(visitors)
        )
    )
    assert sorted(response.status for response in responses) == [201, 403, 403, 403, 403]


async def test_an_expired_invitation_is_refused(editor_a: Visitor, store: Store) -> None:
    token = "an-invitation-from-last-month"
    then = utc_now() - timedelta(days=30)
    await store.create_invitation(
        "a.example",
        Invitation(
            token_hash=hashlib.sha256(token.encode()).hexdigest(),
            tenant="a.example",
            role=Role.EDITOR,
            email=None,
            invited_by="someone",
            created_at=then,
            expires_at=then + timedelta(days=7),
        ),
    )
    response = await closed(editor_a).post(
        "/api/auth/register", json={"email": "late@a.example", "password": PASSWORD, "invitation": token}
    )
    assert response.status == 403
    error = await error_of(response)
    assert error["code"] == "invalid_invitation" and "expired" in error["message"]


async def test_an_invitation_works_only_on_its_own_site(editor_a: Visitor) -> None:
    token = (await invite(editor_a, role="editor"))["token"]
    on_b = closed(editor_a).as_tenant("b.example")
    response = await on_b.post(
        "/api/auth/register", json={"email": "grace@a.example", "password": PASSWORD, "invitation": token}
    )
    assert response.status == 403
    assert (await error_of(response))["code"] == "invalid_invitation"
    # Tried on B, it is still A's, unused.
    assert (await closed(editor_a).register("grace@a.example", invitation=token))["role"] == "editor"


async def test_only_editors_invite(site_a: Visitor) -> None:
    assert (await site_a.post("/api/auth/invitations", json={"role": "reader"})).status == 401
    await site_a.register("reader@a.example")
    response = await site_a.post("/api/auth/invitations", json={"role": "editor"})
    assert response.status == 403
    assert (await error_of(response))["code"] == "forbidden"


async def test_an_invitation_for_an_email_is_for_that_email_only(editor_a: Visitor) -> None:
    token = (await invite(editor_a, role="editor", email="Grace@A.example"))["token"]
    wrong = await closed(editor_a).post(
        "/api/auth/register", json={"email": "mallory@a.example", "password": PASSWORD, "invitation": token}
    )
    assert wrong.status == 403
    assert (await error_of(wrong))["field"] == "email"
    assert (await closed(editor_a).register("grace@a.example", invitation=token))["role"] == "editor"


async def test_a_taken_email_leaves_the_invitation_usable(editor_a: Visitor) -> None:
    token = (await invite(editor_a, role="editor"))["token"]
    taken = await closed(editor_a).post(
        "/api/auth/register", json={"email": "editor@a.example", "password": PASSWORD, "invitation": token}
    )
    assert taken.status == 409
    assert (await closed(editor_a).register("grace@a.example", invitation=token))["role"] == "editor"


async def test_the_store_keeps_only_a_hash_of_the_invitation_token(editor_a: Visitor, store: Store) -> None:
    token = (await invite(editor_a, role="editor"))["token"]
    with pytest.raises(NotFound):
        await store.take_invitation("a.example", token)
    invitation = await store.take_invitation("a.example", hashlib.sha256(token.encode()).hexdigest())
    assert invitation.role is Role.EDITOR and invitation.tenant == "a.example"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"role": "owner"}, "role"),
        ({"role": ["editor"]}, "role"),
        ({"role": "editor", "email": "not-an-email"}, "email"),
        ({"role": "editor", "expires_at": "2100-01-01T00:00:00Z"}, "expires_at"),
    ],
)
async def test_invitations_validate_each_field(editor_a: Visitor, payload: dict[str, Any], field: str) -> None:
    response = await editor_a.post("/api/auth/invitations", json=payload)
    assert response.status == 422
    assert (await error_of(response))["field"] == field


async def test_register_refuses_what_is_no_invitation(editor_a: Visitor) -> None:
    sign_up = {"email": "x@a.example", "password": PASSWORD}
    for malformed in (42, "", "x" * 129, ["token"]):
        response = await closed(editor_a).post("/api/auth/register", json={**sign_up, "invitation": malformed})
        assert response.status == 422, malformed
        assert (await error_of(response))["field"] == "invitation"
    unknown = await closed(editor_a).post("/api/auth/register", json={**sign_up, "invitation": "no-such-invitation"})
    assert unknown.status == 403
    assert (await error_of(unknown))["code"] == "invalid_invitation"


async def test_an_email_registers_once_per_site(site_a: Visitor) -> None:
    await site_a.register("ada@example.com")
    again = await site_a.stranger().post(
        "/api/auth/register", json={"email": "ADA@example.com", "password": PASSWORD}
    )
    assert again.status == 409
    assert (await error_of(again))["field"] == "email"


async def test_login_and_logout(site_a: Visitor) -> None:
    await site_a.register("ada@example.com")
    visitor = site_a.stranger()
    response = await visitor.login("Ada@Example.com")
    assert response.status == 200
    assert (await response.json())["user"]["email"] == "ada@example.com"
    assert (await visitor.get("/api/auth/me")).status == 200
    token = visitor.session

    logout = await visitor.post("/api/auth/logout")
    assert logout.status == 204
    assert "Max-Age=0" in set_cookie_header(logout) or "expires=" in set_cookie_header(logout).lower()
    visitor.session = token
    assert (await visitor.get("/api/auth/me")).status == 401


async def test_logout_without_a_session_is_harmless(site_a: Visitor) -> None:
    assert (await site_a.post("/api/auth/logout")).status == 204


async def test_wrong_password_and_unknown_email_look_the_same(site_a: Visitor) -> None:
    await site_a.register("ada@example.com")
    visitor = site_a.stranger()
    wrong = await visitor.login("ada@example.com", "not the password")
    unknown = await visitor.login("nobody@example.com")
    assert wrong.status == unknown.status == 401
    assert await error_of(wrong) == await error_of(unknown)
    assert visitor.session is None
    assert (await visitor.get("/api/auth/me")).status == 401


async def test_me_without_a_session_or_with_a_forged_one_is_401(site_a: Visitor) -> None:
    assert (await site_a.get("/api/auth/me")).status == 401
    site_a.session = "forged-token"
    response = await site_a.get("/api/auth/me")
    assert response.status == 401
    assert (await error_of(response))["code"] == "unauthenticated"


async def test_an_expired_session_no_longer_signs_in(site_a: Visitor, store: Store) -> None:
    user = await site_a.register("ada@example.com")
    token = "an-old-token-from-last-month"
    then = utc_now() - timedelta(days=30)
    await store.create_session(
        "a.example",
        Session(
            token_hash=hashlib.sha256(token.encode()).hexdigest(),
            tenant="a.example",
            user_id=user["id"],
            created_at=then,
            expires_at=then + timedelta(days=14),
        ),
    )
    visitor = site_a.stranger()
    visitor.session = token
    assert (await visitor.get("/api/auth/me")).status == 401
    assert (await visitor.post("/api/blog/posts", json={"title": "Late"})).status == 401


async def test_the_store_keeps_only_a_hash_of_the_session_token(site_a: Visitor, store: Store) -> None:
    await site_a.register("ada@example.com")
    token = site_a.session
    assert token is not None
    with pytest.raises(NotFound):
        await store.get_session("a.example", token)
    session = await store.get_session("a.example", hashlib.sha256(token.encode()).hexdigest())
    assert session.expires_at > utc_now() + timedelta(days=13)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"password": PASSWORD}, "email"),
        ({"email": "not-an-email", "password": PASSWORD}, "email"),
        ({"email": "a@b", "password": PASSWORD}, "email"),
        ({"email": 42, "password": PASSWORD}, "email"),
        ({"email": "a" * 250 + "@x.io", "password": PASSWORD}, "email"),
        ({"email": "ada@example.com"}, "password"),
        ({"email": "ada@example.com", "password": "short"}, "password"),
        ({"email": "ada@example.com", "password": "x" * 1025}, "password"),
        ({"email": "ada@example.com", "password": 12345678}, "password"),
        ({"email": "ada@example.com", "password": PASSWORD, "name": ["Ada"]}, "name"),
        ({"email": "ada@example.com", "password": PASSWORD, "name": "x" * 101}, "name"),
        ({"email": "ada@example.com", "password": PASSWORD, "role": "editor"}, "role"),
    ],
)
async def test_register_validates_each_field(site_a: Visitor, payload: dict[str, Any], field: str) -> None:
    response = await site_a.post("/api/auth/register", json=payload)
    assert response.status == 422
    assert (await error_of(response))["field"] == field


async def test_login_rejects_malformed_bodies(site_a: Visitor) -> None:
    response = await site_a.post("/api/auth/login", data=b"email=a", headers={"Content-Type": "text/plain"})
    assert response.status == 415
    response = await site_a.post("/api/auth/login", data=b"{", headers={"Content-Type": "application/json"})
    assert response.status == 400
    response = await site_a.post("/api/auth/login", json={"email": "ada@example.com"})
    assert response.status == 422


async def test_login_attempts_are_limited_per_site_and_client(start_backend: BackendFactory) -> None:
    client = await start_backend(login_attempts=3)
    attacker = Visitor(client, "a.example", headers={"X-Forwarded-For": "198.51.100.1", **OPEN_REGISTRATION})
    await attacker.stranger().register("ada@example.com")
    for _ in range(3):
        assert (await attacker.login("ada@example.com", "guess guess")).status == 401
    blocked = await attacker.login("ada@example.com")
    assert blocked.status == 429
    assert (await error_of(blocked))["code"] == "too_many_attempts"
    assert 1 <= int(blocked.headers["Retry-After"]) <= 60

    other_client = Visitor(client, "a.example", headers={"X-Forwarded-For": "198.51.100.2"})
    assert (await other_client.login("ada@example.com")).status == 200
    other_site = attacker.as_tenant("b.example")
    assert (await other_site.login("ada@example.com")).status == 401


async def test_the_client_address_is_the_one_the_gateway_saw(start_backend: BackendFactory) -> None:
    client = await start_backend(login_attempts=2)
    # The client wrote the left-most hop itself; the gateway appended the real address.
    first = Visitor(client, "a.example", headers={"X-Forwarded-For": "10.0.0.1, 198.51.100.1"})
    for _ in range(2):
        assert (await first.login("nobody@example.com")).status == 401
    spoofing = Visitor(client, "a.example", headers={"X-Forwarded-For": "10.0.0.2, 198.51.100.1"})
    assert (await spoofing.login("nobody@example.com")).status == 429
