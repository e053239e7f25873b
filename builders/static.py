"""The ``static`` builder: a site's ``public/`` folder, served as it is."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import ClassVar

from builders.base import BuildContext, BuildResult, walk_files
from builders.errors import BuildError
from builders.paths import Boundary


class StaticBuilder:
    name: ClassVar[str] = "static"

    def input_files(self, ctx: BuildContext) -> list[Path]:
        return list(walk_files(self._source(ctx), Boundary.of(ctx.site_dir)))

    def build(self, ctx: BuildContext) -> BuildResult:
        source = self._source(ctx)
        if not source.is_dir():
            raise BuildError(f"a static site serves its public/ folder, and {ctx.site_name} has none")
        files: list[str] = []
        dependencies: dict[str, frozenset[str]] = {}
        for path in walk_files(source, Boundary.of(ctx.site_dir)):
            relative = path.relative_to(source).as_posix()
            target = ctx.out_dir / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            files.append(relative)
            dependencies[relative] = frozenset({str(path)})
        if not files:
            raise BuildError(f"{ctx.site_name}/public/ is empty: there is nothing to serve")
        return BuildResult(
            files=tuple(files),
            dependencies=dependencies,
            rendered=tuple(files),
            log=f"copied {len(files)} files from public/\n",
        )

    @staticmethod
    def _source(ctx: BuildContext) -> Path:
        return ctx.site_dir / "public"
