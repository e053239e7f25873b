"""What an incremental build carries over from the one before it: which build folder each
reused output lives in, which folders a file table points into (so pruning spares them), and
the previous build on disk after a restart."""

from __future__ import annotations

from pathlib import Path

from builders.base import BuildResult, PreviousBuild
from gateway.building.build import Build
from gateway.building.build_dir import SiteBuildDir
from gateway.serving.files import FileTable


def origins_of(result: BuildResult, previous: Build) -> dict[str, str]:
    """For each output a build reused rather than wrote, the build folder its file lives in:
    the one the previous build has it from, or the previous build's own."""
    fresh = set(result.rendered)
    return {
        relative: previous.origins.get(relative, previous.build_id) for relative in result.files if relative not in fresh
    }


def builds_in(table: FileTable, site_root: Path) -> set[str]:
    """The build folders a table's entries point into (an incremental build's table points
    into the build it carried outputs over from, until it is rebased on its own folder)."""
    folders = {entry.path.parent for entry in table} | {v.path.parent for entry in table for v in entry.encodings}
    found = set()
    for folder in folders:
        try:
            found.add(folder.relative_to(site_root).parts[0])
        except (ValueError, IndexError):
            continue
    return found


def previous_on_disk(build_dir: SiteBuildDir) -> PreviousBuild | None:
    """After a restart, the build ``current`` points at still lets the next one be incremental."""
    current_id = build_dir.current_id()
    record = build_dir.find(current_id) if current_id else None
    if record is None:
        return None
    return PreviousBuild(build_dir.output(record.build_id), record.dependencies, record.input_digests)
