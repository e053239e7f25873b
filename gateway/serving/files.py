"""The file table of one build: every URL path it can serve, with what a response needs.

A build never changes after it is published, so sizes, ETags, types, cache policies and small
bodies are worked out once per build and requests only look things up. The table is also the
security boundary of static serving: a request can reach exactly the files listed here.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from email.utils import formatdate
from pathlib import Path
from types import MappingProxyType
from typing import NamedTuple

MEMORY_BODY_LIMIT = 64 * 1024
CACHE_IMMUTABLE = "public, max-age=31536000, immutable"
CACHE_REVALIDATE = "no-cache"

# Preference order when a client accepts several encodings equally.
SIBLING_SUFFIXES = (("br", ".br"), ("gzip", ".gz"))

# Bundlers put a content hash before the extension: `app.3f2a1b9c.js` (webpack, Parcel),
# `index-B3xk9_aZ.js` (Vite/Rollup). Such a URL never changes meaning, so it may be cached forever.
_HASHED_NAME = re.compile(r"[.-]([A-Za-z0-9_-]{8,})\.[A-Za-z0-9]+$")

# Dotfiles are build leftovers (`.vite/`, `.DS_Store`, partial writes) rather than content;
# `.well-known/` is the exception the web relies on (ACME, security.txt).
_PUBLIC_DOT_NAMES = frozenset({".well-known"})

CONTENT_TYPES: Mapping[str, str] = MappingProxyType(
    {
        ".html": "text/html", ".htm": "text/html", ".xhtml": "application/xhtml+xml",
        ".css": "text/css", ".js": "text/javascript", ".mjs": "text/javascript",
        ".cjs": "text/javascript", ".json": "application/json", ".jsonld": "application/ld+json",
        ".map": "application/json", ".webmanifest": "application/manifest+json",
        ".xml": "application/xml", ".rss": "application/rss+xml", ".atom": "application/atom+xml",
        ".txt": "text/plain", ".md": "text/markdown", ".csv": "text/csv",
        ".tsv": "text/tab-separated-values", ".ics": "text/calendar", ".vtt": "text/vtt",
        ".svg": "image/svg+xml", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
        ".gif": "image/gif", ".webp": "image/webp", ".avif": "image/avif", ".ico": "image/x-icon",
        ".bmp": "image/bmp", ".woff": "font/woff", ".woff2": "font/woff2", ".ttf": "font/ttf",
        ".otf": "font/otf", ".eot": "application/vnd.ms-fontobject", ".wasm": "application/wasm",
        ".pdf": "application/pdf", ".zip": "application/zip", ".gz": "application/gzip",
        ".mp4": "video/mp4", ".webm": "video/webm", ".mp3": "audio/mpeg", ".ogg": "audio/ogg",
        ".wav": "audio/wav",
    }
)  # fmt: skip
DEFAULT_CONTENT_TYPE = "application/octet-stream"
TEXT_APPLICATION_TYPES = frozenset(
    {
        "application/json", "application/ld+json", "application/manifest+json", "application/xml",
        "application/rss+xml", "application/atom+xml", "application/xhtml+xml", "image/svg+xml",
    }
)  # fmt: skip


# (device, inode, size, mtime_ns): equal means the very same unchanged file, e.g. a hard link
# that an incremental build carried over from the previous build.
FileIdentity = tuple[int, int, int, int]


def _identity(info: os.stat_result) -> FileIdentity:
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)


class _Found(NamedTuple):
    """A file the walk found, with the stat it was found with (one stat per file per scan)."""

    path: Path
    info: os.stat_result


@dataclass(frozen=True)
class Precompressed:
    """A `.br` or `.gz` sibling of a file, sent instead of it to clients that accept it."""

    coding: str
    path: Path
    size: int
    etag: str
    body: bytes | None
    identity: FileIdentity


@dataclass(frozen=True)
class FileEntry:
    """One servable file. ``body`` holds the bytes when the file is small enough to keep."""

    url_path: str
    path: Path
    size: int
    etag: str
    mtime: int
    last_modified: str
    content_type: str
    cache_control: str
    encodings: tuple[Precompressed, ...]
    body: bytes | None
    identity: FileIdentity

    @property
    def is_html(self) -> bool:
        return self.content_type.startswith("text/html")


@dataclass(frozen=True)
class FileTable:
    """URL path (``/about/index.html``) → ``FileEntry`` for one build folder."""

    root: Path
    entries: Mapping[str, FileEntry]
    # The hot path's answers, worked out once per file and encoding (``serving.hot_path``).
    replies: dict[tuple[str, str], Mapping[str, str]] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def scan(cls, root: Path, previous: FileTable | None = None) -> FileTable:
        """Walk ``root`` and describe every servable file. Files that are the same files as in
        the ``previous`` table (hard links of an incremental build) are not read again.
        Blocking: run it in a worker."""
        real_root = root.resolve(strict=True)
        found = dict(sorted(_walk(real_root)))
        siblings = {
            url: file
            for url, file in found.items()
            if any(url.endswith(suffix) and url[: -len(suffix)] in found for _, suffix in SIBLING_SUFFIXES)
        }
        known = previous.entries if previous is not None else {}
        entries = {
            url: _describe(url, file, siblings, known.get(url)) for url, file in found.items() if url not in siblings
        }
        return cls(root=real_root, entries=MappingProxyType(entries))

    @classmethod
    def compose(cls, root: Path, previous: FileTable, carried: Iterable[str]) -> FileTable:
        """The table of an incremental build whose folder holds only what it rendered: those
        files described anew, the ``carried`` outputs (paths relative to the build root) as the
        ``previous`` table has them. Blocking: run it in a worker."""
        fresh = cls.scan(root)
        entries = dict(fresh.entries)
        for relative in carried:
            url = "/" + relative
            entry = previous.entries.get(url)
            if entry is not None and url not in entries:
                entries[url] = entry
        return cls(root=fresh.root, entries=MappingProxyType(entries))

    def moved_to(self, root: Path) -> FileTable:
        """The same table for ``root``, which holds the very same files (hard links of them):
        only paths change, nothing is read. Blocking (one resolve)."""
        real_root = root.resolve(strict=True)
        suffixes = dict(SIBLING_SUFFIXES)
        entries = {
            url: replace(
                entry,
                path=real_root / url[1:],
                encodings=tuple(
                    replace(variant, path=real_root / (url[1:] + suffixes[variant.coding])) for variant in entry.encodings
                ),
            )
            for url, entry in self.entries.items()
        }
        return FileTable(root=real_root, entries=MappingProxyType(entries))

    def get(self, url_path: str) -> FileEntry | None:
        return self.entries.get(url_path)

    def __contains__(self, url_path: object) -> bool:
        return url_path in self.entries

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[FileEntry]:
        return iter(self.entries.values())


def content_type_for(name: str) -> str:
    suffix = os.path.splitext(name)[1].lower()
    media_type = CONTENT_TYPES.get(suffix, DEFAULT_CONTENT_TYPE)
    if media_type.startswith("text/") or media_type in TEXT_APPLICATION_TYPES:
        return f"{media_type}; charset=utf-8"
    return media_type


def has_content_hash(name: str) -> bool:
    match = _HASHED_NAME.search(name)
    return match is not None and any(char.isdigit() for char in match.group(1))


def cache_control_for(name: str, content_type: str) -> str:
    # HTML is what people type and link to, so it must always be revalidated.
    if content_type.startswith("text/html") or not has_content_hash(name):
        return CACHE_REVALIDATE
    return CACHE_IMMUTABLE


def _walk(real_root: Path) -> Iterator[tuple[str, _Found]]:
    """(URL path, real file) for every regular file reachable inside ``real_root``."""
    # Each pending folder carries the real folders above it, so a symlink that loops back into
    # its own ancestry is not followed forever.
    pending: list[tuple[Path, str, frozenset[Path]]] = [(real_root, "", frozenset({real_root}))]
    while pending:
        directory, prefix, ancestors = pending.pop()
        try:
            with os.scandir(directory) as listing:
                items = sorted(listing, key=lambda item: item.name)
        except OSError:
            continue
        for item in items:
            if not _is_public_name(item.name):
                continue
            try:
                if item.is_symlink():
                    target = Path(item.path).resolve()
                    if not target.is_relative_to(real_root):
                        continue
                    info = target.stat()
                else:
                    # Inside a real folder under the root, so inside the root.
                    target, info = directory / item.name, item.stat()
            except OSError:
                continue
            url = f"{prefix}/{item.name}"
            if stat.S_ISDIR(info.st_mode) and target not in ancestors:
                pending.append((target, url, ancestors | {target}))
            elif stat.S_ISREG(info.st_mode):
                yield url, _Found(target, info)


def _is_public_name(name: str) -> bool:
    if name.startswith(".") and name not in _PUBLIC_DOT_NAMES:
        return False
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        # Undecodable bytes in a name (kept as surrogates) cannot be asked for in a valid URL.
        return False
    return True


def _describe(url: str, found: _Found, siblings: Mapping[str, _Found], known: FileEntry | None) -> FileEntry:
    path, info = found
    encodings = _precompressed(url, info.st_size, siblings, known.encodings if known else ())
    if known is not None and known.identity == _identity(info):
        return replace(known, path=path, encodings=encodings)
    digest, body = _digest(path, info.st_size)
    name = url.rsplit("/", 1)[1]
    content_type = content_type_for(name)
    size = len(body) if body is not None else info.st_size
    return FileEntry(
        url_path=url,
        path=path,
        size=size,
        etag=f'"{digest}"',
        mtime=int(info.st_mtime),
        last_modified=formatdate(info.st_mtime, usegmt=True),
        content_type=content_type,
        cache_control=cache_control_for(name, content_type),
        encodings=encodings,
        body=body,
        identity=_identity(info),
    )


def _precompressed(
    url: str, identity_size: int, siblings: Mapping[str, _Found], known: tuple[Precompressed, ...]
) -> tuple[Precompressed, ...]:
    variants = []
    for coding, suffix in SIBLING_SUFFIXES:
        found = siblings.get(url + suffix)
        if found is None:
            continue
        path, info = found
        # A sibling that does not save bytes only costs a Vary split in caches.
        if info.st_size >= identity_size:
            continue
        same = next((v for v in known if v.coding == coding and v.identity == _identity(info)), None)
        if same is not None:
            variants.append(replace(same, path=path))
            continue
        digest, body = _digest(path, info.st_size)
        variants.append(Precompressed(coding, path, info.st_size, f'"{digest}-{suffix[1:]}"', body, _identity(info)))
    return tuple(variants)


def _digest(path: Path, size: int) -> tuple[str, bytes | None]:
    """The content hash of a file, and its bytes when small enough to keep in memory."""
    with path.open("rb") as stream:
        if size <= MEMORY_BODY_LIMIT:
            body = stream.read()
            return hashlib.blake2b(body, digest_size=16).hexdigest(), body
        return hashlib.file_digest(stream, lambda: hashlib.blake2b(digest_size=16)).hexdigest(), None
