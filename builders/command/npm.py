"""A site's npm dependencies, installed only when its lockfile changed since the last install.

The last install's key sits in ``node_modules/.sitegate-lock-hash``: a digest of the lockfile
(``package.json`` when there is none) and of the site's own ``install`` command, if it has one.

Blocking: call it from a worker thread.
"""

from __future__ import annotations

import hashlib
import shlex
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from builders.base import BuildUser
from builders.command.process import Command, OutputLog, run
from builders.errors import BuildError

LOCKFILES = ("package-lock.json", "npm-shrinkwrap.json")
MANIFEST = "package.json"
STAMP_NAME = ".sitegate-lock-hash"
# Dev dependencies are what builds need (Vite is one), even when the site's env says production.
_NPM_FLAGS = ("--include=dev", "--no-audit", "--no-fund")


@dataclass(frozen=True)
class Install:
    """The install step of one site: ``argv`` run in ``site_dir``. ``custom`` is the site's own
    ``install`` command, part of the key so that changing it installs again."""

    site_dir: Path
    argv: tuple[str, ...]
    custom: str | None = None

    @property
    def stamp(self) -> Path:
        return self.site_dir / "node_modules" / STAMP_NAME


def install_for(site_dir: Path, option: object) -> Install | None:
    """The install step from the ``install`` option: a command, ``false`` for none, or absent
    for npm's own (``npm ci`` with a lockfile, else ``npm install``) when there is a package.json."""
    if option is False:
        return None
    if option is None or option is True:
        if not (site_dir / MANIFEST).is_file():
            return None
        verb = "ci" if any((site_dir / name).is_file() for name in LOCKFILES) else "install"
        return Install(site_dir, ("npm", verb, *_NPM_FLAGS))
    if isinstance(option, str) and option.strip():
        try:
            argv = tuple(shlex.split(option))
        except ValueError as error:
            raise BuildError(f"install: cannot read the command {option!r}: {error}", file="site.toml") from None
        return Install(site_dir, argv, custom=option)
    raise BuildError(f"install must be a command or false, not {option!r}", file="site.toml")


def dependency_key(install: Install) -> str:
    """Equal as long as an install could not give a different node_modules."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"command:{install.custom or 'npm'}\n".encode())
    sources = [name for name in LOCKFILES if (install.site_dir / name).is_file()] or [MANIFEST]
    for name in sources:
        path = install.site_dir / name
        digest.update(f"{name}:".encode())
        digest.update(path.read_bytes() if path.is_file() else b"")
    return digest.hexdigest()


def ensure_installed(
    install: Install,
    *,
    env: Mapping[str, str],
    timeout: float,
    output: OutputLog,
    stopping: threading.Event | None = None,
    user: BuildUser | None = None,
) -> bool:
    """Install unless the last install had the same key; True when it installed."""
    if _installed_key(install) == dependency_key(install):
        output.note("[sitegate] dependencies up to date (lockfile unchanged): install skipped")
        return False
    # Gone first, so an install cut short is never taken for a finished one.
    install.stamp.unlink(missing_ok=True)
    status = run(Command(install.argv, install.site_dir, env, timeout, user), output, stopping)
    if status != 0:
        command = shlex.join(install.argv)
        raise BuildError(
            f"installing dependencies failed: `{command}` exited with status {status}: {output.last_line()}",
            log=output.tail(),
        )
    install.stamp.parent.mkdir(exist_ok=True)
    # Keyed after the install: `npm install` may just have written the lockfile.
    install.stamp.write_text(dependency_key(install))
    return True


def _installed_key(install: Install) -> str | None:
    try:
        return install.stamp.read_text().strip()
    except OSError:
        return None
