"""``python -m benchmarks.soak --seconds 60``: a production gateway and the backend under mixed
load on loopback, rebuilt every few seconds; exits non-zero if a target fails.

Traffic: static pages, Jinja pages, a stylesheet, revalidations (If-None-Match → 304), Range
requests and ``GET /api/blog/posts``, from concurrent clients, and one WebSocket held through
the gateway to an echo upstream for the whole run (see ``benchmarks.soak_websocket``).
Targets: no errors, no response from a half-published build (see ``benchmarks.soak_sites``),
no WebSocket error and four echoes in five beats at least, the gateway's RSS grown by less
than 10 % between the end of the warm-up and the end of the run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from benchmarks import soak_sites as sites
from benchmarks import soak_websocket as websocket
from benchmarks.gateway_process import (
    REPO,
    GatewayOptions,
    RunningGateway,
    stop_process,
)
from benchmarks.projects import SHARED_COMPONENTS
from gateway.config import Mode

WARM_UP_SECONDS = 10.0
MAX_RSS_GROWTH = 0.10
_RSS_WINDOW = 5
_START_TIMEOUT_SECONDS = 60.0
_REBUILD_TIMEOUT_SECONDS = 60.0
_KEPT_PROBLEMS = 10


@dataclass
class SoakFigures:
    seconds: float
    clients: int
    requests: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    half_builds: list[str] = field(default_factory=list)
    rebuild_seconds: list[float] = field(default_factory=list)
    rss_kib: list[int] = field(default_factory=list)
    websocket: websocket.SocketFigures = field(default_factory=websocket.SocketFigures)
    stopped: bool = False

    @property
    def rss_growth(self) -> float | None:
        """Median RSS of the last seconds over that of the seconds after the warm-up, minus one;
        medians, so that the memory of a build in progress is not taken for growth."""
        after = self.rss_kib[int(WARM_UP_SECONDS) :]
        if len(after) < 2 * _RSS_WINDOW:
            return None
        return statistics.median(after[-_RSS_WINDOW:]) / statistics.median(after[:_RSS_WINDOW]) - 1

    def failures(self, check_rss: bool) -> list[str]:
        failed = [f"{len(self.errors)} errors"] if self.errors else []
        failed += [f"{len(self.half_builds)} responses from no complete build"] if self.half_builds else []
        failed += [] if self.rebuild_seconds else ["no rebuild was served"]
        failed += self.websocket.failures(self.seconds)
        failed += [] if self.stopped else ["a process did not stop"]
        growth = self.rss_growth
        if check_rss and (growth is None or growth >= MAX_RSS_GROWTH):
            failed.append("RSS not measured after the warm-up" if growth is None else f"RSS grew {growth:.1%}")
        return failed


class _Soak:
    def __init__(self, gateway: RunningGateway, figures: SoakFigures, sites_dir: Path) -> None:
        self.gateway = gateway
        self.figures = figures
        self.sites_dir = sites_dir
        self.ledger = sites.Ledger((sites.STATIC_SITE, sites.BLOG_SITE))
        self.stop = asyncio.Event()

    async def client(self, session: aiohttp.ClientSession, seed: int) -> None:
        chooser = random.Random(seed)
        cache: dict[tuple[str, str], tuple[str, int]] = {}
        kinds = ("static", "blog", "stylesheet", "revalidate", "range", "api")
        while not self.stop.is_set():
            kind = chooser.choice(kinds)
            try:
                await self.one(session, kind, chooser, cache)
            except (aiohttp.ClientError, TimeoutError) as error:
                self.figures.errors.append(f"{kind}: {error!r}")
            self.figures.requests[kind] += 1

    async def one(
        self, session: aiohttp.ClientSession, kind: str, chooser: random.Random, cache: dict[tuple[str, str], tuple[str, int]]
    ) -> None:
        site = sites.BLOG_SITE if kind in ("blog", "api") else sites.STATIC_SITE
        headers = {"Host": site}
        path = chooser.choice(sites.BLOG_PAGES if site == sites.BLOG_SITE else sites.STATIC_PAGES)
        expected = 200
        if kind == "stylesheet":
            path = sites.STYLESHEET
        elif kind == "range":
            path, start = sites.DATA_FILE, chooser.randrange(0, 20_000)
            headers["Range"], expected = f"bytes={start}-{start + chooser.randrange(100, 300)}", 206
        elif kind == "api":
            path = "/api/blog/posts"
        elif kind == "revalidate" and (site, path) in cache:
            headers["If-None-Match"] = cache[(site, path)][0]
        floor = self.ledger.floor(site)
        async with session.get(self.gateway.url(path), headers=headers) as response:
            body = await response.read()
            status, etag = response.status, response.headers.get("ETag", "")
        self.figures.statuses[status] += 1
        if status == 304 and "If-None-Match" in headers:
            generation: int | None = cache[(site, path)][1]
        elif status != expected:
            self.figures.errors.append(f"{kind} {site}{path}: {status} {body[:200]!r}")
            return
        elif kind == "api":
            return
        elif kind == "range":
            candidates = range(floor, self.ledger.written[site] + 1)
            generation = sites.range_generation(body, start, candidates)
        elif kind == "stylesheet":
            generation = sites.stylesheet_generation(body)
        else:
            generation = sites.page_generation(body)
            if generation is not None:
                cache[(site, path)] = (etag, generation)
        problem = f"{site}{path}: not one generation" if generation is None else self.ledger.saw(site, generation, floor)
        if problem is not None:
            self.figures.half_builds.append(f"{kind}: {problem}")

    async def rebuilds(self, session: aiohttp.ClientSession, interval: float) -> None:
        """A new generation of both sites every ``interval`` seconds, published by the rebuild
        hook; the next is written only once this one is served."""
        generation = 0
        while not self.stop.is_set():
            cycle = time.monotonic()
            generation += 1
            for site in self.ledger.written:
                self.ledger.written[site] = generation
            await asyncio.to_thread(sites.write_generation, self.sites_dir, generation)
            for site in self.ledger.written:
                async with session.post(self.gateway.url(f"/_sitegate/hooks/rebuild/{site}")) as response:
                    if response.status != 202:
                        self.figures.errors.append(f"rebuild hook of {site}: {response.status}")
            await self.until_served(generation, cycle)
            self.figures.rebuild_seconds.append(time.monotonic() - cycle)
            try:
                await asyncio.wait_for(self.stop.wait(), max(0.0, cycle + interval - time.monotonic()))
            except TimeoutError:
                pass

    async def until_served(self, generation: int, since: float) -> None:
        while any(self.ledger.served[site] < generation for site in self.ledger.served):
            if time.monotonic() - since > _REBUILD_TIMEOUT_SECONDS:
                self.figures.errors.append(f"generation {generation} not served in {_REBUILD_TIMEOUT_SECONDS:g} s")
                return
            await asyncio.sleep(0.05)

    async def sample_rss(self) -> None:
        status = Path(f"/proc/{self.gateway.process.pid}/status")
        while not self.stop.is_set():
            text = await asyncio.to_thread(status.read_text)
            self.figures.rss_kib.append(int(text.split("VmRSS:")[1].split()[0]))
            try:
                await asyncio.wait_for(self.stop.wait(), 1.0)
            except TimeoutError:
                pass


async def run_soak(work: Path, seconds: float, clients: int = 8, rebuild_every: float = 5.0) -> SoakFigures:
    """The soak in ``work`` (a fresh folder); returns once every process it started has ended."""
    sites_dir, figures = work / "sites", SoakFigures(seconds, clients)
    # The echo upstream outlives the gateway, so that the relayed socket never loses its far end first.
    async with websocket.echo_upstream() as echo_url:
        await asyncio.to_thread(sites.write_sites, sites_dir, echo_url)
        backend = await _start_backend(work)
        gateway: RunningGateway | None = None
        try:
            gateway = await RunningGateway.start(
                GatewayOptions(Mode.PRODUCTION, sites_dir, SHARED_COMPONENTS, work / "builds", work / "gateway.log", backend.url)
            )
            connector = aiohttp.TCPConnector(limit=clients + 1)
            timeout = aiohttp.ClientTimeout(total=_START_TIMEOUT_SECONDS)
            async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
                soak = _Soak(gateway, figures, sites_dir)
                for site, pages in ((sites.STATIC_SITE, sites.STATIC_PAGES), (sites.BLOG_SITE, sites.BLOG_PAGES)):
                    await gateway.page(session, site, pages[0])  # the cold builds, before the clock starts
                tasks = [asyncio.create_task(soak.client(session, seed)) for seed in range(clients)]
                tasks += [asyncio.create_task(soak.rebuilds(session, rebuild_every)), asyncio.create_task(soak.sample_rss())]
                echo = websocket.hold_socket(gateway.url(websocket.ECHO_PATH), sites.ECHO_SITE, figures.websocket, soak.stop)
                tasks.append(asyncio.create_task(echo))
                await asyncio.sleep(seconds)
                soak.stop.set()
                await asyncio.gather(*tasks)
        finally:
            if gateway is not None:
                await gateway.stop()
            await stop_process(backend.process)
    figures.stopped = backend.process.returncode is not None and gateway.process.returncode is not None
    return figures


@dataclass(frozen=True)
class _Backend:
    process: asyncio.subprocess.Process
    url: str


async def _start_backend(work: Path) -> _Backend:
    """``sitegate backend`` on a free loopback port, with its store in ``work``."""
    port = _free_port()
    log = (work / "backend.log").open("ab")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway.cli", "backend", "--port", str(port), "--store", f"sqlite:///{work / 'backend.db'}",
        stdout=log, stderr=log, cwd=REPO, env=_backend_environment(work),
    )  # fmt: skip
    log.close()
    url = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as session:
        deadline = time.monotonic() + _START_TIMEOUT_SECONDS
        while time.monotonic() < deadline and process.returncode is None:
            try:
                async with session.get(f"{url}/api/health") as response:
                    if response.status == 200:
                        return _Backend(process, url)
            except aiohttp.ClientError:
                await asyncio.sleep(0.1)
    await stop_process(process)
    raise RuntimeError(f"the backend did not start; see {work / 'backend.log'}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _backend_environment(work: Path) -> dict[str, str]:
    """Ours, without any SITEGATE_ setting of the caller's (a token would lock the gateway out)."""
    environment = {name: value for name, value in os.environ.items() if not name.startswith("SITEGATE_")}
    return environment | {"SITEGATE_DATA_DIR": str(work / "data")}


