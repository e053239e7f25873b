"""Following builds that other processes publish into the same build folder: the other
``--workers``, ``sitegate build`` and ``sitegate rollback`` move a site's ``current`` and touch
``<build dir>/.published``. Each worker watches that one file and then serves, for every site
it has in service, the build ``current`` points at, so a rebuild or rollback that reached one
worker reaches them all at once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from pathlib import Path

import watchfiles

from gateway.building.build import Build, load_build
from gateway.building.build_dir import PUBLISHED, SiteBuildDir
from gateway.building.manager import BuildManager

log = logging.getLogger("sitegate.builds")

# watchfiles' wait for more changes before it reports them: publishing writes the file once.
_STEP_MS = 10


async def follow_published(manager: BuildManager, build_root: Path) -> None:
    """Runs until cancelled."""
    await asyncio.to_thread(build_root.mkdir, parents=True, exist_ok=True)

    def is_marker(_change: watchfiles.Change, path: str) -> bool:
        return Path(path).name == PUBLISHED

    async for _ in watchfiles.awatch(build_root, watch_filter=is_marker, recursive=False, step=_STEP_MS):
        serving = manager.serving()
        published = await asyncio.to_thread(published_builds, build_root, serving)
        for name, build in published.items():
            log.info("%s: serving build %s, published by another process", name, build.build_id)
        manager.follow(published)


def published_builds(build_root: Path, serving: Mapping[str, Build]) -> dict[str, Build]:
    """For each site whose ``current`` on disk is another complete build than the one in
    service here, that build (blocking: reads links, describes the new builds' files)."""
    found = {}
    for name, build in serving.items():
        build_dir = SiteBuildDir(build_root / name)
        current_id = build_dir.current_id()
        if current_id is None or current_id == build.build_id:
            continue
        record = build_dir.find(current_id)
        if record is not None:
            found[name] = load_build(name, build_dir.output(current_id), record)
    return found
