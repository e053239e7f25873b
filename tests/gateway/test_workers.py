"""``sitegate serve --workers N``: real processes on one port, sharing one build folder."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import aiohttp

from tests.gateway.processes import gateway, stop
from tests.gateway.sitefarm import write_site
from tests.gateway.test_cli import run_sitegate

WORKERS = {"SITEGATE_WORKERS": "2"}


def children(parent: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            found.add(int(stat.parent.name))
    return found


async def fetch_all(url: str, host: str, count: int) -> list[tuple[int, str]]:
    """``count`` requests at once, each on a connection of its own, so the kernel spreads them."""
    async def one() -> tuple[int, str]:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as client:
            async with client.get(url, headers={"Host": host}) as response:
                return response.status, await response.text()

    return await asyncio.gather(*(one() for _ in range(count)))


async def worker_pids(url: str) -> set[int]:
    replies = await fetch_all(url + "/_sitegate/health", "localhost", 40)
    return {int(text.split('"pid": ')[1].split(",")[0]) for _, text in replies}


async def test_two_workers_share_the_port_and_build_a_cold_site_once(tmp_path: Path) -> None:
    counter = tmp_path / "builds-run"
    script = f"echo run >> {counter}; sleep 1; mkdir -p dist; echo built once > dist/index.html"
    write_site(tmp_path / "sites", "slow.test", {}, toml=f'builder = "command"\nbuild = ["sh", "-c", "{script}"]\n')
    with gateway(tmp_path / "sites", tmp_path / "builds", env=WORKERS) as (process, url):
        assert len(children(process.pid)) == 2
        replies = await fetch_all(url + "/", "slow.test", 40)
        assert set(replies) == {(200, "built once\n")}
        assert counter.read_text().count("run") == 1
        assert len(await worker_pids(url)) == 2


async def test_a_rebuild_that_reaches_one_worker_is_served_by_all(tmp_path: Path) -> None:
    site = write_site(tmp_path / "sites", "a.test", {"public/index.html": "v1"})
    with gateway(tmp_path / "sites", tmp_path / "builds", env=WORKERS) as (_, url):
        assert {text for _, text in await fetch_all(url + "/", "a.test", 20)} == {"v1"}
        (site / "public" / "index.html").write_text("v2")
        async with aiohttp.ClientSession() as client:
            async with client.post(url + "/_sitegate/hooks/rebuild/a.test") as response:
                assert response.status == 202
        deadline = time.monotonic() + 5
        while {text for _, text in await fetch_all(url + "/", "a.test", 20)} != {"v2"}:
            assert time.monotonic() < deadline, "the other worker never took the new build"
            await asyncio.sleep(0.05)


def test_a_killed_worker_is_replaced_and_sigterm_stops_them_all(tmp_path: Path) -> None:
    write_site(tmp_path / "sites", "a.test", {"public/index.html": "hi"})
    with gateway(tmp_path / "sites", tmp_path / "builds", env=WORKERS) as (process, _):
        first = children(process.pid)
        os.kill(min(first), signal.SIGKILL)
        deadline = time.monotonic() + 10
        while len(now := children(process.pid)) != 2 or min(first) in now:
            assert time.monotonic() < deadline, now
            time.sleep(0.1)
        assert stop(process) == 0
        assert children(process.pid) == set()


def test_a_taken_port_and_workers_in_development_are_one_line_and_exit_2(tmp_path: Path) -> None:
    write_site(tmp_path / "sites", "a.test", {"public/index.html": "hi"})
    with gateway(tmp_path / "sites", tmp_path / "builds") as (_, url):
        port = url.rsplit(":", 1)[1]
        taken = run_sitegate("serve", "--workers", "2", "--port", port, "--sites", str(tmp_path / "sites"))
    development = run_sitegate("dev", "--sites", str(tmp_path / "sites"), env=WORKERS)
    for result in (taken, development):
        assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
