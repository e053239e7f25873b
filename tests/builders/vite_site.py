"""Test helpers: the example Vite site, its npm dependencies installed once per test session.

Each test gets its own copy of the site's sources; ``node_modules`` is a link to the one install,
so only the first test pays for npm (and npm's own cache under HOME keeps that quick too).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from builders.command.npm import ensure_installed, install_for
from builders.command.process import OutputLog
from gateway.config import Settings

EXAMPLE_SITE = Path(__file__).resolve().parents[2] / "sites" / "vite.clientsite.com"
SITE_NAME = "vite.test"
_INSTALL_TIMEOUT = 300.0


@pytest.fixture(scope="session")
def vite_dependencies(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the example site's package files and their node_modules, installed by npm."""
    folder = tmp_path_factory.mktemp("vite-dependencies")
    for name in ("package.json", "package-lock.json"):
        shutil.copyfile(EXAMPLE_SITE / name, folder / name)
    install = install_for(folder, None)
    assert install is not None
    ensure_installed(install, env=dict(Settings().command_env), timeout=_INSTALL_TIMEOUT, output=OutputLog())
    return folder


@pytest.fixture
def vite_sites(tmp_path: Path, vite_dependencies: Path) -> Path:
    """A sites folder holding one Vite site, ``vite.test``: the example's sources, installed."""
    sites = tmp_path / "sites"
    site = sites / SITE_NAME
    shutil.copytree(EXAMPLE_SITE, site, ignore=shutil.ignore_patterns("node_modules", "dist"))
    (site / "node_modules").symlink_to(vite_dependencies / "node_modules", target_is_directory=True)
    return sites
