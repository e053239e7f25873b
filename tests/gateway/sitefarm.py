"""Test helpers: a folder of sites and a gateway settings object pointing at it."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from pathlib import Path

from builders import builder_for
from builders.base import BuildContext, BuildResult
from builders.static import StaticBuilder
from gateway.config import Mode, Settings


def write_site(sites_dir: Path, name: str, files: dict[str, str], toml: str = 'builder = "static"\n') -> Path:
    root = sites_dir / name
    root.mkdir(parents=True, exist_ok=True)
    (root / "site.toml").write_text(toml)
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def settings_for(tmp_path: Path, mode: Mode = Mode.PRODUCTION, **overrides: object) -> Settings:
    # Builds as the test's own user: a build user needs a workspace it can reach, which
    # tests/builders/command/test_build_user.py sets up.
    defaults = Settings(sites_dir=tmp_path / "sites", build_dir=tmp_path / "builds", mode=mode, build_user=None)
    return replace(defaults, **overrides)


class CountingStaticBuilder(StaticBuilder):
    """The real static builder, made slow on purpose and counting its builds (a test double)."""

    def __init__(self, delays: dict[str, float] | None = None) -> None:
        self.delays = delays or {}
        self.builds: list[str] = []
        self._lock = threading.Lock()

    def build(self, ctx: BuildContext) -> BuildResult:
        with self._lock:
            self.builds.append(ctx.site_name)
        time.sleep(self.delays.get(ctx.site_name, 0.0))
        return super().build(ctx)


class ConcurrencyCountingBuilder(StaticBuilder):
    """The real static builder, slowed down, noting how many of its builds ran at once (a test double)."""

    def __init__(self) -> None:
        self.running = 0
        self.most_at_once = 0
        self._lock = threading.Lock()

    def build(self, ctx: BuildContext) -> BuildResult:
        with self._lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        try:
            time.sleep(0.3)
            return super().build(ctx)
        finally:
            with self._lock:
                self.running -= 1


class CrashingBuilder(StaticBuilder):
    """Writes half a site, then raises something no builder should (a test double)."""

    def build(self, ctx: BuildContext) -> BuildResult:
        (ctx.out_dir / "half.html").write_text("half")
        raise RuntimeError("disk on fire")


def lookup_with(**doubles: object):  # type: ignore[no-untyped-def]
    """A builder lookup where the named builders are replaced by the given doubles."""

    def lookup(name: str):  # type: ignore[no-untyped-def]
        return doubles.get(name) or builder_for(name)

    return lookup
