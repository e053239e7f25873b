"""The typed keys of the state kept on the aiohttp app."""

from __future__ import annotations

import aiohttp
from aiohttp import web

from gateway.building.manager import BuildManager
from gateway.cluster.member import ClusterMember
from gateway.config import Settings
from gateway.dev.devservers import DevServers
from gateway.dev.livereload import LiveReloadHub
from gateway.ops.metrics import GatewayMetrics
from gateway.sites.directory import SiteDirectory

SETTINGS = web.AppKey("settings", Settings)
SITES = web.AppKey("sites", SiteDirectory)
BUILDS = web.AppKey("builds", BuildManager)
CLIENT = web.AppKey("client", aiohttp.ClientSession)
DEV_SERVERS = web.AppKey("dev_servers", DevServers)
LIVE_RELOAD = web.AppKey("live_reload", LiveReloadHub)
METRICS = web.AppKey("metrics", GatewayMetrics)
# Only with SITEGATE_BUILD_STORE and SITEGATE_CLUSTER_DB set, in production.
CLUSTER = web.AppKey("cluster", ClusterMember)

# What the site handler learnt of a request, for the metrics and the access log.
SITE_NAME = web.RequestKey("site_name", str)
KIND = web.RequestKey("kind", str)  # static (the default), api or dev
# Whether the build in service answered ("hit"), or the request waited for a first build ("miss").
CACHE = web.RequestKey("cache", str)
