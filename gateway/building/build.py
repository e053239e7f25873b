"""A build as the gateway holds it: a published one in service, or a failure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from builders.base import PreviousBuild
from builders.errors import BuildError
from gateway.building.build_dir import BuildRecord
from gateway.serving.files import FileTable
from gateway.serving.rules import SiteRules


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

    def as_previous(self) -> PreviousBuild:
        return PreviousBuild(
            out_dir=self.path,
            dependencies=self.record.dependencies,
            input_digests=self.record.input_digests,
        )


@dataclass(frozen=True)
class Failure:
    """A failed build, with its id when the inputs were read, so the same inputs are not built
    again just to fail again."""

    build_id: str | None
    error: BuildError
