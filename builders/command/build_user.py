"""A command build as an unprivileged user, where the gateway runs as root.

A site's ``npm ci`` and ``npm run build`` run code from its ``package.json``. As root that code
could read the gateway's secrets (its environment under ``/proc``, the backend's database) and
change anything on the machine. So, given a ``BuildUser``, the build runs as that user in a
workspace of its own: a copy of the site's sources (``node_modules`` and the user's ``HOME``,
with npm's cache, stay between builds), writing its output there too. The gateway, as root,
copies the output into the build folder afterwards, so the build user never owns a file that
is served, nor the site's own folder. The shared React library is copied in beside the site
(``shared/``) for the same reason: the build user reads only what the workspace holds.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from builders.base import BuildContext, BuildUser

# What stays in a workspace between builds: installed dependencies and the user's own files.
KEPT = frozenset({"node_modules", ".home"})
SOURCES = "site"
OUTPUT = "out"
SHARED = "shared"


@dataclass(frozen=True)
class Workspace:
    root: Path
    user: BuildUser

    @property
    def site_dir(self) -> Path:
        return self.root / SOURCES

    @property
    def out_dir(self) -> Path:
        return self.root / OUTPUT

    @property
    def home(self) -> Path:
        return self.site_dir / ".home"

    @property
    def shared_dir(self) -> Path:
        return self.root / SHARED

    def prepare(self, site_dir: Path, shared_dir: Path, sources: Iterable[Path]) -> None:
        """The workspace holds exactly ``sources`` (files of ``site_dir``, and of ``shared_dir``
        for a site that imports the shared library), as the user's own."""
        self.site_dir.mkdir(parents=True, exist_ok=True)
        for entry in self.site_dir.iterdir():
            if entry.name not in KEPT:
                _remove(entry)
        shutil.rmtree(self.out_dir, ignore_errors=True)
        shutil.rmtree(self.shared_dir, ignore_errors=True)
        self.shared_dir.mkdir()
        for source in sources:
            if source.is_relative_to(site_dir):
                target = self.site_dir / source.relative_to(site_dir)
            else:
                target = self.shared_dir / source.relative_to(shared_dir)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            shutil.copymode(source, target)
        self.home.mkdir(exist_ok=True)
        self.out_dir.mkdir()
        os.chown(self.root, self.user.uid, self.user.gid)
        self._give(self.site_dir, skip_kept=True)
        self._give(self.shared_dir, skip_kept=False)
        os.chown(self.home, self.user.uid, self.user.gid)
        os.chown(self.out_dir, self.user.uid, self.user.gid)

    def context(self, ctx: BuildContext) -> BuildContext:
        """``ctx`` for the build in the workspace: its sources, shared library, output folder and home."""
        return replace(
            ctx,
            site_dir=self.site_dir,
            shared_dir=self.shared_dir,
            out_dir=self.out_dir,
            command_env={**ctx.command_env, "HOME": str(self.home)},
        )

    def _give(self, folder: Path, *, skip_kept: bool) -> None:
        os.chown(folder, self.user.uid, self.user.gid)
        for parent, folders, files in os.walk(folder):
            if skip_kept and Path(parent) == folder:
                folders[:] = [name for name in folders if name not in KEPT]
            for name in folders + files:
                os.chown(os.path.join(parent, name), self.user.uid, self.user.gid, follow_symlinks=False)


def copy_output(source: Path, target: Path, files: Iterable[str]) -> None:
    """The build's files, copied by the gateway into its build folder (and so the gateway's)."""
    for relative in files:
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / relative, destination)


def _remove(entry: Path) -> None:
    if entry.is_dir() and not entry.is_symlink():
        shutil.rmtree(entry)
    else:
        entry.unlink()
