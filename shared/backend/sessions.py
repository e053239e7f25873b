"""Who is asking: session cookies, and the checks routes use to require a user or an editor.

The cookie holds a random token; the store keeps only its SHA-256, so a leaked database
does not hand out live sessions.
"""

from __future__ import annotations

import hashlib
import secrets

from aiohttp import web

from .errors import ApiError
from .keys import SETTINGS, STORE
from .store import NotFound, Role, Session, User, utc_now
from .tenancy import came_over_https, tenant_of

COOKIE_NAME = "sitegate_session"
MAX_TOKEN_LENGTH = 128


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def start_session(request: web.Request, user: User) -> str:
    """A new session for ``user``; returns the token to hand to the client."""
    token = secrets.token_urlsafe(32)
    now = utc_now()
    session = Session(
        token_hash=hash_token(token),
        tenant=user.tenant,
        user_id=user.id,
        created_at=now,
        expires_at=now + request.app[SETTINGS].session_lifetime,
    )
    await request.app[STORE].create_session(tenant_of(request), session)
    return token


async def end_session(request: web.Request) -> None:
    token = _token(request)
    if token is not None:
        await request.app[STORE].delete_session(tenant_of(request), hash_token(token))


def set_session_cookie(response: web.StreamResponse, request: web.Request, token: str) -> None:
    lifetime = request.app[SETTINGS].session_lifetime
    response.set_cookie(
        COOKIE_NAME,
        token,
        max_age=int(lifetime.total_seconds()),
        path="/",
        httponly=True,
        samesite="Lax",
        secure=came_over_https(request),
    )


def clear_session_cookie(response: web.StreamResponse, request: web.Request) -> None:
    response.del_cookie(COOKIE_NAME, path="/", httponly=True, samesite="Lax", secure=came_over_https(request))


def _token(request: web.Request) -> str | None:
    token = request.cookies.get(COOKIE_NAME)
    # Header bytes that are not UTF-8 arrive as lone surrogates, which hashing cannot encode;
    # our tokens are ASCII, so such a cookie is no session of ours.
    if not token or len(token) > MAX_TOKEN_LENGTH or not token.isascii():
        return None
    return token


async def current_user(request: web.Request) -> User | None:
    """The signed-in user of this tenant, or None (no cookie, unknown or expired session)."""
    token = _token(request)
    if token is None:
        return None
    store = request.app[STORE]
    tenant = tenant_of(request)
    token_hash = hash_token(token)
    try:
        session = await store.get_session(tenant, token_hash)
    except NotFound:
        return None
    if session.expires_at <= utc_now():
        await store.delete_session(tenant, token_hash)
        return None
    try:
        return await store.get_user(tenant, session.user_id)
    except NotFound:
        return None


async def require_user(request: web.Request) -> User:
    user = await current_user(request)
    if user is None:
        raise ApiError(401, "unauthenticated", "sign in first")
    return user


async def require_editor(request: web.Request) -> User:
    user = await require_user(request)
    if user.role is not Role.EDITOR:
        raise ApiError(403, "forbidden", "only editors may do this")
    return user
