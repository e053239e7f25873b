"""Issue 14, static serving: the same files (2 KiB, 100 KiB, 1 MiB, and the 304 path) from
sitegate (one worker and ``--workers 2``), nginx, aiohttp's fixed-bytes floor, aiohttp's
``web.static`` and Starlette's ``StaticFiles``, all running at once and loaded in turn, round
by round (A B C A B C), so drift in the machine's load weighs on all alike."""

from __future__ import annotations

import os
import random
import shutil
import string
import sys
import urllib.request
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from benchmarks.contenders import (
    Server,
    Spec,
    free_port,
    nginx_spec,
    nginx_static_block,
    peer_spec,
    sitegate_spec,
    workers_available,
)
from benchmarks.load import LOAD_CORE, Load, LoadRun, run_wrk, wait_idle
from benchmarks.stats import Samples

SITE = "static.bench.test"
FILES = (("2 KiB", "2k.html", 2 * 1024), ("100 KiB", "100k.html", 100 * 1024), ("1 MiB", "1m.html", 1024 * 1024))
NOT_MODIFIED = "304 (2 KiB, If-None-Match)"
FLOOR = "aiohttp fixed-bytes floor"
NGINX = "nginx"
SITEGATE_ONE = "sitegate, 1 worker"
SITEGATE_TWO = "sitegate, --workers 2"


@dataclass(frozen=True)
class Cell:
    """One contender on one case: every round's run."""

    contender: str
    case: str
    runs: tuple[LoadRun, ...]

    @property
    def per_second(self) -> Samples:
        return Samples(tuple(run.wrk.per_second for run in self.runs))

    @property
    def p99(self) -> Samples:
        return Samples(tuple(run.wrk.p99_seconds for run in self.runs))

    @property
    def cpu_us(self) -> Samples:
        return Samples(tuple(run.cpu_us_per_request for run in self.runs))

    @property
    def errors(self) -> int:
        return sum(run.wrk.errors for run in self.runs)

    @property
    def load_bound(self) -> int:
        return sum(run.load_bound for run in self.runs)


@dataclass(frozen=True)
class ServingFigures:
    cells: tuple[Cell, ...]
    contenders: tuple[str, ...]
    cases: tuple[str, ...]
    unavailable: dict[str, str]
    rounds: int
    seconds: int
    connections: int
    workers_note: str

    def cell(self, contender: str, case: str) -> Cell | None:
        return next((c for c in self.cells if c.contender == contender and c.case == case), None)


@dataclass(frozen=True)
class _Target:
    name: str
    server: Server
    host: str | None
    load_cores: str


