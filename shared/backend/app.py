"""The backend application: the stores, the checks every request passes, and the routes."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from . import auth, blog, media
from .errors import error_middleware, error_response
from .hooks import RebuildHooks
from .keys import AUTH_ATTEMPTS, HOOKS, PASSWORDS, SETTINGS, STORE
from .passwords import Passwords
from .ratelimit import AttemptLimiter
from .settings import BackendSettings
from .store import Store, StoreUnavailable
from .tenancy import tenant_middleware, trust_middleware

# JSON bodies stay small; media uploads stream past this limit through their own check.
MAX_JSON_BODY = 1024 * 1024


async def health(request: web.Request) -> web.Response:
    try:
        await request.app[STORE].ping()
    except StoreUnavailable:
        return error_response(503, "store_unavailable", "the data store is not answering")
    return web.json_response({"status": "ok"})


def create_app(store: Store, *, settings: BackendSettings) -> web.Application:
    """The backend on ``store``; the app opens the store on start-up and closes it at the end."""
    app = web.Application(
        middlewares=[error_middleware, trust_middleware, tenant_middleware],
        client_max_size=MAX_JSON_BODY,
    )
    app[SETTINGS] = settings
    app[STORE] = store
    app[PASSWORDS] = Passwords(settings.password_cost)
    app[AUTH_ATTEMPTS] = AttemptLimiter(settings.login_attempts, settings.login_window_seconds)
    app[HOOKS] = RebuildHooks(settings.gateway_url, token=settings.backend_token, policy=settings.hooks)
    app.router.add_get("/api/health", health)
    app.router.add_routes(blog.routes)
    app.router.add_routes(auth.routes)
    app.router.add_routes(media.routes)
    app.cleanup_ctx.append(_store_open)
    app.cleanup_ctx.append(_hooks_flushed)
    return app


async def _store_open(app: web.Application) -> AsyncIterator[None]:
    await app[STORE].open()
    yield
    await app[STORE].close()


async def _hooks_flushed(app: web.Application) -> AsyncIterator[None]:
    yield
    await app[HOOKS].close()
