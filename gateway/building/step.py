"""One build of one site, in a worker thread: fingerprint the inputs, reuse the build with that
id or make it in a staging folder, publish it, describe its files; then, once it is in
service, finish it (carry unchanged files over, precompress) and remove old builds."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from builders.base import BuildContext, Builder
from builders.errors import BuildError
from builders.workers import ProcessWorkers
from gateway.building.build import Build, Failure, crashed, load_build
from gateway.building.build_dir import SiteBuildDir
from gateway.building.carry import builds_in, origins_of, previous_on_disk
from gateway.building.fetched import take_fetched
from gateway.building.record import BuildRecord
from gateway.building.compress import precompress
from gateway.building.fingerprint import DigestCache, fingerprint, input_labels
from gateway.building.pin import held_back_to
from gateway.config import Settings
from gateway.serving.files import FileTable
from gateway.serving.rules import load_rules
from gateway.sites.registry import Site

log = logging.getLogger("sitegate.builds")


class BuildStep:
    """Holds what outlives one build: content digests, one builder per site (a builder may keep
    caches between builds), one disk lock per site, and the worker processes builders share.
    Every method blocks: call from workers."""

    def __init__(
        self,
        settings: Settings,
        builder_for: Callable[[str], Builder],
        builder_version: str,
        stopping: threading.Event,
    ) -> None:
        self.settings = settings
        self._builder_for = builder_for
        self._digests = DigestCache()
        self._builder_version = builder_version
        self._stopping = stopping
        self._builders: dict[tuple[str, str], Builder] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self._workers = ProcessWorkers()

    def close(self) -> None:
        self._workers.close()

    def forget(self, site_name: str) -> None:
        with self._guard:
            self._builders = {key: value for key, value in self._builders.items() if key[0] != site_name}

    def run(
        self, site: Site, current: Build | None, known_failure: Failure | None, data: Mapping[str, Any]
    ) -> Build | Failure:
        build_dir = SiteBuildDir(self.settings.build_dir / site.name)
        try:
            with self._lock(site.name), build_dir.locked(self._stopping):
                return self._run(site, build_dir, current, known_failure, data)
        except OSError as error:
            # The build folder cannot be written (full, read-only): a failed build to retry.
            return Failure(None, crashed(site.name, error))

    def _run(
        self,
        site: Site,
        build_dir: SiteBuildDir,
        current: Build | None,
        known_failure: Failure | None,
        data: Mapping[str, Any],
    ) -> Build | Failure:
        started = time.perf_counter()
        try:
            builder = self._builder(site)
            context = self._context(site, build_dir, data)
            digests = self._digests.digests(builder.input_files(context))
        except BuildError as error:
            return Failure(None, error)
        except Exception as error:
            return Failure(None, crashed(site.name, error))
        build_id = fingerprint(
            builder=f"{site.builder}@{self._builder_version}",
            mode=context.mode,
            options=site.options,
            env=site.env,
            inputs={label: digests[path] for path, label in input_labels(digests, site.root, context.shared_dir)},
            data=data,
        )
        # ``sitegate rollback`` holds the site on an earlier build while its inputs are unchanged.
        if (pinned := held_back_to(build_dir, build_id)) is not None:
            in_service = current is not None and current.build_id == pinned.build_id
            return current if in_service and current is not None else load_build(site.name, build_dir.output(pinned.build_id), pinned)
        if current is not None and current.build_id == build_id:
            return current
        if build_dir.is_incomplete(build_id):
            try:
                build_dir.complete(build_id)
            except OSError:
                # Nothing in service points into it (or its origins would still be there).
                build_dir.drop(build_id)
        record = build_dir.find(build_id)
        reused = record is not None
        origins: Mapping[str, str] = {}
        if record is None:
            if known_failure is not None and known_failure.build_id == build_id:
                return known_failure
            previous = current.as_previous() if current else previous_on_disk(build_dir)
            # Carrying over needs the previous file table, which only a build in memory has.
            context = replace(context, input_digests=digests, previous=previous, carry_over=current is not None)
            try:
                record, origins = self._build_fresh(build_dir, builder, context, build_id, started, current)
            except BuildError as error:
                return Failure(build_id, error)
        output = build_dir.output(build_id)
        if not self.settings.dev and build_dir.is_incomplete(build_id):
            # In production, nginx may serve ``current`` itself (``nginx-config --direct``): the
            # build is completed before it goes into service, and ``current`` moves with it.
            # Development keeps an edit's reload free of that work; nginx is not in front there.
            build_dir.complete(build_id)
            build_dir.write_record(record)
        if build_dir.is_incomplete(build_id):
            assert current is not None
            table = FileTable.compose(output, current.table, origins)
        else:
            origins = {}
            # The previous table is only a shortcut for files that are hard links of its files.
            table = FileTable.scan(output, current.table if current else None)
            build_dir.point_current(build_id)
        rules = load_rules(output)
        for problem in rules.problems:
            log.warning("%s: %s", site.name, problem)
        return Build(site.name, build_id, output, table, rules, record, reused, origins)

    def adopt(self, site: Site, current: Build | None, build_id: str, fetch: Callable[[Path], str]) -> Build:
        """The cluster's build ``build_id`` in service here (``building.fetched``)."""
        if current is not None and current.build_id == build_id:
            return current
        build_dir = SiteBuildDir(self.settings.build_dir / site.name)
        with self._lock(site.name), build_dir.locked(self._stopping):
            return take_fetched(build_dir, site.name, build_id, fetch)

    def last_good(self, site: Site) -> Build | None:
        """The complete build ``current`` points at on disk, to serve after a restart while the
        site is built anew (or cannot be). Called before the site has a build in memory, so
        what a killed process left (staging folders, unfinished builds) is taken out here."""
        build_dir = SiteBuildDir(self.settings.build_dir / site.name)
        with self._lock(site.name):
            build_id = build_dir.current_id()
            build_dir.prune(self.settings.keep_builds, protect={build_id} if build_id else set())
            record = build_dir.find(build_id) if build_id else None
            return load_build(site.name, build_dir.output(record.build_id), record) if record else None

    def empty_trash(self, site_name: str) -> None:
        SiteBuildDir(self.settings.build_dir / site_name).empty_trash()

    def tidy(self, build: Build, current: Callable[[], Build | None]) -> Build:
        """After ``build`` went into service: carry its unchanged outputs over into its own
        folder (while it is still the one in service), point ``current`` at it, and remove old
        builds nothing uses. Returns the build with a table describing its own folder."""
        build_dir = SiteBuildDir(self.settings.build_dir / build.site_name)
        if _is(current(), build):
            # Outside the lock: this only adds files to a published folder (links from folders
            # ``build``'s table uses, which no prune removes meanwhile, and compressed siblings).
            try:
                build = self._finish(build_dir, build)
            except OSError as error:
                # Only a build already out of service can lose its folder meanwhile.
                log.debug("%s: build %s not finished: %s", build.site_name, build.build_id, error)
        with self._lock(build.site_name):
            serving = current() or build
            site_root = build_dir.root.resolve()
            in_use = builds_in(serving.table, site_root) | builds_in(build.table, site_root)
            if not build_dir.is_incomplete(serving.build_id):
                build_dir.point_current(serving.build_id)
            build_dir.prune(self.settings.keep_builds, protect=in_use | {serving.build_id, build.build_id})
        build_dir.empty_trash()
        return build

    def _finish(self, build_dir: SiteBuildDir, build: Build) -> Build:
        """Carry the unchanged files over and, in production, precompress: off the request
        path, so a first request or an edit does not wait for either."""
        carried = build_dir.is_incomplete(build.build_id)
        if carried:
            build_dir.complete(build.build_id)
        if not build_dir.has_record(build.build_id):
            build_dir.write_record(build.record)
        # Development serves one person on this machine: compression would only slow reloads.
        if not self.settings.dev and precompress(build.path):
            # New siblings to describe: a scan, which reuses every unchanged entry.
            return replace(build, table=FileTable.scan(build.path, build.table), origins={})
        if carried:
            return replace(build, table=build.table.moved_to(build.path), origins={})
        return build

    def _builder(self, site: Site) -> Builder:
        key = (site.name, site.builder)
        with self._guard:
            if key not in self._builders:
                self._builders[key] = self._builder_for(site.builder)
            return self._builders[key]

    def _lock(self, site_name: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(site_name, threading.Lock())

    def _context(self, site: Site, build_dir: SiteBuildDir, data: Mapping[str, Any]) -> BuildContext:
        return BuildContext(
            site_name=site.name,
            site_dir=site.root,
            shared_dir=self.settings.shared_dir,
            out_dir=build_dir.root,
            mode=self.settings.mode.value,
            options=site.options,
            env=site.env,
            backend_url=site.backend_url or self.settings.backend_url,
            timeout=self.settings.build_timeout,
            command_env=dict(self.settings.command_env),
            stopping=self._stopping,
            data=data,
            workers=self._workers,
            build_user=self.settings.build_user,
            work_dir=build_dir.workspace,
        )

    def _build_fresh(
        self,
        build_dir: SiteBuildDir,
        builder: Builder,
        context: BuildContext,
        build_id: str,
        started: float,
        current: Build | None,
    ) -> tuple[BuildRecord, dict[str, str]]:
        """The new build's record, and the origins of the outputs it carried over."""
        staging = build_dir.staging()
        context = replace(context, out_dir=staging)
        try:
            result = builder.build(context)
        except BuildError as error:
            build_dir.discard(staging)
            build_dir.write_log(build_id, error.log or str(error))
            raise
        except Exception as error:
            # Removed first: on a full disk, the half build is what makes room for its log.
            build_dir.discard(staging)
            crash = crashed(context.site_name, error, build_id)
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
        carried = origins_of(result, current) if context.carry_over and current is not None else {}
        summary = (
            f"{context.site_name}: built {build_id} in {seconds * 1000:.0f} ms, "
            f"{len(result.files)} files, {len(result.rendered)} rendered\n"
        )
        # An incremental build's record waits for the tidy step: writing it is a good part of
        # what an edit costs, and until the build is complete nothing may find it anyway.
        build_dir.publish(staging, record, result.log + summary, carried, with_record=not carried)
        return record, carried


def _is(serving: Build | None, build: Build) -> bool:
    return serving is not None and serving.build_id == build.build_id
