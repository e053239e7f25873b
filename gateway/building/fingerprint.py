"""Build ids: a fingerprint of everything a build reads, equal for equal inputs anywhere."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Iterable, Iterator, Mapping
from importlib.metadata import PackageNotFoundError, version
from itertools import islice
from pathlib import Path
from typing import Any

from builders.base import plain

_CHUNK = 1 << 20


def sitegate_version() -> str:
    """Part of every build id: another sitegate may build other output from the same inputs."""
    try:
        return version("sitegate")
    except PackageNotFoundError:
        return "dev"


class DigestCache:
    """Content digests of files, kept with the stat they were read at, so an unchanged file is
    not read again. Shared by the build workers, hence the lock; an edit asks for every input
    of a site, so the lock is taken per batch, not per file."""

    def __init__(self, maxsize: int = 200_000) -> None:
        self._maxsize = maxsize
        self._known: dict[str, tuple[_StatKey, str]] = {}
        self._lock = threading.Lock()

    def digests(self, paths: Iterable[Path]) -> dict[str, str]:
        """Path (as a string) → content digest, for each of ``paths``; ``OSError`` when one
        cannot be read."""
        found: dict[str, str] = {}
        unknown: dict[str, _StatKey] = {}
        known = self._known
        for path in paths:
            name = str(path)
            info = os.stat(name)
            key = (info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)
            # A single dict read needs no lock; only writers take it.
            entry = known.get(name)
            if entry is not None and entry[0] == key:
                found[name] = entry[1]
            else:
                found[name] = ""  # filled in below, keeping the order of ``paths``
                unknown[name] = key
        if unknown:
            fresh = {name: _file_digest(name) for name in unknown}
            with self._lock:
                for name, digest in fresh.items():
                    known.pop(name, None)
                    known[name] = (unknown[name], digest)
                for name in list(islice(known, max(0, len(known) - self._maxsize))):
                    del known[name]
            found.update(fresh)
        return found


# (inode, size, mtime, ctime): a file whose stat still says this has not been written since.
_StatKey = tuple[int, int, int, int]


def _file_digest(path: str) -> str:
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def input_labels(paths: Iterable[str], site_dir: Path, shared_dir: Path) -> Iterator[tuple[str, str]]:
    """(path, machine-independent name) for each input, so the same inputs give the same id
    anywhere. Plain string prefixes: this runs for every input of every build."""
    roots = (("site:", f"{site_dir}/"), ("shared:", f"{shared_dir}/"))
    for path in paths:
        for prefix, root in roots:
            if path.startswith(root):
                yield path, prefix + path[len(root) :]
                break
        else:
            yield path, "abs:" + path


def fingerprint(
    *,
    builder: str,
    mode: str,
    options: Mapping[str, Any],
    env: Mapping[str, str],
    inputs: Mapping[str, str],
    data: Mapping[str, Any],
) -> str:
    """``inputs`` maps each input's label to its content digest; ``data`` is what the backend
    gave the build, so a new post makes a new build."""
    document = {
        "data": plain(data),
        "builder": builder,
        "mode": mode,
        "options": plain(options),
        "env": plain(env),
        "inputs": sorted(inputs.items()),
    }
    encoded = json.dumps(document, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.blake2b(encoded.encode(), digest_size=10).hexdigest()
