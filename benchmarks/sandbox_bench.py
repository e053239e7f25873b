"""What Jinja's sandbox costs: cold builds of the corpus site in this process, rendering in this
process too (no workers, so both variants render the same pages the same way), alternating the
builder as shipped (sandboxed) with the same builder on a plain ``jinja2.Environment``. It counts
the CPU seconds of this process, which another busy process on the machine disturbs far less
than wall-clock time.

    python -m benchmarks.sandbox_bench [--posts 1000] [--rounds 5]

The plain variant is made by giving the environment class the plain base for its rounds: the
only difference between the two is the sandbox's checks and the code Jinja compiles for them.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from jinja2 import Environment
from jinja2.sandbox import SandboxedEnvironment

from benchmarks.corpus import DEFAULT_COUNT, generate_posts
from benchmarks.projects import copy_shared_components, write_sitegate_site
from builders.base import BuildContext
from builders.jinja.builder import JinjaBuilder
from builders.jinja.env import RecordingEnvironment

VARIANTS = {"sandboxed": SandboxedEnvironment, "plain": Environment}


def cold_build_cpu_seconds(site: Path, shared: Path, out: Path) -> float:
    shutil.rmtree(site / ".sitegate", ignore_errors=True)
    out.mkdir()
    context = BuildContext(site_name=site.name, site_dir=site, shared_dir=shared, out_dir=out)
    started = time.process_time()
    JinjaBuilder(parallel_threshold=sys.maxsize).build(context)
    return time.process_time() - started


def measure(posts: int, rounds: int, work: Path) -> dict[str, list[float]]:
    site = write_sitegate_site(generate_posts(posts), work / "sites")
    shared = copy_shared_components(work / "shared")
    seconds: dict[str, list[float]] = {name: [] for name in VARIANTS}
    try:
        for number in range(rounds):
            # Alternating, so that a busier stretch of the machine falls on both.
            for name, base in VARIANTS.items():
                RecordingEnvironment.__bases__ = (base,)
                seconds[name].append(cold_build_cpu_seconds(site, shared, work / f"out-{name}-{number}"))
    finally:
        RecordingEnvironment.__bases__ = (SandboxedEnvironment,)
    return seconds


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sandbox_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=DEFAULT_COUNT)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="sitegate-sandbox-") as work:
        seconds = measure(args.posts, args.rounds, Path(work))
    medians = {name: statistics.median(values) for name, values in seconds.items()}
    for name, values in seconds.items():
        print(f"{name:9} median {medians[name]:.3f} CPU s  ({', '.join(f'{value:.3f}' for value in values)})")
    print(f"sandbox cost: {(medians['sandboxed'] / medians['plain'] - 1) * 100:+.1f}% of a cold in-process build")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
