"""What every builder shares: the context it is given, what it returns, how it fails.

Builders turn a site's sources into a folder of files. They know nothing of HTTP and are
called off the event loop, so they may block freely.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from operator import attrgetter
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from builders.errors import BuildError
from builders.paths import Boundary

if TYPE_CHECKING:
    from builders.workers import ProcessWorkers

EMPTY: Mapping[str, Any] = MappingProxyType({})

# Folders that are never a build's input: tool caches, VCS data and build outputs.
IGNORED_DIRS = frozenset({".git", "node_modules", "__pycache__", ".sitegate", ".cache", ".astro", ".next"})


@dataclass(frozen=True)
class PreviousBuild:
    """The build in service when a new one starts, so a builder can reuse unchanged outputs."""

    out_dir: Path
    dependencies: Mapping[str, frozenset[str]]
    input_digests: Mapping[str, str]


@dataclass(frozen=True)
class BuildUser:
    """The unprivileged account a site's own commands run as, where the gateway runs as root."""

    name: str
    uid: int
    gid: int


@dataclass(frozen=True)
class BuildContext:
    """Everything a builder may know. ``input_digests`` maps the absolute path of each file
    ``input_files`` named to its content digest, as fingerprinted for this build."""

    site_name: str
    site_dir: Path
    shared_dir: Path
    out_dir: Path
    mode: str = "production"
    options: Mapping[str, Any] = field(default_factory=lambda: EMPTY)
    env: Mapping[str, str] = field(default_factory=lambda: EMPTY)
    backend_url: str = "http://127.0.0.1:8000"
    timeout: float = 600.0
    input_digests: Mapping[str, str] = field(default_factory=lambda: EMPTY)
    previous: PreviousBuild | None = None
    # What a site's own commands inherit from the gateway's environment (PATH, HOME).
    command_env: Mapping[str, str] = field(default_factory=lambda: EMPTY)
    # Set when the gateway stops: a long step (a build command) ends at once with a BuildError.
    stopping: threading.Event = field(default_factory=threading.Event)
    # ``[data]`` of site.toml, fetched from the backend by the gateway: name → JSON value.
    data: Mapping[str, Any] = field(default_factory=lambda: EMPTY)
    # True: an output reused unchanged from ``previous`` is not written, only listed in
    # ``BuildResult.files`` (and not in ``rendered``); the gateway carries it over. An edit then
    # costs what changed, not the size of the site.
    carry_over: bool = False
    # Worker processes a builder may render in, shared by the gateway's builds; without them a
    # builder that wants processes starts its own for the one build.
    workers: ProcessWorkers | None = None
    # Given both, a site's own commands run as ``build_user`` in a workspace under ``work_dir``.
    build_user: BuildUser | None = None
    work_dir: Path | None = None

    @property
    def dev(self) -> bool:
        return self.mode == "development"

    def time_limit(self) -> float:
        """Seconds a build may take: the site's ``timeout``, else the gateway's."""
        value = self.options.get("timeout", self.timeout)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise BuildError(f"timeout must be a number of seconds, not {value!r}", file="site.toml")
        return float(value)


@dataclass(frozen=True)
class BuildResult:
    """What a build produced and what it read.

    ``dependencies`` maps each output path (relative to the out dir, ``/`` separated) to the
    absolute paths of the inputs it used; it answers "which outputs does this file affect?".
    ``rendered`` names the outputs actually produced anew (the rest were reused: linked from the
    previous build, or left for the gateway to carry over when ``BuildContext.carry_over``).
    """

    files: tuple[str, ...]
    dependencies: Mapping[str, frozenset[str]] = field(default_factory=lambda: EMPTY)
    rendered: tuple[str, ...] = ()
    log: str = ""


class Builder(Protocol):
    name: ClassVar[str]

    def input_files(self, ctx: BuildContext) -> list[Path]:
        """Every file the build will read; the build id is a fingerprint of these."""
        ...

    def build(self, ctx: BuildContext) -> BuildResult:
        """Write the site into ``ctx.out_dir`` (which exists and is empty)."""
        ...


def plain(value: Any) -> Any:
    """Read-only options and data (mappings, tuples) as plain dicts and lists: for JSON, and to
    pickle for worker processes."""
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


def files_under(inputs: Collection[str], folders: Iterable[str], within: Boundary) -> list[str]:
    """The files under ``folders``: picked from a build's fingerprinted ``inputs`` when it has
    them (they name every source file, so no folder is walked a second time), else walked."""
    if inputs:
        prefixes = tuple(folder.rstrip(os.sep) + os.sep for folder in folders)
        return [name for name in inputs if name.startswith(prefixes)]
    return [name for folder in folders for name in walk_paths(folder, within)]


def walk_files(root: Path, within: Boundary, ignored_dirs: frozenset[str] = IGNORED_DIRS) -> Iterator[Path]:
    """Regular files under ``root`` in a stable order, skipping ignored folders and dotfiles.
    A link counts as the file it leads to when that is inside ``within``; one leading outside
    or to nothing is a ``BuildError``."""
    return map(Path, walk_paths(str(root), within, ignored_dirs))


def walk_paths(root: str, within: Boundary, ignored_dirs: frozenset[str] = IGNORED_DIRS) -> Iterator[str]:
    """``walk_files`` as plain path strings: a site's every build walks thousands of files, and
    path objects cost more than the walk itself. Each folder's files come before its subfolders;
    a link to a folder is not followed (but must lead inside ``within`` too)."""
    if os.path.lexists(root):
        # ``root`` itself may be a link (``public`` → elsewhere); below it, only links are resolved.
        within.resolve(root)
    return _walk(root, within, ignored_dirs)


def _walk(root: str, within: Boundary, ignored_dirs: frozenset[str]) -> Iterator[str]:
    try:
        with os.scandir(root) as listing:
            entries = sorted(listing, key=attrgetter("name"))
    except OSError:
        # Missing, not a folder or unreadable: nothing to build from, as os.walk would say.
        return
    folders: list[str] = []
    for entry in entries:
        name = entry.name
        if name.startswith("."):
            continue
        # The listing says what an entry is without a stat; only a link costs a resolve.
        if entry.is_dir(follow_symlinks=False):
            if name not in ignored_dirs:
                folders.append(entry.path)
        elif name.endswith(("~", ".swp")):
            continue
        elif entry.is_file(follow_symlinks=False):
            yield entry.path
        elif entry.is_symlink() and name not in ignored_dirs and within.linked_file(entry.path):
            yield entry.path
    for folder in folders:
        yield from _walk(folder, within, ignored_dirs)
