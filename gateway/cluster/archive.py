"""A build folder as one tar file and back again: what a build is in the build store.

Blocking: call from a worker thread.
"""

from __future__ import annotations

import os
import shutil
import stat
import tarfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import BinaryIO

# Plain tar, no compression. Measured on a 50 MB build (1,365 pages with their .gz/.br
# siblings, 400 images and fonts), best of 5 on tmpfs: tar 54.4 MB, packed in 1.07 s, unpacked
# in 2.10 s; tar.gz at level 1 40.4 MB, packed in 2.99 s, unpacked in 2.64 s. Most of the bytes
# are compressed already (siblings, images), so gzip saves 14 MB for 2.5 s more work: it pays
# only below 6 MB/s, and object storage in the gateways' region is far faster.
SUFFIX = ".tar"

MAX_MEMBERS = 200_000
MAX_TOTAL_BYTES = 20 * 1024**3
CHUNK_SIZE = 1024 * 1024
FILE_MODE = 0o644
FOLDER_MODE = 0o755
# Left by building.compress while a sibling is written; its finished file is what counts.
_PARTIAL_PREFIX, _PARTIAL_SUFFIX = ".", ".partial"

_END_SIZE = 2 * tarfile.BLOCKSIZE

_KINDS = {
    tarfile.SYMTYPE: "a symbolic link",
    tarfile.LNKTYPE: "a hard link",
    tarfile.CHRTYPE: "a device",
    tarfile.BLKTYPE: "a device",
    tarfile.FIFOTYPE: "a FIFO",
}


class ArchiveError(Exception):
    """A folder that cannot be packed, or an archive refused or unreadable; one line."""


def pack(build_path: Path, into: Path) -> int:
    """Write ``build_path``'s files and folders to the archive ``into``; its size in bytes."""
    try:
        with into.open("wb", buffering=CHUNK_SIZE) as sink, _writer(sink) as tar:
            for name, path, is_folder in _entries(build_path):
                if is_folder:
                    tar.addfile(_member(name, tarfile.DIRTYPE, FOLDER_MODE, path.lstat()))
                else:
                    _add_file(tar, name, path)
    except OSError as error:
        into.unlink(missing_ok=True)
        raise ArchiveError(f"cannot pack {build_path}: {error}") from error
    except ArchiveError:
        into.unlink(missing_ok=True)
        raise
    return into.stat().st_size


def _writer(sink: BinaryIO) -> tarfile.TarFile:
    return tarfile.open(fileobj=sink, mode="w", format=tarfile.PAX_FORMAT, copybufsize=CHUNK_SIZE)


def _entries(root: Path, relative: PurePosixPath = PurePosixPath()) -> Iterator[tuple[str, Path, bool]]:
    """(name in the archive, path, is a folder), each folder before what it holds, sorted."""
    with os.scandir(root / relative) as listing:
        entries = sorted(listing, key=lambda entry: entry.name)
    for entry in entries:
        name = relative / entry.name
        if entry.name.startswith(_PARTIAL_PREFIX) and entry.name.endswith(_PARTIAL_SUFFIX):
            continue
        if entry.is_dir(follow_symlinks=False):
            yield str(name), Path(entry.path), True
            yield from _entries(root, name)
        elif entry.is_file(follow_symlinks=False):
            yield str(name), Path(entry.path), False
        else:
            kind = "a symbolic link" if entry.is_symlink() else "neither a regular file nor a folder"
            raise ArchiveError(f"cannot pack {entry.path}: {kind} (a build holds only files and folders)")


def _add_file(tar: tarfile.TarFile, name: str, path: Path) -> None:
    # No following a link that took the file's place after the listing; the size is the open
    # file's, so a sibling renamed over it meanwhile is read whole, old or new.
    with open(os.open(path, os.O_RDONLY | os.O_NOFOLLOW), "rb", buffering=0) as source:
        info = os.fstat(source.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise ArchiveError(f"cannot pack {path}: not a regular file")
        tar.addfile(_member(name, tarfile.REGTYPE, FILE_MODE, info), source)


def _member(name: str, kind: bytes, mode: int, info: os.stat_result) -> tarfile.TarInfo:
    member = tarfile.TarInfo(name)
    member.type = kind
    member.mode = mode
    member.size = info.st_size if kind == tarfile.REGTYPE else 0
    # Whole seconds: a fractional mtime costs every member a pax header (1 KiB more each), and
    # Last-Modified has no finer grain. Owner stays 0/"": the same build packs the same anywhere.
    member.mtime = int(info.st_mtime)
    return member


def unpack(archive: Path, into: Path) -> None:
    """Extract ``archive`` into the empty folder ``into``: regular files (0644) and folders
    (0755) only, within the limits. On any refusal ``into`` is left empty again."""
    if any(into.iterdir()):
        raise ValueError(f"{into} is not empty")
    try:
        with tarfile.open(archive, "r:", copybufsize=CHUNK_SIZE) as tar:
            tar.extractall(into, filter=_Admission())
            _check_the_end(tar)
    except (ArchiveError, tarfile.TarError, OSError) as error:
        _empty(into)
        raise ArchiveError(f"cannot unpack {archive.name}: {error}") from error


class _Admission:
    """The filter of one extraction: what tarfile's ``data`` filter lets through that a build
    never holds (links, names with ``..`` or a leading ``/`` that it would rewrite), the limits,
    and the modes. Keeps the mtime: every gateway then sends the same Last-Modified."""

    def __init__(self) -> None:
        self.names: set[str] = set()
        self.total_bytes = 0

    def __call__(self, member: tarfile.TarInfo, destination: str) -> tarfile.TarInfo:
        name = _checked_name(member.name)
        if not (member.isreg() or member.isdir()):
            kind = _KINDS.get(member.type, f"an entry of type {member.type!r}")
            raise ArchiveError(f"refused {name!r}: {kind}, not a regular file or folder")
        if name in self.names:
            raise ArchiveError(f"refused {name!r}: a second entry of that name")
        self.names.add(name)
        if len(self.names) > MAX_MEMBERS:
            raise ArchiveError(f"refused: more than {MAX_MEMBERS} entries")
        self.total_bytes += member.size
        if self.total_bytes > MAX_TOTAL_BYTES:
            raise ArchiveError(f"refused: more than {MAX_TOTAL_BYTES} bytes of files")
        mode = FOLDER_MODE if member.isdir() else FILE_MODE
        return tarfile.data_filter(member, destination).replace(mode=mode, deep=False)


def _checked_name(name: str) -> str:
    if name.startswith("/"):
        raise ArchiveError(f"refused {name!r}: an absolute name")
    if any(part in ("", ".", "..") for part in name.split("/")):
        raise ArchiveError(f"refused {name!r}: an empty, '.' or '..' part")
    return name


def _check_the_end(tar: tarfile.TarFile) -> None:
    # tarfile takes a header it cannot read, or the file ending, for the end of the archive;
    # a whole one has two zero blocks where its last member ends.
    assert tar.fileobj is not None
    tar.fileobj.seek(tar.offset)
    if tar.fileobj.read(_END_SIZE) != bytes(_END_SIZE):
        raise ArchiveError("refused: truncated or corrupt (no end-of-archive after the last entry)")


def _empty(folder: Path) -> None:
    for child in folder.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
