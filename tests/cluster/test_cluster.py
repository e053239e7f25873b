"""Three real gateways sharing builds: moto's S3 server as the build store, SecantusDB as the
cluster database, each gateway with a build folder of its own, as on three hosts."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest

from tests.backend.conftest import start_secantus
from tests.backend.conftest import stop as stop_server
from tests.cluster.conftest import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, S3Server, create_bucket, start_s3_server
from tests.deploy.nginx import running_nginx, upstream_config, write_nginx_conf
from tests.gateway.processes import ROOT, spawn, stop
from tests.gateway.sitefarm import write_site
from tests.ports import free_port, wait_for_port

# Short enough for a test: a dead builder's lease lapses in 2 s, pointers are looked at 5x a second.
CLUSTER_TIMING = {
    "SITEGATE_CLUSTER_POLL_SECONDS": "0.2",
    "SITEGATE_CLUSTER_LEASE_SECONDS": "2",
    "SITEGATE_CLUSTER_TIMEOUT": "3",
}
# Gateway 3 keeps its build folder under a size limit.
CACHED = 3
CACHE_LIMIT = "250K"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": ACCESS_KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY, "AWS_REGION": REGION}


@dataclass
class Cluster:
    root: Path
    env: dict[str, str]
    moto_port: int
    moto: S3Server
    gateways: dict[int, tuple[subprocess.Popen[bytes], int]] = field(default_factory=dict)

    @property
    def sites(self) -> Path:
        return self.root / "sites"

    def builds(self, number: int) -> Path:
        return self.root / f"builds-{number}"

    def start(self, number: int, port: int | None = None) -> None:
        port = port or free_port()
        args = ["serve", "--host", "127.0.0.1", "--port", str(port), "--sites", str(self.sites)]
        env = {"SITEGATE_BUILD_USER": "root", "SITEGATE_HOST_ID": f"host{number}", **self.env}
        if number == CACHED:
            env["SITEGATE_CACHE_MAX_BYTES"] = CACHE_LIMIT
        process = spawn([*args, "--build-dir", str(self.builds(number))], env)
        wait_for_port(port, process, "sitegate")
        self.gateways[number] = (process, port)

    def kill(self, number: int) -> int:
        process, port = self.gateways.pop(number)
        stop(process, signal.SIGKILL)
        return port

    def urls(self) -> list[str]:
        return [self.url(number) for number in self.gateways]

    def url(self, number: int) -> str:
        return f"http://127.0.0.1:{self.gateways[number][1]}"

    def sitegate(self, *args: str, builds: str = "builds-deployer") -> subprocess.CompletedProcess[str]:
        """A fourth process, with a build folder of its own."""
        return subprocess.run(
            [sys.executable, "-m", "gateway.cli", *args, "--sites", str(self.sites), "--build-dir", str(self.root / builds)],
            cwd=ROOT, env={**os.environ, "SITEGATE_BUILD_USER": "root", **self.env},
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip

    def restart_store(self) -> None:
        self.moto = start_s3_server(self.moto_port)
        create_bucket(f"http://127.0.0.1:{self.moto_port}", self.env["SITEGATE_BUILD_STORE"].split("/")[2])


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("cluster")
    database, mongo = start_secantus(root)
    moto_port = free_port()
    store = start_s3_server(moto_port)
    bucket = f"builds-{uuid.uuid4().hex[:8]}"
    create_bucket(f"http://127.0.0.1:{moto_port}", bucket)
    env = {
        "SITEGATE_BUILD_STORE": f"s3://{bucket}/sites",
        "SITEGATE_S3_ENDPOINT_URL": f"http://127.0.0.1:{moto_port}",
        "SITEGATE_CLUSTER_DB": f"{mongo}/cluster",
        **CREDENTIALS,
        **CLUSTER_TIMING,
    }
    made = Cluster(root, env, moto_port, store)
    (root / "sites").mkdir()
    try:
        for number in (1, 2, 3):
            made.start(number)
        yield made
    finally:
        for process, _ in made.gateways.values():
            stop(process)
        made.moto.stop()
        stop_server(database)


def build_folders(site_builds: Path) -> list[str]:
    return [
        entry.name
        for entry in site_builds.iterdir()
        if entry.is_dir() and not entry.is_symlink() and not entry.name.startswith(".")
    ]


async def get(url: str, host: str, path: str = "/") -> tuple[int, str]:
    async with aiohttp.ClientSession() as client:
        async with client.get(url + path, headers={"Host": host}) as response:
            return response.status, await response.text()


async def health(url: str) -> dict:
    async with aiohttp.ClientSession() as client:
        async with client.get(url + "/_sitegate/health") as response:
            return await response.json()


async def known_everywhere(cluster: Cluster, host: str) -> None:
    """A site just written is in every gateway's registry (SIGHUP rescans it at once)."""
    for process, _ in cluster.gateways.values():
        process.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while not all(host in reported["sites"] for reported in await asyncio.gather(*map(health, cluster.urls()))):
        assert time.monotonic() < deadline, f"{host} never appeared in every registry"
        await asyncio.sleep(0.05)


