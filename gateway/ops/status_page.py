"""``/_sitegate/status``: a small HTML page of the sites, their builds and their last errors.

``render`` is pure and escapes everything it shows (a build error quotes site files);
``log_tail`` reads from disk and runs in a worker thread."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

TAIL_LINES = 20
# The end of a log is what explains a failure; a huge log is not read whole to find it.
_TAIL_BYTES = 64 * 1024


@dataclass(frozen=True)
class SiteRow:
    name: str
    builder: str
    config_error: str | None
    current_build: str | None
    build_path: Path | None
    building: bool
    builds_run: int
    builds_reused: int
    builds_failed: int
    last_error: str | None


@dataclass(frozen=True)
class Disk:
    """What the page needs from disk: each build's age, each failure's log tail."""

    ages: dict[str, float]
    tails: dict[str, tuple[str, str]]  # site → (log file name, its last lines)


def read_disk(rows: Sequence[SiteRow], build_dir: Path) -> Disk:
    now = time.time()
    ages, tails = {}, {}
    for row in rows:
        if row.build_path is not None:
            try:
                ages[row.name] = max(now - row.build_path.stat().st_mtime, 0.0)
            except OSError:
                pass
        if row.last_error is not None:
            tail = log_tail(build_dir / row.name, row.current_build)
            if tail is not None:
                tails[row.name] = tail
    return Disk(ages, tails)


def log_tail(site_builds: Path, current_build: str | None) -> tuple[str, str] | None:
    """The last lines of the newest build log, when it is a failed attempt's: a build whose
    inputs could not be read (its [data] out of reach) writes no log, and then the newest is
    the log of the build in service, which explains nothing."""
    try:
        logs = sorted(site_builds.glob("*.log"), key=lambda path: path.stat().st_mtime_ns)
    except OSError:
        return None
    if not logs or logs[-1].stem == current_build:
        return None
    newest = logs[-1]
    try:
        with newest.open("rb") as file:
            size = file.seek(0, 2)
            file.seek(max(size - _TAIL_BYTES, 0))
            text = file.read().decode("utf-8", errors="replace")
    except OSError:
        return None
    return newest.name, "\n".join(text.splitlines()[-TAIL_LINES:])


def render(mode: str, rows: Sequence[SiteRow], disk: Disk, cluster: Mapping[str, Any] | None = None) -> str:
    building = [row.name for row in rows if row.building]
    items = "\n".join(_row(row, disk) for row in rows)
    errors = "\n".join(_error(row, disk) for row in rows if row.last_error or row.config_error)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>sitegate status</title>
<style>body{{font:14px system-ui,sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:left}}pre{{background:#f6f6f6;padding:.6em;overflow:auto}}</style>
</head><body>
<h1>sitegate ({escape(mode)})</h1>
<p>{len(rows)} sites; building now: {escape(", ".join(building)) or "none"}</p>
{_cluster(cluster) if cluster is not None else ""}
<table><tr><th>site</th><th>builder</th><th>build in service</th><th>age</th><th>building</th>
<th>run / reused / failed</th><th>state</th></tr>
{items}
</table>
<h2>Last errors</h2>
{errors or "<p>none</p>"}
</body></html>
"""


def _cluster(cluster: Mapping[str, Any]) -> str:
    parts = []
    for name, label in (("build_store", "build store"), ("database", "cluster database")):
        part = cluster[name]
        state = "reachable" if part["reachable"] else f"<strong>out of reach</strong>: {escape(str(part['error']))}"
        parts.append(f"{label} {state}")
    return f"<p>cluster member {escape(str(cluster['holder']))}: {'; '.join(parts)}</p>"


def _row(row: SiteRow, disk: Disk) -> str:
    age = disk.ages.get(row.name)
    if row.config_error:
        state = "site.toml error"
    elif row.last_error:
        state = "failed" + (" (serving the previous build)" if row.current_build else "")
    else:
        state = "ready" if row.current_build else "never built"
    return (
        f"<tr><td>{escape(row.name)}</td><td>{escape(row.builder)}</td>"
        f"<td>{escape(row.current_build or '-')}</td><td>{_age(age)}</td>"
        f"<td>{'yes' if row.building else 'no'}</td>"
        f"<td>{row.builds_run} / {row.builds_reused} / {row.builds_failed}</td><td>{escape(state)}</td></tr>"
    )


def _error(row: SiteRow, disk: Disk) -> str:
    parts = [f"<h3>{escape(row.name)}</h3>", f"<p>{escape(row.config_error or row.last_error or '')}</p>"]
    tail = disk.tails.get(row.name)
    if tail is not None:
        name, lines = tail
        parts.append(f"<p>the last {TAIL_LINES} lines of {escape(name)}:</p><pre>{escape(lines)}</pre>")
    return "\n".join(parts)


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
