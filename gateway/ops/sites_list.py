"""``sitegate sites``: every site with its current build and state, read from the build folder
on disk, so it answers whether or not a gateway runs."""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from builders import KNOWN_BUILDERS
from gateway.building.build_dir import SiteBuildDir
from gateway.config import Settings
from gateway.sites.registry import Registry, Site

# build_dir.py names a build being made ``.staging-*`` and holds a lock on it while it builds.
# Precompressed siblings of served files: counted once, as the file they compress.
_SIBLINGS = (".gz", ".br")


@dataclass(frozen=True)
class CurrentBuild:
    build_id: str
    built_at: float
    age_seconds: int
    seconds: float
    # .html files in the build folder: every page it serves, not only those this build rendered.
    pages: int
    # The files it serves, without their .gz/.br siblings.
    bytes: int


@dataclass(frozen=True)
class SiteStatus:
    name: str
    aliases: tuple[str, ...]
    builder: str
    # "never_built", "ready", "building" (a build folder is being made now) or "failed" (the
    # newest build failed; a current build, if any, still serves).
    state: str
    current: CurrentBuild | None
    error: str | None


def list_sites(settings: Settings) -> list[SiteStatus]:
    registry = Registry.scan(settings.sites_dir, KNOWN_BUILDERS)
    return [site_status(site, SiteBuildDir(settings.build_dir / site.name)) for site in registry.sites.values()]


def site_status(site: Site, build_dir: SiteBuildDir) -> SiteStatus:
    current = _current(build_dir)
    failure = _newest_failure(build_dir, after=current.built_at if current else 0.0)
    if build_dir.building():
        state = "building"
    elif failure is not None or site.error:
        state = "failed"
    else:
        state = "ready" if current else "never_built"
    return SiteStatus(site.name, site.aliases, site.builder, state, current, site.error or failure)


def _current(build_dir: SiteBuildDir) -> CurrentBuild | None:
    build_id = build_dir.current_id()
    record = build_dir.find(build_id) if build_id else None
    if record is None:
        return None
    built_at = _published_at(build_dir.root, record.build_id)
    pages, size = _measure(build_dir.output(record.build_id))
    return CurrentBuild(record.build_id, built_at, int(time.time() - built_at), record.seconds, pages, size)


def _published_at(root: Path, build_id: str) -> float:
    # The log is written when the build is published and never after; the record may come later.
    for name in (f"{build_id}.log", f"{build_id}.json"):
        try:
            return (root / name).stat().st_mtime
        except OSError:
            continue
    return 0.0


def _measure(folder: Path) -> tuple[int, int]:
    pages = size = 0
    for directory, _, files in os.walk(folder):
        for name in files:
            if name.endswith(_SIBLINGS):
                continue
            pages += name.endswith(".html")
            try:
                size += os.lstat(os.path.join(directory, name)).st_size
            except OSError:
                continue
    return pages, size


def _newest_failure(build_dir: SiteBuildDir, after: float) -> str | None:
    """The error of the newest build, when it failed after ``after``: a failed build leaves its
    log without a build folder. Its last line is the error (the exception line of a crash)."""
    try:
        logs = sorted(build_dir.root.glob("*.log"), key=lambda path: path.stat().st_mtime, reverse=True)
    except OSError:
        return None
    for log in logs:
        try:
            if log.stat().st_mtime <= after:
                return None
            if build_dir.output(log.stem).exists():
                return None
            lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
        except OSError:
            continue
        return lines[-1] if lines else "the build failed"
    return None


def as_json(statuses: list[SiteStatus]) -> str:
    return json.dumps([asdict(status) for status in statuses], indent=2)


def as_table(statuses: list[SiteStatus]) -> str:
    header = ("SITE", "BUILDER", "STATE", "BUILD", "AGE", "TOOK", "PAGES", "SIZE", "ALIASES")
    rows = [header]
    for status in statuses:
        build = status.current
        rows.append(
            (
                status.name,
                status.builder,
                status.state.replace("_", " "),
                build.build_id if build else "-",
                _duration(build.age_seconds) if build else "-",
                f"{build.seconds:.1f}s" if build else "-",
                str(build.pages) if build else "-",
                _size(build.bytes) if build else "-",
                ", ".join(status.aliases) or "-",
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    lines += [f"{status.name}: {status.error}" for status in statuses if status.error]
    return "\n".join(lines)


def _duration(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _size(count: int) -> str:
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10)):
        if count >= size:
            return f"{count / size:.1f} {unit}"
    return f"{count} B"


SITES_HELP = """\
Every site in the sites folder with its aliases, builder, current build and state, read from
the build folder (no gateway needs to run).

state: never built, ready, building (a process holds a staging folder's lock now), or failed
  (the newest build failed; its error is the last line of its log, and the build before it,
  if any, still serves).
build: the build `current` points at; its age (since it was published), how long it took,
  pages (.html files it serves) and size (its files, without .gz/.br siblings).
"""
