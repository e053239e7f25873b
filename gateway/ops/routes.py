"""``/_sitegate/metrics`` and ``/_sitegate/status``, answered to loopback and trusted proxies only."""

from __future__ import annotations

import asyncio
import ipaddress

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from gateway.keys import BUILDS, CLUSTER, METRICS, SETTINGS, SITES
from gateway.ops import status_page
from gateway.ops.status_page import SiteRow

METRICS_PATH = "/_sitegate/metrics"
STATUS_PATH = "/_sitegate/status"


def operator_may_call(request: web.Request) -> bool:
    """The peer itself (never X-Forwarded-For, which a client writes) is loopback or a trusted
    proxy. A proxy in front must therefore keep these paths from the public itself, as the
    generated nginx config does."""
    try:
        peer = ipaddress.ip_address(request.remote or "")
    except ValueError:
        return False
    if isinstance(peer, ipaddress.IPv6Address) and peer.ipv4_mapped is not None:
        peer = peer.ipv4_mapped
    return peer.is_loopback or any(peer in network for network in request.app[SETTINGS].trusted_proxies)


def _refused() -> web.Response:
    # 404, as for any path that is not there: a stranger learns nothing of what is behind it.
    return web.Response(status=404, text="404: Not Found", headers={"Cache-Control": "no-store"})


async def metrics(request: web.Request) -> web.Response:
    if not operator_may_call(request):
        return _refused()
    body = await request.app[METRICS].exposition()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"})


async def status(request: web.Request) -> web.Response:
    if not operator_may_call(request):
        return _refused()
    settings = request.app[SETTINGS]
    builds = request.app[BUILDS]
    stats = builds.stats()
    rows = []
    for name, site in sorted(request.app[SITES].registry.sites.items()):
        site_stats = stats.get(name)
        current = builds.current_build(name)
        rows.append(
            SiteRow(
                name=name,
                builder=site.builder,
                config_error=site.error,
                current_build=current.build_id if current else None,
                build_path=current.path if current else None,
                building=bool(site_stats and site_stats.building),
                builds_run=site_stats.builds_run if site_stats else 0,
                builds_reused=site_stats.builds_reused if site_stats else 0,
                builds_failed=site_stats.builds_failed if site_stats else 0,
                last_error=site_stats.last_error if site_stats else None,
            )
        )
    disk = await asyncio.to_thread(status_page.read_disk, rows, settings.build_dir)
    cluster = request.app[CLUSTER].describe(errors=True) if CLUSTER in request.app else None
    page = status_page.render(settings.mode.value, rows, disk, cluster)
    return web.Response(text=page, content_type="text/html", headers={"Cache-Control": "no-store"})


def add_routes(app: web.Application) -> None:
    app.router.add_get(METRICS_PATH, metrics)
    app.router.add_get(STATUS_PATH, status)
