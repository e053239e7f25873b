"""/_sitegate/metrics, read with prometheus_client's own parser."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from unittest import mock

from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from prometheus_client.parser import text_string_to_metric_families

from gateway.app import create_app
from gateway.cluster.member import ClusterMember
from gateway.cluster.store import StoreError
from gateway.config import ClusterSettings
from gateway.ops import routes
from gateway.ops.metrics import GatewayMetrics
from tests.gateway.sitefarm import settings_for, write_site


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_metrics_count_requests_bytes_and_builds(aiohttp_client, tmp_path: Path) -> None:
    write_site(tmp_path / "sites", "a.test", {"public/index.html": "x" * 1000})
    client = await aiohttp_client(create_app(settings_for(tmp_path)))
    for _ in range(3):
        assert (await client.get("/", headers={"Host": "a.test"})).status == 200
    assert (await client.get("/missing", headers={"Host": "a.test"})).status == 404
    assert (await client.get("/", headers={"Host": "nobody.test"})).status == 404
    response = await client.get("/_sitegate/metrics")
    assert response.status == 200 and response.headers["Content-Type"].startswith("text/plain; version=")
    found = samples(await response.text())
    requests = "sitegate_requests_total"
    assert found[(requests, frozenset({("site", "a.test"), ("kind", "static"), ("status_class", "2xx")}))] == 3
    assert found[(requests, frozenset({("site", "a.test"), ("kind", "static"), ("status_class", "4xx")}))] == 1
    assert found[(requests, frozenset({("site", "-"), ("kind", "static"), ("status_class", "4xx")}))] == 1
    assert found[("sitegate_response_bytes_total", frozenset({("site", "a.test"), ("kind", "static")}))] >= 3000
    assert found[("sitegate_request_duration_seconds_count", frozenset({("kind", "static")}))] == 5
    assert found[("sitegate_builds_total", frozenset({("site", "a.test"), ("result", "run")}))] == 1
    assert found[("sitegate_builds_total", frozenset({("site", "a.test"), ("result", "failed")}))] == 0
    assert found[("sitegate_build_duration_seconds_count", frozenset())] == 1
    assert 0 <= found[("sitegate_build_age_seconds", frozenset({("site", "a.test")}))] < 60
    # The scrape itself is counted, as admin, by the next one.
    again = samples(await (await client.get("/_sitegate/metrics")).text())
    assert again[(requests, frozenset({("site", "-"), ("kind", "admin"), ("status_class", "2xx")}))] == 1
    assert again[("sitegate_build_duration_seconds_count", frozenset())] == 1


async def test_a_failed_upstream_is_counted_as_an_upstream_error(aiohttp_client, tmp_path: Path, unused_tcp_port) -> None:
    write_site(tmp_path / "sites", "a.test", {"public/index.html": "a"})
    settings = settings_for(tmp_path, backend_url=f"http://127.0.0.1:{unused_tcp_port}")
    client = await aiohttp_client(create_app(settings))
    assert (await client.get("/api/posts", headers={"Host": "a.test"})).status == 502
    found = samples(await (await client.get("/_sitegate/metrics")).text())
    assert found[("sitegate_upstream_errors_total", frozenset({("site", "a.test"), ("status", "502")}))] == 1
    key = frozenset({("site", "a.test"), ("kind", "api"), ("status_class", "5xx")})
    assert found[("sitegate_requests_total", key)] == 1


def peer_request(app: web.Application, path: str, peer: str) -> web.Request:
    """A mocked request (no socket) whose peer is ``peer``: the test client is always loopback."""
    transport = mock.Mock()
    transport.get_extra_info.side_effect = lambda name, default=None: (peer, 40000) if name == "peername" else default
    return make_mocked_request("GET", path, app=app, transport=transport)


async def test_a_peer_that_is_neither_loopback_nor_a_trusted_proxy_gets_404(tmp_path: Path) -> None:
    (tmp_path / "sites").mkdir()
    app = create_app(settings_for(tmp_path, trusted_proxies=()))
    for handler, path in ((routes.metrics, "/_sitegate/metrics"), (routes.status, "/_sitegate/status")):
        stranger = await handler(peer_request(app, path, "203.0.113.7"))
        assert stranger.status == 404 and b"sitegate" not in (stranger.body or b"")
        mapped_loopback = await handler(peer_request(app, path, "::ffff:127.0.0.1"))
        assert mapped_loopback.status == 200


async def test_a_trusted_proxy_may_read_the_metrics(tmp_path: Path) -> None:
    (tmp_path / "sites").mkdir()
    app = create_app(settings_for(tmp_path, trusted_proxies=(ipaddress.ip_network("10.0.0.0/8"),)))
    assert (await routes.metrics(peer_request(app, "/_sitegate/metrics", "10.1.2.3"))).status == 200
    assert (await routes.metrics(peer_request(app, "/_sitegate/metrics", "11.1.2.3"))).status == 404


async def test_a_cluster_member_says_which_part_it_cannot_reach() -> None:
    # Nothing is dialled: the store client and the database client connect on first use.
    member = ClusterMember.from_settings(ClusterSettings(store_url="s3://builds", db_url="mongodb://127.0.0.1:9/x"))
    member.store_health.failed(StoreError("the build store s3://builds is out of reach"))
    metrics = GatewayMetrics()
    metrics.track_cluster(member)
    found = samples((await metrics.exposition()).decode())
    assert found[("sitegate_cluster_reachable", frozenset({("part", "build_store")}))] == 0.0
    assert found[("sitegate_cluster_reachable", frozenset({("part", "database")}))] == 1.0
    await member.close()
