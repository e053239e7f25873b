"""Precompression of a build: ``.gz`` and ``.br`` siblings written next to text-like files.

Compressing once per build, right after it went into service, lets the gateway (and nginx with ``gzip_static``/``brotli_static``)
send the best encoding with no work per request. Output is byte-for-byte reproducible so equal
inputs still give equal builds.
"""

from __future__ import annotations

import gzip
import os
import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import BinaryIO

import brotli

from gateway.serving.files import has_content_hash

# Formats that are already compressed (images, video, fonts in woff/woff2, archives) are left out:
# compressing them again costs time and saves nothing.
COMPRESSIBLE_SUFFIXES = frozenset(
    {
        ".html", ".htm", ".xhtml", ".css", ".js", ".mjs", ".cjs", ".json", ".jsonld", ".map",
        ".xml", ".rss", ".atom", ".svg", ".txt", ".md", ".csv", ".tsv", ".ics", ".vtt",
        ".wasm", ".ico", ".webmanifest", ".ttf", ".otf", ".eot",
    }
)  # fmt: skip

GZIP_SUFFIX = ".gz"
BROTLI_SUFFIX = ".br"

CHUNK_SIZE = 256 * 1024

# Brotli's best quality costs ~8 ms for a 6 KiB page, ~45 times quality 6, for ~10% fewer bytes.
# It is worth it for content-hashed assets (compressed once, cached forever), not for pages that
# are rendered again on every edit. Large files get the middle quality whatever their name.
BROTLI_MAX_QUALITY_LIMIT = 1024 * 1024
BROTLI_BEST_QUALITY = 11
BROTLI_PAGE_QUALITY = 6
GZIP_LEVEL = 6
IN_MEMORY_LIMIT = 4 * 1024 * 1024


def is_compressible(path: Path) -> bool:
    return path.suffix.lower() in COMPRESSIBLE_SUFFIXES


def precompress(root: Path, min_size: int = 1024, workers: int = 4) -> int:
    """Write ``.gz`` and ``.br`` next to each compressible file of ``min_size`` bytes or more
    that has none yet (an incremental build's unchanged files come with theirs).

    A sibling is kept only when it is smaller than the original. zlib, brotli and file I/O
    release the GIL, so a few threads share the work. Blocking: run it in a worker. Returns how
    many files got a sibling.
    """
    candidates = [path for path in _candidates(root, min_size) if not _has_siblings(path)]
    if len(candidates) < 2 * workers:
        return sum(map(_compress_one, candidates))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sitegate-compress") as pool:
        return sum(pool.map(_compress_one, candidates, chunksize=32))


def _has_siblings(path: Path) -> bool:
    return all(path.with_name(path.name + suffix).is_file() for suffix in (GZIP_SUFFIX, BROTLI_SUFFIX))


def _compress_one(path: Path) -> bool:
    size = path.stat().st_size
    quality = _brotli_quality(path, size)
    if size <= IN_MEMORY_LIMIT:
        # Most files of a site are small: read once, compress in memory, write each sibling once.
        data = path.read_bytes()
        wrote_gzip = _keep_if_smaller(path, GZIP_SUFFIX, size, gzip.compress(data, GZIP_LEVEL, mtime=0))
        wrote_brotli = _keep_if_smaller(path, BROTLI_SUFFIX, size, brotli.compress(data, quality=quality))
        return wrote_gzip or wrote_brotli
    wrote_gzip = _write_if_smaller(path, GZIP_SUFFIX, size, _gzip)
    wrote_brotli = _write_if_smaller(path, BROTLI_SUFFIX, size, partial(_brotli, quality=quality))
    return wrote_gzip or wrote_brotli


def _keep_if_smaller(path: Path, suffix: str, original_size: int, compressed: bytes) -> bool:
    target = path.with_name(path.name + suffix)
    if len(compressed) >= original_size:
        # A stale sibling (from an earlier run on changed content) would be served instead of
        # the file itself, so it goes too.
        target.unlink(missing_ok=True)
        return False
    # Written aside and renamed: the build may already be in service when it is compressed.
    partial_file = path.with_name(f".{path.name}{suffix}.partial")
    partial_file.write_bytes(compressed)
    partial_file.replace(target)
    return True


def _brotli_quality(path: Path, size: int) -> int:
    if size < BROTLI_MAX_QUALITY_LIMIT and has_content_hash(path.name):
        return BROTLI_BEST_QUALITY
    return BROTLI_PAGE_QUALITY


def _candidates(root: Path, min_size: int) -> Iterator[Path]:
    # Symlinks are skipped: their target may lie outside the build, and a sibling written next
    # to a link would describe a file the build does not own.
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if not is_compressible(path) or path.is_symlink() or not path.is_file():
                continue
            if path.stat().st_size >= min_size:
                yield path


def _write_if_smaller(
    path: Path, suffix: str, original_size: int, compress: Callable[[BinaryIO, BinaryIO], None]
) -> bool:
    target = path.with_name(path.name + suffix)
    partial = path.with_name(f".{path.name}{suffix}.partial")
    try:
        with path.open("rb") as source, partial.open("wb") as sink:
            compress(source, sink)
        if partial.stat().st_size < original_size:
            partial.replace(target)
            return True
        # A stale sibling (from an earlier run on changed content) would be served instead of
        # the file itself, so it goes too.
        target.unlink(missing_ok=True)
        return False
    finally:
        partial.unlink(missing_ok=True)


def _gzip(source: BinaryIO, sink: BinaryIO) -> None:
    # An empty filename and mtime 0 keep the header free of anything but the content.
    with gzip.GzipFile(filename="", mode="wb", compresslevel=GZIP_LEVEL, fileobj=sink, mtime=0) as stream:
        shutil.copyfileobj(source, stream, CHUNK_SIZE)


def _brotli(source: BinaryIO, sink: BinaryIO, quality: int) -> None:
    compressor = brotli.Compressor(quality=quality)
    while chunk := source.read(CHUNK_SIZE):
        sink.write(compressor.process(chunk))
    sink.write(compressor.finish())
