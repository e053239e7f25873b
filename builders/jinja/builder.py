"""The ``jinja`` builder: pages, layouts and components (site first, shared library second),
posts (Markdown files, and the posts of a ``[data]`` entry named by ``posts_from``) with their
listings and feeds, theme, fingerprinted assets and Tailwind.

Every output records the inputs it used, and an output whose inputs are unchanged since the
previous build is linked from it instead of rendered again (see ``builders.jinja.deps``). A builder
kept alive across builds also remembers, per site, what it parsed, planned and compiled
(``SiteMemory``), so an edit costs what changed rather than the size of the site.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import ClassVar

from builders.base import BuildContext, BuildResult, walk_paths
from builders.command.shared_library import js_only
from builders.deadline import Deadline
from builders.errors import BuildError, BuildStopped
from builders.jinja.build import SiteBuild
from builders.jinja.memory import SiteMemory
from builders.jinja.tailwind import tailwind_inputs
from builders.paths import Boundary
from builders.workers import ProcessWorkers

SOURCE_DIRS = ("pages", "layouts", "components", "content", "assets", "public", "data")
# Below this many pages to render, handing them to worker processes costs more than it saves.
PARALLEL_THRESHOLD = 150


class JinjaBuilder:
    name: ClassVar[str] = "jinja"

    def __init__(self, parallel_threshold: int = PARALLEL_THRESHOLD) -> None:
        self.parallel_threshold = parallel_threshold
        self._memories: dict[Path, SiteMemory] = {}
        self._memories_lock = threading.Lock()

    def input_files(self, ctx: BuildContext) -> list[Path]:
        site_dir, shared_dir = ctx.site_dir.absolute(), ctx.shared_dir.absolute()
        within = Boundary.of(site_dir, shared_dir)
        # site.toml the gateway has read already; the rest is read by the build or by Tailwind.
        files = [site_dir / "site.toml"] if (site_dir / "site.toml").is_file() else []
        files += [path for path in tailwind_inputs(site_dir) if within.holds(str(path))]
        names = [name for folder in SOURCE_DIRS for name in walk_paths(os.path.join(site_dir, folder), within)]
        # The shared React package lives beside the Jinja library; editing it rebuilds no Jinja site.
        names += [name for name in walk_paths(str(shared_dir), within) if not js_only(name, shared_dir)]
        memory = self._memory_for(site_dir)
        with memory.lock:
            known = memory.input_paths
            memory.input_paths = {name: known.get(name) or Path(name) for name in names}
            return files + list(memory.input_paths.values())

    def build(self, ctx: BuildContext) -> BuildResult:
        seconds = ctx.time_limit()
        site_dir = ctx.site_dir.absolute()
        memory = self._memory_for(site_dir)
        # A builder used on its own (not by a gateway) starts processes for this build alone.
        workers = ctx.workers or ProcessWorkers()
        deadline = Deadline(seconds, ctx.stopping)
        try:
            with memory.lock, deadline:
                return SiteBuild(ctx, self.parallel_threshold, memory, workers).run()
        except BuildError as error:
            if deadline.fired is None:
                raise
            # Cut off anywhere: what it remembered of the site may be half updated.
            with self._memories_lock:
                forgotten = self._memories.pop(site_dir, None)
            if forgotten is not None:
                forgotten.tailwind.close()
            if deadline.fired is BuildStopped:
                raise BuildStopped() from None
            raise BuildError(
                f"the build took longer than {seconds:g} s, its time limit (`timeout` in site.toml)",
                file=error.file,
                line=error.line,
            ) from None
        finally:
            if ctx.workers is None:
                workers.close()

    def _memory_for(self, site_dir: Path) -> SiteMemory:
        with self._memories_lock:
            return self._memories.setdefault(site_dir, SiteMemory())
