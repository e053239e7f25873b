"""Rendering planned pages of one site, in this process or in a worker process.

A ``RenderSetup`` is everything a renderer needs and pickles, so a chunk of pages can render in
another process; each render returns the input files it used.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tomllib
import uuid
from collections import Counter
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from markdown_it import MarkdownIt
from markupsafe import Markup

from builders.errors import BuildError
from builders.jinja.assets import Asset, AssetLookup, OutputDir
from builders.jinja.content import Post, new_markdown, read_body
from builders.jinja.deps import VIRTUAL_MARK
from builders.jinja.env import (
    RecordingEnvironment,
    SiteLoader,
    TemplateMemory,
    template_error,
)
from builders.jinja.sanitize import sanitize_html
from builders.jinja.views import (
    DataView,
    PageInfo,
    Pagination,
    PostView,
    RecordingMapping,
    SiteView,
    TagRef,
    TagSummary,
    tag_ref,
)

DATA_TOKEN = VIRTUAL_MARK + "data:"
_DATA_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
_DATA_SUFFIXES = (".json", ".toml", ".yaml", ".yml")


@dataclass(frozen=True)
class PageJob:
    """One output file made from a template. ``assigned`` are the content files it is given
    (known before rendering); ``static_deps`` what the plan itself read for it."""

    output: str
    template: str
    title: str | None = None
    post: int | None = None
    listing: tuple[int, ...] = ()
    pagination: Pagination | None = None
    tag: TagRef | None = None
    tags_index: bool = False
    assigned: frozenset[str] = frozenset()
    static_deps: frozenset[str] = frozenset()


@dataclass(frozen=True)
class RenderSetup:
    site_name: str
    site_dir: Path
    shared_dir: Path
    out_dir: Path
    site_toml: str
    posts_dir: str
    base_url: str
    options: dict[str, Any]
    theme: dict[str, Any]
    assets: dict[str, Asset]
    posts: tuple[Post, ...] = ()
    tailwind_css: str | None = None
    cache_dir: Path | None = None
    data: dict[str, Any] = field(default_factory=dict)
    # Tells one build's setup from another's in a worker process that outlives builds.
    token: str = field(default_factory=lambda: uuid.uuid4().hex)

    @property
    def posts_marker(self) -> str:
        """A dependency on the set of posts (a directory path ending in the separator)."""
        return self.posts_dir + os.sep


def data_token(site_toml: str, name: str, value: Any) -> str:
    """A dependency standing for fetched backend data (no file holds it): equal while the data is."""
    digest = hashlib.blake2b(json.dumps(value, sort_keys=True, default=str).encode(), digest_size=12).hexdigest()
    return f"{site_toml}{DATA_TOKEN}{name}@{digest}"


def content_token(site_toml: str, name: str, content: bytes) -> str:
    """A dependency standing for a generated file's own content: equal while the content is."""
    return f"{site_toml}{VIRTUAL_MARK}{name}@{hashlib.blake2b(content, digest_size=16).hexdigest()}"


def output_url(output: str) -> str:
    if output == "index.html":
        return "/"
    if output.endswith("/index.html"):
        return "/" + output.removesuffix("index.html")
    return "/" + output