def write_files(folder: Path) -> None:
    """Deterministic text of each size (text, so a server may treat it as a page)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(14)
    for _label, name, size in FILES:
        (folder / name).write_text("".join(rng.choices(string.ascii_letters + " \n", k=size)), encoding="ascii")


def write_static_site(sites: Path) -> Path:
    site = sites / SITE
    (site / "public").mkdir(parents=True, exist_ok=True)
    (site / "site.toml").write_text('builder = "static"\n', encoding="utf-8")
    write_files(site / "public")
    return site / "public"


def fetch(url: str, host: str | None, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str]]:
    request = urllib.request.Request(url, headers={**({"Host": host} if host else {}), **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            response.read()
            return response.status, {name.lower(): value for name, value in response.headers.items()}
    except urllib.error.HTTPError as error:
        return error.code, {name.lower(): value for name, value in error.headers.items()}


def measure_serving(work: Path, peers_python: Path, rounds: int, seconds: int, connections: int,
                    sizes: tuple[str, ...], warm_up: bool, say: Callable[[str], None]) -> ServingFigures:  # fmt: skip
    work = work.resolve()
    shutil.rmtree(work, ignore_errors=True)
    sites, plain = work / "sites", work / "plain"
    write_static_site(sites)
    write_files(plain)
    unavailable: dict[str, str] = {}
    many_cores = (os.cpu_count() or 1) >= 3
    # Two workers need two cores; on a two-core machine wrk then shares core 1 with one of them.
    workers_note = (
        "`--workers 2` runs on cores 0–1 with wrk on core 2."
        if many_cores
        else "`--workers 2` runs on cores 0–1 and wrk shares core 1 with it: this machine has 2 cores, so the load "
        "generator cannot have a core of its own and the figure is bounded by the machine, not by the workers."
    )
    with ExitStack() as stack:
        targets: list[_Target] = []

        def start(name: str, spec: Callable[[], Spec], host: str | None, load_cores: str = str(LOAD_CORE)) -> None:
            targets.append(_Target(name, stack.enter_context(Server.start(spec())), host, load_cores))

        start(SITEGATE_ONE, lambda: sitegate_spec(SITEGATE_ONE, sites, work / "builds-1", work / "sitegate-1.log"), SITE)
        if workers_available():
            start(SITEGATE_TWO, lambda: sitegate_spec(SITEGATE_TWO, sites, work / "builds-2", work / "sitegate-2.log",
                                                      workers=2, cores="0,1"), SITE, "2" if many_cores else "1")  # fmt: skip
        else:
            unavailable[SITEGATE_TWO] = "not available in this commit (`sitegate serve` has no `--workers`)"
        port = free_port()
        start(NGINX, lambda: nginx_spec(NGINX, work / "nginx", nginx_static_block(plain, port), port), None)
        here = Path(sys.executable)
        start(FLOOR, lambda: peer_spec(FLOOR, here, "floor", str(plain), work / "floor.log"), None)
        start("aiohttp `web.static`", lambda: peer_spec("web.static", here, "static", str(plain), work / "static.log"), None)
        start("Starlette `StaticFiles` (uvicorn)",
              lambda: peer_spec("starlette", peers_python, "starlette", str(plain), work / "starlette.log"), None)  # fmt: skip
        etags = _warm_up(targets, warm_up, say)
        files = tuple(file for file in FILES if file[0] in sizes)
        files += ((NOT_MODIFIED, FILES[0][1], 0),) if NOT_MODIFIED in sizes else ()
        cases = tuple(label for label, _name, _size in files)
        runs: dict[tuple[str, str], list[LoadRun]] = {}
        for round_number in range(1, rounds + 1):
            say(f"  static serving, round {round_number} of {rounds}")
            for label, name, _size in files:
                for target in targets:
                    headers = (("If-None-Match", etags[target.name]),) if label == NOT_MODIFIED else ()
                    load = Load(target.server.url(f"/{name}"), target.host, headers, connections=connections,
                                seconds=seconds, cores=target.load_cores)  # fmt: skip
                    runs.setdefault((target.name, label), []).append(run_wrk(load, (target.server.pid,)))
        cells = tuple(Cell(name, case, tuple(found)) for (name, case), found in runs.items())
        names = tuple(target.name for target in targets) + tuple(unavailable)
    return ServingFigures(cells, names, cases, unavailable, rounds, seconds, connections, workers_note)


def _warm_up(targets: list[_Target], load: bool, say: Callable[[str], None]) -> dict[str, str]:
    """Each contender answers every file once (sitegate builds the site on its first request)
    and has its ETag read for the 304 runs; with ``load``, a short wrk run warms each up."""
    etags = {}
    for target in targets:
        for _label, name, size in FILES:
            status, headers = fetch(target.server.url(f"/{name}"), target.host)
            length = int(headers.get("content-length", "-1"))
            if status != 200 or length != size:
                raise RuntimeError(f"{target.name} answered {status} with {length} bytes for /{name}")
        _status, headers = fetch(target.server.url(f"/{FILES[0][1]}"), target.host)
        etags[target.name] = headers.get("etag", "")
        status, _ = fetch(target.server.url(f"/{FILES[0][1]}"), target.host, {"If-None-Match": etags[target.name]})
        if status != 304:
            raise RuntimeError(f"{target.name} answered {status}, not 304, to its own ETag")
        if load:
            run_wrk(Load(target.server.url(f"/{FILES[0][1]}"), target.host, seconds=1, cores=target.load_cores),
                    (target.server.pid,))  # fmt: skip
        say(f"  {target.name}: ready")
    wait_idle(tuple(target.server.pid for target in targets))
    return etags
