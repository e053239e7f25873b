"""What templates see: the site, its theme and data, posts, tags and pagination.

Values that come from an input file record that file when a template reads them, so a page
depends on ``site.toml`` only if it shows something from it, and on every post only if it
walks ``site.posts``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from builders.jinja.content import Post, slugify

Record = Callable[[str], None]


@dataclass(frozen=True)
class TagRef:
    name: str
    slug: str

    @property
    def url(self) -> str:
        return f"/tags/{self.slug}/"

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class TagSummary(TagRef):
    """A tag with the number of published posts that carry it (``site.tags``, the tags index)."""

    count: int


@dataclass(frozen=True)
class Pagination:
    """Page ``number`` of a listing. There is no page count on purpose: a listing page then
    depends only on its own posts and on whether a next page exists."""

    number: int
    base_url: str
    prev_url: str | None
    next_url: str | None

    @property
    def first_url(self) -> str:
        return self.base_url


@dataclass(frozen=True)
class PageInfo:
    url: str
    output: str
    title: str | None = None


def tag_ref(name: str) -> TagRef:
    return TagRef(name=name, slug=slugify(name))


class PostView:
    """A post as templates see it; ``content`` (the rendered Markdown) is made on first use."""

    def __init__(self, post: Post, html: Callable[[Post], Markup]) -> None:
        self._post = post
        self._html = html

    title = property(lambda self: self._post.title)
    slug = property(lambda self: self._post.slug)
    url = property(lambda self: self._post.url)
    date = property(lambda self: self._post.date)
    updated = property(lambda self: self._post.updated)
    draft = property(lambda self: self._post.draft)
    summary = property(lambda self: self._post.summary)
    source = property(lambda self: self._post.label)

    @property
    def tags(self) -> list[TagRef]:
        return [tag_ref(name) for name in self._post.tags]

    @property
    def content(self) -> Markup:
        return self._html(self._post)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._post.extra[name]
        except KeyError:
            raise AttributeError(name) from None


class ItemsAsAttributes:
    """``x.name`` for ``x["name"]`` in templates; private names stay private."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self[name]  # type: ignore[index]
        except KeyError:
            raise AttributeError(name) from None


class RecordingMapping(ItemsAsAttributes, Mapping[str, Any]):
    """A read-only table that records ``source`` whenever a template looks into it."""

    def __init__(self, table: Mapping[str, Any], source: str, record: Record) -> None:
        self._table = table
        self._source = source
        self._record = record

    def __getitem__(self, key: str) -> Any:
        self._record(self._source)
        return _wrap(self._table[key], self._source, self._record)

    def __iter__(self) -> Iterator[str]:
        self._record(self._source)
        return iter(self._table)

    def __len__(self) -> int:
        self._record(self._source)
        return len(self._table)


def _wrap(value: Any, source: str, record: Record) -> Any:
    if isinstance(value, Mapping):
        return RecordingMapping(value, source, record)
    if isinstance(value, list):
        return [_wrap(item, source, record) for item in value]
    return value


class SiteView:
    """``site`` in templates. ``site.posts`` and ``site.tags`` depend on every published post
    (and on the set of posts); everything else on ``site.toml``."""

    def __init__(
        self,
        *,
        name: str,
        base_url: str,
        options: Mapping[str, Any],
        site_toml: str,
        posts: Callable[[], list[PostView]],
        tags: Callable[[], list[TagSummary]],
        record_posts: Callable[[], None],
        record: Record,
    ) -> None:
        self.name = name
        self._base_url = base_url
        self._site_toml = site_toml
        self._record = record
        self._options = RecordingMapping(options, site_toml, record)
        self._posts = posts
        self._tags = tags
        self._record_posts = record_posts

    @property
    def url(self) -> str:
        self._record(self._site_toml)
        return self._base_url

    @property
    def title(self) -> str:
        return str(self._options.get("title", self.name))

    @property
    def description(self) -> str:
        return str(self._options.get("description", ""))

    @property
    def nav(self) -> Sequence[Any]:
        return self._options.get("nav", [{"label": "Home", "href": "/"}])

    @property
    def options(self) -> RecordingMapping:
        return self._options

    @property
    def posts(self) -> list[PostView]:
        self._record_posts()
        return self._posts()

    @property
    def tags(self) -> list[TagSummary]:
        self._record_posts()
        return self._tags()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._options[name]
        except KeyError:
            raise AttributeError(name) from None


class DataView(ItemsAsAttributes):
    """``data.<name>``: the backend data the gateway fetched for ``[data]`` in ``site.toml``
    (``fetched``), else the first of ``data/<name>.json|.toml|.yaml|.yml``.

    Which one it is depends on ``site.toml``, so that is recorded; so are the files probed (adding
    one later re-renders the page) and, for fetched data, a token naming its content."""

    def __init__(
        self,
        *,
        fetched: Mapping[str, Any],
        fetched_tokens: Mapping[str, str],
        candidates: Callable[[str], list[str]],
        load: Callable[[str], Any],
        site_toml: str,
        record: Record,
    ) -> None:
        self._fetched = fetched
        self._tokens = fetched_tokens
        self._candidates = candidates
        self._load = load
        self._site_toml = site_toml
        self._record = record

    def __getitem__(self, name: str) -> Any:
        self._record(self._site_toml)
        if name in self._fetched:
            self._record(self._tokens[name])
            return _wrap(self._fetched[name], self._tokens[name], self._record)
        for path in self._candidates(name):
            self._record(path)
            value = self._load(path)
            if value is not None:
                return _wrap(value, path, self._record)
        raise KeyError(name)

