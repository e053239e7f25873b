"""Issue 14's measurements in one go, section by section (never two at once: the servers run on
core 0, wrk on core 1), with the sizes of a full run or of ``--quick``."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchmarks.corpus import generate_posts
from benchmarks.forwarding_bench import ForwardingFigures, measure_forwarding
from benchmarks.herd_bench import HerdFigures, IsolationFigures, measure_herd, measure_isolation
from benchmarks.scale_bench import ScaleFigures, measure_direct, measure_scale
from benchmarks.serving_bench import NOT_MODIFIED, Cell, ServingFigures, measure_serving


@dataclass(frozen=True)
class LoadPlan:
    """How big each section is: a full run, or ``--quick`` (under two minutes in all)."""

    rounds: int
    seconds: int
    connections: int
    herd_requests: int
    herd_posts: int
    isolation_posts: int
    isolation_rounds: int
    isolation_seconds: int
    registered_sites: int
    built_sites: int
    # Which cases the static section measures, and whether it runs a warm-up load first.
    sizes: tuple[str, ...] = ("2 KiB", "100 KiB", "1 MiB", NOT_MODIFIED)
    warm_up: bool = True
    direct_rounds: int = 3
    scale_rounds: int = 3


FULL = LoadPlan(3, 5, 32, 500, 25, 1000, 3, 3, 1000, 100)
# Quick: one-second load runs, two rounds (one for --direct and scale), only the two sizes with
# targets (2 KiB, 1 MiB), no warm-up load, a 150-post site for isolation; the herd and the
# 1,000 sites as in full.
QUICK = LoadPlan(2, 1, 32, 500, 25, 150, 1, 1, 1000, 100, ("2 KiB", "1 MiB"), False, 1, 1)


@dataclass(frozen=True)
class LoadFigures:
    plan: LoadPlan
    quick: bool
    serving: ServingFigures
    forwarding: ForwardingFigures
    herd: HerdFigures
    isolation: IsolationFigures
    scale: ScaleFigures
    direct: tuple[Cell, ...]
    load_average: tuple[str, str]
    versions: dict[str, str]


def load_average() -> str:
    """The machine's 1-, 5- and 15-minute load: other tenants' work shows here."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def tool_versions() -> dict[str, str]:
    """nginx's and wrk's versions as they print them, and aiohttp's (sitegate's, the floor's)."""
    from importlib.metadata import version

    from benchmarks.contenders import nginx_binary

    nginx = subprocess.run([nginx_binary(), "-v"], capture_output=True, text=True, timeout=30).stderr
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True, timeout=30).stdout
    return {
        "nginx": nginx.strip().rpartition("/")[2] or "unknown",
        "wrk": (wrk.split() or ["", "unknown"])[1],
        "aiohttp": version("aiohttp"),
    }


def measure_load(work: Path, peers_python: Path, quick: bool, say: Callable[[str], None]) -> LoadFigures:
    plan = QUICK if quick else FULL
    before = load_average()
    say(f"issue 14: static serving, {plan.rounds} rounds of {plan.seconds} s per contender and file "
        f"({os.cpu_count()} cores; servers on core 0, wrk on core 1)")  # fmt: skip
    serving = measure_serving(
        work / "serving", peers_python, plan.rounds, plan.seconds, plan.connections, plan.sizes, plan.warm_up, say
    )
    say("issue 14: /api forwarding")
    forwarding = measure_forwarding(work / "forwarding", plan.rounds, plan.seconds, plan.connections, say)
    say("issue 14: cold herd")
    herd = measure_herd(work / "herd", generate_posts(plan.herd_posts, 14), plan.herd_requests, say)
    say(f"  {herd.builds_run} build(s), {herd.errors} errors, last answer after {herd.last_response_seconds:.2f} s")
    say("issue 14: isolation")
    isolation = measure_isolation(
        work / "isolation", generate_posts(plan.isolation_posts, 14), plan.isolation_rounds, plan.isolation_seconds, say
    )
    say("issue 14: scale")
    scale = measure_scale(work / "scale", plan.registered_sites, plan.built_sites, plan.scale_rounds, plan.seconds, say)
    say("issue 14: nginx --direct")
    direct = measure_direct(work / "direct", plan.direct_rounds, plan.seconds, plan.connections, say)
    return LoadFigures(
        plan, quick, serving, forwarding, herd, isolation, scale, direct, (before, load_average()), tool_versions()
    )
