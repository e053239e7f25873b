"""Accounts of a tenant: register (openly or by invitation), invite, sign in and out, and who am I."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from .bodies import json_time, read_json_object
from .errors import ApiError, invalid
from .invitations import (
    accept_invitation,
    invitation_json,
    invitation_token,
    invited_role,
    issue_invitation,
)
from .keys import AUTH_ATTEMPTS, PASSWORDS, SETTINGS, STORE
from .passwords import Passwords
from .sessions import (
    clear_session_cookie,
    end_session,
    require_editor,
    require_user,
    set_session_cookie,
    start_session,
)
from .store import NotFound, Role, Store, User, new_id, utc_now
from .tenancy import client_address, registration_open, tenant_of

EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_EMAIL = 254
MIN_PASSWORD = 8
# argon2 accepts any length, but hashing megabytes would be a cheap way to burn our CPU.
MAX_PASSWORD = 1024
MAX_NAME = 100

routes = web.RouteTableDef()


def user_json(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": user.role.value,
        "created_at": json_time(user.created_at),
    }


def normalise_email(value: Any) -> str:
    if not isinstance(value, str):
        raise invalid("email", "must be a string")
    email = value.strip().lower()
    if len(email) > MAX_EMAIL or not EMAIL_PATTERN.match(email):
        raise invalid("email", "must be an email address such as ada@example.com")
    return email


def check_password(value: Any) -> str:
    if not isinstance(value, str):
        raise invalid("password", "must be a string")
    if len(value) < MIN_PASSWORD:
        raise invalid("password", f"must be at least {MIN_PASSWORD} characters")
    if len(value) > MAX_PASSWORD:
        raise invalid("password", f"must be at most {MAX_PASSWORD} characters")
    return value


def _name(value: Any) -> str:
    if not isinstance(value, str):
        raise invalid("name", "must be a string")
    name = value.strip()
    if len(name) > MAX_NAME:
        raise invalid("name", f"must be at most {MAX_NAME} characters")
    return name


def _only(payload: Mapping[str, Any], allowed: frozenset[str]) -> None:
    unknown = sorted(set(payload) - allowed)
    if unknown:
        raise invalid(unknown[0], "is not an accepted field")


def _limit_attempts(request: web.Request, action: str) -> None:
    """429 once this client has tried ``action`` too often on this site lately."""
    client = client_address(request, request.app[SETTINGS].trusted_proxies)
    wait = request.app[AUTH_ATTEMPTS].attempt((action, tenant_of(request), client))
    if wait is not None:
        raise ApiError(
            429, "too_many_attempts", f"too many attempts; try again in {wait} s", headers={"Retry-After": str(wait)}
        )


async def _signed_in(request: web.Request, user: User, status: int) -> web.Response:
    token = await start_session(request, user)
    response = web.json_response({"user": user_json(user)}, status=status)
    set_session_cookie(response, request, token)
    return response


@routes.post("/api/auth/register")
async def register(request: web.Request) -> web.Response:
    """A reader when the site takes sign-ups; with an invitation, the invited role either way."""
    payload = await read_json_object(request)
    _only(payload, frozenset({"email", "password", "name", "invitation"}))
    email = normalise_email(payload.get("email"))
    password = check_password(payload.get("password"))
    name = _name(payload.get("name", ""))
    token = invitation_token(payload.get("invitation"))
    if token is None and not registration_open(request):
        raise ApiError(
            403, "registration_closed", "this site does not take sign-ups; an editor of the site can invite you"
        )
    _limit_attempts(request, "register")
    store, passwords, tenant = request.app[STORE], request.app[PASSWORDS], tenant_of(request)

    async def join(role: Role) -> User:
        return await create_account(store, passwords, tenant, email=email, password=password, name=name, role=role)

    user = await (join(Role.READER) if token is None else accept_invitation(store, tenant, token, email, join))
    return await _signed_in(request, user, 201)


@routes.post("/api/auth/invitations")
async def invite(request: web.Request) -> web.Response:
    editor = await require_editor(request)
    payload = await read_json_object(request)
    _only(payload, frozenset({"role", "email"}))
    role = invited_role(payload.get("role", Role.READER.value))
    email = None if payload.get("email") is None else normalise_email(payload["email"])
    token, invitation = await issue_invitation(
        request.app[STORE], tenant_of(request), role=role, email=email, invited_by=editor
    )
    return web.json_response({"invitation": invitation_json(token, invitation)}, status=201)


async def create_account(
    store: Store,
    passwords: Passwords,
    tenant: str,
    *,
    email: str,
    password: str,
    name: str,
    role: Role,
) -> User:
    """A new user of ``tenant``: the one way in for sign-ups, invitations and the operator's CLI."""
    password_hash = await passwords.hash(password)
    user = User(
        id=new_id(),
        tenant=tenant,
        email=email,
        name=name or email.split("@", 1)[0],
        role=role,
        password_hash=password_hash,
        created_at=utc_now(),
    )
    return await store.create_user(tenant, user)


@routes.post("/api/auth/login")
async def login(request: web.Request) -> web.Response:
    _limit_attempts(request, "login")
    payload = await read_json_object(request)
    _only(payload, frozenset({"email", "password"}))
    email = normalise_email(payload.get("email"))
    password = payload.get("password")
    if not isinstance(password, str) or not password or len(password) > MAX_PASSWORD:
        raise invalid("password", f"must be a non-empty string of at most {MAX_PASSWORD} characters")
    tenant = tenant_of(request)
    try:
        user: User | None = await request.app[STORE].find_user_by_email(tenant, email)
    except NotFound:
        user = None
    matches = await request.app[PASSWORDS].verify(user.password_hash if user else None, password)
    if user is None or not matches:
        raise ApiError(401, "invalid_credentials", "wrong email or password")
    return await _signed_in(request, user, 200)


@routes.post("/api/auth/logout")
async def logout(request: web.Request) -> web.Response:
    await end_session(request)
    response = web.Response(status=204)
    clear_session_cookie(response, request)
    return response


@routes.get("/api/auth/me")
async def me(request: web.Request) -> web.Response:
    user = await require_user(request)
    return web.json_response({"user": user_json(user)})
