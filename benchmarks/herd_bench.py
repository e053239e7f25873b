"""Issue 14, building while serving: a herd of first requests to a site never built (one build
must serve them all, with no error), and a small site's tail latency while another site has a
cold 1,000-post build, against its tail latency with the gateway idle."""

from __future__ import annotations

import asyncio
import json
import shutil
import threading
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from benchmarks.contenders import Server, sitegate_spec
from benchmarks.corpus import CorpusPost
from benchmarks.load import Load, LoadRun, run_wrk, wait_idle
from benchmarks.projects import SITE_NAME, write_sitegate_site
from benchmarks.serving_bench import FILES, SITE, fetch, write_static_site
from benchmarks.stats import Samples

HERD_SITE = "herd.bench.test"
ISOLATION_CONNECTIONS = 8


@dataclass(frozen=True)
class HerdFigures:
    requests: int
    pages: int
    builds_run: int
    builds_on_disk: int
    errors: int
    last_response_seconds: float
    statuses: dict[int, int]


@dataclass(frozen=True)
class IsolationFigures:
    idle: tuple[LoadRun, ...]
    building: tuple[LoadRun, ...]
    build_seconds: tuple[float, ...]
    posts: int
    # Whether each build was still going when its load run ended (else B was measured partly idle).
    overlapped: tuple[bool, ...]

    @property
    def idle_p99(self) -> Samples:
        return Samples(tuple(run.wrk.p99_seconds for run in self.idle))

    @property
    def building_p99(self) -> Samples:
        return Samples(tuple(run.wrk.p99_seconds for run in self.building))


def _rename_site(sites: Path, name: str) -> Path:
    return (sites / SITE_NAME).rename(sites / name)


def builds_run(server: Server, site: str) -> int:
    with urllib.request.urlopen(server.url("/_sitegate/health"), timeout=30) as response:
        return int(json.loads(response.read())["sites"][site]["builds_run"])


def measure_herd(work: Path, posts: Sequence[CorpusPost], requests: int, say: Callable[[str], None]) -> HerdFigures:
    work = work.resolve()
    shutil.rmtree(work, ignore_errors=True)
    sites = work / "sites"
    write_sitegate_site(posts, sites)
    _rename_site(sites, HERD_SITE)
    paths = ["/", "/blog/", *(f"/blog/{post.slug}/" for post in posts)]
    with Server.start(sitegate_spec("sitegate", sites, work / "builds", work / "sitegate.log")) as gateway:
        say(f"  {requests} concurrent first requests to an unbuilt site")
        statuses, seconds = asyncio.run(_herd(gateway, [paths[n % len(paths)] for n in range(requests)]))
        run = builds_run(gateway, HERD_SITE)
    current = work / "builds" / HERD_SITE / "current"
    pages = sum(1 for _ in current.rglob("*.html"))
    records = sum(1 for _ in (work / "builds" / HERD_SITE).glob("*.json"))
    errors = sum(count for status, count in statuses.items() if status != 200)
    return HerdFigures(requests, pages, run, records, errors, seconds, statuses)


async def _herd(gateway: Server, paths: list[str]) -> tuple[dict[int, int], float]:
    """Every request on its own connection, all sent at once; time until the last answer."""
    statuses: dict[int, int] = {}
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    timeout = aiohttp.ClientTimeout(total=300)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def one(path: str) -> None:
            try:
                async with session.get(gateway.url(path), headers={"Host": HERD_SITE}) as response:
                    await response.read()
                    status = response.status
            except (aiohttp.ClientError, TimeoutError):
                status = 0  # no answer at all
            statuses[status] = statuses.get(status, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(one(path) for path in paths))
        return statuses, time.perf_counter() - started


def measure_isolation(work: Path, posts: Sequence[CorpusPost], rounds: int, seconds: int,
                      say: Callable[[str], None]) -> IsolationFigures:  # fmt: skip
    """Rounds of (B idle, B while a fresh copy of the big site builds cold), one gateway."""
    work = work.resolve()
    shutil.rmtree(work, ignore_errors=True)
    sites = work / "sites"
    write_static_site(sites)
    big = [f"a{number}.bench.test" for number in range(1, rounds + 1)]
    for name in big:
        write_sitegate_site(posts, sites)
        _rename_site(sites, name)
    idle, building, build_seconds, overlapped = [], [], [], []
    with Server.start(sitegate_spec("sitegate", sites, work / "builds", work / "sitegate.log")) as gateway:
        page = f"/{FILES[0][1]}"
        fetch(gateway.url(page), SITE)
        load = Load(gateway.url(page), SITE, connections=ISOLATION_CONNECTIONS, seconds=seconds)
        run_wrk(load, (gateway.pid,))  # warm-up
        wait_idle((gateway.pid,))
        for round_number, name in enumerate(big, start=1):
            say(f"  isolation, round {round_number} of {rounds}: B idle, then B while {name} builds cold")
            idle.append(run_wrk(load, (gateway.pid,)))
            done = threading.Event()
            started = time.perf_counter()
            elapsed: list[float] = []

            def first_request(site: str = name) -> None:
                fetch(gateway.url("/"), site)
                elapsed.append(time.perf_counter() - started)
                done.set()

            thread = threading.Thread(target=first_request, daemon=True)
            thread.start()
            time.sleep(0.2)  # the build under way before B's load starts
            building.append(run_wrk(load, (gateway.pid,)))
            overlapped.append(not done.is_set())
            thread.join(600)
            build_seconds.append(elapsed[0] if elapsed else float("nan"))
            wait_idle((gateway.pid,))  # the build's precompression done before B idles again
    return IsolationFigures(tuple(idle), tuple(building), tuple(build_seconds), len(posts), tuple(overlapped))