async def site_everywhere(cluster: Cluster, host: str, page: str) -> Path:
    """A new static site with one page, known to and served by every gateway; its folder."""
    site = write_site(cluster.sites, host, {"public/index.html": page})
    await known_everywhere(cluster, host)
    await served_everywhere(cluster, host, page, within=10)
    return site


def deploy_while_down(cluster: Cluster, number: int, site: Path, page: str) -> int:
    """Gateway ``number`` killed, then the site's page changed and deployed: the port it had."""
    port = cluster.kill(number)
    (site / "public" / "index.html").write_text(page)
    assert cluster.sitegate("deploy", site.name).returncode == 0
    return port


async def served_everywhere(cluster: Cluster, host: str, body: str, within: float = 2.0) -> float:
    """Seconds until every gateway answers ``body`` for ``host``."""
    started = time.monotonic()
    while True:
        answers = await asyncio.gather(*(get(cluster.url(n), host) for n in cluster.gateways))
        if all(answer == (200, body) for answer in answers):
            return time.monotonic() - started
        assert time.monotonic() - started < within, answers
        await asyncio.sleep(0.05)


async def test_a_cold_site_asked_of_every_gateway_at_once_is_built_once_in_the_cluster(cluster: Cluster) -> None:
    counter = cluster.root / "cold-builds"
    script = f"echo run >> {counter}; sleep 1; mkdir -p dist; echo cold > dist/index.html"
    write_site(cluster.sites, "cold.test", {}, toml=f'builder = "command"\nbuild = ["sh", "-c", "{script}"]\n')
    await known_everywhere(cluster, "cold.test")
    answers = await asyncio.gather(*(get(cluster.url(n), "cold.test") for n in (1, 2, 3) for _ in range(5)))
    assert set(answers) == {(200, "cold\n")}
    assert counter.read_text().count("run") == 1
    stats = [(await health(cluster.url(n)))["sites"]["cold.test"] for n in (1, 2, 3)]
    assert sum(site["builds_run"] for site in stats) == 1
    assert sum(site["builds_fetched"] for site in stats) == 2
    assert len({site["current_build"] for site in stats}) == 1


async def test_deploy_and_rollback_reach_every_gateway(cluster: Cluster) -> None:
    site = await site_everywhere(cluster, "shop.test", "v1")
    (site / "public" / "index.html").write_text("v2")
    deployed = cluster.sitegate("deploy", "shop.test")
    assert deployed.returncode == 0, deployed.stderr
    assert "deployed build" in deployed.stdout
    await served_everywhere(cluster, "shop.test", "v2")
    rolled = cluster.sitegate("rollback", "shop.test")
    assert rolled.returncode == 0, rolled.stderr
    await served_everywhere(cluster, "shop.test", "v1")
    # Held there while the inputs are the ones rolled back from: a rebuild hook changes nothing.
    async with aiohttp.ClientSession() as client:
        async with client.post(cluster.url(2) + "/_sitegate/hooks/rebuild/shop.test") as response:
            assert response.status == 202
    await asyncio.sleep(1.0)
    await served_everywhere(cluster, "shop.test", "v1")


