"""The posts a Jinja build publishes, each parsed once per content digest: a long-lived builder
keeps them in memory between builds, and a fresh one starts from the site's cache file."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from markdown_it import MarkdownIt

from builders.base import BuildError, walk_paths
from builders.content import Post, new_markdown, parse_post
from builders.post_cache import PostCache


class PostStore:
    """Parsed posts of one site by source path, with the digest they were parsed from."""

    def __init__(self) -> None:
        self._known: dict[str, tuple[str, Post]] = {}

    def load(
        self, site_dir: Path, posts_dir: str, digests: Mapping[str, str], cache_file: Path, drafts: bool
    ) -> list[Post]:
        """Published posts (with ``drafts``, drafts too), newest first. ``digests`` are the
        fingerprinted inputs; a post without one is parsed every time."""
        # Only a store that knows nothing reads the cache file and writes it back. A warm store is
        # the cache: writing the whole file on every edit would cost more than parsing the edited
        # post again after a restart, which is all a stale file entry costs.
        disk = None if self._known else PostCache(cache_file)
        markdown: MarkdownIt | None = None
        known: dict[str, tuple[str, Post]] = {}
        posts: list[Post] = []
        for source in walk_paths(posts_dir):
            if not source.endswith(".md"):
                continue
            digest = digests.get(source)
            entry = self._known.get(source)
            post = entry[1] if entry is not None and digest is not None and entry[0] == digest else None
            if post is None and disk is not None:
                post = disk.get(source, digest)
            if post is None:
                if markdown is None:
                    markdown = new_markdown()
                path = Path(source)
                label = path.relative_to(site_dir).as_posix()
                try:
                    text = path.read_text(encoding="utf-8")
                except (OSError, UnicodeDecodeError) as error:
                    raise BuildError(f"cannot read post: {error}", file=label) from None
                post = parse_post(path, label, text, markdown)
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
