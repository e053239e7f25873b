"""Which build a site serves, and making one when it has none: single-flight per site, built
in a worker thread, published atomically, kept in service when a newer one fails."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import traceback
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from builders import builder_for
from builders.base import BuildContext, Builder, BuildError, PreviousBuild
from gateway.build_dir import BuildRecord, SiteBuildDir
from gateway.compress import precompress
from gateway.config import Settings
from gateway.files import FileTable
from gateway.fingerprint import DigestCache, fingerprint, input_label
from gateway.registry import Site
from gateway.rules import SiteRules, load_rules

log = logging.getLogger("sitegate.builds")

# A site whose build failed and that has nothing to serve is not rebuilt on every request.
_FAILED_RETRY_SECONDS = 5.0


def _sitegate_version() -> str:
    try:
        return version("sitegate")
    except PackageNotFoundError:
        return "dev"


@dataclass(frozen=True)
class Build:
    """A published build: its folder and the file table computed once for it."""

    site_name: str
    build_id: str
    path: Path
    table: FileTable
    rules: SiteRules
    record: BuildRecord
    reused: bool

    def as_previous(self) -> PreviousBuild:
        return PreviousBuild(
            out_dir=self.path,
            dependencies=self.record.dependencies,
            input_digests=self.record.input_digests,
        )


@dataclass(frozen=True)
class _Failure:
    build_id: str | None
    error: BuildError


class BuildFailed(Exception):
    """A site has no build to serve because its build failed."""

    def __init__(self, site_name: str, error: BuildError) -> None:
        super().__init__(f"{site_name}: {error}")
        self.site_name = site_name
        self.error = error


@dataclass
class _SiteState:
    site: Site | None = None
    current: Build | None = None
    task: asyncio.Task[Build] | None = None
    stale: bool = False
    again: bool = False
    started: int = 0
    failed: int = 0
    last_error: BuildError | None = None
    failed_at: float = 0.0
    failure: _Failure | None = None


@dataclass(frozen=True)
class SiteBuildStats:
    current_build: str | None
    builds_started: int
    builds_failed: int
    building: bool
    last_error: str | None


class BuildManager:
    def __init__(
        self,
        settings: Settings,
        builder_lookup: Callable[[str], Builder] = builder_for,
        workers: int = 4,
        fetch_data: Callable[[Site], Awaitable[Mapping[str, Any]]] | None = None,
    ) -> None:
        self._settings = settings
        self._fetch_data = fetch_data or _no_data
        self._builder_for = builder_lookup
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sitegate-build")
        self._digests = DigestCache()
        self._states: dict[str, _SiteState] = {}
        self._builder_version = _sitegate_version()
        # Set on close, so running build commands kill their process groups instead of outliving us.
        self._stopping = threading.Event()

    async def current(self, site: Site) -> Build:
        """The build ``site`` serves now, building it first when it has none (or, in
        development, when it is out of date). Concurrent callers share one build."""
        state = self._states.setdefault(site.name, _SiteState())
        if state.current is not None and not state.stale and state.site == site:
            return state.current
        if state.task is None:
            if self._recently_failed(state):
                return self._serve_after_failure(site, state)
            state.task = asyncio.create_task(self._run(site, state))
        try:
            return await asyncio.shield(state.task)
        except BuildError:
            return self._serve_after_failure(site, state)

    def invalidate(self, site_name: str) -> None:
        """Inputs changed: the next request waits for a fresh build."""
        state = self._states.get(site_name)
        if state is None:
            return
        state.stale = True
        state.failed_at = 0.0
        if state.task is not None:
            state.again = True

    def rebuild_in_background(self, site: Site) -> None:
        """Build anew while the current build stays in service; bursts share one build."""
        state = self._states.setdefault(site.name, _SiteState())
        state.failed_at = 0.0
        if state.task is not None:
            state.again = True
            return
        state.task = asyncio.create_task(self._run(site, state))
        state.task.add_done_callback(lambda task: task.cancelled() or task.exception())

    def stats(self) -> Mapping[str, SiteBuildStats]:
        return {
            name: SiteBuildStats(
                current_build=state.current.build_id if state.current else None,
                builds_started=state.started,
                builds_failed=state.failed,
                building=state.task is not None,
                last_error=str(state.last_error) if state.last_error else None,
            )
            for name, state in sorted(self._states.items())
        }

    def current_build(self, site_name: str) -> Build | None:
        state = self._states.get(site_name)
        return state.current if state else None

    def inputs(self) -> Mapping[str, frozenset[str]]:
        """For each site with a build, the files that build read."""
        return {
            name: frozenset(state.current.record.input_digests)
            for name, state in self._states.items()
            if state.current is not None
        }

    def forget(self, site_name: str) -> None:
        """The site is gone from the registry."""
        self._states.pop(site_name, None)

    def stop_commands(self) -> None:
        """The gateway is stopping: running build commands kill their process groups now, and
        the builds waiting on them fail at once."""
        self._stopping.set()

    async def close(self) -> None:
        self.stop_commands()
        tasks = [state.task for state in self._states.values() if state.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _recently_failed(self, state: _SiteState) -> bool:
        return (
            state.last_error is not None
            and state.failed_at > 0
            and time.monotonic() - state.failed_at < _FAILED_RETRY_SECONDS
        )

    def _serve_after_failure(self, site: Site, state: _SiteState) -> Build:
        assert state.last_error is not None
        if state.current is not None and not self._settings.dev:
            return state.current
        raise BuildFailed(site.name, state.last_error)

    async def _run(self, site: Site, state: _SiteState) -> Build:
        loop = asyncio.get_running_loop()
        try:
            while True:
                state.again = False
                state.started += 1
                previous = state.current.as_previous() if state.current else None
                try:
                    data = await self._fetch_data(site) if site.options.get("data") else {}
                except BuildError as error:
                    outcome: Build | _Failure = _Failure(None, error)
                else:
                    outcome = await loop.run_in_executor(
                        self._executor, self._build_blocking, site, previous, state.failure, data
                    )
                if isinstance(outcome, _Failure):
                    if outcome is not state.failure:
                        state.failed += 1
                        log.warning("build failed: %s: %s", site.name, outcome.error)
                    state.failure, state.last_error = outcome, outcome.error
                    state.failed_at = time.monotonic()
                    if not state.again:
                        raise outcome.error
                    continue
                build = outcome
                state.current, state.site, state.stale = build, site, False
                state.last_error, state.failed_at, state.failure = None, 0.0, None
                if not state.again:
                    return build
        finally:
            state.task = None

    def _build_blocking(
        self,
        site: Site,
        previous: PreviousBuild | None,
        known_failure: _Failure | None,
        data: Mapping[str, Any],
    ) -> Build | _Failure:
        """Fingerprint the inputs, reuse a build with that id or make it. A failure comes back
        as a value, with its id, so the same inputs are not built again just to fail again."""
        started = time.perf_counter()
        build_dir = SiteBuildDir(self._settings.build_dir / site.name)
        try:
            builder = self._builder_for(site.builder)
            context = BuildContext(
                site_name=site.name,
                site_dir=site.root,
                shared_dir=self._settings.shared_dir,
                out_dir=build_dir.root,
                mode=self._settings.mode.value,
                options=site.options,
                env=site.env,
                backend_url=site.backend_url or self._settings.backend_url,
                timeout=self._settings.build_timeout,
                command_env=dict(self._settings.command_env),
                stopping=self._stopping,
                data=data,
            )
            digests = {str(path): self._digests.digest(path) for path in builder.input_files(context)}
        except BuildError as error:
            return _Failure(None, error)
        except Exception as error:
            return _Failure(None, _crash(site, "reading its inputs", error))
        build_id = fingerprint(
            builder=f"{site.builder}@{self._builder_version}",
            mode=context.mode,
            options=site.options,
            env=site.env,
            inputs={input_label(Path(p), site.root, context.shared_dir): d for p, d in digests.items()},
            data=data,
        )
        record = build_dir.find(build_id)
        reused = record is not None
        if record is None:
            if known_failure is not None and known_failure.build_id == build_id:
                return known_failure
            if previous is None:
                previous = _previous_on_disk(build_dir)
            context = replace(context, input_digests=digests, previous=previous)
            try:
                record = self._build_fresh(build_dir, builder, context, build_id, started)
            except BuildError as error:
                return _Failure(build_id, error)
        output = build_dir.output(build_id)
        table, rules = FileTable.scan(output), load_rules(output)
        for problem in rules.problems:
            log.warning("%s: %s", site.name, problem)
        build_dir.point_current(build_id)
        build_dir.prune(self._settings.keep_builds, protect={build_id})
        return Build(site.name, build_id, output, table, rules, record, reused)

    def _build_fresh(
        self,
        build_dir: SiteBuildDir,
        builder: Builder,
        context: BuildContext,
        build_id: str,
        started: float,
    ) -> BuildRecord:
        staging = build_dir.staging()
        context = replace(context, out_dir=staging)
        try:
            result = builder.build(context)
            # Development serves one person on this machine: compression would only slow reloads.
            compressed = 0 if self._settings.dev else precompress(staging)
        except BuildError as error:
            build_dir.discard(staging)
            build_dir.write_log(build_id, error.log or str(error))
            raise
        except Exception as error:
            build_dir.discard(staging)
            crash = _crash_from_context(context, error)
            build_dir.write_log(build_id, crash.log)
            raise crash from error
        seconds = time.perf_counter() - started
        record = BuildRecord(
            build_id=build_id,
            dependencies=result.dependencies,
            input_digests=context.input_digests,
            rendered=result.rendered,
            seconds=round(seconds, 4),
        )
        summary = (
            f"{context.site_name}: built {build_id} in {seconds * 1000:.0f} ms, "
            f"{len(result.files)} files, {len(result.rendered)} rendered, {compressed} precompressed\n"
        )
        build_dir.publish(staging, record, result.log + summary)
        return record


async def _no_data(site: Site) -> Mapping[str, Any]:
    raise BuildError(f"{site.name} asks for [data], and this gateway has no backend to fetch it from")


def _previous_on_disk(build_dir: SiteBuildDir) -> PreviousBuild | None:
    """After a restart, the build ``current`` points at still lets the next one be incremental."""
    current_id = build_dir.current_id()
    record = build_dir.find(current_id) if current_id else None
    if record is None:
        return None
    return PreviousBuild(build_dir.output(record.build_id), record.dependencies, record.input_digests)


def _crash(site: Site, doing: str, error: Exception) -> BuildError:
    log.exception("builder crashed: %s while %s", site.name, doing)
    return BuildError(
        f"the {site.builder} builder failed while {doing}: {error}", log=traceback.format_exc()
    )


def _crash_from_context(context: BuildContext, error: Exception) -> BuildError:
    log.exception("builder crashed: %s", context.site_name)
    return BuildError(f"the builder crashed: {type(error).__name__}: {error}", log=traceback.format_exc())
