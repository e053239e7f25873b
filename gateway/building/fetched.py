"""A build another host of the cluster made, taken into this host's build folder: unpacked
into a staging folder, published like a build made here, and pointed at."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from builders.errors import BuildError
from gateway.building.build import Build, load_build
from gateway.building.build_dir import SiteBuildDir
from gateway.building.record import BuildRecord


def take_fetched(build_dir: SiteBuildDir, site_name: str, build_id: str, fetch: Callable[[Path], str]) -> Build:
    """The build ``build_id`` in service here: found on disk, or fetched by ``fetch`` (which
    fills an empty folder and returns the build's record). Blocking; the caller holds the
    site's locks. Whatever ``fetch`` raises (the store out of reach, a bad archive) passes up,
    with nothing left behind."""
    record = build_dir.find(build_id)
    fetched = record is None
    if record is None:
        staging = build_dir.staging()
        try:
            record = BuildRecord.from_json(fetch(staging))
            if record.build_id != build_id:
                raise BuildError(f"{site_name}: the build store's record of {build_id} names build {record.build_id}")
        except BaseException:
            build_dir.discard(staging)
            raise
        build_dir.publish(staging, record, f"{site_name}: fetched build {build_id} from the build store\n")
    build_dir.point_current(build_id)
    return replace(load_build(site_name, build_dir.output(build_id), record), reused=not fetched, fetched=fetched)
