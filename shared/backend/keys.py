"""Where the backend keeps its state: typed keys on the aiohttp application."""

from __future__ import annotations

from aiohttp import web

from .hooks import RebuildHooks
from .passwords import Passwords
from .ratelimit import AttemptLimiter
from .settings import BackendSettings
from .store import Store

SETTINGS = web.AppKey("settings", BackendSettings)
STORE = web.AppKey("store", Store)
PASSWORDS = web.AppKey("passwords", Passwords)
AUTH_ATTEMPTS = web.AppKey("auth_attempts", AttemptLimiter)
HOOKS = web.AppKey("hooks", RebuildHooks)