async def test_a_restarted_gateway_catches_up_with_the_pointers(cluster: Cluster) -> None:
    site = await site_everywhere(cluster, "news.test", "old news")
    port = deploy_while_down(cluster, 3, site, "fresh news")
    cluster.start(3, port)
    await served_everywhere(cluster, "news.test", "fresh news")


async def test_another_host_builds_the_site_when_the_lease_holder_dies_mid_build(cluster: Cluster) -> None:
    marker = cluster.root / "slow-started"
    script = f"touch {marker}; sleep 3; mkdir -p dist; echo slow > dist/index.html"
    write_site(cluster.sites, "slow.test", {}, toml=f'builder = "command"\nbuild = ["sh", "-c", "{script}"]\n')
    await known_everywhere(cluster, "slow.test")
    first = asyncio.create_task(get(cluster.url(1), "slow.test"))
    deadline = time.monotonic() + 10
    while not marker.exists():
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    waiting = asyncio.create_task(get(cluster.url(2), "slow.test"))
    await asyncio.sleep(0.3)
    port = cluster.kill(1)
    with pytest.raises(aiohttp.ClientError):
        await first
    assert await asyncio.wait_for(waiting, 20) == (200, "slow\n")
    assert (await health(cluster.url(2)))["sites"]["slow.test"]["builds_run"] == 1
    cluster.start(1, port)
    await served_everywhere(cluster, "slow.test", "slow\n", within=10)


async def test_with_the_store_down_gateways_serve_what_they_have_and_deploy_fails_clearly(cluster: Cluster) -> None:
    site = await site_everywhere(cluster, "steady.test", "steady")
    cluster.moto.stop()
    try:
        await served_everywhere(cluster, "steady.test", "steady")
        (site / "public" / "index.html").write_text("steadier")
        deployed = cluster.sitegate("deploy", "steady.test")
        assert deployed.returncode == 1
        assert "build store is out of reach" in deployed.stderr
        assert "Traceback" not in deployed.stderr
        await served_everywhere(cluster, "steady.test", "steady")
    finally:
        cluster.restart_store()
    # The store back (empty, as a new moto is): the next deploy reaches every gateway.
    deployed = cluster.sitegate("deploy", "steady.test")
    assert deployed.returncode == 0, deployed.stderr
    await served_everywhere(cluster, "steady.test", "steadier")
    reported = await health(cluster.url(1))
    assert reported["cluster"]["database"]["reachable"] is True


async def test_health_names_the_cluster_member(cluster: Cluster) -> None:
    reported = await health(cluster.url(2))
    assert reported["cluster"]["holder"].startswith("host2:")
    # Anyone may ask for health through nginx: whether a part is reachable, never its endpoint.
    assert set(reported["cluster"]["build_store"]) == {"reachable"}
    assert json.dumps(reported)  # all of it is JSON


async def test_a_gateway_keeps_its_build_cache_under_its_limit_but_never_drops_the_build_in_service(
    cluster: Cluster,
) -> None:
    site = write_site(cluster.sites, "big.test", {"public/index.html": "v0", "public/blob.bin": "x" * 100_000})
    await known_everywhere(cluster, "big.test")
    await served_everywhere(cluster, "big.test", "v0", within=10)
    for version in (1, 2, 3):
        (site / "public" / "index.html").write_text(f"v{version}")
        assert cluster.sitegate("deploy", "big.test").returncode == 0
        await served_everywhere(cluster, "big.test", f"v{version}")
    folder = cluster.builds(CACHED) / "big.test"
    current = os.readlink(folder / "current")
    deadline = time.monotonic() + 10
    while len(kept := build_folders(folder)) > 2:
        assert time.monotonic() < deadline, kept
        await asyncio.sleep(0.2)
    assert current in kept
    # Gateway 1 has no limit: it keeps SITEGATE_KEEP_BUILDS (3) builds.
    assert len(build_folders(cluster.builds(1) / "big.test")) == 3
    assert (await get(cluster.url(CACHED), "big.test")) == (200, "v3")


