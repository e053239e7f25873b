"""Parsed posts kept between builds, keyed by each file's content digest, so a rebuild after a
one-post edit parses one post instead of all of them.

The cache is JSON in the site's ``.sitegate/`` folder (never a build input). It is only ever
a shortcut: an unreadable or foreign cache is ignored and a post is parsed again.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from builders.jinja.content import Post

_VERSION = 1


class PostCache:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._entries: dict[str, tuple[str, dict[str, Any]]] = {}
        self._changed = False
        try:
            document = json.loads(path.read_text(encoding="utf-8"), object_hook=_untagged)
            if document.get("version") == _VERSION:
                self._entries = {source: (digest, fields) for source, (digest, fields) in document["posts"].items()}
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            self._entries = {}

    def get(self, source: str, digest: str | None) -> Post | None:
        entry = self._entries.get(source)
        if digest is None or entry is None or entry[0] != digest:
            return None
        try:
            return _post_from(entry[1])
        except (KeyError, TypeError, ValueError):
            return None

    def put(self, post: Post, digest: str | None) -> None:
        if digest is None:
            return
        fields = _fields_of(post)
        if fields is not None:
            self._entries[post.source] = (digest, fields)
            self._changed = True

    def keep_only(self, sources: set[str]) -> None:
        """Forget posts that no longer exist."""
        gone = set(self._entries) - sources
        for source in gone:
            del self._entries[source]
        self._changed = self._changed or bool(gone)

    def save(self) -> None:
        """Write the cache if it changed; a site folder that cannot be written just goes without."""
        if not self._changed:
            return
        document = {"version": _VERSION, "posts": self._entries}
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self._path.parent, prefix=".posts-", suffix=".tmp")
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                file.write(json.dumps(document, separators=(",", ":"), default=_tagged))
            os.replace(temporary, self._path)
        except OSError:
            return


def _fields_of(post: Post) -> dict[str, Any] | None:
    try:
        extra = json.loads(json.dumps(dict(post.extra), default=_tagged))
    except (TypeError, ValueError):
        return None
    return {
        "source": post.source,
        "label": post.label,
        "slug": post.slug,
        "title": post.title,
        "date": post.date.isoformat(),
        "updated": post.updated.isoformat(),
        "tags": list(post.tags),
        "draft": post.draft,
        "summary": post.summary,
        "body_line": post.body_line,
        "extra": extra,
    }


def _post_from(fields: dict[str, Any]) -> Post:
    return Post(
        source=fields["source"],
        label=fields["label"],
        slug=fields["slug"],
        title=fields["title"],
        date=dt.datetime.fromisoformat(fields["date"]),
        updated=dt.datetime.fromisoformat(fields["updated"]),
        tags=tuple(fields["tags"]),
        draft=bool(fields["draft"]),
        summary=fields["summary"],
        body_line=int(fields["body_line"]),
        extra=fields["extra"],
    )


def _tagged(value: Any) -> Any:
    """Dates in front matter survive the JSON round trip as tagged objects."""
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    raise TypeError(f"{type(value).__name__} is not cached")


def _untagged(value: dict[str, Any]) -> Any:
    if set(value) == {"$datetime"}:
        return dt.datetime.fromisoformat(value["$datetime"])
    if set(value) == {"$date"}:
        return dt.date.fromisoformat(value["$date"])
    return value
