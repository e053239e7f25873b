"""``@shared/components``, the shared React library, as a framework site's toolchain sees it.

The package lives in the shared components folder (``package.json``, ``styles.css`` and
``react/``), beside the Jinja library. A site does not list it in its ``package.json`` (its
lockfile would then hold a path of this machine); the builder links it into the site's
``node_modules`` after the install and before the build, as a workspace link would be
(``node_modules/@shared/components`` → the package). Bundlers follow the link to the real files,
outside the site, so a site's config dedupes ``react`` (Vite, Astro) or transpiles the package
(Next) to resolve React from the site's own ``node_modules``.

A site that imports the library has the package's files among its build inputs, so an edit of a
shared React component rebuilds it; the granularity is the site: any import of
``@shared/components`` makes every file of the package an input.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from builders.base import walk_paths
from builders.command.npm import Install, ensure_installed
from builders.paths import Boundary

PACKAGE_NAME = "@shared/components"
# The package's own entries at the top of the shared folder: no Jinja build reads them.
# (``styles.css`` is the package's stylesheet and the Jinja base layout's styles alike.)
JS_ONLY = frozenset({"package.json", "react", "README.md"})
_BUILD_FILES = ("package.json", "styles.css")
_SOURCES = "react"
# Files that may import a package; others (images, fonts, lockfiles) are not read for it.
_SCRIPT_SUFFIXES = frozenset({".js", ".jsx", ".ts", ".tsx", ".mjs", ".cjs", ".mts", ".cts", ".astro", ".mdx", ".vue", ".svelte"})
_LARGEST_SCRIPT = 1 << 20
_NEEDLE = PACKAGE_NAME.encode()


def js_only(path: str, shared_dir: Path) -> bool:
    """Whether ``path`` (absolute) is a file of the React package that no Jinja build reads."""
    prefix = str(shared_dir).rstrip(os.sep) + os.sep
    if not path.startswith(prefix):
        return False
    return path[len(prefix) :].split(os.sep, 1)[0] in JS_ONLY


def imports_library(sources: Iterable[Path]) -> bool:
    """Whether any of a site's script files names the package."""
    for path in sources:
        if path.suffix not in _SCRIPT_SUFFIXES:
            continue
        try:
            if path.stat().st_size <= _LARGEST_SCRIPT and _NEEDLE in path.read_bytes():
                return True
        except OSError:
            continue
    return False


def package_files(shared_dir: Path) -> list[Path]:
    """Every file of the package a build may read (its README is not one)."""
    within = Boundary.of(shared_dir)
    files = [shared_dir / name for name in _BUILD_FILES if (shared_dir / name).is_file()]
    return files + [Path(name) for name in walk_paths(str(shared_dir / _SOURCES), within)]


def link_library(site_dir: Path, shared_dir: Path) -> bool:
    """``node_modules/@shared/components`` → ``shared_dir``, replacing an older link in one rename.
    A real folder of that name (a package the site installed itself) is left alone: False."""
    link = site_dir / "node_modules" / PACKAGE_NAME
    target = str(shared_dir)
    if link.is_symlink() and os.readlink(link) == target:
        return True
    if link.exists() and not link.is_symlink():
        return False
    link.parent.mkdir(parents=True, exist_ok=True)
    staged = link.with_name(f".{link.name}.{os.getpid()}.link")
    staged.unlink(missing_ok=True)
    staged.symlink_to(target, target_is_directory=True)
    os.replace(staged, link)
    return True


def install_and_link(install: Install, shared_dir: Path, **options: Any) -> None:
    """A dev server's dependencies: ``npm.ensure_installed`` (same ``options``), then the library."""
    ensure_installed(install, **options)
    link_library(install.site_dir, shared_dir)
