"""Build ids: a fingerprint of everything a build reads, equal for equal inputs anywhere."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from cachetools import LRUCache

from builders.base import plain

_CHUNK = 1 << 20


class DigestCache:
    """Content digests keyed by the file's identity and stat, so an unchanged file is not read
    again. Shared by the build workers, hence the lock."""

    def __init__(self, maxsize: int = 200_000) -> None:
        self._cache: LRUCache[tuple[str, int, int, int, int], str] = LRUCache(maxsize=maxsize)
        self._lock = threading.Lock()

    def digest(self, path: Path) -> str:
        stat = os.stat(path)
        key = (str(path), stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)
        with self._lock:
            known = self._cache.get(key)
        if known is not None:
            return known
        digest = hashlib.blake2b(digest_size=16)
        with open(path, "rb") as file:
            while chunk := file.read(_CHUNK):
                digest.update(chunk)
        value = digest.hexdigest()
        with self._lock:
            self._cache[key] = value
        return value


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