def report(figures: SoakFigures, failed: Sequence[str]) -> str:
    total = sum(figures.requests.values())
    kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(figures.requests.items()))
    statuses = ", ".join(f"{status}: {count}" for status, count in sorted(figures.statuses.items()))
    rebuild = statistics.median(figures.rebuild_seconds) if figures.rebuild_seconds else float("nan")
    rss_mib = [kib / 1024 for kib in figures.rss_kib] or [0.0]
    growth = figures.rss_growth
    lines = [
        f"soak: {figures.seconds:g} s, {figures.clients} clients, {total} requests ({total / figures.seconds:.0f}/s): {kinds}",
        f"statuses: {statuses}",
        f"errors: {len(figures.errors)}; responses from no complete build: {len(figures.half_builds)}",
        f"rebuilds served: {len(figures.rebuild_seconds)}, from writing to served: median {rebuild:.2f} s",
        figures.websocket.summary(),
        f"gateway RSS: start {rss_mib[0]:.0f} MiB, max {max(rss_mib):.0f} MiB, end {rss_mib[-1]:.0f} MiB",
        "RSS growth after the warm-up: " + (f"{growth:+.1%}" if growth is not None else "not measured (run too short)"),
        *(f"  error: {text}" for text in figures.errors[:_KEPT_PROBLEMS]),
        *(f"  half build: {text}" for text in figures.half_builds[:_KEPT_PROBLEMS]),
        *(f"  WebSocket error: {text}" for text in figures.websocket.errors[:_KEPT_PROBLEMS]),
        "targets met" if not failed else "FAILED: " + "; ".join(failed),
    ]
    return "\n".join(lines)


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.soak", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rebuild-every", type=float, default=5.0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="sitegate-soak-") as work:
        figures = asyncio.run(run_soak(Path(work), args.seconds, args.clients, args.rebuild_every))
    failed = figures.failures(check_rss=args.seconds >= WARM_UP_SECONDS + 2 * _RSS_WINDOW)
    print(report(figures, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
