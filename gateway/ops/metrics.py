"""The gateway's Prometheus metrics: one registry per app, counted by the request middleware
(``gateway.ops.access_log``) and, for builds, read from the ``BuildManager`` at scrape time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from gateway.building.manager import BuildManager
from gateway.cluster.member import ClusterMember

NO_SITE = "-"  # a request no site answered (unknown or hostile Host, the gateway's own routes)
_STATUS_CLASSES = tuple(f"{first}xx" for first in range(10))
_BUILD_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)


class GatewayMetrics:
    """The metrics of one app. Label children are cached per (site, kind, status class), so a
    request costs a dict lookup and three increments, not prometheus_client's label resolution."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._requests = Counter(
            "sitegate_requests", "Requests answered, by site, kind and status class",
            ["site", "kind", "status_class"], registry=self.registry,
        )
        self._bytes = Counter(
            "sitegate_response_bytes", "Response body bytes sent (Content-Length, or as written when streamed)",
            ["site", "kind"], registry=self.registry,
        )
        self._duration = Histogram(
            "sitegate_request_duration_seconds", "Time from the request head to the response handed to aiohttp",
            ["kind"], registry=self.registry,
        )
        self._upstream_errors = Counter(
            "sitegate_upstream_errors", "502/504 answers made by the gateway because an upstream failed",
            ["site", "status"], registry=self.registry,
        )
        self._build_duration = Histogram(
            "sitegate_build_duration_seconds", "Seconds of each build made (reused builds excluded), seen at scrape",
            buckets=_BUILD_BUCKETS, registry=self.registry,
        )
        self._builds: _BuildCollector | None = None
        self._children: dict[tuple[str, str, int], tuple[Counter, Counter, Histogram]] = {}

    def count(self, site: str, kind: str, status: int, body_bytes: int, seconds: float) -> None:
        key = (site, kind, status // 100)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (
                self._requests.labels(site, kind, _STATUS_CLASSES[min(status // 100, 9)]),
                self._bytes.labels(site, kind),
                self._duration.labels(kind),
            )
        requests, sent, duration = children
        requests.inc()
        sent.inc(body_bytes)
        duration.observe(seconds)

    def track_builds(self, builds: BuildManager) -> None:
        """Builds are read from ``builds`` at each scrape (the app makes its metrics, whose
        middleware it is built with, before its build manager)."""
        self._builds = _BuildCollector(builds, self._build_duration)
        self.registry.register(self._builds)

    def track_cluster(self, member: ClusterMember) -> None:
        self.registry.register(_ClusterCollector(member))

    def upstream_error(self, site: str, status: int) -> None:
        self._upstream_errors.labels(site, str(status)).inc()

    async def exposition(self) -> bytes:
        if self._builds is not None:
            await self._builds.refresh()
        return generate_latest(self.registry)


class _BuildCollector(Collector):
    """Builds by result and the age of each site's build in service, from the manager.

    A build's age is its folder's mtime (when it was published, or made before a restart and
    reused), read once per build id. Build durations are observed when a scrape first sees a
    new build in service: several builds of one site between two scrapes count as the last."""

    def __init__(self, builds: BuildManager, durations: Histogram) -> None:
        self._builds = builds
        self._durations = durations
        self._made: dict[str, tuple[str, float]] = {}

    async def refresh(self) -> None:
        new: dict[str, tuple[str, Path, float | None]] = {}
        for name in self._builds.stats():
            build = self._builds.current_build(name)
            if build is not None and self._made.get(name, ("",))[0] != build.build_id:
                new[name] = (build.build_id, build.path, None if build.reused else build.record.seconds)
        for name in set(self._made) - set(self._builds.stats()):
            del self._made[name]
        if not new:
            return
        times = await asyncio.to_thread(_mtimes, [path for _, path, _ in new.values()])
        for (name, (build_id, _, seconds)), made in zip(new.items(), times):
            self._made[name] = (build_id, made)
            if seconds is not None:
                self._durations.observe(seconds)

    def collect(self) -> Iterator[Metric]:
        results = CounterMetricFamily("sitegate_builds", "Builds by site and result", labels=["site", "result"])
        for name, stats in self._builds.stats().items():
            results.add_metric([name, "run"], stats.builds_run)
            results.add_metric([name, "reused"], stats.builds_reused)
            results.add_metric([name, "failed"], stats.builds_failed)
            results.add_metric([name, "fetched"], stats.builds_fetched)
        yield results
        age = GaugeMetricFamily(
            "sitegate_build_age_seconds", "Seconds since the build in service was published (its folder's mtime)",
            labels=["site"],
        )
        now = time.time()
        for name, (_, made) in sorted(self._made.items()):
            age.add_metric([name], max(now - made, 0.0))
        yield age


class _ClusterCollector(Collector):
    def __init__(self, member: ClusterMember) -> None:
        self._member = member

    def collect(self) -> Iterator[Metric]:
        reachable = GaugeMetricFamily(
            "sitegate_cluster_reachable", "1 when this gateway's last call to the part succeeded", labels=["part"]
        )
        reachable.add_metric(["build_store"], float(self._member.store_health.health.reachable))
        reachable.add_metric(["database"], float(self._member.db_health.health.reachable))
        yield reachable


def _mtimes(paths: list[Path]) -> list[float]:
    times = []
    for path in paths:
        try:
            times.append(path.stat().st_mtime)
        except OSError:
            # Removed under us (pruned): the next scrape sees the build that replaced it.
            times.append(time.time())
    return times
