"""``python -m benchmarks`` (``make bench``): sitegate against MkDocs, Pelican and a floor script,
and (issue 14) serving and forwarding under load against nginx, aiohttp and Starlette, one run,
one machine, one corpus; figures to ``benchmarks/RESULTS.md``. ``--quick`` (``make bench
QUICK=1``): issue 14's part only, shrunk to run in under two minutes.

Phases run one after another (never side by side: the machine has two cores), each on its own
fresh copy of the corpus under ``benchmarks/.work/run``. The cold builds, sitegate's and the
peers', run round by round, so a stretch of load from other tenants of the machine weighs on
all of them alike rather than on the ones that happened to run then.
"""

from __future__ import annotations

import argparse
import asyncio
import shlex
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from benchmarks import cluster_bench
from benchmarks.build_bench import (
    ColdBuild,
    ManagerFigures,
    cold_build,
    measure_builder,
    measure_manager,
    pick_posts,
)
from benchmarks.corpus import DEFAULT_COUNT, DEFAULT_SEED, CorpusPost, generate_posts
from benchmarks.load_bench import measure_load
from benchmarks.load_report import method, quick_document, sections, target_rows
from benchmarks.machine import describe_machine
from benchmarks.mkdocs_serve import ServeFigures, measure_mkdocs_serve
from benchmarks.peers import (
    Peers,
    ensure_peers,
    floor_build,
    mkdocs_build,
    pelican_build,
)
from benchmarks.production_bench import (
    FirstRequest,
    ProductionFigures,
    first_request_to_cold_gateway,
    measure_rebuilds,
)
from benchmarks.projects import (
    SITE_NAME,
    write_mkdocs_project,
    write_pelican_project,
    write_sitegate_site,
)
from benchmarks.reload_bench import ReloadFigures, measure_reload
from benchmarks.report import PeerFigures, RunFigures, Sections, render
from benchmarks.shared_edit_bench import measure_shared_edits
from benchmarks.stats import Samples
from benchmarks.tailwind_bench import measure_tailwind_edits

HERE = Path(__file__).resolve().parent


class Progress:
    def __init__(self) -> None:
        self.started = time.perf_counter()

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def say(self, message: str) -> None:
        print(f"[{self.elapsed:6.1f} s] {message}", flush=True)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=DEFAULT_COUNT, help="posts in the corpus (default 1000)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument(
        "--cold-runs", type=int, default=5, help="cold runs of the floor and of sitegate, whose ratio is a target (default 5)"
    )
    parser.add_argument("--peer-runs", type=int, default=3, help="cold runs of the other peers (default 3)")
    parser.add_argument("--edits", type=int, default=10, help="one-post edits for the rebuild figures")
    parser.add_argument("--reload-edits", type=int, default=20, help="edits for sitegate dev and mkdocs serve --dirty")
    parser.add_argument("--full-serve-edits", type=int, default=3, help="edits for mkdocs serve (full rebuilds)")
    parser.add_argument("--production-edits", type=int, default=3, help="edits rebuilt through the production hook")
    parser.add_argument("--work", type=Path, default=HERE / ".work", help="scratch folder (git-ignored)")
    parser.add_argument("--results", type=Path, default=HERE / "RESULTS.md")
    parser.add_argument(
        "--quick", action="store_true",
        help="issue 14's load measurements shrunk, without the build and reload sections (under 2 minutes)",
    )  # fmt: skip
    return parser