async def test_through_nginx_a_gateway_killed_mid_stream_costs_no_get(cluster: Cluster, tmp_path: Path) -> None:
    await site_everywhere(cluster, "stream.test", "streamed")
    listen = free_port()
    ports = [port for _, port in cluster.gateways.values()]
    conf = write_nginx_conf(tmp_path, upstream_config(cluster.sites, cluster.builds(1), listen, ports))
    failures: list[str] = []
    with running_nginx(conf, listen):
        async with aiohttp.ClientSession() as client:

            async def one_client(count: int) -> None:
                for _ in range(count):
                    try:
                        async with client.get(f"http://127.0.0.1:{listen}/", headers={"Host": "stream.test"}) as reply:
                            if (reply.status, await reply.text()) != (200, "streamed"):
                                failures.append(str(reply.status))
                    except aiohttp.ClientError as error:
                        failures.append(repr(error))

            stream = asyncio.gather(*(one_client(200) for _ in range(4)))
            await asyncio.sleep(0.3)
            port = cluster.kill(2)
            await stream
    assert failures == []
    cluster.start(2, port)
    await served_everywhere(cluster, "stream.test", "streamed")


async def test_a_rebuild_hook_sent_to_every_gateway_builds_once(cluster: Cluster) -> None:
    counter = cluster.root / "hooked-builds"
    source = cluster.sites / "hooked.test" / "page.txt"
    script = f"echo run >> {counter}; sleep 1; mkdir -p dist; cp page.txt dist/index.html"
    write_site(cluster.sites, "hooked.test", {"page.txt": "first"}, toml=f'builder = "command"\nbuild = ["sh", "-c", "{script}"]\n')
    await known_everywhere(cluster, "hooked.test")
    await served_everywhere(cluster, "hooked.test", "first", within=15)
    source.write_text("second")
    async with aiohttp.ClientSession() as client:
        hooks = [client.post(cluster.url(n) + "/_sitegate/hooks/rebuild/hooked.test") for n in cluster.gateways]
        for reply in await asyncio.gather(*hooks):
            assert reply.status == 202
            reply.release()
    await served_everywhere(cluster, "hooked.test", "second", within=15)
    assert counter.read_text().count("run") == 2


async def test_a_host_that_cannot_fetch_keeps_serving_what_it_has_and_catches_up_once_the_store_answers(
    cluster: Cluster,
) -> None:
    site = await site_everywhere(cluster, "late.test", "v1")
    port = deploy_while_down(cluster, 3, site, "v2")
    cluster.moto.process.send_signal(signal.SIGSTOP)  # the store hangs: connections open, no answers
    try:
        cluster.start(3, port)
        assert (await get(cluster.url(3), "late.test")) == (200, "v1")
        deadline = time.monotonic() + 30
        while not (await health(cluster.url(3)))["sites"]["late.test"]["stale"]:
            assert time.monotonic() < deadline, "the failed fetch never showed in health"
            await asyncio.sleep(0.2)
        reported = (await health(cluster.url(3)))["sites"]["late.test"]
        assert "could not be fetched" in reported["last_error"]
        assert (await get(cluster.url(3), "late.test")) == (200, "v1")
    finally:
        cluster.moto.process.send_signal(signal.SIGCONT)
    await served_everywhere(cluster, "late.test", "v2", within=30)
