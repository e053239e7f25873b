"""Files a Jinja site ships without rendering: ``assets/`` under content-hashed names (cacheable
forever; in development under their own names) and ``public/`` as it is; plus writing and
reusing files in a build folder."""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from builders.base import walk_files
from builders.errors import BuildError
from builders.jinja.deps import VIRTUAL_MARK
from builders.paths import Boundary

_HASH_LENGTH = 8


@dataclass(frozen=True)
class Asset:
    """``assets/css/app.css`` is served as ``/assets/css/app.<8 hex>.css``, or as
    ``/assets/css/app.css`` when not fingerprinted."""

    name: str
    source: str
    output: str

    @property
    def url(self) -> str:
        return "/" + self.output

    @property
    def url_token(self) -> str:
        """A dependency standing for the URL a page links (no file holds it): a page that links
        an unfingerprinted asset is not rendered again when only the asset's content changes."""
        return f"{self.source}{VIRTUAL_MARK}url@{self.url}"


def fingerprint_assets(assets_dir: Path, within: Boundary, *, hashed: bool = True) -> dict[str, Asset]:
    """Every file under ``assets/`` (links only into ``within``), keyed by its path relative to
    that folder. Without ``hashed`` (development) the names stay as they are: a stylesheet edit
    then changes the stylesheet alone, not every page linking it, and live reload swaps it in
    place."""
    assets: dict[str, Asset] = {}
    for path in walk_files(assets_dir, within):
        name = path.relative_to(assets_dir).as_posix()
        output = name
        if hashed:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()[:_HASH_LENGTH]
            relative = PurePosixPath(name)
            output = relative.with_name(f"{relative.stem}.{digest}{relative.suffix}").as_posix()
        assets[name] = Asset(name=name, source=str(path), output=f"assets/{output}")
    return assets


def public_files(public_dir: Path, within: Boundary) -> dict[str, str]:
    """Output path → absolute source path for everything under ``public/`` (links only into ``within``)."""
    return {path.relative_to(public_dir).as_posix(): str(path) for path in walk_files(public_dir, within)}


class AssetLookup:
    """The ``asset('app.css')`` template function; ``record`` learns the URL a page linked."""

    def __init__(self, assets: Mapping[str, Asset], record: Callable[[str], None]) -> None:
        self._assets = assets
        self._record = record

    def __call__(self, name: str) -> str:
        asset = self._assets.get(str(name).lstrip("/"))
        if asset is None:
            known = ", ".join(sorted(self._assets)) or "none"
            raise BuildError(f"asset({name!r}) is not in assets/ (known: {known})")
        self._record(asset.url_token)
        return asset.url


class OutputDir:
    """Writes files into a build folder, making each parent folder once."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._made: set[Path] = set()

    def write(self, relative: str, data: bytes) -> None:
        self._target(relative).write_bytes(data)

    def copy(self, relative: str, source: str) -> None:
        """A copy, never a link: a source edited in place must not change a published build."""
        try:
            shutil.copyfile(source, self._target(relative))
        except OSError as error:
            raise BuildError(f"cannot copy {source}: {error.strerror}") from None

    def link(self, relative: str, previous_dir: Path) -> bool:
        """Reuse a previous build's file (builds are immutable, so a hard link is safe)."""
        source = previous_dir / relative
        target = self._target(relative)
        try:
            os.link(source, target)
        except FileNotFoundError:
            return False
        except OSError:
            try:
                shutil.copyfile(source, target)
            except OSError:
                return False
        return True

    def _target(self, relative: str) -> Path:
        target = self.root / relative
        if target.parent not in self._made:
            target.parent.mkdir(parents=True, exist_ok=True)
            self._made.add(target.parent)
        return target
