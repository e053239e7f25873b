"""The local build folder as a cache of the build store, kept under a size limit
(SITEGATE_CACHE_MAX_BYTES): the builds served least recently go first, never one in service.

A build's weight is what its regular files hold, each inode once across the whole build folder
(carried-over files are hard links of an earlier build's), plus its record and log. When a
build was last served is the mtime of its record. Blocking: call from a worker thread.
"""

from __future__ import annotations

import os
import threading
import time
from array import array
from collections import Counter
from collections.abc import Set
from dataclasses import dataclass
from pathlib import Path

from gateway.building.build_dir import SiteBuildDir

# A folder changed this recently may change again within its mtime's granularity unseen: its
# weight is not remembered (git's "racy" rule).
_SETTLED_NS = 2_000_000_000


@dataclass(frozen=True)
class EvictionReport:
    total_bytes_before: int
    total_bytes_after: int
    evicted: tuple[tuple[str, str], ...]  # (site, build id), least recently served first
    over_limit: bool  # still over: what may not be evicted (builds in service) weighs more


@dataclass(frozen=True)
class _Weight:
    """The files of one build folder, by inode, and the folders that held them: a new file
    (a precompressed sibling) changes the mtime of the folder it lands in."""

    folders: tuple[tuple[str, int, int], ...]  # path, inode, mtime_ns
    device: int
    inodes: array[int]
    sizes: array[int]
    # False when a folder changed too recently for its mtime to show the next change.
    settled: bool

    def unchanged(self) -> bool:
        try:
            return all(_identity(os.stat(path)) == (inode, mtime) for path, inode, mtime in self.folders)
        except FileNotFoundError:
            return False


class BuildSizes:
    """What the complete builds weigh together, each inode once, kept up to date between calls
    of ``evict`` (one call at a time): a build is weighed again only when one of its folders
    changed (a complete build only ever gains siblings), so a call on a thousand unchanged
    sites costs a few stats per build."""

    def __init__(self) -> None:
        self._weights: dict[str, _Weight] = {}
        self._sizes: dict[int, dict[int, int]] = {}  # device → inode → size
        self._holders: dict[int, Counter[int]] = {}  # device → inode → paths of it in builds
        self.total = 0

    def weigh(self, folder: str) -> None:
        known = self._weights.get(folder)
        if known is not None and known.settled and known.unchanged():
            return
        weight = _weigh(folder)
        if known is not None:
            self._subtract(known)
        self._weights[folder] = weight
        sizes = self._sizes.setdefault(weight.device, {})
        for inode, size in zip(weight.inodes, weight.sizes):
            if inode not in sizes:
                sizes[inode] = size
                self.total += size
        self._holders.setdefault(weight.device, Counter()).update(weight.inodes)

    def keep_only(self, folders: Set[str]) -> None:
        """Forget the builds gone since (pruned, evicted, left unfinished)."""
        for folder in [folder for folder in self._weights if folder not in folders]:
            self.forget(folder)

    def forget(self, folder: str) -> None:
        self._subtract(self._weights.pop(folder))

    def _subtract(self, weight: _Weight) -> None:
        sizes, holders = self._sizes[weight.device], self._holders[weight.device]
        # An inode twice in one build (a hard link within it) goes with its last path.
        for inode in weight.inodes:
            holders[inode] -= 1
            if holders[inode] == 0:
                self.total -= sizes.pop(inode)
                del holders[inode]


@dataclass(frozen=True)
class _Build:
    site: str
    build_id: str
    folder: str
    served_ns: int  # the record's mtime
    beside: int  # bytes of the record and the log


