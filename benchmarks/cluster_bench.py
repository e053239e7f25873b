"""Issue 15, several hosts sharing builds: three ``sitegate serve`` gateways, each with its own
build folder (as on three hosts), moto's S3 server as the build store and SecantusDB as the
cluster database, all on loopback and on core 0; ``sitegate deploy`` and the clients on core 1.

- deploy → served: from starting ``sitegate deploy`` until all three gateways answer the new
  page, at the default poll (1.0 s) and at ``SITEGATE_CLUSTER_POLL_SECONDS=0.2``;
- ``BuildStore.upload``/``download`` of the 1,000-post blog's build (precompressed) against moto;
- the first request for that blog on a host that fetches it (another host built and published
  it), on the host that built it, and on a gateway alone (no cluster), each cold;
- nginx (``nginx-config --upstream``) over three gateways against over one, static 2 KiB.

``python -m benchmarks.cluster_bench [--quick]`` runs this section alone and prints its markdown.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import aiohttp

from benchmarks.contenders import SITEGATE, Server, Spec, free_port, nginx_spec, sitegate_spec
from benchmarks.corpus import DEFAULT_SEED, generate_posts
from benchmarks.load import LOAD_CORE, SERVER_CORE, Load, LoadRun, cpu_seconds, run_wrk, wait_idle
from benchmarks.projects import REPO, SITE_NAME, write_sitegate_site
from benchmarks.serving_bench import FILES, SITE, Cell, fetch, write_static_site
from benchmarks.stats import Samples
from gateway.cluster.archive import pack, unpack
from gateway.cluster.store import BuildStore, StoreLocation

BUCKET = "sitegate-bench"
PREFIX = "builds"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_REGION": "us-east-1"}
DEPLOY_PAGE = "deployed.html"
GATEWAYS = (1, 2, 3)
THREE, ONE = "nginx over 3 gateways", "nginx over 1 gateway"
SERVED_WITHIN_SECONDS = 2.0  # the cluster tests' bar for a deploy reaching every gateway
_POLL_CLIENT_SECONDS = 0.05
_DEPLOY_TIMEOUT_SECONDS = 300.0
_THROUGHPUT_SITE = "throughput.bench.test"
_STARTING_CORES = f"{SERVER_CORE},{LOAD_CORE}"


@dataclass(frozen=True)
class ClusterPlan:
    deploys: int
    fast_deploys: int
    posts: int
    transfers: int
    rounds: int
    seconds: int
    alone: bool  # the first request on a gateway alone too
    fetch_hosts: int  # hosts asked for the blog after the first built it (each fetches it)
    pause_seconds: float  # between deploys, so they start at different points of the gateways' polls
    connections: int = 32


FULL = ClusterPlan(deploys=5, fast_deploys=3, posts=1000, transfers=3, rounds=3, seconds=5, alone=True,
                   fetch_hosts=2, pause_seconds=1.3)
# Quick: two deploys at the default poll only (no restart at 0.2 s), a 50-post blog fetched by one
# host and no gateway alone, one transfer of each kind, one load run of 1 s each.
QUICK = ClusterPlan(deploys=2, fast_deploys=0, posts=50, transfers=1, rounds=1, seconds=1, alone=False,
                    fetch_hosts=1, pause_seconds=0.3)


@dataclass(frozen=True)
class Deploy:
    """One ``sitegate deploy``, in seconds from the command's start: when it printed that it had
    deployed (the pointer moved just before), when it exited, when each gateway first answered
    the new page."""

    published: float
    exited: float
    served: tuple[float, ...]

    @property
    def everywhere(self) -> float:
        return max(self.served)

    @property
    def after_pointer(self) -> float:
        return self.everywhere - self.published


@dataclass(frozen=True)
class Transfers:
    files: int
    archive_bytes: int
    pack: Samples
    unpack: Samples
    upload: Samples
    download: Samples


@dataclass(frozen=True)
class FirstRequests:
    pages: int
    alone: float | None  # a gateway with no cluster, cold (not in a quick run)
    built_here: float  # the first host of the cluster: builds, uploads, moves the pointer
    fetched: tuple[float, ...]  # the other hosts: fetch from the store
    uploaded_bytes: int  # the archive the first host put in the store


@dataclass(frozen=True)
class ClusterFigures:
    plan: ClusterPlan
    quick: bool
    cores: int
    deploys: tuple[Deploy, ...]
    fast_deploys: tuple[Deploy, ...]
    fetched_counts: tuple[int, ...]  # builds of the static site each gateway fetched over the deploys
    transfers: Transfers
    first: FirstRequests
    cells: tuple[Cell, ...]
    cpu_shares: tuple[float, ...]  # each gateway's share of the gateways' CPU behind nginx over 3
    versions: dict[str, str]
    load_average: tuple[str, str]


class Cluster:
    """moto, SecantusDB and three gateways sharing one sites folder, a build folder each; all
    stopped by their PIDs when ``stack`` closes."""

    def __init__(self, work: Path, stack: ExitStack) -> None:
        self.work = work
        self.sites = work / "sites"
        moto_port, db_port = free_port(), free_port()
        self.endpoint = f"http://127.0.0.1:{moto_port}"
        secantus = Path(sys.executable).with_name("secantusd-py")
        self._services = (
            Spec("moto", (sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(moto_port)), moto_port,
                 work / "moto.log", _STARTING_CORES),
            Spec("SecantusDB", (str(secantus), "--host", "127.0.0.1", "--port", str(db_port), "--storage-path",
                                ":memory:"), db_port, work / "secantus.log", _STARTING_CORES),
        )  # fmt: skip
        self.env = {
            "SITEGATE_BUILD_STORE": f"s3://{BUCKET}/{PREFIX}",
            "SITEGATE_S3_ENDPOINT_URL": self.endpoint,
            "SITEGATE_CLUSTER_DB": f"mongodb://127.0.0.1:{db_port}/sitegate",
            **CREDENTIALS,
        }
        self.services: list[Server] = []
        self.gateways: dict[int, Server] = {}
        stack.callback(self.stop)

    def start(self, poll_seconds: float) -> None:
        """Gateways 1-3 (any running stopped first, their build folders kept), and the first time
        moto and SecantusDB: all started at once (a gateway looks at the database and the store
        again at its next poll, so none needs them up first), on both cores, then pinned to the
        servers' core before anything is measured: only their start-up is quicker for it."""
        stop_all(list(self.gateways.values()))
        self.gateways = {}
        env = {**self.env, "SITEGATE_CLUSTER_POLL_SECONDS": f"{poll_seconds:g}"}
        specs = {n: sitegate_spec(f"gateway {n}", self.sites, self.builds(n), self.work / f"host{n}.log",
                                  cores=_STARTING_CORES, env={**env, "SITEGATE_HOST_ID": f"host{n}"})
                 for n in GATEWAYS}  # fmt: skip
        services = () if self.services else self._services
        with concurrent.futures.ThreadPoolExecutor(len(specs) + len(services)) as pool:
            gateways = {n: pool.submit(Server.start, spec) for n, spec in specs.items()}
            started = [pool.submit(Server.start, spec) for spec in services]
        # Every one that started is kept to be stopped, before any failure is raised.
        self.services += [future.result() for future in started if future.exception() is None]
        self.gateways = {n: future.result() for n, future in gateways.items() if future.exception() is None}
        for future in (*gateways.values(), *started):
            future.result()
        for pid in self.pids:
            pin(pid, SERVER_CORE)
        if services:
            request = urllib.request.Request(f"{self.endpoint}/{BUCKET}", method="PUT")
            with urllib.request.urlopen(request, timeout=30) as answer:
                answer.read()

    def stop(self) -> None:
        """All at once: a gateway takes about a second to stop cleanly."""
        with concurrent.futures.ThreadPoolExecutor(len(GATEWAYS) + 2) as pool:
            for server in self.gateways.values():
                pool.submit(server.stop)
            for server in self.services:
                pool.submit(stop_soon, server)

    def location(self) -> StoreLocation:
        return StoreLocation.parse(f"s3://{BUCKET}/{PREFIX}", endpoint_url=self.endpoint,
                                   region=CREDENTIALS["AWS_REGION"], access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                                   secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"])  # fmt: skip

    def builds(self, number: int) -> Path:
        return self.work / f"host{number}" / "builds"

    @property
    def pids(self) -> tuple[int, ...]:
        return (*(server.pid for server in self.gateways.values()), *(server.pid for server in self.services))

    def archive_sizes(self, site: str) -> dict[str, int]:
        """The archives of ``site`` in the store, by key (moto answers unsigned requests)."""
        query = f"{self.endpoint}/{BUCKET}?list-type=2&prefix={PREFIX}/{site}/"
        with urllib.request.urlopen(query, timeout=30) as answer:
            text = answer.read().decode()
        keys = re.findall(r"<Key>([^<]+)</Key>", text)
        sizes = [int(size) for size in re.findall(r"<Size>(\d+)</Size>", text)]
        return {key: size for key, size in zip(keys, sizes, strict=True) if key.endswith(".tar")}


def pin(pid: int, core: int) -> None:
    """``pid``, its threads and every process under it on ``core`` alone."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            children.setdefault(int(stat[stat.rindex(")") + 2 :].split()[1]), []).append(int(entry.name))
    todo = [pid]
    while todo:
        current = todo.pop()
        subprocess.run(["taskset", "-a", "-p", "-c", str(core), str(current)], capture_output=True, timeout=30, check=True)
        todo.extend(children.get(current, ()))


def stop_soon(server: Server) -> None:
    """SIGINT, then SIGKILL after a second: SecantusDB takes two to stop, and holds nothing on disk."""
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGINT)
        try:
            server.process.wait(1)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


def stop_all(servers: list[Server]) -> None:
    with concurrent.futures.ThreadPoolExecutor(max(1, len(servers))) as pool:
        list(pool.map(Server.stop, servers))


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def measure_cluster(work: Path, quick: bool, say: Callable[[str], None]) -> ClusterFigures:
    plan = QUICK if quick else FULL
    before = load_average()
    work = work.resolve()
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    posts = generate_posts(plan.posts, DEFAULT_SEED)  # issue 3's corpus (its first posts in a quick run)
    with ExitStack() as stack:
        cluster = Cluster(work, stack)
        public = write_static_site(cluster.sites)
        (public / DEPLOY_PAGE).write_text("<p>deploy 0</p>\n", encoding="utf-8")
        write_sitegate_site(posts, cluster.sites)
        say(f"issue 15: three gateways, moto, SecantusDB on core {SERVER_CORE}; {plan.deploys} deploys, poll 1.0 s")
        cluster.start(1.0)
        for number in GATEWAYS:  # the first builds and publishes, the others fetch
            _expect_200(cluster.gateways[number], SITE, f"/{DEPLOY_PAGE}")
        fetched_before = _fetched(cluster)
        deploys = asyncio.run(_deploys(cluster, public, plan.deploys, 0, plan.pause_seconds))
        say(f"  all three serve it {_seconds(deploys)} after the deploy started")
        fetched = tuple(after - before for after, before in zip(_fetched(cluster), fetched_before, strict=True))
        wait_idle(cluster.pids)
        say(f"issue 15: {THREE} against {ONE}, static 2 KiB, {plan.rounds} round(s) of {plan.seconds} s")
        cells, shares = _nginx(cluster, plan)
        alone = None
        if plan.alone:
            say(f"issue 15: first request for a {plan.posts}-post blog on a gateway alone (no cluster), cold")
            alone = _first_request_alone(work / "alone", posts)
            wait_idle(cluster.pids)
        say(f"issue 15: the same on the cluster's host that builds it, then on {plan.fetch_hosts} that fetch it")
        first_built, first_fetched, uploaded = _first_requests(cluster, posts, plan.fetch_hosts)
        say(f"  built here {first_built:.2f} s, fetched {', '.join(f'{s:.2f} s' for s in first_fetched)}")
        say(f"issue 15: BuildStore upload/download against moto, {plan.transfers} of each")
        transfers = _transfers(cluster, (cluster.builds(1) / SITE_NAME / "current").resolve(), plan.transfers, work)
        fast: tuple[Deploy, ...] = ()
        if plan.fast_deploys:
            say(f"issue 15: {plan.fast_deploys} deploy(s) with SITEGATE_CLUSTER_POLL_SECONDS=0.2")
            cluster.start(0.2)
            for number in GATEWAYS:
                _expect_200(cluster.gateways[number], SITE, f"/{DEPLOY_PAGE}")
            fast = asyncio.run(_deploys(cluster, public, plan.fast_deploys, plan.deploys, plan.pause_seconds))
            say(f"  all three serve it {_seconds(fast)} after the deploy started")
        cluster.stop()
    pages = sum(1 for _ in (cluster.builds(1) / SITE_NAME / "current").rglob("*.html"))
    first = FirstRequests(pages, alone, first_built, first_fetched, uploaded)
    versions = {"moto": version("moto"), "SecantusDB": version("SecantusDB"), "obstore": version("obstore")}
    return ClusterFigures(plan, quick, os.cpu_count() or 1, deploys, fast, fetched, transfers, first, cells, shares,
                          versions, (before, load_average()))  # fmt: skip


def _fetched(cluster: Cluster) -> tuple[int, ...]:
    return tuple(_health(cluster.gateways[n])["sites"][SITE]["builds_fetched"] for n in GATEWAYS)


def _seconds(deploys: tuple[Deploy, ...]) -> str:
    return ", ".join(f"{deploy.everywhere:.2f} s" for deploy in deploys)


def _expect_200(server: Server, host: str, path: str) -> None:
    status, _headers = fetch(server.url(path), host)
    if status != 200:
        raise RuntimeError(f"{server.spec.name}: GET {host}{path} answered {status}; see {server.spec.log}")


def _health(server: Server) -> dict:
    with urllib.request.urlopen(server.url("/_sitegate/health"), timeout=30) as answer:
        return json.loads(answer.read())


async def _deploys(cluster: Cluster, public: Path, count: int, first: int, pause: float) -> tuple[Deploy, ...]:
    done = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        for number in range(first + 1, first + count + 1):
            await asyncio.sleep(pause)  # so deploys start at different points of the gateways' polls
            done.append(await _deploy(cluster, session, public, f"deploy {number} {time.time_ns()}"))
    return tuple(done)


async def _deploy(cluster: Cluster, session: aiohttp.ClientSession, public: Path, token: str) -> Deploy:
    (public / DEPLOY_PAGE).write_text(f"<p>{token}</p>\n", encoding="utf-8")
    # Unbuffered: its line saying it deployed arrives when printed, not at its exit.
    env = {**os.environ, **cluster.env, "SITEGATE_HOST_ID": "deployer", "PYTHONUNBUFFERED": "1",
           "SITEGATE_DATA_DIR": str(cluster.work / "deployer" / "data")}  # fmt: skip
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        "taskset", "-c", str(LOAD_CORE), str(SITEGATE), "deploy", SITE, "--sites", str(cluster.sites),
        "--build-dir", str(cluster.work / "deployer" / "builds"),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=REPO, env=env,
    )  # fmt: skip
    watching = asyncio.gather(*(_until_served(session, server, token, started) for server in cluster.gateways.values()))
    assert process.stdout is not None and process.stderr is not None
    said = asyncio.create_task(_deployed_at(process.stdout, started))
    errors = asyncio.create_task(process.stderr.read())
    try:
        await asyncio.wait_for(process.wait(), _DEPLOY_TIMEOUT_SECONDS)
        exited = time.perf_counter() - started
        published, err = await said, await errors
        if process.returncode != 0 or published is None:
            raise RuntimeError(f"sitegate deploy failed ({process.returncode}): {err.decode()[-1000:]}")
        served = await asyncio.wait_for(watching, 60)
    except BaseException:
        for task in (watching, said, errors):
            task.cancel()
        if process.returncode is None:
            process.kill()
            await process.wait()
        raise
    return Deploy(published, exited, tuple(served))


async def _deployed_at(stream: asyncio.StreamReader, started: float) -> float | None:
    """When the deploy printed ``SITE: deployed build ...``; its output read to the end."""
    at = None
    while line := await stream.readline():
        if at is None and b": deployed build " in line:
            at = time.perf_counter() - started
    return at


async def _until_served(session: aiohttp.ClientSession, server: Server, token: str, started: float) -> float:
    while True:
        async with session.get(server.url(f"/{DEPLOY_PAGE}"), headers={"Host": SITE}) as answer:
            if answer.status == 200 and token in await answer.text():
                return time.perf_counter() - started
        await asyncio.sleep(_POLL_CLIENT_SECONDS)


def _nginx(cluster: Cluster, plan: ClusterPlan) -> tuple[tuple[Cell, ...], tuple[float, ...]]:
    """Both nginx running what ``sitegate nginx-config --upstream`` wrote, loaded in turn."""
    with ExitStack() as stack:
        return _nginx_runs(cluster, plan, stack)


def _nginx_runs(cluster: Cluster, plan: ClusterPlan, stack: ExitStack) -> tuple[tuple[Cell, ...], tuple[float, ...]]:
    fronts = {}
    upstreams = {THREE: GATEWAYS, ONE: GATEWAYS[:1]}
    ports = {name: free_port() for name in upstreams}
    blocks = _upstream_configs(cluster, {name: (ports[name], numbers) for name, numbers in upstreams.items()})
    for name, numbers in upstreams.items():
        workdir = cluster.work / f"nginx-{len(numbers)}"
        server = stack.enter_context(Server.start(nginx_spec(name, workdir, blocks[name], ports[name])))
        fronts[name] = (server, (server.pid, *(cluster.gateways[n].pid for n in numbers)))
    label, file_name, size = FILES[0]
    for name, (server, _pids) in fronts.items():
        status, headers = fetch(server.url(f"/{file_name}"), SITE)
        if status != 200 or int(headers.get("content-length", "-1")) != size:
            raise RuntimeError(f"{name} answered {status}")
    wait_idle(cluster.pids)
    runs: dict[str, list[LoadRun]] = {name: [] for name in fronts}
    spread = [0.0] * len(GATEWAYS)
    for _round in range(plan.rounds):
        for name, (server, pids) in fronts.items():
            load = Load(server.url(f"/{file_name}"), SITE, connections=plan.connections, seconds=plan.seconds)
            before = [cpu_seconds((cluster.gateways[n].pid,)) for n in GATEWAYS]
            runs[name].append(run_wrk(load, pids))
            if name == THREE:
                for index, n in enumerate(GATEWAYS):
                    spread[index] += cpu_seconds((cluster.gateways[n].pid,)) - before[index]
    total = sum(spread)
    shares = tuple(part / total if total > 0 else float("nan") for part in spread)
    return tuple(Cell(name, label, tuple(found)) for name, found in runs.items()), shares


def _upstream_configs(cluster: Cluster, wanted: dict[str, tuple[int, tuple[int, ...]]]) -> dict[str, str]:
    """What ``sitegate nginx-config --listen 127.0.0.1:PORT --upstream ...`` writes for each
    (port, gateways), from one interpreter (the CLI takes over a second to import)."""
    calls, outputs = [], {}
    for name, (port, numbers) in wanted.items():
        outputs[name] = cluster.work / f"nginx-{len(numbers)}.conf"
        upstreams = [arg for n in numbers for arg in ("--upstream", f"127.0.0.1:{cluster.gateways[n].spec.port}")]
        calls.append(["nginx-config", "--sites", str(cluster.sites), "--build-dir", str(cluster.builds(1)),
                      "--listen", f"127.0.0.1:{port}", "--output", str(outputs[name]), *upstreams])  # fmt: skip
    script = f"import sys; from gateway.cli import main; sys.exit(max(main(argv) for argv in {calls!r}))"
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"sitegate nginx-config failed: {done.stderr[-1000:]}")
    return {name: path.read_text(encoding="utf-8") for name, path in outputs.items()}


def _first_requests(cluster: Cluster, posts: tuple, hosts: int) -> tuple[float, tuple[float, ...], int]:
    path = f"/blog/{posts[len(posts) // 2].slug}/"
    built = _timed_first_request(cluster.gateways[1], path)
    fetched = []
    for number in GATEWAYS[1 : 1 + hosts]:
        wait_idle(cluster.pids)  # the previous host's precompression done
        fetched.append(_timed_first_request(cluster.gateways[number], path))
    wait_idle(cluster.pids)
    uploaded = max(cluster.archive_sizes(SITE_NAME).values())
    for number in GATEWAYS:
        site = _health(cluster.gateways[number])["sites"][SITE_NAME]
        expected = (1, 0) if number == 1 else (0, 1) if number <= 1 + hosts else (0, 0)
        if (site["builds_run"], site["builds_fetched"]) != expected:
            raise RuntimeError(f"gateway {number}: built {site['builds_run']}, fetched {site['builds_fetched']}")
    return built, tuple(fetched), uploaded


def _timed_first_request(server: Server, path: str) -> float:
    started = time.perf_counter()
    _expect_200(server, SITE_NAME, path)
    return time.perf_counter() - started


def _first_request_alone(work: Path, posts: tuple) -> float:
    write_sitegate_site(posts, work / "sites")
    with Server.start(sitegate_spec("gateway alone", work / "sites", work / "builds", work / "sitegate.log")) as server:
        return _timed_first_request(server, f"/blog/{posts[len(posts) // 2].slug}/")


def _transfers(cluster: Cluster, build: Path, count: int, work: Path) -> Transfers:
    """The folder as a gateway serves it (with its .gz/.br siblings) packed, unpacked, uploaded
    and downloaded; a new build id each time, so every upload puts the whole archive."""
    store = BuildStore(cluster.location())
    scratch = work / "transfers"
    scratch.mkdir()
    files = sum(1 for path in build.rglob("*") if path.is_file())
    timings: dict[str, list[float]] = {"pack": [], "unpack": [], "upload": [], "download": []}
    archive_bytes = 0
    for number in range(count):
        archive, into = scratch / f"{number}.tar", scratch / f"unpacked-{number}"
        started = time.perf_counter()
        archive_bytes = pack(build, archive)
        timings["pack"].append(time.perf_counter() - started)
        into.mkdir()
        started = time.perf_counter()
        unpack(archive, into)
        timings["unpack"].append(time.perf_counter() - started)
        archive.unlink()
        shutil.rmtree(into)
        build_id = f"bench{number}"
        started = time.perf_counter()
        if not store.upload(_THROUGHPUT_SITE, build_id, build, '{"bench": true}'):
            raise RuntimeError(f"the store had {build_id} already")
        timings["upload"].append(time.perf_counter() - started)
        into.mkdir()
        started = time.perf_counter()
        store.download(_THROUGHPUT_SITE, build_id, into)
        timings["download"].append(time.perf_counter() - started)
        if sum(1 for path in into.rglob("*") if path.is_file()) != files:
            raise RuntimeError("the download did not give the build's files back")
        shutil.rmtree(into)
    return Transfers(files, archive_bytes, *(Samples(tuple(timings[k])) for k in ("pack", "unpack", "upload", "download")))


# The report --------------------------------------------------------------------------------------


def _spread(samples: Samples, scale: float = 1.0, digits: int = 2) -> str:
    fmt = f"{{:,.{digits}f}}"
    middle = fmt.format(samples.median * scale)
    if samples.count < 2:
        return middle
    return f"{middle} ({fmt.format(samples.low * scale)}–{fmt.format(samples.high * scale)})"


def _samples(deploys: tuple[Deploy, ...], figure: Callable[[Deploy], float]) -> Samples:
    return Samples(tuple(figure(deploy) for deploy in deploys))


def _deploy_row(name: str, deploys: tuple[Deploy, ...]) -> str:
    if not deploys:
        return f"| {name} | 0 | not in a quick run | | | |"
    figures = (lambda d: d.published, lambda d: d.everywhere, lambda d: d.after_pointer, lambda d: d.exited)
    cells = " | ".join(f"{_spread(_samples(deploys, figure))} s" for figure in figures)
    return f"| {name} | {len(deploys)} | {cells} |"


def target_rows(figures: ClusterFigures) -> list[str]:
    after = _samples(figures.deploys, lambda d: d.after_pointer)
    everywhere = _samples(figures.deploys, lambda d: d.everywhere)
    met = after.high <= SERVED_WITHIN_SECONDS
    fast = ""
    if figures.fast_deploys:
        fast_after = _samples(figures.fast_deploys, lambda d: d.after_pointer)
        fast = f"; at poll 0.2 s: median {fast_after.median:.2f} s, worst {fast_after.high:.2f} s"
    return [
        f"| a deploy served by all three gateways within {SERVED_WITHIN_SECONDS:.0f} s (15; the cluster tests' bar) "
        f"| default poll 1.0 s, from the pointer's move (`sitegate deploy` prints it): median {after.median:.2f} s, "
        f"worst {after.high:.2f} s of {after.count}{fast}; from the command's start (build and upload included): "
        f"median {everywhere.median:.2f} s, worst {everywhere.high:.2f} s | {'**met**' if met else '**missed**'} |",
    ]


def section(figures: ClusterFigures) -> list[str]:
    f, p = figures, figures.plan
    t, first = f.transfers, f.first
    mb = t.archive_bytes / 1e6

    def rate(samples: Samples) -> str:
        return f"{mb / samples.median:,.0f} ({mb / samples.high:,.0f}–{mb / samples.low:,.0f})" if samples.count > 1 \
            else f"{mb / samples.median:,.0f}"  # fmt: skip

    def moving(total: Samples, local: Samples) -> str:
        seconds = total.median - local.median
        return f"{mb / seconds:,.0f}" if seconds > 0 else "n/a"

    lines = [
        "## Issue 15: cluster",
        "",
        f"Three `sitegate serve` gateways, each with a build folder of its own as on three hosts, sharing one sites "
        f"folder; moto {f.versions['moto']} (`moto.server`, in memory) as the S3 build store and SecantusDB "
        f"{f.versions['SecantusDB']} (in memory) as the cluster database. All on loopback, on **{f.cores} cores**: the "
        f"gateways, moto, SecantusDB and nginx pinned to core {SERVER_CORE}, `sitegate deploy`, the polling client and "
        f"wrk on core {LOAD_CORE}. So three \"hosts\" share one core: this measures the cluster's overhead and how "
        "the work spreads, not scaling.",
        "",
        "| `sitegate deploy` of a small static site (3 files of 2 KiB–1 MiB, one page changed) | deploys "
        "| it prints \"deployed\" (pointer moved) | all 3 serve it, from the start | all 3 serve it, from the "
        "pointer's move | it exits |",
        "|---|---|---|---|---|---|",
        _deploy_row("default poll, `SITEGATE_CLUSTER_POLL_SECONDS` 1.0 s", f.deploys),
        _deploy_row("`SITEGATE_CLUSTER_POLL_SECONDS=0.2` (the gateways restarted with it)", f.fast_deploys),
        "",
        "Medians (min–max), seconds from the start of the `sitegate deploy` command, a new process that builds the "
        "site, precompresses it, uploads it and moves the pointer, then prints `SITE: deployed build …` (read "
        "unbuffered) and exits. Each gateway is polled every "
        f"{_POLL_CLIENT_SECONDS * 1000:.0f} ms until it answers the new page; \"all 3\" is the last of them. From the "
        "pointer's move, a gateway waits for its next look at the pointers (up to one poll), then fetches and "
        "unpacks the build. Over the "
        f"{len(f.deploys)} deploys at poll 1.0 s, gateways 1, 2, 3 fetched {', '.join(str(n) for n in f.fetched_counts)} "
        "builds of the site (`builds_fetched` of `/_sitegate/health`).",
        "",
        f"| `BuildStore` against moto, the blog's build as a gateway serves it ({t.files:,} files with .gz/.br "
        f"siblings, {mb:,.1f} MB as tar) | seconds | MB/s (of the archive) |",
        "|---|---|---|",
        f"| `archive.pack` alone (no network) | {_spread(t.pack)} | {rate(t.pack)} |",
        f"| `archive.unpack` alone (no network) | {_spread(t.unpack)} | {rate(t.unpack)} |",
        f"| `BuildStore.upload` (pack, multipart put in 8 MiB parts 4 at a time, record) | {_spread(t.upload)} "
        f"| {rate(t.upload)}; moving the bytes alone about {moving(t.upload, t.pack)} |",
        f"| `BuildStore.download` (record, 16 MiB ranges, unpack) | {_spread(t.download)} | {rate(t.download)}; "
        f"moving the bytes alone about {moving(t.download, t.unpack)} |",
        "",
        f"{t.upload.count} of each, a new build id each time. moto is a Python server (Werkzeug) keeping objects in "
        "memory, on the gateways' core: it is likely the bound here, not obstore or a network; a real S3 or MinIO "
        "would move these bytes at other rates. \"Moving the bytes alone\" takes the median pack or unpack time "
        "off the median upload or download.",
        "",
        f"| first request for a post page of the {p.posts:,}-post blog ({first.pages:,} pages), cold | seconds "
        "until the page arrived |",
        "|---|---|",
        f"| a gateway alone (no cluster): builds it | "
        f"{'not in a quick run' if first.alone is None else f'{first.alone:,.2f}'} |",
        f"| the cluster's first host: builds it under the lease, uploads it ({first.uploaded_bytes / 1e6:,.1f} MB "
        f"of tar), moves the pointer, then answers | {first.built_here:,.2f} |",
        f"| another host, after the first published it: fetches and unpacks it | "
        f"{', '.join(f'{s:,.2f}' for s in first.fetched)}"
        + (" (hosts 2 and 3, one after the other)" if len(first.fetched) > 1 else "") + " |",
        "",
        "A gateway's own build is uploaded before its precompression (which follows in the background, off the "
        "request path), so the archive in the store has no .gz/.br siblings and every host that fetches it "
        "precompresses it again itself; `sitegate deploy` uploads a precompressed build. Every gateway here, "
        "its render processes included, is pinned to core 0 (issue 3's cold first request is not pinned: "
        "its builds use both cores).",
        "",
        f"| static 2 KiB, wrk `-t1 -c{p.connections} -d{p.seconds}s` on core {LOAD_CORE}, {p.rounds} round(s) "
        "| req/s | p99 ms | CPU µs/request (nginx + gateways) | their CPU, % of core 0 | errors |",
        "|---|---|---|---|---|---|",
    ]
    for cell in f.cells:
        busy = Samples(tuple(run.server_cpu_seconds / run.wall_seconds for run in cell.runs))
        lines.append(f"| {cell.contender} | {_spread(cell.per_second, 1, 0)} | {_spread(cell.p99, 1000, 1)} "
                     f"| {_spread(cell.cpu_us, 1, 0)} | {_spread(busy, 100, 0)} | {cell.errors} |")  # fmt: skip
    shares = ", ".join(f"{share * 100:.0f} %" for share in f.cpu_shares)
    lines += [
        "",
        "Both nginx run what `sitegate nginx-config --upstream` wrote (one `--upstream` per gateway; the same "
        "config with one), one worker, in turn within each round; the gateways with their access log on. Behind "
        f"nginx over 3, the gateways' CPU split {shares} (gateways 1, 2, 3). On {f.cores} cores the three "
        "gateways share core 0 with nginx: this is the upstream's overhead and spread, not what three hosts would "
        "give. Their CPU time over the run's wall time below 100 % means core 0 had time they did not use: idle, "
        "or, on a shared machine, taken by other work, which three processes compete for better than one.",
        "",
        f"The machine is shared: its load average was {f.load_average[0]} when this section began and "
        f"{f.load_average[1]} when it ended (1, 5, 15 min).",
        "",
    ]
    if f.quick:
        lines += [f"Quick run: {p.deploys} deploys at poll 1.0 s and none at 0.2 s, a {p.posts}-post blog instead of "
                  f"1,000 and no gateway alone, {p.transfers} transfer of each kind, {p.rounds} load run of {p.seconds} s "
                  "each; `make bench` gives the full figures.", ""]  # fmt: skip
    return lines


def with_target_rows(document: str, rows: list[str]) -> str:
    """``document`` with ``rows`` added at the end of its Targets table (the quick document's)."""
    head, found, rest = document.partition("## Targets\n")
    if not found:
        return document
    table, gap, after = rest.partition("\n\n")
    table_end = table.rfind("|---|")
    if table_end < 0:
        return document
    return head + found + "\n".join([table, *rows]) + gap + after


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="issue 15's cluster section alone; its markdown to stdout")
    parser.add_argument("--quick", action="store_true", help="the reduced form of `make bench QUICK=1`")
    parser.add_argument("--work", type=Path, default=Path(__file__).resolve().parent / ".work" / "cluster",
                        help="scratch folder (git-ignored; emptied first)")  # fmt: skip
    args = parser.parse_args(argv)
    started = time.perf_counter()
    figures = measure_cluster(args.work, args.quick, lambda message: print(
        f"[{time.perf_counter() - started:6.1f} s] {message}", file=sys.stderr, flush=True))  # fmt: skip
    print("\n".join(["| target (issue) | figure | verdict |", "|---|---|---|", *target_rows(figures), "", *section(figures)]))
    print(f"[{time.perf_counter() - started:6.1f} s] done", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
