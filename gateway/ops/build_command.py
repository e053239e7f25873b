"""``sitegate build SITE... | --all [--jobs N]``: build sites into the build folder and publish
them, in this process, as a gateway would (same ``BuildStep``, same fingerprints, so an
unchanged site is reused), then ask a running gateway to take the new builds."""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table

from builders import KNOWN_BUILDERS, builder_for
from builders.errors import BuildError
from gateway.building.build import Build, Failure
from gateway.building.fingerprint import sitegate_version
from gateway.building.site_data import fetch_site_data
from gateway.building.step import BuildStep
from gateway.config import Settings
from gateway.forwarding.proxy import create_client_session
from gateway.sites.registry import Registry, Site

EXIT_USAGE = 2
LOG_LINES = 5
# The rebuild hook answers 202 at once and builds behind it: no build's time to wait for.
_HOOK_SECONDS = 10

BUILD_HELP = """\
Build SITE... (by folder name), or every site with --all, into the build folder and publish
each as its `current` build. A site whose inputs are unchanged since a kept build is reused
by its fingerprint, not built again: after an edit of a shared component, --all rebuilds only
the sites that use it. --jobs sites are built at once.

A running gateway at SITEGATE_GATEWAY_URL (or --gateway-url) is told to take each new build
(POST /_sitegate/hooks/rebuild/SITE, with SITEGATE_BACKEND_TOKEN when set).
Exit status: 0 when every site built, 1 when any failed (each named with its log), 2 for
wrong arguments.
"""


class BuildArgumentError(Exception):
    """Wrong arguments: no sites, both sites and --all, an unknown site, a bad --jobs."""


@dataclass
class SiteRun:
    name: str
    # waiting, building, built, reused or failed
    state: str = "waiting"
    started: float = 0.0
    seconds: float = 0.0
    pages: int | None = None
    build_id: str | None = None
    error: BuildError | None = None

    def elapsed(self) -> float:
        return time.monotonic() - self.started if self.state == "building" else self.seconds


def choose_sites(settings: Settings, names: list[str], every: bool, jobs: int) -> list[Site]:
    if names and every:
        raise BuildArgumentError("name sites or give --all, not both")
    if not names and not every:
        raise BuildArgumentError("name the sites to build, or give --all")
    if jobs < 1:
        raise BuildArgumentError(f"--jobs {jobs}: at least 1")
    registry = Registry.scan(settings.sites_dir, KNOWN_BUILDERS)
    unknown = [name for name in names if name not in registry.sites]
    if unknown:
        raise BuildArgumentError(f"no site named {', '.join(unknown)} in {settings.sites_dir}")
    return [registry.sites[name] for name in names] if names else list(registry.sites.values())


def build_and_finish(step: BuildStep, site: Site, data: Mapping[str, Any]) -> Build | Failure:
    """One build, published and finished (precompressed, old builds pruned) as the gateway's
    tidy step does it. Blocking."""
    if site.error:
        return Failure(None, BuildError(site.error, file="site.toml"))
    outcome = step.run(site, None, None, data)
    if isinstance(outcome, Failure):
        return outcome
    return step.tidy(outcome, lambda: outcome)


async def build_sites(
    settings: Settings, sites: list[Site], jobs: int, runs: dict[str, SiteRun], ended: Callable[[SiteRun], None]
) -> None:
    # The gateway's fingerprints include its version: the same one lets it reuse these builds.
    step = BuildStep(settings, builder_for, sitegate_version(), threading.Event())
    workers = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="sitegate-build")
    slots = asyncio.Semaphore(jobs)
    loop = asyncio.get_running_loop()

    async def one(site: Site) -> None:
        run = runs[site.name]
        async with slots:
            run.state, run.started = "building", time.monotonic()
            try:
                data = await fetch_site_data(site, session=session, settings=settings) if site.options.get("data") else {}
                outcome = await loop.run_in_executor(workers, build_and_finish, step, site, data)
            except BuildError as error:
                outcome = Failure(None, error)
            run.seconds = time.monotonic() - run.started
            if isinstance(outcome, Failure):
                run.state, run.error = "failed", outcome.error
            else:
                run.state = "reused" if outcome.reused else "built"
                run.build_id = outcome.build_id
                run.pages = await loop.run_in_executor(workers, lambda: sum(1 for _ in outcome.path.rglob("*.html")))
        ended(run)

    try:
        async with create_client_session(settings) as session:
            await asyncio.gather(*(one(site) for site in sites))
    finally:
        workers.shutdown(wait=True)
        step.close()


