"""``sitegate rollback SITE [BUILD_ID]`` in a cluster: the site's pointer moves back to an
earlier build in the build store, and every gateway follows it within its poll. As on one
host, the rollback holds until the site's inputs change: a rebuild that fingerprints to the
build rolled back from leaves the pointer where it is (``Pointer.held_from``)."""

from __future__ import annotations

import asyncio
import sys

from gateway.cluster.coordination import ClusterUnreachable, Pointer
from gateway.cluster.member import ClusterMember
from gateway.cluster.store import StoreError
from builders import KNOWN_BUILDERS
from gateway.config import ClusterSettings, Settings
from gateway.ops.rollback import EXIT_USAGE, Rollback, RollbackError
from gateway.sites.registry import Registry

# A rollback moves one pointer: a build in progress elsewhere is waited for this long at most.
_LEASE_WAIT_SECONDS = 30.0


def earlier_build(pointer: Pointer) -> str:
    """The newest build the site served before, other than the one it serves and the one a
    rollback holds it back from."""
    for build_id in reversed(pointer.history):
        if build_id not in (pointer.build_id, pointer.held_from):
            return build_id
    raise RollbackError(f"{pointer.site}: the cluster has no earlier build than {pointer.build_id} to roll back to")


async def roll_back_cluster(settings: ClusterSettings, site_name: str, build_id: str | None) -> Rollback:
    member = ClusterMember.from_settings(settings)
    try:
        return await _roll_back(member, site_name, build_id)
    except ClusterUnreachable as error:
        raise RollbackError(f"the cluster database is out of reach: {error}") from None
    except StoreError as error:
        raise RollbackError(f"the build store is out of reach: {error}") from None
    finally:
        await member.close()


async def _roll_back(member: ClusterMember, site_name: str, build_id: str | None) -> Rollback:
    pointer = await member.db.pointer(site_name)
    if pointer is None:
        raise RollbackError(f"{site_name}: no build of it was ever published to the cluster")
    target = build_id or earlier_build(pointer)
    if not await asyncio.to_thread(member.store.has, site_name, target):
        raise RollbackError(f"{site_name}: the build store has no build {target}")
    # What the inputs fingerprint to: the build in service at the first of several rollbacks.
    held_from = pointer.held_from or pointer.build_id
    if not await member.take_lease(site_name, within=_LEASE_WAIT_SECONDS):
        raise RollbackError(f"{site_name}: another host has been building it for over {_LEASE_WAIT_SECONDS:.0f} s")
    try:
        await member.db.move_pointer(
            site_name, target, member.settings.host_id, held_from=None if held_from == target else held_from
        )
    finally:
        await member.db.release_lease(site_name, member.holder)
    return Rollback(site_name, pointer.build_id, target)


def run(settings: Settings, site_name: str, build_id: str | None) -> int:
    assert settings.cluster is not None
    try:
        if site_name not in Registry.scan(settings.sites_dir, KNOWN_BUILDERS).sites:
            raise RollbackError(f"no site named {site_name} in {settings.sites_dir}")
        done = asyncio.run(roll_back_cluster(settings.cluster, site_name, build_id))
    except RollbackError as error:
        print(f"sitegate rollback: {error}", file=sys.stderr)
        return EXIT_USAGE
    print(
        f"{done.site}: the cluster's pointer is at {done.to_id} (was {done.from_id}); "
        f"every gateway takes it at its next look (every {settings.cluster.poll_seconds:g} s)"
    )
    return 0
