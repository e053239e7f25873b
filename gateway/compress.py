"""Precompression of a build: ``.gz`` and ``.br`` siblings written next to text-like files.

Compressing once at build time lets the gateway (and nginx with ``gzip_static``/``brotli_static``)
send the best encoding with no work per request. Output is byte-for-byte reproducible so equal
inputs still give equal builds.
"""

from __future__ import annotations

import gzip
import os
import shutil
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import BinaryIO

import brotli

from gateway.files import has_content_hash

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


def is_compressible(path: Path) -> bool:
    return path.suffix.lower() in COMPRESSIBLE_SUFFIXES


def precompress(root: Path, min_size: int = 1024, previous: Path | None = None) -> int:
    """Write ``.gz`` and ``.br`` next to each compressible file of ``min_size`` bytes or more.

    A sibling is kept only when it is smaller than the original. A file that is the very same
    file (hard link) as in the ``previous`` build takes that build's siblings instead of being
    compressed again. Blocking: run it in a worker. Returns how many files have a sibling.
    """
    compressed = 0
    for path in _candidates(root, min_size):
        before = previous / path.relative_to(root) if previous is not None else None
        if before is not None and _same_file(path, before):
            compressed += _link_siblings(before, path)
            continue
        size = path.stat().st_size
        wrote_gzip = _write_if_smaller(path, GZIP_SUFFIX, size, _gzip)
        quality = _brotli_quality(path, size)
        wrote_brotli = _write_if_smaller(path, BROTLI_SUFFIX, size, partial(_brotli, quality=quality))
        if wrote_gzip or wrote_brotli:
            compressed += 1
    return compressed


def _brotli_quality(path: Path, size: int) -> int:
    if size < BROTLI_MAX_QUALITY_LIMIT and has_content_hash(path.name):
        return BROTLI_BEST_QUALITY
    return BROTLI_PAGE_QUALITY


def _same_file(path: Path, before: Path) -> bool:
    try:
        return os.path.samefile(path, before)
    except OSError:
        return False


def _link_siblings(before: Path, path: Path) -> bool:
    linked = False
    for suffix in (GZIP_SUFFIX, BROTLI_SUFFIX):
        sibling = before.with_name(before.name + suffix)
        if sibling.is_file():
            os.link(sibling, path.with_name(path.name + suffix))
            linked = True
    return linked


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
