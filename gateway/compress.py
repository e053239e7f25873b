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

# Brotli's best quality is slow on large inputs (seconds per MiB); above this size a mid quality
# keeps builds quick while still beating gzip.
BROTLI_MAX_QUALITY_LIMIT = 1024 * 1024
BROTLI_BEST_QUALITY = 11
BROTLI_LARGE_FILE_QUALITY = 5


def is_compressible(path: Path) -> bool:
    return path.suffix.lower() in COMPRESSIBLE_SUFFIXES


def precompress(root: Path, min_size: int = 1024) -> int:
    """Write ``.gz`` and ``.br`` next to each compressible file of ``min_size`` bytes or more.

    A sibling is kept only when it is smaller than the original. Blocking: run it in a worker.
    Returns how many files got at least one sibling.
    """
    compressed = 0
    for path in _candidates(root, min_size):
        size = path.stat().st_size
        quality = BROTLI_BEST_QUALITY if size < BROTLI_MAX_QUALITY_LIMIT else BROTLI_LARGE_FILE_QUALITY
        wrote_gzip = _write_if_smaller(path, GZIP_SUFFIX, size, _gzip)
        wrote_brotli = _write_if_smaller(path, BROTLI_SUFFIX, size, partial(_brotli, quality=quality))
        if wrote_gzip or wrote_brotli:
            compressed += 1
    return compressed


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
    with gzip.GzipFile(filename="", mode="wb", compresslevel=9, fileobj=sink, mtime=0) as stream:
        shutil.copyfileobj(source, stream, CHUNK_SIZE)


def _brotli(source: BinaryIO, sink: BinaryIO, quality: int) -> None:
    compressor = brotli.Compressor(quality=quality)
    while chunk := source.read(CHUNK_SIZE):
        sink.write(compressor.process(chunk))
    sink.write(compressor.finish())
