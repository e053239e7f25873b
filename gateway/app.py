"""``create_app(settings)``: the rooms wired together. All state lives on the app."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial

from aiohttp import web
from aiohttp.typedefs import Middleware

from builders import KNOWN_BUILDERS, builder_for
from builders.base import Builder
from gateway import admin
from gateway.building.follow import follow_published
from gateway.building.manager import BuildFailed, BuildManager
from gateway.building.site_data import fetch_site_data
from gateway.cluster.follow import follow_cluster
from gateway.cluster.member import ClusterMember
from gateway.config import Settings
from gateway.dev import devservers
from gateway.dev.devservers import DevServers
from gateway.dev.livereload import (
    EVENTS_PATH,
    SCRIPT_PATH,
    LiveReloadHub,
    inject_script,
    send_events,
)
from gateway.dev.livereload import script as live_reload_script
from gateway.dev.watch import DevReloader
from gateway.forwarding import proxy
from gateway.forwarding.framing import plainly_framed, refuse_ambiguous_framing
from gateway.keys import (
    BUILDS,
    CACHE,
    CLIENT,
    CLUSTER,
    DEV_SERVERS,
    KIND,
    LIVE_RELOAD,
    METRICS,
    SETTINGS,
    SITE_NAME,
    SITES,
)
from gateway.listen import Gateway, Shortcut, handler_args
from gateway.ops import routes as ops_routes
from gateway.ops.access_log import observe_requests
from gateway.ops.metrics import GatewayMetrics
from gateway.serving import pages
from gateway.serving.hot_path import hot_response
from gateway.serving.redirects import respond_with_rules
from gateway.sites.directory import SiteDirectory
from gateway.sites.registry import Site
from gateway.sites.routing import servable_site, site_for

log = logging.getLogger("sitegate")

SITE_POLL_SECONDS = 2.0
# aiohttp's limit on a body read whole, which only the gateway's own routes may do; /api bodies
# stream to the backend under SITEGATE_MAX_API_BODY_BYTES instead, and static routes read none.
OWN_ROUTES_MAX_BODY_BYTES = 64 * 1024


def _is_api(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")


async def handle_site_request(request: web.Request) -> web.StreamResponse:
    """Host → site; then ``/api`` to the backend, everything else from the site's build."""
    site = site_for(request)
    if isinstance(site, web.Response):
        return site
    return await _serve_site(request, request.app, site)


async def _serve_site(request: web.Request, app: web.Application, site: Site) -> web.StreamResponse:
    settings = app[SETTINGS]
    request[SITE_NAME] = site.name
    # Judged on the path as sent, which is what the proxy forwards: "/%61pi/x" is no /api path.
    if _is_api(request.rel_url.raw_path):
        request[KIND] = "api"
        return await proxy.forward(
            request,
            site=site,
            upstream=site.backend_url or settings.backend_url,
            session=app[CLIENT],
            settings=settings,
        )
    if settings.dev and app[DEV_SERVERS].serves(site):
        request[KIND] = "dev"
        return await devservers.forward(
            request, site, servers=app[DEV_SERVERS], session=app[CLIENT], settings=settings
        )
    request[CACHE] = "hit" if app[BUILDS].current_build(site.name) is not None else "miss"
    try:
        build = await app[BUILDS].current(site)
    except BuildFailed as failure:
        if not settings.dev:
            return pages.build_failed(site.name, str(failure.error), None)
        page = pages.build_failed(site.name, str(failure.error), failure.error.log or str(failure.error))
        page.body = inject_script(page.body, None)  # so that fixing the file reloads the tab
        return page
    if not settings.dev and (hot := hot_response(request, build.table, build.rules)) is not None:
        return hot
    return await respond_with_rules(
        request,
        build.table,
        build.rules,
        dev=settings.dev,
        spa_fallback=bool(site.options.get("spa", False)),
        html_transform=partial(inject_script, build_id=build.build_id) if settings.dev else None,
    )


def _site_shortcut(app: web.Application, observe: Middleware) -> Shortcut:
    """In production a plain request for a site (GET or HEAD, no body, no Expect, a path that
    neither the router decodes nor another route or /api claims, a Host naming a working site)
    skips the router and the middlewares; ``observe`` counts and logs it all the same."""
    claimed: tuple[str, ...] = ()

    def shortcut(request: web.Request) -> Awaitable[web.StreamResponse] | None:
        nonlocal claimed
        path, method = request.raw_path, request.method
        if (method != "GET" and method != "HEAD") or path[:1] != "/" or "%" in path or "#" in path:
            return None  # the router decodes %-escapes, drops a #fragment, reads absolute URLs
        claimed = claimed or _claimed_paths(app)
        if path.startswith(claimed) or "Expect" in request.headers or not plainly_framed(request):
            return None
        site = servable_site(app[SITES].registry, request.host)
        return None if site is None else observe(request, partial(_serve_site, app=app, site=site))

    return shortcut


def _claimed_paths(app: web.Application) -> tuple[str, ...]:
    """/api and the path prefixes of the other routes; "/" (all) when a route's prefix cannot
    be told, or a signal wants to see each response."""
    claimed = ["/api"] + [
        resource.canonical.partition("{")[0]
        for resource in app.router.resources()
        if any(route.handler is not handle_site_request for route in resource)
    ]
    return ("/",) if app.on_response_prepare or "/" in claimed else tuple(claimed)


