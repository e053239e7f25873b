"""This gateway as one member of a cluster: each round of a site's build manager either serves
the build the site's pointer names (fetched from the build store when this host lacks it) or,
when the site must be built, builds it under the cluster-wide lease, uploads it and moves the
pointer. The store or the database out of reach makes the gateway a single host again, for
that round: it serves and builds what it can here, and says so in its health."""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
from dataclasses import dataclass
from functools import partial

from builders.errors import BuildError
from gateway.building.build import Build, Failure
from gateway.building.cluster_round import Adopt, BuildHere
from gateway.cluster.archive import ArchiveError
from gateway.cluster.coordination import ClusterDB, ClusterUnreachable, Pointer, holding_lease
from gateway.cluster.store import BuildStore, StoreError, StoreLocation
from gateway.config import ClusterSettings

log = logging.getLogger("sitegate.cluster")

# How often a host waiting for another's build looks at the pointer and the lease.
_WAIT_STEP_SECONDS = 0.2

@dataclass(frozen=True)
class PartHealth:
    """One of the two services a cluster member relies on, as it last found it."""

    reachable: bool
    error: str | None
    checked_at: float | None


class Reachability:
    """The last word on the store or the database: every call through a member reports here,
    so health, status and metrics tell the operator which one is out of reach, and since when."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._health = PartHealth(True, None, None)

    def ok(self) -> None:
        if not self._health.reachable:
            log.warning("the %s is reachable again", self._name)
        self._health = PartHealth(True, None, time.time())

    def failed(self, error: Exception) -> None:
        if self._health.reachable:
            log.error("the %s is out of reach: %s", self._name, error)
        self._health = PartHealth(False, str(error), time.time())

    @property
    def health(self) -> PartHealth:
        return self._health


def holder_name(host_id: str) -> str:
    """Unique per process and start: a restarted gateway never inherits its old self's lease."""
    return f"{host_id}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class ClusterMember:
    def __init__(self, settings: ClusterSettings, store: BuildStore, db: ClusterDB) -> None:
        self.settings = settings
        self.store = store
        self.db = db
        self.holder = holder_name(settings.host_id)
        self.store_health = Reachability("build store")
        self.db_health = Reachability("cluster database")

    @classmethod
    def from_settings(cls, settings: ClusterSettings) -> ClusterMember:
        location = StoreLocation.parse(
            settings.store_url,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=settings.s3_secret_access_key,
            session_token=settings.s3_session_token,
        )
        store = BuildStore(location, timeout_seconds=settings.timeout_seconds)
        return cls(settings, store, ClusterDB(settings.db_url, timeout_seconds=settings.timeout_seconds))

    async def close(self) -> None:
        await self.db.close()

    def describe(self, *, errors: bool = False) -> dict[str, object]:
        """Who this member is, and whether it reaches the two services; with ``errors`` the last
        error of each, which names the store's endpoint and bucket: only for the operator's
        status page, never for health, which anyone in front of nginx may ask."""
        parts = {"build_store": self.store_health.health, "database": self.db_health.health}
        described: dict[str, object] = {"holder": self.holder, "reachable": all(p.reachable for p in parts.values())}
        for name, part in parts.items():
            shown: dict[str, object] = {"reachable": part.reachable}
            if errors:
                shown.update(error=part.error, checked_at=part.checked_at)
            described[name] = shown
        return described

    async def settle(
        self, site: str, *, serving: Build | None, rebuild: bool, build_here: BuildHere, adopt: Adopt
    ) -> Build | Failure:
        """One round of ``site`` (``serving`` here now): the pointer's build, or (when there is
        none, or ``rebuild``) a build made here and published to the cluster."""
        try:
            pointer = await self.db.pointer(site)
        except ClusterUnreachable as error:
            self.db_health.failed(error)
            return await build_here()
        self.db_health.ok()
        if pointer is not None and not rebuild:
            return await self._adopt_or_build(site, pointer, serving, build_here, adopt)
        return await self._build_for_cluster(site, pointer, serving, build_here, adopt)

    async def _adopt_or_build(
        self, site: str, pointer: Pointer, serving: Build | None, build_here: BuildHere, adopt: Adopt
    ) -> Build | Failure:
        try:
            build = await adopt(pointer.build_id, partial(self.store.download, site, pointer.build_id))
        except (StoreError, ArchiveError, BuildError, OSError, ValueError) as error:
            if isinstance(error, StoreError):
                self.store_health.failed(error)
            if serving is not None:
                # What it has keeps serving (stale, said in health) until the fetch succeeds.
                log.warning("%s: build %s could not be fetched: %s", site, pointer.build_id, error)
                return Failure(None, BuildError(f"build {pointer.build_id} could not be fetched: {error}"))
            log.warning("%s: build %s could not be fetched (%s): building it here", site, pointer.build_id, error)
            # Builds are named by their inputs: with the same sites here, this is the same build.
            return await build_here()
        if build.fetched:
            self.store_health.ok()
            log.info("%s: fetched build %s (generation %d, by %s)", site, build.build_id, pointer.generation, pointer.host)
        return build

    async def _build_for_cluster(
        self, site: str, seen: Pointer | None, serving: Build | None, build_here: BuildHere, adopt: Adopt
    ) -> Build | Failure:
        """Take the site's lease, or wait for whoever holds it: when its pointer moves meanwhile,
        the build another host published is served instead of building it again."""
        lease_seconds = self.settings.lease_seconds
        try:
            while not await self.db.acquire_lease(site, self.holder, lease_seconds):
                await asyncio.sleep(_WAIT_STEP_SECONDS)
                pointer = await self.db.pointer(site)
                if pointer is not None and (seen is None or pointer.generation != seen.generation):
                    return await self._adopt_or_build(site, pointer, serving, build_here, adopt)
        except ClusterUnreachable as error:
            self.db_health.failed(error)
            return await build_here()
        async with holding_lease(self.db, site, self.holder, lease_seconds):
            try:
                pointer = await self.db.pointer(site)
            except ClusterUnreachable as error:
                self.db_health.failed(error)
                return await build_here()
            if pointer is not None and (seen is None or pointer.generation != seen.generation):
                # Published while this host waited for the lease.
                return await self._adopt_or_build(site, pointer, serving, build_here, adopt)
            outcome = await build_here()
            if isinstance(outcome, Failure) or (pointer is not None and pointer.build_id == outcome.build_id):
                return outcome
            if pointer is not None and pointer.held_from == outcome.build_id:
                # Rolled back from exactly these inputs: the cluster stays on the rollback.
                return await self._adopt_or_build(site, pointer, serving, build_here, adopt)
            try:
                await self.publish(site, outcome)
            except (StoreError, ArchiveError, OSError) as error:
                log.error("%s: build %s serves on this host only: %s", site, outcome.build_id, error)
            except ClusterUnreachable as error:
                log.error("%s: build %s is in the store, but the pointer did not move: %s", site, outcome.build_id, error)
            return outcome

    async def take_lease(self, site: str, within: float) -> bool:
        """Waits up to ``within`` seconds for the site's lease (while another host builds it);
        whether this member holds it now."""
        deadline = time.monotonic() + within
        while not await self.db.acquire_lease(site, self.holder, self.settings.lease_seconds):
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(_WAIT_STEP_SECONDS)
        return True

    async def publish(self, site: str, build: Build, *, held_from: str | None = None) -> Pointer:
        """Upload (a no-op when the store has the build), then move the pointer: no host is ever
        pointed at a build it cannot fetch. The caller holds the site's lease."""
        try:
            await asyncio.to_thread(self.store.upload, site, build.build_id, build.path, build.record.to_json())
        except StoreError as error:
            self.store_health.failed(error)
            raise
        self.store_health.ok()
        try:
            pointer = await self.db.move_pointer(site, build.build_id, self.settings.host_id, held_from=held_from)
        except ClusterUnreachable as error:
            self.db_health.failed(error)
            raise
        log.info("%s: published build %s to the cluster (generation %d)", site, build.build_id, pointer.generation)
        return pointer
