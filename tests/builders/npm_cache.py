"""Test helpers: a framework site's npm dependencies, installed once per lockfile and shared.

Sites with the same lockfile share one install: the example Astro and Next sites keep their
template's lockfile byte for byte (its package name included), as the builder's own install
stamp (``.sitegate-lock-hash``) is the lockfile's digest and would install again otherwise.
Installs are kept between test sessions (in ``~/.cache/sitegate-tests/npm``), so a test of a real
Astro or Next build pays for npm once per lockfile change, not per run; a lock file keeps two
sessions from installing into one folder at once.
"""

from __future__ import annotations

import fcntl
import hashlib
import shutil
from pathlib import Path

from builders.command.npm import dependency_key as npm_key
from builders.command.npm import ensure_installed, install_for
from builders.command.process import OutputLog
from gateway.config import Settings

CACHE = Path.home() / ".cache" / "sitegate-tests" / "npm"
_INSTALL_TIMEOUT = 600.0


def dependency_key(site: Path) -> str:
    return hashlib.blake2b((site / "package-lock.json").read_bytes(), digest_size=12).hexdigest()


def installed(site: Path) -> Path:
    """The ``node_modules`` of ``site``'s dependencies, installed by ``npm ci`` the first time."""
    folder = CACHE / dependency_key(site)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for name in ("package.json", "package-lock.json"):
            shutil.copyfile(site / name, folder / name)
        install = install_for(folder, None)
        assert install is not None
        ensure_installed(install, env=dict(Settings().command_env), timeout=_INSTALL_TIMEOUT, output=OutputLog())
    return folder / "node_modules"


def link_dependencies(site: Path) -> None:
    """``site/node_modules`` → the shared install of its dependencies."""
    (site / "node_modules").symlink_to(installed(site), target_is_directory=True)


def copy_dependencies(site: Path) -> None:
    """``site/node_modules``: a copy of the shared install, stamped as ``site``'s own install, so
    a build takes it as up to date (a link would be replaced by the build's own ``npm ci``, the
    lockfile naming each site)."""
    source = installed(site)
    with open(source.parent.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        shutil.copytree(source, site / "node_modules", symlinks=True)
    install = install_for(site, None)
    assert install is not None
    install.stamp.write_text(npm_key(install))
