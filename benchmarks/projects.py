"""The corpus written three ways: a sitegate Jinja site (from ``shared/templates/blog``), an MkDocs
project (posts as pages, default theme) and a Pelican project (its default theme)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable
from pathlib import Path

from benchmarks.corpus import POST_LINK, CorpusPost

REPO = Path(__file__).resolve().parent.parent
BLOG_TEMPLATE = REPO / "shared" / "templates" / "blog"
SHARED_COMPONENTS = REPO / "shared" / "components"
SITE_NAME = "bench.test"

MKDOCS_CONFIG = """\
site_name: Bench
docs_dir: docs
site_dir: site
theme:
  name: mkdocs
"""

PELICAN_CONFIG = """\
AUTHOR = "Bench"
SITENAME = "Bench"
SITEURL = ""
PATH = "content"
TIMEZONE = "UTC"
DEFAULT_LANG = "en"
DEFAULT_PAGINATION = 10
RELATIVE_URLS = False
DELETE_OUTPUT_DIRECTORY = True
# A cold build every time: Pelican's content cache would turn a rerun into a warm one.
LOAD_CONTENT_CACHE = False
CACHE_CONTENT = False
"""


def write_sitegate_site(posts: Iterable[CorpusPost], sites_dir: Path) -> Path:
    """``sites_dir/bench.test``: the blog template's pages and layouts with the corpus as posts."""
    site = sites_dir / SITE_NAME
    shutil.copytree(BLOG_TEMPLATE, site, ignore=shutil.ignore_patterns(".sitegate", "content", "node_modules"))
    folder = site / "content" / "posts"
    folder.mkdir(parents=True)
    for post in posts:
        (folder / f"{post.slug}.md").write_text(_yaml_post(post, "](/blog/\\1/)"), encoding="utf-8")
    return site


def sitegate_post(site: Path, slug: str) -> Path:
    return site / "content" / "posts" / f"{slug}.md"


def copy_shared_components(target: Path) -> Path:
    """A private copy of the shared library, so editing a component never touches the repo's."""
    shutil.copytree(SHARED_COMPONENTS, target)
    return target


def write_mkdocs_project(posts: Iterable[CorpusPost], root: Path) -> Path:
    """``mkdocs.yml`` and ``docs/posts/<slug>.md``; links are relative ``.md`` paths, as MkDocs
    resolves them."""
    folder = root / "docs" / "posts"
    folder.mkdir(parents=True)
    (root / "mkdocs.yml").write_text(MKDOCS_CONFIG)
    (root / "docs" / "index.md").write_text("# Bench\n\nA thousand posts.\n")
    for post in posts:
        (folder / f"{post.slug}.md").write_text(_yaml_post(post, "](\\1.md)"), encoding="utf-8")
    return root


def mkdocs_post(root: Path, slug: str) -> Path:
    return root / "docs" / "posts" / f"{slug}.md"


def write_pelican_project(posts: Iterable[CorpusPost], root: Path) -> Path:
    """``pelicanconf.py`` and ``content/<slug>.md`` with Pelican's metadata lines; links use
    Pelican's ``{filename}`` form."""
    folder = root / "content"
    folder.mkdir(parents=True)
    (root / "pelicanconf.py").write_text(PELICAN_CONFIG)
    for post in posts:
        header = (
            f"Title: {post.title}\nDate: {post.date.isoformat()}\nTags: {', '.join(post.tags)}\n"
            f"Slug: {post.slug}\nSummary: {post.summary}\n\n"
        )
        body = POST_LINK.sub("]({filename}/\\1.md)", post.body)
        (folder / f"{post.slug}.md").write_text(header + body, encoding="utf-8")
    return root


def _yaml_post(post: CorpusPost, link: str) -> str:
    # JSON strings are valid YAML scalars, so titles and summaries need no YAML escaping rules.
    front = (
        f"---\ntitle: {json.dumps(post.title)}\ndate: {post.date.isoformat()}\n"
        f"tags: [{', '.join(post.tags)}]\nsummary: {json.dumps(post.summary)}\n---\n"
    )
    return front + POST_LINK.sub(link, post.body)
