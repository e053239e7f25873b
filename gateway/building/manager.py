"""Which build a site serves, and making one when it has none: single-flight per site, built
in a worker thread, published atomically, kept in service when a newer one fails."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Mapping, Set
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

from builders import builder_for
from builders.base import Builder
from builders.errors import BuildError
from gateway.building.build import Build, Failure
from gateway.building.cluster_round import ClusterRound
from gateway.building.site_state import SiteBuildStats, SiteState
from gateway.building.fingerprint import sitegate_version
from gateway.building.step import BuildStep
from gateway.config import Settings
from gateway.sites.registry import Site

log = logging.getLogger("sitegate.builds")


class BuildFailed(Exception):
    """A site has no build to serve because its build failed."""

    def __init__(self, site_name: str, error: BuildError) -> None:
        super().__init__(f"{site_name}: {error}")
        self.site_name = site_name
        self.error = error


class BuildManager:
    def __init__(
        self,
        settings: Settings,
        builder_lookup: Callable[[str], Builder] = builder_for,
        fetch_data: Callable[[Site], Awaitable[Mapping[str, Any]]] | None = None,
        cluster: ClusterRound | None = None,
    ) -> None:
        self._settings = settings
        self._cluster = cluster
        self._fetch_data = fetch_data or _no_data
        self._executor = ThreadPoolExecutor(max_workers=settings.max_builds, thread_name_prefix="sitegate-build")
        # Housekeeping has its own worker, so it never holds up a build waiting for one.
        self._tidier = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sitegate-tidy")
        self._states: dict[str, SiteState] = {}
        # Set on close, so running build commands kill their process groups instead of outliving us.
        self._stopping = threading.Event()
        self._step = BuildStep(settings, builder_lookup, sitegate_version(), self._stopping)
        self._tidying: set[asyncio.Future[Build]] = set()

    async def current(self, site: Site) -> Build:
        """The build ``site`` serves now, building it first when it has none. A site whose
        configuration changed is rebuilt while its build stays in service; in development,
        and after ``invalidate``, requests wait for the fresh build. Callers share one build."""
        # get first: a SiteState made on every request only to be thrown away costs the hot path.
        state = self._states.get(site.name) or self._states.setdefault(site.name, SiteState())
        if state.current is None and state.task is None and not self._settings.dev:
            await self._recall(site, state)
        if state.current is not None and not state.stale and state.site == site:
            return state.current
        if state.current is not None and not state.stale and not self._settings.dev:
            # A changed site.toml is built here; a build recalled from disk is only checked.
            self.rebuild_in_background(site, inputs_changed=state.site is not None)
            return state.current
        task = state.task
        if task is None:
            if state.recently_failed():
                return self._serve_after_failure(site, state)
            task = self._start(site, state)
        elif state.wanted != site:
            state.wanted, state.again = site, True
        try:
            return await asyncio.shield(task)
        except BuildError:
            return self._serve_after_failure(site, state)

    def invalidate(self, site_name: str) -> None:
        """Inputs changed: the next request waits for a fresh build."""
        state = self._states.get(site_name)
        if state is None:
            return
        state.stale = state.rebuild = True
        state.failed_at = 0.0
        if state.task is not None:
            state.again = True

    def rebuild_in_background(self, site: Site, *, inputs_changed: bool = False) -> None:
        """Build anew while the current build stays in service; bursts share one build.
        ``inputs_changed``: files or data changed, so a build already running is not enough."""
        state = self._states.setdefault(site.name, SiteState())
        state.rebuild = state.rebuild or inputs_changed
        if state.task is None:
            if state.recently_failed() and not inputs_changed and state.wanted == site:
                return
            state.failed_at = 0.0
            self._start(site, state).add_done_callback(lambda task: task.cancelled() or task.exception())
        elif inputs_changed or state.wanted != site:
            state.wanted, state.again = site, True

    def refresh(self, site_name: str) -> None:
        """The cluster moved the site's pointer: serve what it names, if this process serves
        the site at all (one it has not been asked for is fetched on its first request)."""
        state = self._states.get(site_name)
        if state is not None and state.site is not None:
            self.rebuild_in_background(state.site)

    async def roll_back(self, site: Site) -> Build:
        """``sitegate rollback`` pinned an earlier build on disk: look again at once. The step
        serves the pinned build while the site's inputs are those it was rolled back from."""
        state = self._states.setdefault(site.name, SiteState())
        self.rebuild_in_background(site, inputs_changed=True)
        assert state.task is not None
        return await asyncio.shield(state.task)

    def _start(self, site: Site, state: SiteState) -> asyncio.Task[Build]:
        state.wanted = site
        state.task = asyncio.create_task(self._run(state))
        return state.task

    def stats(self) -> Mapping[str, SiteBuildStats]:
        return {name: state.stats() for name, state in sorted(self._states.items())}

    def serving(self) -> dict[str, Build]:
        """The builds in service that no build of this process is about to replace."""
        return {name: state.current for name, state in self._states.items() if state.current and not state.task}

    def follow(self, published: Mapping[str, Build]) -> None:
        """Builds another process put into service (``building.follow``) replace these."""
        for name, build in published.items():
            state = self._states.get(name)
            if state is not None and state.current is not None and state.task is None:
                state.current = build

    def current_build(self, site_name: str) -> Build | None:
        state = self._states.get(site_name)
        return state.current if state else None

    def inputs(self) -> Mapping[str, Set[str]]:
        """For each site with a build, the files that build read (views, not copies: this is
        asked on every file change)."""
        return {
            name: state.current.record.input_digests.keys()
            for name, state in self._states.items()
            if state.current is not None
        }

    def forget(self, site_name: str) -> None:
        """The site is gone from the registry."""
        state = self._states.pop(site_name, None)
        if state is not None and state.data_retry is not None:
            state.data_retry.cancel()
        self._step.forget(site_name)

    def stop_commands(self) -> None:
        """The gateway is stopping: running build commands kill their process groups now, and
        the builds waiting on them fail at once."""
        self._stopping.set()

    async def close(self) -> None:
        self.stop_commands()
        for state in self._states.values():
            if state.data_retry is not None:
                state.data_retry.cancel()
        tasks = [state.task for state in self._states.values() if state.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, *self._tidying, return_exceptions=True)
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._tidier.shutdown(wait=False, cancel_futures=True)
        self._step.close()

    def _serve_after_failure(self, site: Site, state: SiteState) -> Build:
        assert state.last_error is not None
        if state.current is not None and not self._settings.dev:
            return state.current
        raise BuildFailed(site.name, state.last_error)

    async def _run(self, state: SiteState) -> Build:
        try:
            while True:
                # The newest configuration asked for, which may have changed since the last round.
                site = state.wanted
                assert site is not None
                state.again = False
                state.started += 1
                rebuild, state.rebuild = state.rebuild, False
                if self._cluster is None:
                    outcome = await self._build_here(site, state)
                else:
                    outcome = await self._cluster.settle(
                        site.name,
                        serving=state.current,
                        rebuild=rebuild,
                        build_here=partial(self._build_here, site, state),
                        adopt=partial(self._adopt, site, state),
                    )
                if isinstance(outcome, Failure):
                    if outcome is not state.failure:
                        state.failed += 1
                        log.warning("build failed: %s: %s", site.name, outcome.error)
                    state.failure, state.last_error = outcome, outcome.error
                    state.failed_at = time.monotonic()
                    state.failed_in_a_row += 1
                    if outcome.data_out_of_reach:
                        self._retry_data_later(state)
                    if not state.again:
                        raise outcome.error
                    continue
                build = outcome
                if build.fetched:
                    state.fetched += 1
                elif build.reused or build is state.current:
                    state.reused += 1
                else:
                    state.run += 1
                state.current, state.site, state.stale = build, site, False
                state.last_error, state.failed_at, state.failure, state.failed_in_a_row = None, 0.0, None, 0
                self._prune_later(state, build)
                if not state.again:
                    return build
        finally:
            state.task = None

    async def _build_here(self, site: Site, state: SiteState) -> Build | Failure:
        """A build from this host's inputs (found on disk by its id when they are unchanged)."""
        try:
            data = await self._fetch_data(site) if site.options.get("data") else {}
        except BuildError as error:
            return Failure(None, error, data_out_of_reach=True)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._step.run, site, state.current, state.failure, data)

    async def _adopt(self, site: Site, state: SiteState, build_id: str, fetch: Callable[[Path], str]) -> Build:
        """The cluster's build ``build_id``, from disk or fetched (``fetch`` fills a folder)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._step.adopt, site, state.current, build_id, fetch)

    async def _recall(self, site: Site, state: SiteState) -> None:
        """After a restart, the last good build on disk serves while the site is built anew (or
        cannot be): a slow or failing build holds up no request. Development shows the fresh
        build or its failure instead. Concurrent first callers share one look."""
        loop = asyncio.get_running_loop()
        first = state.recalled is None
        if state.recalled is None:
            state.recalled = loop.run_in_executor(self._executor, self._step.last_good, site)
        try:
            build = await asyncio.shield(state.recalled)
        except OSError as error:
            log.warning("%s: its builds on disk cannot be read: %s", site.name, error)
            return
        if first:
            # What the look found left behind (a killed build's folders) goes off the request path.
            loop.run_in_executor(self._tidier, self._step.empty_trash, site.name)
        if build is not None and state.current is None:
            log.info("%s: serving build %s from disk until a build succeeds", site.name, build.build_id)
            state.current = build

    def _retry_data_later(self, state: SiteState) -> None:
        """The backend may come back: try again with backoff, not on every request."""
        if state.data_retry is not None:
            return
        delay = state.data_retry_delay()

        def retry() -> None:
            state.data_retry = None
            if state.wanted is not None:
                self.rebuild_in_background(state.wanted, inputs_changed=True)

        state.data_retry = asyncio.get_running_loop().call_later(delay, retry)

    def _prune_later(self, state: SiteState, build: Build) -> None:
        """Finishing touches on disk (carrying over, old builds removed) come after the new
        build is in service, so waiting requests do not pay for them."""
        tidy = asyncio.get_running_loop().run_in_executor(
            self._tidier, self._step.tidy, build, lambda: state.current
        )

        def settle(done: asyncio.Future[Build]) -> None:
            self._tidying.discard(done)
            if done.cancelled() or done.exception() is not None:
                if not done.cancelled():
                    log.error("tidying builds of %s failed: %s", build.site_name, done.exception())
                return
            if state.current is not None and state.current.build_id == build.build_id:
                state.current = done.result()

        self._tidying.add(tidy)
        tidy.add_done_callback(settle)


async def _no_data(site: Site) -> Mapping[str, Any]:
    raise BuildError(f"{site.name} asks for [data], and this gateway has no backend to fetch it from")
