"""Which pages a Jinja site has: one per ``pages/*.html``, one per post, the paginated blog
index, one listing per tag and the tags index. Planning reads no template; it decides what each
page shows, so reuse can be judged before anything renders."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from builders.base import BuildError, walk_files
from builders.content import Post
from builders.jinja_render import PageJob
from builders.jinja_views import Pagination, TagRef, tag_ref

POST_TEMPLATE = "layouts/post.html"
BLOG_TEMPLATE = "layouts/blog.html"
TAG_TEMPLATE = "layouts/tag.html"
TAGS_TEMPLATE = "layouts/tags.html"


def page_output(relative: str) -> str:
    """``about.html`` → ``about/index.html`` (clean URLs); ``index.html`` and ``404.html`` stay."""
    path = Path(relative)
    if path.name == "index.html" or relative == "404.html":
        return relative
    return (path.with_suffix("") / "index.html").as_posix()


def plan_pages(pages_dir: Path) -> list[PageJob]:
    """Every ``.html`` under ``pages/`` except partials (a name or folder starting with ``_``)."""
    jobs: list[PageJob] = []
    for path in walk_files(pages_dir):
        relative = path.relative_to(pages_dir).as_posix()
        if path.suffix != ".html" or any(part.startswith("_") for part in relative.split("/")):
            continue
        jobs.append(PageJob(output=page_output(relative), template=f"pages/{relative}"))
    return jobs


def plan_blog(posts: Sequence[Post], per_page: int, static_deps: frozenset[str]) -> list[PageJob]:
    """Post pages, the blog index and tag pages for ``posts`` (published, newest first).

    Posts are referred to by index into ``posts``. A listing page is assigned its own posts and
    the first post of the next page (whether there is a next page shows in its links)."""
    jobs = [
        PageJob(output=f"blog/{post.slug}/index.html", template=POST_TEMPLATE, title=post.title,
                post=index, assigned=frozenset({post.source}))
        for index, post in enumerate(posts)
    ]
    if not posts:
        return jobs
    jobs += _listing(posts, list(range(len(posts))), "/blog/", per_page, BLOG_TEMPLATE, "Blog", None, static_deps)
    by_tag: dict[str, list[int]] = {}
    names: dict[str, TagRef] = {}
    for index, post in enumerate(posts):
        for name in post.tags:
            ref = tag_ref(name)
            names.setdefault(ref.slug, ref)
            by_tag.setdefault(ref.slug, []).append(index)
    for slug, indices in sorted(by_tag.items()):
        tag = names[slug]
        jobs += _listing(posts, indices, tag.url, per_page, TAG_TEMPLATE, f"Tagged “{tag.name}”", tag, static_deps)
    if by_tag:
        jobs.append(PageJob(output="tags/index.html", template=TAGS_TEMPLATE, title="Tags", tags_index=True,
                            assigned=frozenset(post.source for post in posts), static_deps=static_deps))
    return jobs


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
    # The tag's display name comes from its newest post, so every page of the tag depends on it.
    name_source = {posts[indices[0]].source} if tag else set()
    jobs: list[PageJob] = []
    for number, shown in enumerate(pages, start=1):
        has_next = number < len(pages)
        assigned = {posts[index].source for index in shown} | name_source
        if has_next:
            assigned.add(posts[pages[number][0]].source)
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