def evict(
    build_root: Path,
    max_bytes: int,
    protect: Set[tuple[str, str]] = frozenset(),
    *,
    sizes: BuildSizes | None = None,
) -> EvictionReport:
    """Remove the least recently served builds until the complete builds under ``build_root``
    weigh at most ``max_bytes``. Never a site's ``current`` build, one in ``protect`` (site,
    build id: builds in service in memory), nor any build of a site being built now. Pass the
    same ``sizes`` to every call to weigh only what changed since the last."""
    sizes = sizes if sizes is not None else BuildSizes()
    builds: list[_Build] = []
    candidates: list[_Build] = []
    for site in _sites(build_root):
        found, evictable = _survey(site, protect, sizes)
        builds += found
        candidates += evictable
    sizes.keep_only({build.folder for build in builds})
    beside = sum(build.beside for build in builds)
    before = sizes.total + beside
    evicted: list[_Build] = []
    for build in sorted(candidates, key=lambda build: build.served_ns):
        if sizes.total + beside <= max_bytes:
            break
        if _take_out(SiteBuildDir(build_root / build.site), build.build_id):
            sizes.forget(build.folder)
            beside -= build.beside
            evicted.append(build)
    for site in sorted({build.site for build in evicted}):
        SiteBuildDir(build_root / site).empty_trash()
    return EvictionReport(
        total_bytes_before=before,
        total_bytes_after=sizes.total + beside,
        evicted=tuple((build.site, build.build_id) for build in evicted),
        over_limit=sizes.total + beside > max_bytes,
    )


def _sites(build_root: Path) -> list[Path]:
    try:
        with os.scandir(build_root) as entries:
            return [Path(entry.path) for entry in entries if _is_folder(entry) and not entry.name.startswith(".")]
    except FileNotFoundError:
        return []


def _survey(site: Path, protect: Set[tuple[str, str]], sizes: BuildSizes) -> tuple[list[_Build], list[_Build]]:
    """A site's complete builds, and those of them that are neither in service nor protected."""
    try:
        with os.scandir(site) as listing:
            entries = {entry.name: entry for entry in listing}
    except FileNotFoundError:
        return [], []
    builds = []
    for name, entry in entries.items():
        record = entries.get(f"{name}.json")
        if name.startswith(".") or record is None or f"{name}.carry" in entries or not _is_folder(entry):
            continue
        try:
            served = record.stat()
            log = entries[f"{name}.log"].stat().st_size if f"{name}.log" in entries else 0
            sizes.weigh(entry.path)
        except FileNotFoundError:
            continue  # pruned meanwhile
        builds.append(_Build(site.name, name, entry.path, served.st_mtime_ns, served.st_size + log))
    current = SiteBuildDir(site).current_id()
    return builds, [b for b in builds if b.build_id != current and (b.site, b.build_id) not in protect]


def _take_out(build_dir: SiteBuildDir, build_id: str) -> bool:
    """Rename the build into the trash under the site's lock, unless a build of the site runs
    or the build is in service, checked under the lock: no build starts meanwhile."""
    dont_wait = threading.Event()
    dont_wait.set()  # ``locked`` gives up at its first wait: a try-lock
    try:
        with build_dir.locked(dont_wait):
            if build_dir.current_id() == build_id or not build_dir.has_record(build_id) or _in_progress(build_dir):
                return False
            build_dir.trash(build_dir.output(build_id))
            build_dir.drop(build_id)  # the record and the log; the folder is in the trash already
    except InterruptedError:
        return False  # a build of the site holds the lock
    except FileNotFoundError:
        return False  # pruned meanwhile: the next call counts without it
    return True


def _in_progress(build_dir: SiteBuildDir) -> bool:
    """A build being made, or one not yet complete: either may carry files over from (or, while
    incomplete, serve from) any earlier build of the site, so none of them goes."""
    return build_dir.building() or any(build_dir.root.glob("*.carry"))


def _weigh(folder: str) -> _Weight:
    started = time.time_ns()
    folders: list[tuple[str, int, int]] = []
    inodes: array[int] = array("Q")
    sizes: array[int] = array("Q")
    pending = [folder]
    device = os.stat(folder).st_dev
    while pending:
        path = pending.pop()
        try:
            # Before listing: a file added meanwhile leaves a newer mtime than the one kept.
            identity = _identity(os.stat(path))
            with os.scandir(path) as entries:
                for entry in entries:
                    if _is_folder(entry):
                        pending.append(entry.path)
                    elif entry.is_file(follow_symlinks=False):
                        inodes.append(entry.inode())
                        sizes.append(entry.stat(follow_symlinks=False).st_size)
        except FileNotFoundError:
            continue
        folders.append((path, *identity))
    settled = all(mtime < started - _SETTLED_NS for _, _, mtime in folders)
    return _Weight(tuple(folders), device, inodes, sizes, settled)


def _identity(status: os.stat_result) -> tuple[int, int]:
    return status.st_ino, status.st_mtime_ns


def _is_folder(entry: os.DirEntry[str]) -> bool:
    return entry.is_dir(follow_symlinks=False)
