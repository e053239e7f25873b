"""One build of one Jinja site (``SiteBuild``): posts, the pages planned from them, reuse of
unchanged outputs, rendering (in this process, or in worker processes for a large site), feed,
sitemap, theme, assets and Tailwind; every output with the inputs it used."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Mapping
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from builders.base import BuildContext, BuildResult, files_under, plain
from builders.errors import BuildError, BuildStopped
from builders.jinja.assets import OutputDir, fingerprint_assets, public_files
from builders.jinja.content import Post
from builders.jinja.deps import ReuseCheck
from builders.jinja.feeds import SitemapEntry, atom_feed, sitemap
from builders.jinja.memory import SiteMemory
from builders.jinja.plan import check_collisions, plan_pages
from builders.jinja.posts import api_posts_prefix, merge_posts, posts_source
from builders.jinja.render import (
    PageJob,
    RenderSetup,
    SiteRenderer,
    content_token,
    data_token,
    output_url,
    render_chunk,
    worker_ready,
)
from builders.jinja.tailwind import OUTPUT as TAILWIND_OUTPUT
from builders.jinja.tailwind import build_tailwind, tailwind_content, tailwind_inputs, uses_tailwind
from builders.jinja.theme import theme_css, validate_theme
from builders.paths import Boundary
from builders.workers import ProcessWorkers

FEED_SIZE = 20
# Chunks per worker process: enough that one slow chunk does not leave the others idle.
CHUNKS_PER_WORKER = 4


class SiteBuild:
    """One build of one site; holds what the steps share."""

    def __init__(self, ctx: BuildContext, parallel_threshold: int, memory: SiteMemory, workers: ProcessWorkers) -> None:
        self.ctx = ctx
        self.parallel_threshold = parallel_threshold
        self.memory = memory
        self.workers = workers
        self.site_dir = ctx.site_dir.absolute()
        self.shared_dir = ctx.shared_dir.absolute()
        self.within = Boundary.of(self.site_dir, self.shared_dir)
        self.site_toml = str(self.site_dir / "site.toml")
        self.posts_dir = str(self.site_dir / "content" / "posts")
        self.options = plain(ctx.options)
        self.output = OutputDir(ctx.out_dir)
        # The site's own cache folder (never an input): parsed posts and compiled templates, for
        # a builder that does not remember them yet.
        self.cache_dir = self.site_dir / ".sitegate"
        self.dependencies: dict[str, frozenset[str]] = {}
        self.rendered: list[str] = []
        self.log: list[str] = []

    def run(self) -> BuildResult:
        started = time.perf_counter()
        if self._expects_many_pages():
            # Their start-up then overlaps reading the posts and planning.
            self.workers.warm(worker_ready)
        theme = dict(validate_theme(self.options.get("theme")))
        per_page = self.options.get("posts_per_page", 10)
        if not isinstance(per_page, int) or isinstance(per_page, bool) or per_page < 1:
            raise BuildError("`posts_per_page` must be a whole number of 1 or more", file="site.toml")
        data = plain(self.ctx.data)
        posts = self._posts(data)
        assets = fingerprint_assets(self.site_dir / "assets", self.within, hashed=not self.ctx.dev)
        public = public_files(self.site_dir / "public", self.within)
        tailwind = uses_tailwind(self.site_dir, self.options, self.within)
        plan_deps = frozenset({self.site_toml, self.posts_dir + os.sep})
        # Generated pages first, so a clash names the author's file, not the generated one.
        blog = self.memory.blog.plan(posts, per_page, plan_deps, self.posts_dir)
        jobs = [*blog.jobs, *plan_pages(self.site_dir / "pages", self.within)]
        generated = ["theme.css"] + (["feed.xml"] if self._has_blog() else []) + ["sitemap.xml"]
        check_collisions(
            [(output, "sitegate") for output in generated + ([TAILWIND_OUTPUT] if tailwind else [])]
            + [(job.output, _job_source(job, posts)) for job in jobs]
            + [(asset.output, f"assets/{asset.name}") for asset in assets.values()]
            + [(output, f"public/{output}") for output in public]
        )
        base_url = self._base_url()
        # The sitemap lists every page, so it would follow every post; it stands for its own
        # content instead, and a post edit that moves no URL and no date leaves it as it was.
        sitemap_xml = self._sitemap(base_url, posts, jobs)
        sitemap_token = content_token(self.site_toml, "sitemap", sitemap_xml)
        api_prefix = api_posts_prefix(self.site_toml)
        reuse = ReuseCheck(
            self.ctx.previous,
            self.ctx.input_digests,
            (self.posts_dir + os.sep, api_prefix),
            published=(post.listing_source for post in posts),
            virtual=blog.tokens.union(
                [sitemap_token],
                (data_token(self.site_toml, name, value) for name, value in data.items()),
                (post.listing_source for post in posts),
                (asset.url_token for asset in assets.values()),
            ),
        )
        for asset in assets.values():
            self._copy(reuse, asset.output, asset.source)
        for output, source in public.items():
            self._copy(reuse, output, source)
        self._generate(reuse, "theme.css", frozenset({self.site_toml}), lambda: theme_css(theme).encode())
        setup = RenderSetup(
            site_name=self.ctx.site_name,
            site_dir=self.site_dir,
            shared_dir=self.shared_dir,
            out_dir=self.ctx.out_dir,
            site_toml=self.site_toml,
            posts_dir=self.posts_dir,
            base_url=base_url,
            options=self.options,
            theme=theme,
            assets=assets,
            posts=tuple(posts),
            tailwind_css="/" + TAILWIND_OUTPUT if tailwind else None,
            cache_dir=self.cache_dir / "templates",
            data=data,
        )
        renderer = SiteRenderer(
            setup, self.output, self.memory.templates, self.memory.post_html, self.memory.posts.markdown
        )
        self._render_pages(reuse, jobs, renderer, frozenset(post.source for post in posts[:FEED_SIZE]))
        self._feed(reuse, posts, renderer)
        self._generate(reuse, "sitemap.xml", frozenset({sitemap_token}), lambda: sitemap_xml)
        if tailwind:
            self._tailwind(reuse)
        self.log.append(
            f"{len(self.dependencies)} files, {len(self.rendered)} made anew, "
            f"{len(self.dependencies) - len(self.rendered)} reused, in {time.perf_counter() - started:.3f} s\n"
        )
        return BuildResult(
            files=tuple(sorted(self.dependencies)),
            dependencies=self.dependencies,
            rendered=tuple(sorted(self.rendered)),
            log="".join(self.log),
        )

    def _posts(self, data: Mapping[str, Any]) -> list[Post]:
        """Published posts (in development, Markdown drafts too), newest first."""
        markdown_posts = self.memory.posts.load(
            self.site_dir, self.posts_dir, self.ctx.input_digests, self.cache_dir / "posts.json", drafts=self.ctx.dev
        )
        source = posts_source(self.options, data)
        if source is None:
            return markdown_posts
        name, items, raw_html = source
        return merge_posts(markdown_posts, self.memory.posts.load_api(items, name, self.site_toml, raw_html))

    def _sitemap(self, base_url: str, posts: list[Post], jobs: list[PageJob]) -> bytes:
        # Exactly what the sitemap shows: every page's URL and each post's date.
        key = (base_url, tuple(job.output for job in jobs), tuple((post.slug, post.updated) for post in posts))
        if self.memory.sitemap is None or self.memory.sitemap[0] != key:
            self.memory.sitemap = (key, sitemap(base_url, _sitemap_entries(posts, jobs)))
        return self.memory.sitemap[1]

    def _expects_many_pages(self) -> bool:
        """A first build of a site with many posts and pages renders about as many pages."""
        if self.ctx.previous is not None or self.workers.count < 2:
            return False
        sources = files_under(self.ctx.input_digests, [self.posts_dir, str(self.site_dir / "pages")], self.within)
        return len(sources) >= self.parallel_threshold

    def _has_blog(self) -> bool:
        return Path(self.posts_dir).is_dir() or "posts_from" in self.options

    def _base_url(self) -> str:
        base = self.options.get("base_url") or f"https://{self.ctx.site_name}"
        if not isinstance(base, str) or not base.startswith(("http://", "https://")):
            raise BuildError("`base_url` must be an http:// or https:// URL", file="site.toml")
        return base.rstrip("/")

    def _reuse(self, reuse: ReuseCheck, output: str, assigned: frozenset[str] = frozenset()) -> bool:
        previous = reuse.reusable_dependencies(output, assigned)
        if previous is None:
            return False
        assert self.ctx.previous is not None
        if not self.ctx.carry_over and not self.output.link(output, self.ctx.previous.out_dir):
            return False
        self.dependencies[output] = previous
        return True

    def _copy(self, reuse: ReuseCheck, output: str, source: str) -> None:
        if not self._reuse(reuse, output):
            self.output.copy(output, source)
            self.dependencies[output] = frozenset({source})
            self.rendered.append(output)

    def _generate(
        self,
        reuse: ReuseCheck,
        output: str,
        deps: frozenset[str],
        make: Callable[[], bytes],
        assigned: frozenset[str] = frozenset(),
    ) -> None:
        if not self._reuse(reuse, output, assigned):
            self.output.write(output, make())
            self.dependencies[output] = deps | assigned
            self.rendered.append(output)

    def _render_pages(
        self, reuse: ReuseCheck, jobs: list[PageJob], renderer: SiteRenderer, feed_sources: frozenset[str]
    ) -> None:
        pending = [job for job in jobs if not self._reuse(reuse, job.output, job.assigned)]
        results: list[tuple[str, frozenset[str]]] | None = None
        if len(pending) >= self.parallel_threshold and self.workers.count > 1:
            try:
                results = self._render_in_workers(pending, renderer, feed_sources)
            except (BrokenProcessPool, OSError) as error:
                self.log.append(f"worker processes failed ({error}); rendering in this one\n")
        if results is None:
            results = []
            for job in pending:
                if self.ctx.stopping.is_set():
                    raise BuildStopped()
                results.append((job.output, renderer.render(job)))
        for output, deps in results:
            self.dependencies[output] = deps
            self.rendered.append(output)

    def _render_in_workers(
        self, pending: list[PageJob], renderer: SiteRenderer, feed_sources: frozenset[str]
    ) -> list[tuple[str, frozenset[str]]]:
        size = max(1, -(-len(pending) // (self.workers.count * CHUNKS_PER_WORKER)))
        chunks = [pending[start : start + size] for start in range(0, len(pending), size)]
        done = self.workers.run(
            render_chunk, [(renderer.setup, chunk, feed_sources) for chunk in chunks], self.ctx.stopping
        )
        by_source = {post.source: post for post in renderer.setup.posts}
        results: list[tuple[str, frozenset[str]]] = []
        for chunk_results, html in done:
            results += chunk_results
            for source, text in html.items():
                renderer.remember_html(by_source[source], text)
        self.log.append(f"rendered {len(pending)} pages in {self.workers.count} processes\n")
        return results

    def _feed(self, reuse: ReuseCheck, posts: list[Post], renderer: SiteRenderer) -> None:
        if not self._has_blog():
            return
        newest = posts[:FEED_SIZE]
        self._generate(
            reuse, "feed.xml", frozenset({self.site_toml, self.posts_dir + os.sep}),
            lambda: atom_feed(title=str(self.options.get("title", self.ctx.site_name)), base_url=renderer.setup.base_url,
                              posts=newest, html=renderer.post_html),
            assigned=frozenset(post.source for post in newest),
        )

    def _tailwind(self, reuse: ReuseCheck) -> None:
        """Tailwind scans every HTML file of the build and every template, so it runs again when
        any of them is new, gone, rendered anew or edited, or when its own inputs changed."""
        html_now = {output for output in self.dependencies if output.endswith(".html")}
        html_before = {output for output in reuse.previous_outputs() if output.endswith(".html")}
        folders = self._template_folders()
        # A folder ending in the separator stands for the set of files in it: a new template too.
        markers = [str(folder) + os.sep for folder in folders]
        templates = [path for path in files_under(self.ctx.input_digests, markers, self.within) if path.endswith(".html")]
        deps = frozenset(str(path) for path in tailwind_inputs(self.site_dir)).union(
            templates, markers, *(self.dependencies[output] for output in html_now)
        )
        fresh_html = {output for output in self.rendered if output.endswith(".html")}
        if not (html_now == html_before and not fresh_html and self._reuse(reuse, TAILWIND_OUTPUT)):
            content = tailwind_content(self.ctx, html_now, fresh_html, templates)
            warm = (self.memory.tailwind, content) if self.ctx.dev else None
            with tempfile.TemporaryDirectory(prefix="sitegate-tailwind-") as work:
                self.log.append(build_tailwind(self.ctx, self.site_dir, Path(work), self.within, folders, warm))
            self.rendered.append(TAILWIND_OUTPUT)
        self.dependencies[TAILWIND_OUTPUT] = deps

    def _template_folders(self) -> list[Path]:
        """Where class names are written as the author wrote them: a page shows a class passed
        to a component escaped (``[&>p]`` as ``[&amp;&gt;p]``), which Tailwind cannot read."""
        return [self.site_dir / "pages", self.site_dir / "layouts", self.site_dir / "components", self.shared_dir]


def _sitemap_entries(posts: list[Post], jobs: list[PageJob]) -> list[SitemapEntry]:
    updated = {f"blog/{post.slug}/index.html": post.updated for post in posts}
    return [
        SitemapEntry(output_url(job.output), updated.get(job.output))
        for job in sorted(jobs, key=lambda job: job.output)
        if job.output != "404.html"
    ]


def _job_source(job: PageJob, posts: list[Post]) -> str:
    if job.post is not None:
        return posts[job.post].label
    return job.template