class SiteRenderer:
    """Renders pages of one site; not shared between threads (it records per render).

    ``templates``, ``post_html`` and ``markdown`` are what a long-lived builder keeps between
    builds: compiled templates, rendered Markdown keyed by the post's file and a digest of its
    body, and the Markdown parser."""

    def __init__(
        self,
        setup: RenderSetup,
        output: OutputDir | None = None,
        templates: TemplateMemory | None = None,
        post_html: MutableMapping[tuple[str, str], Markup] | None = None,
        markdown: MarkdownIt | None = None,
    ) -> None:
        self.setup = setup
        self._loader = SiteLoader(setup.site_dir, setup.shared_dir)
        self._env = RecordingEnvironment(self._loader, setup.cache_dir, templates)
        self._markdown = markdown or new_markdown()
        self._output = output or OutputDir(setup.out_dir)
        self._html: dict[str, Markup] = {}
        self._known_html: MutableMapping[tuple[str, str], Markup] = {} if post_html is None else post_html
        self._data: dict[str, Any] = {}
        self._deps: set[str] = set()
        # Made on first use: an edit renders a page or two of a site of thousands of posts.
        self._views: dict[int, PostView] = {}
        self._env.globals.update(
            site=SiteView(
                name=setup.site_name,
                base_url=setup.base_url,
                options=setup.options,
                site_toml=setup.site_toml,
                posts=lambda: [self._view(index) for index in range(len(setup.posts))],
                tags=self._tag_summaries,
                record_posts=self._record_all_posts,
                record=self._record,
            ),
            theme=RecordingMapping(setup.theme, setup.site_toml, self._record),
            data=DataView(
                fetched=setup.data,
                fetched_tokens={name: data_token(setup.site_toml, name, value) for name, value in setup.data.items()},
                candidates=self._data_candidates,
                load=self._load_data,
                site_toml=setup.site_toml,
                record=self._record,
            ),
            asset=AssetLookup(setup.assets, self._record),
            theme_css="/theme.css",
            tailwind_css=setup.tailwind_css,
            feed_url="/feed.xml",
        )

    def render(self, job: PageJob) -> frozenset[str]:
        """Write ``job.output`` and return every input file it used."""
        self._deps = set(job.assigned | job.static_deps)
        self._env.recorded = set()
        context: dict[str, Any] = {"page": PageInfo(url=output_url(job.output), output=job.output, title=job.title)}
        if job.post is not None:
            context["post"] = self._view(job.post)
        if job.pagination is not None:
            context["posts"] = [self._view(index) for index in job.listing]
            context["pagination"] = job.pagination
        if job.tag is not None:
            context["tag"] = job.tag
        if job.tags_index:
            context["tags"] = self._tag_summaries()
        try:
            html = self._env.get_template(job.template).render(context)
        except Exception as error:
            raise template_error(error, self.label, self._loader.filenames) from None
        self._output.write(job.output, html.encode("utf-8"))
        return frozenset(self._deps | self._env.recorded)

    def post_html(self, post: Post) -> Markup:
        # The page shows the whole post, so it depends on all of the post's file.
        self._deps.add(post.source)
        html = self._html.get(post.source)
        if html is None:
            body = read_body(post)
            key = (post.source, hashlib.blake2b(body.encode("utf-8"), digest_size=16).hexdigest())
            html = self._known_html.get(key)
            if html is None:
                rendered = self._markdown.render(body)
                html = self._known_html[key] = Markup(sanitize_html(rendered) if post.sanitize else rendered)
            self._html[post.source] = html
        return html

    def _view(self, index: int) -> PostView:
        view = self._views.get(index)
        if view is None:
            view = self._views[index] = PostView(self.setup.posts[index], self.post_html)
        return view

    def rendered_html(self, sources: frozenset[str]) -> dict[str, str]:
        """The HTML of those of ``sources`` this renderer has rendered, as plain strings."""
        return {source: str(self._html[source]) for source in sources if source in self._html}

    def remember_html(self, post: Post, html: str) -> None:
        """Take HTML another renderer made of ``post`` (as of the same setup)."""
        self._html[post.source] = Markup(html)

    def label(self, path: str) -> str:
        """A file as error messages name it: relative to the site, or ``shared/…``."""
        target = Path(path)
        for root, prefix in ((self.setup.site_dir, ""), (self.setup.shared_dir, "shared/")):
            if target.is_relative_to(root):
                return prefix + target.relative_to(root).as_posix()
        return path

    def _record(self, path: str) -> None:
        self._deps.add(path)

    def _record_all_posts(self) -> None:
        self._deps.add(self.setup.posts_marker)
        self._deps.update(post.listing_source for post in self.setup.posts)

    def _tag_summaries(self) -> list[TagSummary]:
        # Tags spelled alike share a slug; the spelling first met (newest post first) names it.
        counts: Counter[str] = Counter()
        names: dict[str, str] = {}
        for name, count in Counter(name for post in self.setup.posts for name in post.tags).items():
            ref = tag_ref(name)
            names.setdefault(ref.slug, ref.name)
            counts[ref.slug] += count
        return [TagSummary(name=names[slug], slug=slug, count=counts[slug]) for slug in sorted(names)]

    def _data_candidates(self, name: str) -> list[str]:
        if not _DATA_NAME.match(name):
            return []
        return [str(self.setup.site_dir / "data" / f"{name}{suffix}") for suffix in _DATA_SUFFIXES]

    def _load_data(self, path: str) -> Any:
        if path not in self._data:
            # Read like a template: through a link only into the site.
            found = self._loader.within.holds(path)
            self._data[path] = _read_data(Path(path), self.label(path)) if found else None
        return self._data[path]


def _read_data(path: Path, label: str) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise BuildError(f"cannot read data file: {error}", file=label) from None
    try:
        if path.suffix == ".json":
            return json.loads(text)
        if path.suffix == ".toml":
            return tomllib.loads(text)
        return yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as error:
        raise BuildError(f"bad data file: {error}", file=label) from None


# A worker process keeps the renderer of the build it last rendered for, so the chunks of one
# build share compiled templates and loaded data.
_worker_renderer: tuple[str, SiteRenderer] | None = None


def worker_ready() -> None:
    """Run once in each new worker process: importing this module is the start-up to get done."""


def render_chunk(
    setup: RenderSetup, jobs: list[PageJob], keep_html: frozenset[str]
) -> tuple[list[tuple[str, frozenset[str]]], dict[str, str]]:
    """Worker-process entry point: render ``jobs``; return (output, inputs used) pairs, and the
    HTML of the posts in ``keep_html`` this chunk rendered (the feed needs it in the caller)."""
    global _worker_renderer
    if _worker_renderer is None or _worker_renderer[0] != setup.token:
        _worker_renderer = (setup.token, SiteRenderer(setup))
    renderer = _worker_renderer[1]
    results = [(job.output, renderer.render(job)) for job in jobs]
    return results, renderer.rendered_html(keep_html)