async def live_reload_events(request: web.Request) -> web.StreamResponse:
    site = site_for(request)
    if isinstance(site, web.Response):
        return site
    build = request.app[BUILDS].current_build(site.name)
    return await send_events(request, request.app[LIVE_RELOAD], site.name, build.build_id if build else None)


async def _client_session(app: web.Application) -> AsyncIterator[None]:
    app[CLIENT] = proxy.create_client_session(app[SETTINGS])
    yield
    await app[CLIENT].close()


async def _builds(app: web.Application) -> AsyncIterator[None]:
    yield
    await app[BUILDS].close()


async def _stop_site_processes(app: web.Application) -> None:
    """Runs before in-flight requests are waited for: build commands and dev servers end now,
    so requests waiting on them, and dev-server WebSockets, finish instead of holding shutdown."""
    app[BUILDS].stop_commands()
    await app[DEV_SERVERS].close()


async def _end_event_streams(app: web.Application) -> None:
    app[LIVE_RELOAD].close_all()


async def _dev_watch(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    reloader = DevReloader(app[SITES], app[BUILDS], app[LIVE_RELOAD], settings.shared_dir, settings.sites_dir)
    task = asyncio.create_task(reloader.run(settings.watch_debounce_ms))
    yield
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await reloader.close()


async def _site_watch(app: web.Application) -> AsyncIterator[None]:
    """New, removed and reconfigured sites are picked up without a restart: by polling, and at
    once on SIGHUP."""
    sites = app[SITES]
    task = asyncio.create_task(sites.watch(SITE_POLL_SECONDS))
    loop = asyncio.get_running_loop()
    reloads: set[asyncio.Task[bool]] = set()

    def reload_now() -> None:
        reload = asyncio.create_task(sites.reload(force=True))
        reloads.add(reload)
        reload.add_done_callback(reloads.discard)

    with contextlib.suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(signal.SIGHUP, reload_now)
    yield
    with contextlib.suppress(NotImplementedError, RuntimeError):
        loop.remove_signal_handler(signal.SIGHUP)
    task.cancel()
    for reload in reloads:
        reload.cancel()
    await asyncio.gather(task, *reloads, return_exceptions=True)


async def _follow_published(app: web.Application) -> AsyncIterator[None]:
    task = asyncio.create_task(follow_published(app[BUILDS], app[SETTINGS].build_dir))
    yield
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def _cluster_member(settings: Settings) -> ClusterMember | None:
    if settings.cluster is None:
        return None
    if settings.dev:
        log.warning("development mode is one host: the cluster settings are not used")
        return None
    return ClusterMember.from_settings(settings.cluster)


async def _follow_cluster(app: web.Application) -> AsyncIterator[None]:
    task = asyncio.create_task(follow_cluster(app[CLUSTER], app[BUILDS], app[SETTINGS].build_dir))
    yield
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await app[CLUSTER].close()


def create_app(settings: Settings, builder_lookup: Callable[[str], Builder] = builder_for) -> web.Application:
    settings = settings.with_absolute_paths()
    metrics = GatewayMetrics()
    # The access log is off in development, where the terminal is for build output.
    observe = observe_requests(
        metrics, access_log=settings.access_log and not settings.dev, json_lines=settings.log_format == "json"
    )
    app = Gateway(
        client_max_size=OWN_ROUTES_MAX_BODY_BYTES,
        handler_args=handler_args(settings),
        # Outermost, so refused framings are counted and logged too.
        middlewares=[observe, refuse_ambiguous_framing],
    )
    app.shortcut = None if settings.dev else _site_shortcut(app, observe)
    app[SETTINGS] = settings
    app[METRICS] = metrics
    app[SITES] = SiteDirectory(settings.sites_dir, KNOWN_BUILDERS)
    cluster = _cluster_member(settings)
    app[BUILDS] = BuildManager(
        settings,
        builder_lookup,
        fetch_data=lambda site: fetch_site_data(site, session=app[CLIENT], settings=settings),
        cluster=cluster,
    )
    metrics.track_builds(app[BUILDS])
    app[DEV_SERVERS] = DevServers(settings)
    app[SITES].on_removed(app[BUILDS].forget)
    app[SITES].on_removed(app[DEV_SERVERS].forget)
    app.cleanup_ctx.extend([_client_session, _builds, _site_watch])
    if settings.workers > 1 and not settings.dev:
        app.cleanup_ctx.append(_follow_published)
    if cluster is not None:
        app[CLUSTER] = cluster
        metrics.track_cluster(cluster)
        app.cleanup_ctx.append(_follow_cluster)
    app.on_shutdown.append(_stop_site_processes)
    admin.add_routes(app)
    ops_routes.add_routes(app)
    if settings.dev:
        app[LIVE_RELOAD] = LiveReloadHub()
        app.on_shutdown.append(_end_event_streams)
        app.cleanup_ctx.append(_dev_watch)
        app.router.add_get(EVENTS_PATH, live_reload_events)
        app.router.add_get(SCRIPT_PATH, live_reload_script)
    app.router.add_route("*", "/{path:.*}", handle_site_request)
    return app