def main(argv: Sequence[str]) -> int:
    args = _parser().parse_args(argv)
    counts = (args.cold_runs, args.peer_runs, args.edits, args.reload_edits, args.full_serve_edits, args.production_edits)
    if args.posts < 20 or min(counts) < 1:
        print("benchmarks: need at least 20 posts, 1 cold run and 1 edit of each kind", file=sys.stderr)
        return 2
    progress = Progress()
    # Taken first: the code measured is the code at the start (others may commit meanwhile).
    machine = describe_machine()
    work = args.work.resolve()
    run_dir = work / "run"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)

    progress.say("installing the peers into their own virtualenv (once)")
    peers = ensure_peers(work)
    # As run: `make bench` passes no arguments but --quick for QUICK=1.
    invocation = shlex.join(["python", "-m", "benchmarks", *argv]) if argv else "make bench"
    if args.quick:
        invocation = "make bench QUICK=1" if argv == ["--quick"] else invocation
        load = measure_load(run_dir, peers.python, True, progress.say)
        tailwind = _tailwind(run_dir, True, progress)
        cluster = cluster_bench.measure_cluster(run_dir / "cluster", True, progress.say)
        text = quick_document(invocation, machine, peers.versions, progress.elapsed, load,
                              [*tailwind, *cluster_bench.section(cluster)])  # fmt: skip
        return _write(args.results, cluster_bench.with_target_rows(text, cluster_bench.target_rows(cluster)), progress)
    posts = generate_posts(args.posts, args.seed)
    progress.say(f"corpus: {len(posts)} posts, seed {args.seed}")
    floor_site = write_sitegate_site(posts, run_dir / "floor" / "sites")
    mkdocs_project = write_mkdocs_project(posts, run_dir / "mkdocs")
    pelican_project = write_pelican_project(posts, run_dir / "pelican")

    posts_dir = floor_site / "content" / "posts"
    colds: list[ColdBuild] = []
    first_requests: list[FirstRequest] = []

    def sitegate_first_request() -> float:
        work = run_dir / "production" / str(len(first_requests))
        first_requests.append(asyncio.run(first_request_to_cold_gateway(posts, work)))
        return first_requests[-1].seconds

    def sitegate_builder() -> float:
        colds.append(cold_build(posts, run_dir / "builder" / str(len(colds))))
        return colds[-1].timed.build_seconds

    cold_runs: dict[str, list[float]] = {}
    commands: dict[str, Callable[[], float]] = {
        "floor": lambda: floor_build(peers, posts_dir, run_dir / "floor" / "out", False),
        "sitegate first request to a cold production gateway": sitegate_first_request,
        "sitegate JinjaBuilder": sitegate_builder,
        "floor with Pygments": lambda: floor_build(peers, posts_dir, run_dir / "floor" / "out-hl", True),
        "Pelican": lambda: pelican_build(peers, pelican_project),
        "MkDocs": lambda: mkdocs_build(peers, mkdocs_project),
    }
    # The floor and sitegate, whose ratio is a target, get more rounds than the slow peers.
    runs = {name: args.cold_runs for name in commands} | {
        name: min(args.peer_runs, args.cold_runs) for name in ("floor with Pygments", "Pelican", "MkDocs")
    }
    for round_number in range(1, args.cold_runs + 1):
        for name, command in commands.items():
            if round_number > runs[name]:
                continue
            progress.say(f"{name}, cold, run {round_number} of {runs[name]}")
            cold_runs.setdefault(name, []).append(command())
            progress.say(f"  {cold_runs[name][-1]:.2f} s")
    floor, floor_highlight, pelican, mkdocs = (
        Samples(tuple(cold_runs[name])) for name in ("floor", "floor with Pygments", "Pelican", "MkDocs")
    )
    progress.say("sitegate: JinjaBuilder one-post edits, shared component edit")
    builder = measure_builder(posts, colds, args.edits)
    progress.say(f"  one-post edit median {builder.post_edits.timings.median * 1000:.0f} ms")
    measured = asyncio.run(_measure_live(args, peers, posts, mkdocs_project, run_dir, progress))
    manager, rebuilds, reload, serve_dirty, serve = measured
    load = measure_load(run_dir, peers.python, False, progress.say)
    tailwind = _tailwind(run_dir, False, progress)
    progress.say("issue 12: shared component edits, React and Jinja, production and development")
    shared = measure_shared_edits(run_dir / "shared-edits", False).rstrip("\n").splitlines()
    cluster = cluster_bench.measure_cluster(run_dir / "cluster", False, progress.say)
    production = ProductionFigures(
        Samples(tuple(request.seconds for request in first_requests)), first_requests[-1].build, rebuilds
    )

    figures = RunFigures(
        command=invocation,
        machine=machine,
        seed=args.seed,
        posts=posts,
        peers=PeerFigures(peers.versions, floor, floor_highlight, mkdocs, pelican, serve, serve_dirty),
        builder=builder,
        manager=manager,
        production=production,
        reload=reload,
        total_seconds=progress.elapsed,
    )
    more = Sections(
        (*target_rows(load), *cluster_bench.target_rows(cluster)),
        (*sections(load), *tailwind, *shared, "", *cluster_bench.section(cluster)),
        tuple(method(load)),
    )
    return _write(args.results, render(figures, more), progress)


def _tailwind(run_dir: Path, quick: bool, progress: Progress) -> list[str]:
    """The Tailwind dev-edit section (benchmarks/tailwind_bench.py), ready markdown."""
    progress.say("issue 14: Tailwind dev edits")
    return [*measure_tailwind_edits(run_dir / "tailwind", quick).rstrip("\n").splitlines(), ""]


def _write(results: Path, text: str, progress: Progress) -> int:
    results.write_text(text, encoding="utf-8")
    progress.say(f"written {results}")
    print(text.split("## Issue 3", 1)[0])
    return 0


async def _measure_live(
    args: argparse.Namespace,
    peers: Peers,
    posts: tuple[CorpusPost, ...],
    mkdocs_project: Path,
    run_dir: Path,
    progress: Progress,
) -> tuple[ManagerFigures, Samples, ReloadFigures, ServeFigures, ServeFigures]:
    progress.say("sitegate: BuildManager in development mode, cold and one-post edits")
    manager = await measure_manager(posts, run_dir / "manager", args.edits)
    progress.say(f"  edit median {manager.post_edits.timings.median * 1000:.0f} ms")
    progress.say(f"sitegate: production gateway, rebuilds of {SITE_NAME} through the hook")
    rebuilds = await measure_rebuilds(posts, run_dir / "rebuilds", args.production_edits)
    progress.say(f"  rebuild median {rebuilds.median * 1000:.0f} ms")
    progress.say("sitegate: development gateway, write → reload")
    reload = await measure_reload(posts, run_dir / "reload", args.reload_edits)
    progress.say(f"  reload event median {reload.to_reload_event.median * 1000:.0f} ms")
    serve_dirty = await _serve(peers, mkdocs_project, posts, run_dir, progress, True, args.reload_edits)
    serve = await _serve(peers, mkdocs_project, posts, run_dir, progress, False, args.full_serve_edits)
    return manager, rebuilds, reload, serve_dirty, serve


async def _serve(
    peers: Peers,
    project: Path,
    posts: tuple[CorpusPost, ...],
    run_dir: Path,
    progress: Progress,
    dirty: bool,
    edits: int,
) -> ServeFigures:
    name = "mkdocs serve --dirty" if dirty else "mkdocs serve"
    progress.say(f"{name}: {edits} edits")
    slugs = [post.slug for post in pick_posts(posts, edits, offset=13 if dirty else 17)]
    figures = await measure_mkdocs_serve(
        peers, project, slugs, dirty=dirty, log_file=run_dir / f"{name.replace(' ', '-')}.log"
    )
    progress.say(f"  startup {figures.startup_seconds:.1f} s, reload median {figures.to_reload.median:.2f} s")
    return figures


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