def tell_gateway(settings: Settings, names: list[str]) -> str | None:
    """Asks a running gateway to take each site's new build; what went wrong, in words, if it did."""
    headers = {"X-Sitegate-Token": settings.backend_token} if settings.backend_token else {}
    for name in names:
        url = f"{settings.gateway_url}/_sitegate/hooks/rebuild/{urllib.parse.quote(name)}"
        request = urllib.request.Request(url, data=b"", method="POST", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=_HOOK_SECONDS):
                pass
        except urllib.error.HTTPError as error:
            return f"the gateway at {settings.gateway_url} refused to rebuild {name}: {error.code} {error.reason}"
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            return f"no gateway answered at {settings.gateway_url} ({reason}): one that starts serves the new builds"
    return None


def _rows(runs: list[SiteRun]) -> list[tuple[str, str, str, str, str]]:
    return [
        (
            run.name,
            run.state,
            run.build_id or "-",
            "-" if run.pages is None else str(run.pages),
            f"{run.elapsed():.1f}s" if run.state != "waiting" else "-",
        )
        for run in runs
    ]


_HEADER = ("SITE", "STATE", "BUILD", "PAGES", "SECONDS")


def _rich_table(runs: list[SiteRun], title: str | None = None) -> Table:
    table = Table(*_HEADER, title=title)
    colours = {"built": "green", "reused": "cyan", "failed": "red", "building": "yellow"}
    for row in _rows(runs):
        table.add_row(*row[:1], f"[{colours.get(row[1], 'dim')}]{row[1]}[/]", *row[2:])
    return table


def plain_table(runs: list[SiteRun]) -> str:
    rows = [_HEADER, *_rows(runs)]
    widths = [max(len(row[column]) for row in rows) for column in range(len(_HEADER))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows)


def failure_report(run: SiteRun) -> str:
    assert run.error is not None
    lines = [line for line in (run.error.log or "").splitlines() if line.strip()][:LOG_LINES]
    return "\n".join([f"{run.name} failed: {run.error}", *(f"  {line}" for line in lines)])


def run(settings: Settings, names: list[str], every: bool, jobs: int) -> int:
    try:
        sites = choose_sites(settings, names, every, jobs)
    except BuildArgumentError as error:
        print(f"sitegate build: {error}", file=sys.stderr)
        return EXIT_USAGE
    runs = {site.name: SiteRun(site.name) for site in sites}
    ordered = list(runs.values())
    if sys.stdout.isatty():
        console = Console()
        # Build output lines would tear the live display; a failure's log is in the summary.
        logging.getLogger("sitegate.builds").setLevel(logging.WARNING)
        # Redrawn from the runs on Live's own clock, so the seconds of sites building count up.
        with Live(console=console, get_renderable=lambda: _rich_table(ordered), refresh_per_second=8, transient=True):
            asyncio.run(build_sites(settings, sites, jobs, runs, lambda _: None))
        console.print(_rich_table(ordered, title="sitegate build"))
    else:

        def line(done: SiteRun) -> None:
            took = f"{done.seconds:.1f}s"
            what = f"{done.build_id}, {done.pages} pages" if done.error is None else str(done.error).splitlines()[0]
            print(f"{done.name}: {done.state} ({what}) in {took}", flush=True)

        asyncio.run(build_sites(settings, sites, jobs, runs, line))
        print(plain_table(ordered))
    failed = [done for done in ordered if done.state == "failed"]
    for failure in failed:
        print(failure_report(failure))
    published = [done.name for done in ordered if done.state in ("built", "reused")]
    if published and (problem := tell_gateway(settings, published)) is not None:
        print(problem)
    return 1 if failed else 0
