"""Issue 14, many sites: a gateway with 1,000 registered sites, 100 of them built and requested
in rotation (each request to the next site's Host), reporting req/s and the gateway's memory;
and ``nginx-config --direct`` in front of a gateway against nginx serving the same folder."""

from __future__ import annotations

import concurrent.futures
import shutil
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from benchmarks.contenders import Server, free_port, nginx_config, nginx_spec, nginx_static_block, sitegate_spec
from benchmarks.load import Load, LoadRun, memory_kib, run_wrk, wait_idle
from benchmarks.serving_bench import FILES, SITE, Cell, fetch, write_static_site

_PAGE = "<!doctype html><title>{name}</title><p>{name}: one of many sites served by one gateway.</p>\n"
DIRECT = "nginx `--direct` in front of sitegate"
NGINX_ALONE = "nginx alone, same folder"


@dataclass(frozen=True)
class ScaleFigures:
    registered: int
    built: int
    build_seconds: float
    runs: tuple[LoadRun, ...]
    rss_start_kib: int
    rss_end_kib: int
    peak_kib: int

    @property
    def cell(self) -> Cell:
        return Cell("sitegate", f"{self.built} sites in rotation", self.runs)


def site_name(number: int) -> str:
    return f"s{number:04d}.scale.test"


def write_many_sites(sites: Path, count: int) -> None:
    for number in range(count):
        public = sites / site_name(number) / "public"
        public.mkdir(parents=True)
        (public.parent / "site.toml").write_text('builder = "static"\n', encoding="utf-8")
        (public / "index.html").write_text(_PAGE.format(name=site_name(number)), encoding="utf-8")


def measure_scale(work: Path, registered: int, built: int, rounds: int, seconds: int,
                  say: Callable[[str], None]) -> ScaleFigures:  # fmt: skip
    work = work.resolve()
    shutil.rmtree(work, ignore_errors=True)
    write_many_sites(work / "sites", registered)
    hosts = tuple(site_name(number) for number in range(built))
    with Server.start(sitegate_spec("sitegate", work / "sites", work / "builds", work / "sitegate.log")) as gateway:
        rss_start = memory_kib(gateway.pid, "VmRSS")
        say(f"  {registered:,} sites registered; building {built} by their first requests")
        started = time.perf_counter()
        # A few at a time, as visitors arrive; the gateway's own limit on builds at once holds anyway.
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(lambda host: fetch(gateway.url("/"), host)[0], hosts))
        build_seconds = time.perf_counter() - started
        if set(statuses) != {200}:
            raise RuntimeError(f"first requests answered {sorted(set(statuses))}")
        wait_idle((gateway.pid,))
        runs = []
        for round_number in range(1, rounds + 1):
            say(f"  {built} sites in rotation, round {round_number} of {rounds}")
            runs.append(run_wrk(Load(gateway.url("/"), rotate_hosts=hosts, seconds=seconds), (gateway.pid,)))
        rss_end, peak = memory_kib(gateway.pid, "VmRSS"), memory_kib(gateway.pid, "VmHWM")
    return ScaleFigures(registered, built, build_seconds, tuple(runs), rss_start, rss_end, peak)


def measure_direct(work: Path, rounds: int, seconds: int, connections: int, say: Callable[[str], None]) -> tuple[Cell, ...]:
    """Both nginx with the same http settings (one worker, sendfile, keep-alive); the one in
    front of the gateway runs what ``sitegate nginx-config --direct`` wrote."""
    work = work.resolve()
    shutil.rmtree(work, ignore_errors=True)
    sites, builds = work / "sites", work / "builds"
    write_static_site(sites)
    with ExitStack() as stack:
        gateway = stack.enter_context(Server.start(sitegate_spec("sitegate", sites, builds, work / "sitegate.log")))
        for _label, name, _size in FILES:
            fetch(gateway.url(f"/{name}"), SITE)  # built, so current exists for nginx to read
        direct_port, alone_port = free_port(), free_port()
        block = nginx_config("--direct", "--listen", f"127.0.0.1:{direct_port}", sites=sites, builds=builds,
                             gateway_port=gateway.spec.port)  # fmt: skip
        direct = stack.enter_context(Server.start(nginx_spec(DIRECT, work / "nginx-direct", block, direct_port)))
        current = (builds / SITE / "current").resolve()
        alone = stack.enter_context(Server.start(
            nginx_spec(NGINX_ALONE, work / "nginx-alone", nginx_static_block(current, alone_port), alone_port)
        ))  # fmt: skip
        contenders = ((DIRECT, direct, (direct.pid, gateway.pid)), (NGINX_ALONE, alone, (alone.pid,)))
        for _name, server, _pids in contenders:
            status, headers = fetch(server.url(f"/{FILES[0][1]}"), SITE)
            if status != 200 or int(headers.get("content-length", "-1")) != FILES[0][2]:
                raise RuntimeError(f"{_name} answered {status}")
        wait_idle((gateway.pid,))
        runs: dict[tuple[str, str], list[LoadRun]] = {}
        for round_number in range(1, rounds + 1):
            say(f"  --direct, round {round_number} of {rounds}")
            for label, file_name, _size in (FILES[0], FILES[2]):
                for name, server, pids in contenders:
                    load = Load(server.url(f"/{file_name}"), SITE, connections=connections, seconds=seconds)
                    runs.setdefault((name, label), []).append(run_wrk(load, pids))
    return tuple(Cell(name, label, tuple(found)) for (name, label), found in runs.items())
