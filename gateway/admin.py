"""The gateway's own routes under ``/_sitegate/``, answered on any host."""

from __future__ import annotations

import hmac
import ipaddress
import os

from aiohttp import web

from builders.errors import BuildError
from gateway.keys import BUILDS, CLUSTER, SETTINGS, SITES
from gateway.sites.registry import Site


async def health(request: web.Request) -> web.Response:
    registry = request.app[SITES].registry
    stats = request.app[BUILDS].stats()
    sites = {}
    for name, site in registry.sites.items():
        site_stats = stats.get(name)
        sites[name] = {
            "builder": site.builder,
            "error": site.error,
            "current_build": site_stats.current_build if site_stats else None,
            "builds_started": site_stats.builds_started if site_stats else 0,
            "builds_failed": site_stats.builds_failed if site_stats else 0,
            # Of the builds started: made anew, or the same inputs found already built on disk.
            "builds_run": site_stats.builds_run if site_stats else 0,
            "builds_reused": site_stats.builds_reused if site_stats else 0,
            # Made by another host of the cluster and taken from the build store.
            "builds_fetched": site_stats.builds_fetched if site_stats else 0,
            "building": site_stats.building if site_stats else False,
            "last_error": site_stats.last_error if site_stats else None,
            # Serving an older build because the newest attempt failed (or its [data] is out of reach).
            "stale": site_stats.stale if site_stats else False,
        }
    body = {
        # pid: which of several --workers answered (each counts its own builds).
        "status": "ok", "mode": request.app[SETTINGS].mode.value, "pid": os.getpid(), "site_count": len(sites),
        "sites": sites,
    }  # fmt: skip
    if CLUSTER in request.app:
        # Still "ok": a gateway whose store or database is out of reach serves what it has.
        # Whether, not why: the errors name the store's endpoint; the status page has them.
        body["cluster"] = request.app[CLUSTER].describe()
    return web.json_response(body, headers={"Cache-Control": "no-store"})


def _trusted_caller(request: web.Request) -> bool:
    """With a token configured, the caller must send it; without one, only loopback may call."""
    token = request.app[SETTINGS].backend_token
    if token:
        sent = request.headers.get("X-Sitegate-Token", "")
        return hmac.compare_digest(sent.encode(), token.encode())
    peer = request.remote or ""
    try:
        return ipaddress.ip_address(peer).is_loopback
    except ValueError:
        return False


def _hook_site(request: web.Request) -> Site | web.Response:
    """The site a hook names, or the error to answer: a hook is the gateway's, or the operator's."""
    if not _trusted_caller(request):
        return _json_error(401, "unauthorized", "a valid X-Sitegate-Token is required")
    name = request.match_info["site"]
    site = request.app[SITES].registry.sites.get(name)
    if site is None:
        return _json_error(404, "unknown_site", f"no site named {name}")
    return site


async def rebuild_hook(request: web.Request) -> web.Response:
    site = _hook_site(request)
    if isinstance(site, web.Response):
        return site
    request.app[BUILDS].rebuild_in_background(site, inputs_changed=True)
    return web.json_response({"site": site.name, "status": "rebuilding"}, status=202)


async def rollback_hook(request: web.Request) -> web.Response:
    """Called by ``sitegate rollback`` once ``current`` points at the earlier build: the site
    serves it before the command returns."""
    site = _hook_site(request)
    if isinstance(site, web.Response):
        return site
    try:
        build = await request.app[BUILDS].roll_back(site)
    except BuildError as error:
        return _json_error(502, "build_failed", str(error))
    return web.json_response({"site": site.name, "build_id": build.build_id})


def _json_error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/_sitegate/health", health)
    app.router.add_post("/_sitegate/hooks/rebuild/{site}", rebuild_hook)
    app.router.add_post("/_sitegate/hooks/rollback/{site}", rollback_hook)
