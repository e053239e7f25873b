"""What the build manager knows of one site between requests: the build in service, the build
running, and how its recent builds failed, which decides when it is tried again."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from builders.errors import BuildError
from gateway.building.build import Build, Failure
from gateway.sites.registry import Site

# A site whose builds keep failing is tried again after 5, 10, 20 … seconds (at most 5 minutes)
# when asked, not on every request: a crawler on a broken site causes no build storm. One whose
# [data] is out of reach tries again by itself after 1, 2, 4 … seconds (at most a minute).
FAILED_RETRY_FIRST_SECONDS = 5.0
FAILED_RETRY_MAX_SECONDS = 300.0
DATA_RETRY_FIRST_SECONDS = 1.0
DATA_RETRY_MAX_SECONDS = 60.0


@dataclass
class SiteState:
    site: Site | None = None
    wanted: Site | None = None
    current: Build | None = None
    task: asyncio.Task[Build] | None = None
    stale: bool = False
    again: bool = False
    # The next round builds from this host's inputs (an edit, a hook, a changed site.toml)
    # rather than serving what the cluster's pointer names.
    rebuild: bool = False
    started: int = 0
    failed: int = 0
    # Of the builds started and not failed: made anew, or found on disk (or in service) by their id.
    run: int = 0
    reused: int = 0
    # Taken from the cluster's build store, made by another host.
    fetched: int = 0
    last_error: BuildError | None = None
    failed_at: float = 0.0
    failed_in_a_row: int = 0
    failure: Failure | None = None
    data_retry: asyncio.TimerHandle | None = None
    # The look for the last good build on disk, done once, at the first request after a start.
    recalled: asyncio.Future[Build | None] | None = None

    def recently_failed(self) -> bool:
        """Whether the last build failed too recently to try again when asked."""
        return (
            self.last_error is not None
            and self.failed_at > 0
            and time.monotonic() - self.failed_at
            < backoff(FAILED_RETRY_FIRST_SECONDS, FAILED_RETRY_MAX_SECONDS, self.failed_in_a_row)
        )

    def data_retry_delay(self) -> float:
        return backoff(DATA_RETRY_FIRST_SECONDS, DATA_RETRY_MAX_SECONDS, self.failed_in_a_row)

    def stats(self) -> SiteBuildStats:
        return SiteBuildStats(
            current_build=self.current.build_id if self.current else None,
            builds_started=self.started,
            builds_failed=self.failed,
            builds_run=self.run,
            builds_reused=self.reused,
            builds_fetched=self.fetched,
            building=self.task is not None,
            last_error=str(self.last_error) if self.last_error else None,
            stale=self.current is not None and self.last_error is not None,
        )


@dataclass(frozen=True)
class SiteBuildStats:
    current_build: str | None
    builds_started: int
    builds_failed: int
    builds_run: int
    builds_reused: int
    builds_fetched: int
    building: bool
    last_error: str | None
    stale: bool



def backoff(first: float, most: float, failures: int) -> float:
    """Seconds to wait after ``failures`` failures in a row: ``first``, twice that, … ``most``."""
    return min(first * 2 ** max(failures - 1, 0), most)
