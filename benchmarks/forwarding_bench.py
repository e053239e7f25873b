"""Issue 14, forwarding ``/api``: a small JSON answer of the real shared backend (``sitegate
backend``) hit directly, through nginx (``sitegate nginx-config --backend``), through sitegate
and through a plain aiohttp streaming proxy, round by round; what each hop adds is its CPU per
request (the hop's and the backend's) less the backend's own when hit directly. Then 100 MB
up and down through sitegate, with how far its peak resident memory rose."""

from __future__ import annotations

import asyncio
import json
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from benchmarks.contenders import (
    Server,
    backend_spec,
    free_port,
    nginx_config,
    nginx_spec,
    peer_spec,
    sitegate_spec,
)
from benchmarks.load import Load, LoadRun, memory_kib, run_wrk
from benchmarks.serving_bench import SITE, Cell, write_static_site

API_PATH = "/api/blog/posts"
DIRECT = "backend directly"
VIA_NGINX = "via nginx (`nginx-config --backend`)"
VIA_SITEGATE = "via sitegate"
VIA_PROXY = "via a plain aiohttp streaming proxy"
TRANSFER_BYTES = 100_000_000
_CHUNK = 256 * 1024


@dataclass(frozen=True)
class Transfer:
    direction: str
    seconds: float
    rss_before_kib: int
    peak_after_kib: int

    @property
    def growth_kib(self) -> int:
        """How far the gateway's peak resident memory rose above what it held before."""
        return max(0, self.peak_after_kib - self.rss_before_kib)


@dataclass(frozen=True)
class ForwardingFigures:
    cells: tuple[Cell, ...]
    body: str
    transfers: tuple[Transfer, ...]

    def cell(self, name: str) -> Cell:
        return next(cell for cell in self.cells if cell.contender == name)

    def extra_us(self, name: str) -> float:
        """Median server CPU per request of a hop (itself and the backend) over the direct figure."""
        return self.cell(name).cpu_us.median - self.cell(DIRECT).cpu_us.median


def measure_forwarding(work: Path, rounds: int, seconds: int, connections: int, say: Callable[[str], None]) -> ForwardingFigures:
    work = work.resolve()
    sites = work / "sites"
    write_static_site(sites)
    with ExitStack() as stack:
        backend = stack.enter_context(Server.start(backend_spec(work / "backend-data", work / "backend.log")))
        gateway = stack.enter_context(Server.start(
            sitegate_spec(VIA_SITEGATE, sites, work / "builds", work / "sitegate.log", backend_url=backend.url(""))
        ))  # fmt: skip
        port = free_port()
        block = nginx_config("--backend", backend.url(""), "--listen", f"127.0.0.1:{port}",
                             sites=sites, builds=work / "builds", gateway_port=gateway.spec.port)  # fmt: skip
        nginx = stack.enter_context(Server.start(nginx_spec(VIA_NGINX, work / "nginx", block, port)))
        proxy = stack.enter_context(Server.start(
            peer_spec(VIA_PROXY, Path(sys.executable), "proxy", backend.url(""), work / "proxy.log")
        ))  # fmt: skip
        tenant = (("X-Tenant-Domain", SITE),)
        hops = (
            (DIRECT, backend, None, tenant, (backend.pid,)),
            (VIA_NGINX, nginx, SITE, (), (nginx.pid, backend.pid)),
            (VIA_SITEGATE, gateway, SITE, (), (gateway.pid, backend.pid)),
            (VIA_PROXY, proxy, None, tenant, (proxy.pid, backend.pid)),
        )
        bodies = {name: _get(server.url(API_PATH), host, dict(headers)) for name, server, host, headers, _ in hops}
        if len(set(bodies.values())) != 1:
            raise RuntimeError(f"the hops answer {API_PATH} differently: {bodies}")
        runs: dict[str, list[LoadRun]] = {}
        for round_number in range(1, rounds + 1):
            say(f"  /api forwarding, round {round_number} of {rounds}")
            for name, server, host, headers, pids in hops:
                load = Load(server.url(API_PATH), host, headers, connections=connections, seconds=seconds)
                runs.setdefault(name, []).append(run_wrk(load, pids))
        cells = tuple(Cell(name, "small JSON", tuple(found)) for name, found in runs.items())
    say("  100 MB up and down through sitegate")
    transfers = _transfers(work, sites)
    return ForwardingFigures(cells, bodies[DIRECT], transfers)


def _get(url: str, host: str | None, headers: dict[str, str]) -> str:
    request = urllib.request.Request(url, headers={**({"Host": host} if host else {}), **headers})
    with urllib.request.urlopen(request, timeout=30) as response:
        if response.status != 200:
            raise RuntimeError(f"GET {url}: {response.status}")
        return json.dumps(json.loads(response.read()), sort_keys=True)


def _transfers(work: Path, sites: Path) -> tuple[Transfer, ...]:
    """An upstream that drops uploads and streams downloads, so only the gateway's memory is at
    stake; the gateway is otherwise as it ships."""
    with ExitStack() as stack:
        sink = stack.enter_context(Server.start(peer_spec("sink", Path(sys.executable), "sink", "", work / "sink.log")))
        gateway = stack.enter_context(Server.start(
            sitegate_spec("sitegate (transfers)", sites, work / "builds-transfer", work / "sitegate-transfer.log",
                          backend_url=sink.url(""))
        ))  # fmt: skip
        return asyncio.run(_up_and_down(gateway))


async def _up_and_down(gateway: Server) -> tuple[Transfer, ...]:
    async def body() -> AsyncIterator[bytes]:
        chunk = bytes(_CHUNK)
        for start in range(0, TRANSFER_BYTES, _CHUNK):
            yield chunk[: min(_CHUNK, TRANSFER_BYTES - start)]

    timeout = aiohttp.ClientTimeout(total=300)
    async with aiohttp.ClientSession(timeout=timeout, auto_decompress=False) as session:
        # One small request first, so the connection pool and the proxy's client exist already.
        async with session.get(gateway.url("/api/download?bytes=10"), headers={"Host": SITE}) as response:
            await response.read()
        before, started = memory_kib(gateway.pid, "VmRSS"), time.perf_counter()
        async with session.post(gateway.url("/api/upload"), data=body(), headers={"Host": SITE}) as response:
            answer = await response.json()
        if response.status != 200 or answer.get("bytes") != TRANSFER_BYTES:
            raise RuntimeError(f"the upload through sitegate arrived as {response.status} {answer}")
        upload = Transfer("upload", time.perf_counter() - started, before, memory_kib(gateway.pid, "VmHWM"))
        before, started, received = memory_kib(gateway.pid, "VmRSS"), time.perf_counter(), 0
        async with session.get(gateway.url(f"/api/download?bytes={TRANSFER_BYTES}"), headers={"Host": SITE}) as response:
            async for chunk in response.content.iter_chunked(_CHUNK):
                received += len(chunk)
        if received != TRANSFER_BYTES:
            raise RuntimeError(f"the download through sitegate brought {received} bytes")
        download = Transfer("download", time.perf_counter() - started, before, memory_kib(gateway.pid, "VmHWM"))
    return upload, download


def median_extra(figures: ForwardingFigures) -> dict[str, float]:
    return {name: figures.extra_us(name) for name in (VIA_NGINX, VIA_SITEGATE, VIA_PROXY)}

