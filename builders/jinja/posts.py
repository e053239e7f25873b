"""The posts a Jinja build publishes, each parsed once per content digest: a long-lived builder
keeps them in memory between builds, and a fresh one starts from the site's cache file.

Besides ``content/posts/*.md``, a site may publish the posts of a ``[data]`` entry (the blog
API's posts, fetched by the gateway). Each such post's ``source`` is a dependency token naming
its content (``api_post_source``), so the outputs showing one API post depend on that post alone.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt

from builders.base import files_under
from builders.errors import BuildError
from builders.jinja.content import Post, new_markdown, parse_post, post_from_item
from builders.jinja.deps import VIRTUAL_MARK
from builders.jinja.post_cache import PostCache
from builders.paths import Boundary

API_POST_MARK = VIRTUAL_MARK + "post:"


def api_posts_prefix(site_toml: str) -> str:
    """How every API post's ``source`` starts: such a dependency is content handed to a page."""
    return site_toml + API_POST_MARK


def api_post_source(site_toml: str, name: str, item: Any, index: int, sanitize: bool) -> str:
    """A dependency standing for one item of the ``[data]`` entry ``name`` and whether its HTML is
    sanitized: equal while both are, so turning ``raw_html`` on or off renders its pages again."""
    shown = json.dumps([item, sanitize], sort_keys=True, default=str).encode()
    digest = hashlib.blake2b(shown, digest_size=12).hexdigest()
    slug = item.get("slug") if isinstance(item, Mapping) else None
    return f"{api_posts_prefix(site_toml)}{name}/{slug if isinstance(slug, str) else index}@{digest}"


def posts_source(options: Mapping[str, Any], data: Mapping[str, Any]) -> tuple[str, Any, bool] | None:
    """The ``[data]`` entry whose items a site publishes as posts (``posts_from = "<name>"``
    in ``site.toml``), those items as the gateway fetched them, and whether their HTML is
    published as written (``[blog] raw_html``); ``None`` for a site without."""
    raw_html = _trusts_raw_html(options)
    name = options.get("posts_from")
    if name is None:
        return None
    table = options.get("data")
    if not isinstance(name, str) or not isinstance(table, Mapping) or name not in table:
        raise BuildError(f"`posts_from` must name an entry of [data], not {name!r}", file="site.toml")
    if name not in data:
        raise BuildError(f"`posts_from = {name!r}`: the gateway fetched no [data] {name} for this build", file="site.toml")
    return name, data[name], raw_html


def _trusts_raw_html(options: Mapping[str, Any]) -> bool:
    """``[blog] raw_html = true`` in ``site.toml``: the site trusts whoever writes its posts
    through the API, and publishes their HTML as written rather than sanitized."""
    blog = options.get("blog", {})
    if not isinstance(blog, Mapping):
        raise BuildError(f"`blog` must be a table ([blog]), not {blog!r}", file="site.toml")
    raw_html = blog.get("raw_html", False)
    if not isinstance(raw_html, bool):
        raise BuildError(f"`raw_html` in [blog] must be true or false, not {raw_html!r}", file="site.toml")
    return raw_html


def merge_posts(markdown_posts: Iterable[Post], api_posts: Iterable[Post]) -> list[Post]:
    """Both kinds of posts, newest first; two posts with one slug would make one page twice."""
    by_slug: dict[str, Post] = {}
    for post in [*markdown_posts, *api_posts]:
        other = by_slug.setdefault(post.slug, post)
        if other is not post:
            raise BuildError(
                f"this post and {post.label} have the same slug {post.slug!r} (both would be "
                f"/blog/{post.slug}/); change one of them",
                file=other.label,
            )
    return sorted(by_slug.values(), key=lambda post: (post.date, post.slug), reverse=True)


class PostStore:
    """Parsed posts of one site: Markdown ones by source path, with the digest they were parsed
    from; API ones by their source token, which names their content."""

    def __init__(self) -> None:
        self._known: dict[str, tuple[str, Post]] = {}
        self._api: dict[str, Post] = {}
        self._markdown: MarkdownIt | None = None

    @property
    def markdown(self) -> MarkdownIt:
        """The parser for summaries, made once: making one costs about a millisecond, as much
        as parsing an edited post."""
        if self._markdown is None:
            self._markdown = new_markdown()
        return self._markdown

    def load(
        self, site_dir: Path, posts_dir: str, digests: Mapping[str, str], cache_file: Path, drafts: bool
    ) -> list[Post]:
        """Published posts (with ``drafts``, drafts too), newest first. ``digests`` are the
        fingerprinted inputs, which list every post file (without them, the folder is walked);
        a post without a digest is parsed every time."""
        # Only a store that knows nothing reads the cache file and writes it back. A warm store is
        # the cache: writing the whole file on every edit would cost more than parsing the edited
        # post again after a restart, which is all a stale file entry costs.
        disk = None if self._known else PostCache(cache_file)
        known: dict[str, tuple[str, Post]] = {}
        posts: list[Post] = []
        for source in files_under(digests.keys(), [posts_dir], Boundary.of(site_dir)):
            if not source.endswith(".md"):
                continue
            digest = digests.get(source)
            entry = self._known.get(source)
            post = entry[1] if entry is not None and digest is not None and entry[0] == digest else None
            if post is None and disk is not None:
                post = disk.get(source, digest)
            if post is None:
                path = Path(source)
                label = path.relative_to(site_dir).as_posix()
                try:
                    text = path.read_text(encoding="utf-8")
                except (OSError, UnicodeDecodeError) as error:
                    raise BuildError(f"cannot read post: {error}", file=label) from None
                post = parse_post(path, label, text, self.markdown)
                if disk is not None:
                    disk.put(post, digest)
            if digest is not None:
                known[source] = (digest, post)
            if drafts or not post.draft:
                posts.append(post)
        self._known = known
        if disk is not None:
            disk.keep_only(set(known))
            disk.save()
        posts.sort(key=lambda post: (post.date, post.slug), reverse=True)
        return posts

    def load_api(self, items: Any, name: str, site_toml: str, raw_html: bool = False) -> list[Post]:
        """The published posts among ``items``, the ``[data]`` entry ``name`` (an item without a
        ``status`` counts as published), in the order given; their HTML sanitized unless
        ``raw_html``."""
        if not isinstance(items, list):
            raise BuildError(f"[data] {name} must be a list of posts for `posts_from`", file="site.toml")
        known: dict[str, Post] = {}
        posts: list[Post] = []
        for index, item in enumerate(items):
            if isinstance(item, Mapping) and item.get("status", "published") != "published":
                continue
            source = api_post_source(site_toml, name, item, index, not raw_html)
            post = self._api.get(source)
            if post is None:
                post = post_from_item(item, source, _api_label(name, item, index), self.markdown, not raw_html)
            known[source] = post
            posts.append(post)
        self._api = known
        return posts


def _api_label(name: str, item: Any, index: int) -> str:
    slug = item.get("slug") if isinstance(item, Mapping) else None
    return f"[data] {name} “{slug}”" if isinstance(slug, str) and slug else f"[data] {name} item {index + 1}"
