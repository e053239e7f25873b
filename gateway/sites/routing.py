"""Which site a request is for, or the page that says why there is none."""

from __future__ import annotations

from aiohttp import web

from gateway.keys import SETTINGS, SITES
from gateway.serving import pages
from gateway.sites.hosts import InvalidHost, normalize_host
from gateway.sites.registry import Registry, Site

# Browsers resolve every *.localhost name to this machine, so in development
# http://example.com.localhost:3000/ reaches the site example.com with no /etc/hosts edits.
DEV_SUFFIX = ".localhost"
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]"})


def site_for(request: web.Request) -> Site | web.Response:
    settings = request.app[SETTINGS]
    registry = request.app[SITES].registry
    host = request.host
    try:
        site = registry.resolve(host)
        if site is None and settings.dev:
            site = _dev_site(host, registry, settings.default_site)
    except InvalidHost as error:
        return pages.bad_host(str(error))
    if site is None:
        return pages.unknown_site(host)
    if site.error:
        return pages.broken_site(site.name, site.error)
    return site


def servable_site(registry: Registry, host: str) -> Site | None:
    """In production, the working site ``host`` names; None where ``site_for`` answers with a
    page instead (a malformed or unknown host, a broken site.toml)."""
    try:
        site = registry.resolve(host)
    except InvalidHost:
        return None
    return site if site is not None and site.error is None else None


def _dev_site(host: str, registry: Registry, default_site: str | None) -> Site | None:
    name = normalize_host(host)
    if name.endswith(DEV_SUFFIX):
        return registry.resolve(name.removesuffix(DEV_SUFFIX))
    if name in LOCAL_HOSTS and default_site:
        return registry.resolve(default_site)
    return None
