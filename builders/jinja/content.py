"""Posts: Markdown files (front matter as YAML between ``---`` or TOML between ``+++``, then
the body) and items of backend data (``post_from_item``), held to the same rules.

A ``Post`` holds what listings need (front matter and a summary); a file's body is read and
rendered only for the pages that show it, so a listing never pays for the full text.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from markdown_it import MarkdownIt

from builders.base import EMPTY
from builders.errors import BuildError
from builders.jinja.deps import META_MARK

_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_FENCES = {"---": "yaml", "+++": "toml"}
_SLUG_CHARS = re.compile(r"[^a-z0-9]+")
_TOML_LINE = re.compile(r"at line (\d+)")
_TAGS = re.compile(r"<[^>]+>")
_SUMMARY_LENGTH = 240
_NOT_PROSE = re.compile(r"([#>|<]|```|~~~|([-*+]|\d+[.)])(\s|$))")
_KNOWN_KEYS = frozenset({"title", "date", "updated", "tags", "draft", "summary", "slug"})


def slugify(text: str) -> str:
    """A URL segment: lower-case ASCII letters, digits and single dashes."""
    return _SLUG_CHARS.sub("-", text.lower()).strip("-")


@dataclass(frozen=True)
class Post:
    """One ``content/posts/*.md`` file or one post of backend data. ``source`` is the file's
    absolute path, or a dependency token standing for the item; ``label`` names it in error
    messages. ``body`` is the Markdown itself when no file holds it. ``sanitize``: its HTML is
    cut down to what a post needs (``sanitize_html``), for a post whose author the site does not
    trust; such a post's ``source`` says so, so nothing rendered without it stands for it."""

    source: str
    label: str
    slug: str
    title: str
    date: dt.datetime
    updated: dt.datetime
    tags: tuple[str, ...]
    draft: bool
    summary: str
    body_line: int
    extra: Mapping[str, Any] = field(default_factory=lambda: EMPTY)
    body: str | None = None
    sanitize: bool = False

    @property
    def url(self) -> str:
        return f"/blog/{self.slug}/"

    @cached_property
    def listing_source(self) -> str:
        """The dependency of a page that shows this post without its body (a listing): equal
        while everything but the body is. A post from data has no file to split: its source."""
        if self.body is not None:
            return self.source
        shown = [self.slug, self.title, self.date, self.updated, self.tags, self.draft, self.summary, self.extra]
        encoded = json.dumps(shown, sort_keys=True, default=str).encode("utf-8")
        return f"{self.source}{META_MARK}{hashlib.blake2b(encoded, digest_size=12).hexdigest()}"


def new_markdown() -> MarkdownIt:
    """CommonMark with fenced code (built in), tables and strikethrough."""
    return MarkdownIt("commonmark").enable(["table", "strikethrough"])


def parse_post(path: Path, label: str, text: str, markdown: MarkdownIt) -> Post:
    """A post from its file text; ``BuildError`` names the file and line of a bad field."""
    meta, body, body_line = split_front_matter(text, label)
    title = meta.get("title")
    if not isinstance(title, str) or not title.strip():
        raise BuildError("a post needs a `title` (text)", file=label, line=_key_line(text, "title"))
    date = _datetime(meta.get("date"), label, text, "date")
    updated = _datetime(meta.get("updated", date), label, text, "updated")
    slug = meta.get("slug", slugify(path.stem))
    if not isinstance(slug, str) or slugify(slug) != slug.lower() or not slug:
        raise BuildError(
            f"slug {slug!r} must be letters, digits and single dashes",
            file=label,
            line=_key_line(text, "slug") if "slug" in meta else 1,
        )
    summary = meta.get("summary")
    if summary is not None and not isinstance(summary, str):
        raise BuildError("`summary` must be text", file=label, line=_key_line(text, "summary"))
    draft = meta.get("draft", False)
    if not isinstance(draft, bool):
        raise BuildError("`draft` must be true or false", file=label, line=_key_line(text, "draft"))
    return Post(
        source=str(path),
        label=label,
        slug=slug.lower(),
        title=title.strip(),
        date=date,
        updated=updated,
        tags=_tags(meta.get("tags", ()), label, text),
        draft=draft,
        summary=summary.strip() if summary else _first_paragraph(body, markdown),
        body_line=body_line,
        extra={key: value for key, value in meta.items() if key not in _KNOWN_KEYS},
    )


def post_from_item(item: Any, source: str, label: str, markdown: MarkdownIt, sanitize: bool = True) -> Post:
    """A post from one item of backend data, shaped like the blog API's post JSON (``slug``,
    ``title``, ``body`` in Markdown, ``summary``, ``tags``, ``author``, ISO 8601 ``published_at``,
    ``created_at`` and ``updated_at``); ``BuildError`` names the item and the field."""
    if not isinstance(item, Mapping):
        raise BuildError("a post must be a JSON object", file=label)
    title = item.get("title")
    if not isinstance(title, str) or not title.strip():
        raise BuildError("a post needs a `title` (text)", file=label)
    slug = item.get("slug")
    if not isinstance(slug, str) or not slug or slugify(slug) != slug.lower():
        raise BuildError(f"slug {slug!r} must be letters, digits and single dashes", file=label)
    body = item.get("body") or ""
    summary = item.get("summary") or ""
    if not isinstance(body, str) or not isinstance(summary, str):
        raise BuildError("`body` and `summary` must be text", file=label)
    # A post published through the API has a publication time; older items may only have the
    # time they were created.
    date = _datetime(item.get("published_at") or item.get("created_at"), label, None, "published_at")
    updated = _datetime(item.get("updated_at") or date, label, None, "updated_at")
    return Post(
        source=source,
        label=label,
        slug=slug.lower(),
        title=title.strip(),
        date=date,
        updated=updated,
        tags=_tags(item.get("tags") or (), label, None),
        draft=False,
        summary=summary.strip() or _first_paragraph(body, markdown),
        body_line=1,
        extra={"id": item.get("id"), "author": item.get("author") or ""},
        body=body,
        sanitize=sanitize,
    )


def read_body(post: Post) -> str:
    """The Markdown after the front matter, or the body of a post from backend data."""
    if post.body is not None:
        return post.body
    try:
        text = Path(post.source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise BuildError(f"cannot read post: {error}", file=post.label) from None
    lines = text.lstrip("\ufeff").replace("\r\n", "\n").split("\n", post.body_line - 1)
    return lines[-1] if len(lines) == post.body_line else ""


def split_front_matter(text: str, label: str) -> tuple[dict[str, Any], str, int]:
    """(front matter, body, line number where the body starts)."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n")
    first, _, rest = text.partition("\n")
    fence = first.rstrip()
    kind = _FENCES.get(fence)
    if kind is None:
        raise BuildError("a post starts with front matter between `---` (YAML) or `+++` (TOML) lines", file=label, line=1)
    match = re.search(rf"^{re.escape(fence)}[ \t]*$", rest, re.MULTILINE)
    if match is None:
        raise BuildError(f"front matter opened with `{fence}` is never closed", file=label, line=1)
    source, body = rest[: match.start()], rest[match.end() :].removeprefix("\n")
    body_line = 3 + source.count("\n")
    meta = _load_yaml(source, label) if kind == "yaml" else _load_toml(source, label)
    if not isinstance(meta, dict):
        raise BuildError("front matter must be a table of `key: value` lines", file=label, line=2)
    return meta, body, body_line


def _load_yaml(source: str, label: str) -> Any:
    try:
        return yaml.load(source, Loader=_YAML_LOADER) or {}
    except yaml.YAMLError as error:
        # The context mark is where the broken construct starts (an unclosed list, say).
        mark = getattr(error, "context_mark", None) or getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) or str(error)
        line = mark.line + 2 if mark is not None else 2
        raise BuildError(f"bad YAML front matter: {problem}", file=label, line=line) from None
    except ValueError as error:
        # An impossible date such as 2024-13-45 fails after parsing, with no position.
        raise BuildError(f"bad YAML front matter: {error}", file=label, line=2) from None


def _load_toml(source: str, label: str) -> Any:
    try:
        return tomllib.loads(source)
    except tomllib.TOMLDecodeError as error:
        found = _TOML_LINE.search(str(error))
        line = int(found.group(1)) + 1 if found else 2
        raise BuildError(f"bad TOML front matter: {error}", file=label, line=line) from None


def _datetime(value: Any, label: str, text: str | None, key: str) -> dt.datetime:
    """``text`` is the post file's, to point an error at the key's line (posts from data have none)."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise BuildError(
                f"`{key}` {value!r} is not a date like 2024-05-01", file=label, line=_key_line(text, key)
            ) from None
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.timezone.utc)
    raise BuildError(f"a post needs a `{key}` like 2024-05-01", file=label, line=_key_line(text, key))


def _tags(value: Any, label: str, text: str | None) -> tuple[str, ...]:
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, (list, tuple)) or not all(isinstance(tag, str) for tag in value):
        raise BuildError("`tags` must be a list of words", file=label, line=_key_line(text, "tags"))
    tags = [tag.strip() for tag in value if tag.strip()]
    for tag in tags:
        if not slugify(tag):
            raise BuildError(f"tag {tag!r} has no letters or digits", file=label, line=_key_line(text, "tags"))
    return tuple(dict.fromkeys(tags))


def _key_line(text: str | None, key: str) -> int | None:
    """The line a front-matter key is on, so an error points at it (the first line if absent).
    Only worked out for an error: it searches the whole file."""
    if text is None:
        return None
    found = re.search(rf"^{key}\s*[:=]", text, re.MULTILINE)
    return text.count("\n", 0, found.start()) + 1 if found else 1


def _first_paragraph(body: str, markdown: MarkdownIt) -> str:
    """Plain text of the first prose paragraph, shortened; a summary when none is given."""
    for block in re.split(r"\n\s*\n", body):
        block = block.strip()
        if not block or _NOT_PROSE.match(block):
            continue
        text = html.unescape(_TAGS.sub("", markdown.renderInline(block))).replace("\n", " ")
        if len(text) > _SUMMARY_LENGTH:
            text = text[:_SUMMARY_LENGTH].rsplit(" ", 1)[0] + "…"
        return text
    return ""
