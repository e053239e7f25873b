"""Development: file changes → the sites they affect → rebuilt at once → open tabs told."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass
from pathlib import Path

from watchfiles import DefaultFilter, awatch

from builders.base import IGNORED_DIRS as TOOL_DIRS
from builders.command.shared_library import js_only
from gateway.building.manager import BuildFailed, BuildManager
from gateway.dev.livereload import LiveReloadHub, changed_paths
from gateway.sites.directory import SiteDirectory
from gateway.sites.registry import Registry

log = logging.getLogger("sitegate.dev")

SITE_FILE = "site.toml"
# Besides the tool folders no build reads, framework build outputs, which a build writes.
IGNORED_DIRS = TOOL_DIRS | frozenset({"dist", "out", ".svelte-kit"})


class SourceFilter(DefaultFilter):
    """watchfiles' defaults (VCS folders, node_modules, editor swap and temp files) plus the
    build outputs of the frameworks, which change because of a build, not a person."""

    def __init__(self) -> None:
        super().__init__(ignore_dirs=(*DefaultFilter.ignore_dirs, *IGNORED_DIRS))


@dataclass(frozen=True)
class Affected:
    sites: frozenset[str]
    rescan: bool


def affected_sites(
    changed: Iterable[Path],
    *,
    sites_dir: Path,
    shared_dir: Path,
    registry: Registry,
    inputs: Mapping[str, Set[str]],
) -> Affected:
    """Which sites the changed paths affect. ``inputs`` maps each built site to the files its
    current build read. A new site folder, a removed one or a ``site.toml`` asks for a rescan."""
    by_folder = {site.root.name: name for name, site in registry.sites.items()}
    sites: set[str] = set()
    rescan = False
    for path in changed:
        if path.is_relative_to(sites_dir):
            parts = path.relative_to(sites_dir).parts
            if not parts:
                continue
            if len(parts) == 1 or parts[1] == SITE_FILE or parts[0] not in by_folder:
                rescan = True
            if parts[0] in by_folder:
                sites.add(by_folder[parts[0]])
        elif path.is_relative_to(shared_dir):
            readers = {name for name, used in inputs.items() if str(path) in used}
            # A file no build has read yet (new, or deleted) changes the fingerprint of every
            # site that reads the shared library; each such rebuild re-renders only what it must.
            # The React package's files are read by framework builds only, whose dev servers
            # hear the edit themselves (HMR).
            if not readers and not js_only(str(path), shared_dir):
                readers = {name for name, used in inputs.items() if _reads_under(used, shared_dir)}
            sites |= readers
    return Affected(frozenset(sites), rescan)


def _reads_under(used: Set[str], folder: Path) -> bool:
    prefix = str(folder).rstrip("/") + "/"
    return any(path.startswith(prefix) for path in used)


class DevReloader:
    def __init__(self, sites: SiteDirectory, builds: BuildManager, hub: LiveReloadHub, shared_dir: Path, sites_dir: Path) -> None:
        self._sites = sites
        self._builds = builds
        self._hub = hub
        self._shared_dir = shared_dir.resolve()
        self._sites_dir = sites_dir.resolve()
        self._running: set[asyncio.Task[None]] = set()

    async def run(self, debounce_ms: int) -> None:
        roots = [path for path in (self._sites_dir, self._shared_dir) if path.is_dir()]
        # ``step``: how long the files must stay quiet before a batch of changes is handed over.
        # An editor's save is a burst of a few events within a millisecond or two.
        async for changes in awatch(*roots, watch_filter=SourceFilter(), debounce=debounce_ms, step=5):
            await self.apply(Path(path) for _, path in changes)

    async def apply(self, changed: Iterable[Path]) -> None:
        affected = affected_sites(
            list(changed),
            sites_dir=self._sites_dir,
            shared_dir=self._shared_dir,
            registry=self._sites.registry,
            inputs=self._builds.inputs(),
        )
        if affected.rescan:
            await self._sites.reload()
        known = self._builds.stats()
        for name in sorted(affected.sites):
            site = self._sites.registry.sites.get(name)
            # A site nobody asked for yet builds on its first request, as ever.
            if site is None or name not in known:
                continue
            self._builds.invalidate(name)
            task = asyncio.create_task(self._rebuild(name))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def _rebuild(self, name: str) -> None:
        site = self._sites.registry.sites.get(name)
        if site is None:
            return
        before = self._builds.current_build(name)
        started = time.perf_counter()
        try:
            after = await self._builds.current(site)
        except BuildFailed as failure:
            log.error("%s: build failed: %s", name, failure.error)
            self._hub.failed(name, failure.error)
            return
        milliseconds = (time.perf_counter() - started) * 1000
        changed = changed_paths(before.table if before else None, after.table)
        rendered = "an earlier build reused" if after.reused else f"{len(after.record.rendered)} pages re-rendered"
        log.info("%s: %s, %d files changed, %.0f ms", name, rendered, len(changed), milliseconds)
        self._hub.published(name, after.build_id, after.table, changed)

    async def close(self) -> None:
        for task in self._running:
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)
