"""``sitegate nginx-config --upstream`` in a real nginx: in front of three real gateways, one
killed mid-stream costs no request and is used again once started again; in front of stand-ins
that fail, a POST a gateway received is never sent to another, and only what says the gateway
failed is retried."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from tests.deploy.nginx import check_config, running_nginx, upstream_config, write_nginx_conf
from tests.gateway.processes import spawn, stop
from tests.gateway.sitefarm import write_site
from tests.ports import free_port, wait_for_port

HOST = {"Host": "shop.test"}


def start_gateway(sites: Path, builds: Path, port: int) -> subprocess.Popen[bytes]:
    """``sitegate serve``, its builds as the test's own user, no access lines (its stderr is a pipe)."""
    args = ["serve", "--host", "127.0.0.1", "--port", str(port), "--sites", str(sites), "--build-dir", str(builds)]
    return spawn(args, {"SITEGATE_BUILD_USER": "root", "SITEGATE_ACCESS_LOG": "off"})


@dataclass
class Farm:
    url: str
    conf: Path
    sites: Path
    ports: list[int]
    gateways: list[subprocess.Popen[bytes]]


def stop_all(processes: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM to all at once, then each waited for: they shut down side by side."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        stop(process)


@contextmanager
def farm(tmp_path: Path) -> Iterator[Farm]:
    """Three gateways (one sites folder, a build folder each) behind nginx."""
    sites = tmp_path / "sites"
    write_site(sites, "shop.test", {"public/index.html": "<h1>the shop</h1>"})
    ports = [free_port() for _ in range(3)]
    with ExitStack() as stack:
        gateways = [start_gateway(sites, tmp_path / f"builds-{port}", port) for port in ports]
        stack.callback(stop_all, gateways)
        listen = free_port()
        (tmp_path / "nginx").mkdir()
        # Written while the gateways start.
        conf = write_nginx_conf(tmp_path / "nginx", upstream_config(sites, tmp_path / "builds", listen, ports))
        for port, process in zip(ports, gateways):
            wait_for_port(port, process, f"gateway on {port}")
        stack.enter_context(running_nginx(conf, listen))
        yield Farm(f"http://127.0.0.1:{listen}", conf, sites, ports, gateways)


async def health_pid(client: aiohttp.ClientSession, url: str) -> int:
    async with client.get(url + "/_sitegate/health", headers=HOST) as reply:
        assert reply.status == 200
        return int((await reply.json())["pid"])


async def get_stream(url: str, total: int, clients: int, midway: Callable[[], object]) -> list[str]:
    """``total`` GETs of the shop's page, ``clients`` at a time; ``midway`` is called once half
    are answered. What did not come back 200 with the page, as text."""
    failures: list[str] = []
    answered = 0
    async with aiohttp.ClientSession() as client:

        async def one_client() -> None:
            nonlocal answered
            while answered < total:
                try:
                    async with client.get(url + "/", headers=HOST) as reply:
                        body = await reply.read()
                        if reply.status != 200 or b"the shop" not in body:
                            failures.append(f"{reply.status} {body[:80]!r}")
                except aiohttp.ClientError as error:
                    failures.append(repr(error))
                answered += 1
                if answered == total // 2:
                    midway()

        await asyncio.gather(*(one_client() for _ in range(clients)))
    return failures


async def test_a_gateway_killed_mid_stream_costs_no_request_and_is_used_again_once_back(tmp_path: Path) -> None:
    with farm(tmp_path) as front:
        checked = check_config(front.conf)
        assert checked.returncode == 0, checked.stderr
        assert "[warn]" not in checked.stderr, checked.stderr
        async with aiohttp.ClientSession() as client:
            # Each gateway builds the site once, asked directly, then all three answer through nginx.
            for port in front.ports:
                async with client.get(f"http://127.0.0.1:{port}/", headers=HOST) as reply:
                    assert reply.status == 200
            pids = {process.pid for process in front.gateways}
            seen = {await health_pid(client, front.url) for _ in range(12)}
            assert seen == pids

        victim = front.gateways[1]
        failures = await get_stream(front.url, total=1200, clients=4, midway=lambda: victim.send_signal(signal.SIGKILL))
        assert victim.wait(10) == -signal.SIGKILL
        assert failures == []

        # Back on its port, it is given requests again once nginx's fail_timeout has passed.
        stop(victim)
        front.gateways[1] = start_gateway(front.sites, tmp_path / f"builds-{front.ports[1]}", front.ports[1])
        wait_for_port(front.ports[1], front.gateways[1], "restarted gateway")
        async with aiohttp.ClientSession() as client:
            for _ in range(300):  # 30 s at most: a bound on a hang, not a timing assertion
                if await health_pid(client, front.url) == front.gateways[1].pid:
                    break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("nginx never sent a request to the restarted gateway")


# (method, path, what reaches the gateways, the client's status). A path under /drop is read and
# then dropped, as a gateway killed with the request in hand; /status/N is answered N.
ONE_FAILED_GATEWAY = [
    ("POST", "/api/drop", ["POST /api/drop"], 502),  # never sent twice
    ("GET", "/api/drop", ["GET /api/drop", "GET /api/drop"], 502),  # each gateway once
    ("POST", "/drop", ["POST /drop"], 502),
    ("GET", "/status/502", ["GET /status/502", "GET /status/502"], 502),
    ("GET", "/status/503", ["GET /status/503"], 503),  # a broken site's answer, the same everywhere
    ("GET", "/api/status/502", ["GET /api/status/502"], 502),  # the backend's answer
]


async def test_what_nginx_does_with_a_request_a_gateway_failed(tmp_path: Path) -> None:
    seen: list[str] = []

    async def stand_in(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        method, path = (await reader.readuntil(b"\r\n\r\n")).decode().split(" ", 2)[:2]
        seen.append(f"{method} {path}")
        if "/status/" in path:
            status = path.rpartition("/")[2]
            writer.write(f"HTTP/1.1 {status} Failed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())
            await writer.drain()
        writer.close()

    servers = [await asyncio.start_server(stand_in, "127.0.0.1", 0) for _ in range(2)]
    ports = [server.sockets[0].getsockname()[1] for server in servers]
    write_site(tmp_path / "sites", "shop.test", {"public/index.html": "<h1>the shop</h1>"})
    listen = free_port()
    (tmp_path / "nginx").mkdir()
    conf = write_nginx_conf(tmp_path / "nginx", upstream_config(tmp_path / "sites", tmp_path / "builds", listen, ports))
    try:
        for method, path, reached, status in ONE_FAILED_GATEWAY:
            seen.clear()
            # A fresh nginx each time: no gateway left out by the failures of the case before.
            with running_nginx(conf, listen):
                async with aiohttp.ClientSession() as client:
                    url = f"http://127.0.0.1:{listen}{path}"
                    async with client.request(method, url, headers=HOST, data=b"{}" if method == "POST" else None) as reply:
                        assert (reply.status, seen) == (status, reached), (method, path)
    finally:
        for server in servers:
            server.close()
