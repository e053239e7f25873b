"""A build as the gateway holds it: a published one in service, or a failure."""

from __future__ import annotations

import errno
import logging
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from builders.base import PreviousBuild
from builders.errors import BuildError
from gateway.building.record import BuildRecord
from gateway.serving.files import FileTable
from gateway.serving.rules import SiteRules, load_rules

log = logging.getLogger("sitegate.builds")


@dataclass(frozen=True)
class Build:
    """A published build: its folder and the file table computed once for it. ``origins`` maps
    each output it carried over, until the tidy step links it in, to the build folder holding it."""

    site_name: str
    build_id: str
    path: Path
    table: FileTable
    rules: SiteRules
    record: BuildRecord
    reused: bool
    origins: Mapping[str, str] = field(default_factory=dict)
    # Made by another host of the cluster and taken from the build store.
    fetched: bool = False

    def as_previous(self) -> PreviousBuild:
        return PreviousBuild(
            out_dir=self.path,
            dependencies=self.record.dependencies,
            input_digests=self.record.input_digests,
        )


def load_build(site_name: str, path: Path, record: BuildRecord) -> Build:
    """A complete build found on disk (blocking: describes every file)."""
    return Build(site_name, record.build_id, path, FileTable.scan(path, None), load_rules(path), record, True)


@dataclass(frozen=True)
class Failure:
    """A failed build, with its id when the inputs were read, so the same inputs are not built
    again just to fail again."""

    build_id: str | None
    error: BuildError
    # The site's [data] was out of reach: tried again by itself, not only when asked.
    data_out_of_reach: bool = False


def crashed(site_name: str, error: Exception, build_id: str | None = None) -> BuildError:
    """What a builder's unexpected exception, or a full disk, fails the build with."""
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        build = f"build {build_id} of {site_name}" if build_id else f"a build of {site_name}"
        log.error("%s: no space left on device: %s", build, error)
        return BuildError(f"no space left on device for {build}: {error}")
    log.exception("builder crashed: %s", site_name)
    return BuildError(f"the builder crashed: {type(error).__name__}: {error}", log=traceback.format_exc())
