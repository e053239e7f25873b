"""Which pages a Jinja site has: one per ``pages/*.html``, one per post, the paginated blog
index, one listing per tag and the tags index. Planning reads no template; it decides what each
page shows, so reuse can be judged before anything renders."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path

from builders.base import walk_paths
from builders.errors import BuildError
from builders.jinja.content import Post
from builders.jinja.deps import VIRTUAL_MARK
from builders.jinja.render import PageJob
from builders.jinja.views import Pagination, TagRef, tag_ref
from builders.paths import Boundary

POST_TEMPLATE = "layouts/post.html"
BLOG_TEMPLATE = "layouts/blog.html"
TAG_TEMPLATE = "layouts/tag.html"
TAGS_TEMPLATE = "layouts/tags.html"
TAG_TOKEN = VIRTUAL_MARK + "tag:"


@dataclass(frozen=True)
class BlogPlan:
    """The blog's pages, and the tokens that stand for its tags' display names (``tag_token``)."""

    jobs: tuple[PageJob, ...] = ()
    tokens: frozenset[str] = frozenset()


def tag_token(posts_dir: str, tag: TagRef) -> str:
    """A dependency standing for a tag's display name, which is its spelling in the tag's newest
    post: later pages of the tag then depend on that spelling, not on the whole post."""
    digest = hashlib.blake2b(tag.name.encode("utf-8"), digest_size=12).hexdigest()
    return f"{posts_dir}{TAG_TOKEN}{tag.slug}@{digest}"


def page_output(relative: str) -> str:
    """``about.html`` → ``about/index.html`` (clean URLs); ``index.html`` and ``404.html`` stay."""
    path = Path(relative)
    if path.name == "index.html" or relative == "404.html":
        return relative
    return (path.with_suffix("") / "index.html").as_posix()


def plan_pages(pages_dir: Path, within: Boundary) -> list[PageJob]:
    """Every ``.html`` under ``pages/`` except partials (a name or folder starting with ``_``);
    a page reached through a link must lie ``within`` the site."""
    jobs: list[PageJob] = []
    root = str(pages_dir)
    for path in walk_paths(root, within):
        relative = os.path.relpath(path, root).replace(os.sep, "/")
        if not relative.endswith(".html") or any(part.startswith("_") for part in relative.split("/")):
            continue
        jobs.append(PageJob(output=page_output(relative), template=f"pages/{relative}"))
    return jobs


class BlogPlanner:
    """``plan_blog`` that remembers its last plan: on a long-lived builder, an edit that changes
    nothing a listing shows of a post, nor its place in the order (a body) plans nothing anew."""

    def __init__(self) -> None:
        self._last: tuple[Hashable, BlogPlan] | None = None

    def plan(self, posts: Sequence[Post], per_page: int, static_deps: frozenset[str], posts_dir: str) -> BlogPlan:
        # Exactly what plan_blog reads of each post.
        key = (per_page, static_deps, posts_dir, tuple((post.listing_source, post.slug, post.title, post.tags) for post in posts))
        if self._last is None or self._last[0] != key:
            self._last = (key, plan_blog(posts, per_page, static_deps, posts_dir))
        return self._last[1]


def plan_blog(posts: Sequence[Post], per_page: int, static_deps: frozenset[str], posts_dir: str) -> BlogPlan:
    """Post pages, the blog index and tag pages for ``posts`` (published, newest first).

    Posts are referred to by index into ``posts``. A post's page is assigned the post; a listing
    page what listings show of its own posts and of the first post of the next page (whether
    there is a next page shows in its links)."""
    jobs = [
        PageJob(output=f"blog/{post.slug}/index.html", template=POST_TEMPLATE, title=post.title,
                post=index, assigned=frozenset({post.source}))
        for index, post in enumerate(posts)
    ]
    if not posts:
        return BlogPlan(tuple(jobs))
    jobs += _listing(posts, list(range(len(posts))), "/blog/", per_page, BLOG_TEMPLATE, "Blog", None, static_deps)
    by_tag: dict[str, list[int]] = {}
    names: dict[str, TagRef] = {}
    for index, post in enumerate(posts):
        for name in post.tags:
            ref = tag_ref(name)
            names.setdefault(ref.slug, ref)
            by_tag.setdefault(ref.slug, []).append(index)
    tokens: set[str] = set()
    for slug, indices in sorted(by_tag.items()):
        tag = names[slug]
        token = tag_token(posts_dir, tag)
        tokens.add(token)
        title = f"Tagged “{tag.name}”"
        jobs += _listing(posts, indices, tag.url, per_page, TAG_TEMPLATE, title, tag, static_deps | {token})
    if by_tag:
        jobs.append(PageJob(output="tags/index.html", template=TAGS_TEMPLATE, title="Tags", tags_index=True,
                            assigned=frozenset(post.listing_source for post in posts), static_deps=static_deps))
    return BlogPlan(tuple(jobs), frozenset(tokens))


def _listing(
    posts: Sequence[Post],
    indices: list[int],
    base_url: str,
    per_page: int,
    template: str,
    title: str,
    tag: TagRef | None,
    static_deps: frozenset[str],
) -> list[PageJob]:
    pages = [indices[start : start + per_page] for start in range(0, len(indices), per_page)]
    jobs: list[PageJob] = []
    for number, shown in enumerate(pages, start=1):
        has_next = number < len(pages)
        assigned = {posts[index].listing_source for index in shown}
        if has_next:
            assigned.add(posts[pages[number][0]].listing_source)
        pagination = Pagination(
            number=number,
            base_url=base_url,
            prev_url=None if number == 1 else _page_url(base_url, number - 1),
            next_url=_page_url(base_url, number + 1) if has_next else None,
        )
        jobs.append(
            PageJob(
                output=_page_url(base_url, number).lstrip("/") + "index.html",
                template=template,
                title=title if number == 1 else f"{title} (page {number})",
                listing=tuple(shown),
                pagination=pagination,
                tag=tag,
                assigned=frozenset(assigned),
                static_deps=static_deps,
            )
        )
    return jobs


def _page_url(base_url: str, number: int) -> str:
    return base_url if number == 1 else f"{base_url}page/{number}/"


def check_collisions(named: Sequence[tuple[str, str]]) -> None:
    """``named`` is (output, where it comes from); two sources for one output fail the build."""
    seen: dict[str, str] = {}
    for output, source in named:
        if output in seen:
            raise BuildError(f"{source} and {seen[output]} both make /{output}", file=source)
        seen[output] = source
