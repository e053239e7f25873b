"""Where a development rebuild of the 1,000-post site spends its time, by cProfile.

``python -m benchmarks.profile_rebuild [--posts N] [--edits N] [--top N] [--cold]`` (not part
of ``make bench``; ``--cold`` profiles the first production build instead). It drives the gateway's own build step (``gateway.building.step.BuildStep``, what
``BuildManager`` runs in its worker threads) in this thread, so cProfile sees every call: a cold
build and two warm-up edits unprofiled, then one-post edits, each profiled in two parts: ``run``
(between the save and the reload: fingerprint, build, publish, file table) and ``tidy`` (after
it, in the background: carrying outputs over, pruning old builds). Timings under cProfile are
inflated; the shares are what to read.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import shutil
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks.build_bench import pick_posts
from benchmarks.corpus import (
    DEFAULT_COUNT,
    DEFAULT_SEED,
    CorpusPost,
    edited,
    generate_posts,
)
from benchmarks.projects import (
    copy_shared_components,
    sitegate_post,
    write_sitegate_site,
)
from builders import KNOWN_BUILDERS, builder_for
from gateway.building.build import Build, Failure
from gateway.building.step import BuildStep
from gateway.config import Mode, Settings
from gateway.sites.registry import Site, load_site

HERE = Path(__file__).resolve().parent
WARM_UP_EDITS = 2


def _setup(work: Path, posts: int, mode: Mode) -> tuple[BuildStep, Site, tuple[CorpusPost, ...]]:
    corpus = generate_posts(posts, DEFAULT_SEED)
    site_root = write_sitegate_site(corpus, work / "sites")
    settings = Settings(
        sites_dir=work / "sites",
        shared_dir=copy_shared_components(work / "shared"),
        build_dir=work / "builds",
        mode=mode,
    ).with_absolute_paths()
    step = BuildStep(settings, builder_for, "profile", threading.Event())
    return step, load_site(site_root.resolve(), KNOWN_BUILDERS), corpus


def profile_cold(work: Path, posts: int) -> tuple[pstats.Stats, list[float]]:
    """The first build of the site in production (what the first request waits for). Pages
    render in worker processes, which cProfile does not see: their time shows as waiting."""
    step, site, _ = _setup(work, posts, Mode.PRODUCTION)
    profiler = cProfile.Profile()
    started = time.perf_counter()
    with _profiling(profiler, True):
        _built(step.run(site, None, None, {}))
    return pstats.Stats(profiler), [time.perf_counter() - started]


def profile_edits(work: Path, posts: int, edits: int) -> tuple[pstats.Stats, pstats.Stats, list[float], list[float]]:
    step, site, corpus = _setup(work, posts, Mode.DEVELOPMENT)
    current = _built(step.run(site, None, None, {}))
    current = step.tidy(current, lambda: current)
    run_profile, tidy_profile = cProfile.Profile(), cProfile.Profile()
    run_seconds, tidy_seconds = [], []
    for number, post in enumerate(pick_posts(corpus, WARM_UP_EDITS + edits, offset=7)):
        path = sitegate_post(site.root, post.slug)
        path.write_text(edited(path.read_text(encoding="utf-8"), f"profile-{number}"), encoding="utf-8")
        measured = number >= WARM_UP_EDITS
        started = time.perf_counter()
        with _profiling(run_profile, measured):
            build = _built(step.run(site, current, None, {}))
        ran = time.perf_counter()
        with _profiling(tidy_profile, measured):
            current = step.tidy(build, lambda serving=build: serving)
        if measured:
            run_seconds.append(ran - started)
            tidy_seconds.append(time.perf_counter() - ran)
    return pstats.Stats(run_profile), pstats.Stats(tidy_profile), run_seconds, tidy_seconds


class _profiling:
    """Profiles the block only when ``on``."""

    def __init__(self, profiler: cProfile.Profile, on: bool) -> None:
        self.profiler = profiler
        self.on = on

    def __enter__(self) -> None:
        if self.on:
            self.profiler.enable()

    def __exit__(self, *_exc: object) -> None:
        if self.on:
            self.profiler.disable()


def _built(outcome: Build | Failure) -> Build:
    if isinstance(outcome, Failure):
        raise outcome.error
    return outcome


def report(name: str, stats: pstats.Stats, seconds: list[float], top: int) -> str:
    ordered = sorted(seconds)
    out = io.StringIO()
    stats.stream = out  # type: ignore[attr-defined]
    stats.strip_dirs().sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    head = f"== {name}: {len(seconds)} runs, median {ordered[len(ordered) // 2] * 1000:.0f} ms under cProfile"
    return head + "\n" + out.getvalue()


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile_rebuild", description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=DEFAULT_COUNT)
    parser.add_argument("--edits", type=int, default=10)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--cold", action="store_true", help="profile the cold production build instead of edits")
    parser.add_argument("--work", type=Path, default=HERE / ".work")
    args = parser.parse_args(argv)
    work = args.work.resolve() / "profile"
    shutil.rmtree(work, ignore_errors=True)
    if args.cold:
        stats, seconds = profile_cold(work, args.posts)
        print(report("BuildStep.run, cold, production (the first request's build)", stats, seconds, args.top))
        return 0
    run_stats, tidy_stats, run_seconds, tidy_seconds = profile_edits(work, args.posts, args.edits)
    print(report("BuildStep.run (between the save and the reload)", run_stats, run_seconds, args.top))
    print(report("BuildStep.tidy (after the reload, in the background)", tidy_stats, tidy_seconds, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
