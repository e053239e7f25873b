"""Following the cluster: every few moments, one indexed query asks which pointers moved since
the last look, and each site this process serves whose pointer names another build is taken
to it (fetched from the build store when this host lacks it). The same loop checks the store
now and then, so health shows it out of reach before a request needs it, and keeps the local
build folder within its size limit."""

from __future__ import annotations

import asyncio
import logging
from functools import partial
from pathlib import Path

from gateway.building.manager import BuildManager
from gateway.cluster.cache import BuildSizes, evict
from gateway.cluster.coordination import ClusterUnreachable
from gateway.cluster.member import ClusterMember
from gateway.cluster.store import StoreError

log = logging.getLogger("sitegate.cluster")

# Real object stores bill by the request: a look at the store every tenth poll is plenty; the
# cache is weighed as often (a repeat weighing of 1,000 sites' builds takes about 0.2 s).
STORE_CHECK_POLLS = 10
CACHE_CHECK_POLLS = 10
_SEQ_OVERLAP = 64


async def follow_cluster(member: ClusterMember, manager: BuildManager, build_root: Path) -> None:
    """Runs until cancelled."""
    seq = polls = 0
    wanted: dict[str, str] = {}
    indexed = False
    sizes = BuildSizes()
    while True:
        indexed = indexed or await _ensure_indexes(member)
        seq = await _follow_pointers(member, manager, seq, wanted)
        if polls % STORE_CHECK_POLLS == 0:
            await _check_store(member)
        limit = member.settings.cache_max_bytes
        if limit is not None and polls % CACHE_CHECK_POLLS == 0:
            await _keep_cache(manager, build_root, limit, sizes)
        polls += 1
        await asyncio.sleep(member.settings.poll_seconds)


async def _follow_pointers(member: ClusterMember, manager: BuildManager, seq: int, wanted: dict[str, str]) -> int:
    """Takes each site this process serves to the build its pointer names; returns the sequence
    number of the newest move seen. ``wanted`` keeps the moves not yet taken (a fetch that
    failed): they are tried again at each poll, as often as the build manager's backoff allows."""
    try:
        # A move is numbered just before it is written, so a lower number can appear after a
        # higher one: asking again from a little below costs nothing (served builds are skipped).
        moved = await member.db.changed_since(max(seq - _SEQ_OVERLAP, 0))
    except ClusterUnreachable as error:
        member.db_health.failed(error)
        moved = []
    else:
        member.db_health.ok()
    for pointer in moved:
        seq = max(seq, pointer.seq)
        serving = manager.current_build(pointer.site)
        if serving is not None and serving.build_id != pointer.build_id and wanted.get(pointer.site) != pointer.build_id:
            log.info("%s: the cluster serves build %s now (by %s)", pointer.site, pointer.build_id, pointer.host)
        # In the order of the moves: a site's last move is the one wanted.
        wanted[pointer.site] = pointer.build_id
    for site, build_id in list(wanted.items()):
        serving = manager.current_build(site)
        if serving is None or serving.build_id == build_id:
            del wanted[site]
        else:
            manager.refresh(site)
    return seq


async def _ensure_indexes(member: ClusterMember) -> bool:
    try:
        await member.db.ensure_indexes()
    except ClusterUnreachable as error:
        member.db_health.failed(error)
        return False
    return True


async def _check_store(member: ClusterMember) -> None:
    try:
        await asyncio.to_thread(member.store.ping)
    except StoreError as error:
        member.store_health.failed(error)
    else:
        member.store_health.ok()


async def _keep_cache(manager: BuildManager, build_root: Path, limit: int, sizes: BuildSizes) -> None:
    in_service = frozenset((name, build.build_id) for name, build in manager.serving().items())
    try:
        report = await asyncio.to_thread(partial(evict, build_root, limit, in_service, sizes=sizes))
    except OSError as error:
        log.warning("the build cache could not be trimmed: %s", error)
        return
    if report.evicted:
        log.info("build cache: %d builds evicted, %d bytes now", len(report.evicted), report.total_bytes_after)
    if report.over_limit:
        log.warning("build cache: the builds in service alone take %d bytes, over the limit of %d", report.total_bytes_after, limit)
