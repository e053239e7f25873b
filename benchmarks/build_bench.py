"""Issue 3, sitegate's side: the Jinja builder alone (cold, one-post edits, a shared-component
edit) and the ``BuildManager`` the gateway runs it through (fingerprint, build, publish, file
table) in development mode. Every phase gets its own fresh copy of the site, so none is warmed
by another."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from benchmarks.corpus import CorpusPost, edited
from benchmarks.projects import (
    copy_shared_components,
    sitegate_post,
    write_sitegate_site,
)
from benchmarks.stats import Samples
from builders import KNOWN_BUILDERS
from builders.base import BuildContext, BuildResult, PreviousBuild
from builders.jinja.builder import JinjaBuilder
from builders.jinja.deps import outputs_affected_by
from gateway.building.fingerprint import DigestCache
from gateway.building.manager import BuildManager
from gateway.config import Mode, Settings
from gateway.sites.registry import Site, load_site

# Used by every post page (through layouts/post.html) and by nothing else.
SHARED_COMPONENT = "blog/post_page.html"
_COMPONENT_BEFORE = 'class="sg-post__body"'
_COMPONENT_AFTER = 'class="sg-post__body sg-post__body--edited"'
# Edits through the gateway are this far apart, as a person saves: what the gateway does after
# publishing (completing the build folder, pruning old builds) happens in between, as it would.
EDIT_INTERVAL_SECONDS = 1.0


@dataclass(frozen=True)
class EditRun:
    """Repeated edits: the time of each and how many outputs each made anew."""

    timings: Samples
    rendered: tuple[int, ...]


@dataclass(frozen=True)
class BuilderFigures:
    cold: Samples
    cold_outputs: int
    cold_log: str
    fingerprint_seconds: Samples
    carry_over_seconds: Samples
    post_edits: EditRun
    shared_edit_seconds: float
    shared_edit_rendered: int
    shared_edit_users: int
    shared_edit_post_pages: int
    shared_edit_exact: bool


@dataclass(frozen=True)
class ManagerFigures:
    cold_seconds: float
    post_edits: EditRun


def post_page(slug: str) -> str:
    return f"blog/{slug}/index.html"


def pick_posts(posts: Sequence[CorpusPost], count: int, offset: int) -> list[CorpusPost]:
    """``count`` posts spread over the corpus; different offsets give different posts."""
    step = max(1, len(posts) // max(count, 1))
    return [posts[(offset + index * step) % len(posts)] for index in range(count)]


class _BuilderRun:
    """Builds one site copy the way the gateway does: digests of the inputs, the previous build
    handed over, unchanged outputs left for the gateway to carry over. Only
    ``JinjaBuilder.build`` is timed; fingerprinting and carrying over are timed apart."""

    def __init__(self, site: Site, shared_dir: Path, out_root: Path) -> None:
        self.site = site
        self.shared_dir = shared_dir
        self.out_root = out_root
        self.builder = JinjaBuilder()
        self.digests = DigestCache()
        self.previous: PreviousBuild | None = None
        self.count = 0

    def build(self) -> _Timed:
        out = self.out_root / str(self.count)
        self.count += 1
        out.mkdir(parents=True)
        ctx = BuildContext(
            site_name=self.site.name,
            site_dir=self.site.root,
            shared_dir=self.shared_dir,
            out_dir=out,
            options=self.site.options,
            previous=self.previous,
            carry_over=self.previous is not None,
        )
        started = time.perf_counter()
        digests = self.digests.digests(self.builder.input_files(ctx))
        fingerprinted = time.perf_counter()
        result = self.builder.build(replace(ctx, input_digests=digests))
        built = time.perf_counter()
        if self.previous is not None:
            _carry_over(self.previous.out_dir, out, result)
        carried = time.perf_counter()
        if self.previous is not None:
            shutil.rmtree(self.previous.out_dir)
        self.previous = PreviousBuild(out, result.dependencies, digests)
        return _Timed(result, out, built - fingerprinted, fingerprinted - started, carried - built)


@dataclass(frozen=True)
class _Timed:
    result: BuildResult
    out: Path
    build_seconds: float
    fingerprint_seconds: float
    carry_over_seconds: float


def _carry_over(previous: Path, out: Path, result: BuildResult) -> None:
    """What the gateway does after publishing: link the outputs the builder left out."""
    made = set(result.rendered)
    for output in result.files:
        if output not in made and not (out / output).exists():
            (out / output).parent.mkdir(parents=True, exist_ok=True)
            os.link(previous / output, out / output)


@dataclass(frozen=True)
class ColdBuild:
    """One cold build of a fresh copy of the site, and the run that can go on to edits."""

    run: _BuilderRun
    timed: _Timed


def cold_build(posts: Sequence[CorpusPost], work: Path) -> ColdBuild:
    """Blocking: a fresh copy of the site under ``work``, built once from nothing."""
    site_root = write_sitegate_site(posts, work / "sites")
    shared = copy_shared_components(work / "shared")
    run = _BuilderRun(load_site(site_root, KNOWN_BUILDERS), shared, work / "out")
    return ColdBuild(run, run.build())


def measure_builder(posts: Sequence[CorpusPost], colds: Sequence[ColdBuild], edits: int) -> BuilderFigures:
    """Blocking: call it off any event loop. The last cold build goes on to the edits."""
    run, cold = colds[-1].run, colds[-1].timed
    site_root, shared = run.site.root, run.shared_dir
    timings, rendered, fingerprints, carried = [], [], [], []
    for number, post in enumerate(pick_posts(posts, edits, offset=3)):
        token = f"builder-{number}"
        path = sitegate_post(site_root, post.slug)
        path.write_text(edited(path.read_text(encoding="utf-8"), token), encoding="utf-8")
        edit = run.build()
        _expect(post_page(post.slug) in edit.result.rendered, f"editing {post.slug} did not re-render its page")
        _expect(token in (edit.out / post_page(post.slug)).read_text(encoding="utf-8"), f"{post.slug}: edit not shown")
        timings.append(edit.build_seconds)
        fingerprints.append(edit.fingerprint_seconds)
        carried.append(edit.carry_over_seconds)
        rendered.append(len(edit.result.rendered))

    component = shared / SHARED_COMPONENT
    assert run.previous is not None
    users = outputs_affected_by(run.previous.dependencies, str(component.absolute()))
    source = component.read_text(encoding="utf-8")
    _expect(_COMPONENT_BEFORE in source, f"{SHARED_COMPONENT} no longer has {_COMPONENT_BEFORE}")
    component.write_text(source.replace(_COMPONENT_BEFORE, _COMPONENT_AFTER), encoding="utf-8")
    component_edit = run.build()
    expected = {post_page(post.slug) for post in posts}
    shown = (component_edit.out / post_page(posts[0].slug)).read_text(encoding="utf-8")
    _expect(_COMPONENT_AFTER in shown, "component edit not shown")
    shared_result, shared_seconds = component_edit.result, component_edit.build_seconds
    return BuilderFigures(
        cold=Samples(tuple(build.timed.build_seconds for build in colds)),
        cold_outputs=len(cold.result.rendered),
        cold_log=cold.result.log.strip(),
        fingerprint_seconds=Samples(tuple(fingerprints)),
        carry_over_seconds=Samples(tuple(carried)),
        post_edits=EditRun(Samples(tuple(timings)), tuple(rendered)),
        shared_edit_seconds=shared_seconds,
        shared_edit_rendered=len(shared_result.rendered),
        shared_edit_users=len(users),
        shared_edit_post_pages=len(expected),
        shared_edit_exact=set(shared_result.rendered) == users == expected,
    )


async def measure_manager(posts: Sequence[CorpusPost], work: Path, edits: int) -> ManagerFigures:
    """The gateway's build path in development mode, without HTTP or the file watcher: each edit
    is followed by ``invalidate`` and ``current``, as the dev reloader does."""
    site_root = await asyncio.to_thread(write_sitegate_site, posts, work / "sites")
    shared = await asyncio.to_thread(copy_shared_components, work / "shared")
    settings = Settings(
        sites_dir=work / "sites", shared_dir=shared, build_dir=work / "builds", mode=Mode.DEVELOPMENT
    ).with_absolute_paths()
    manager = BuildManager(settings)
    try:
        site = await asyncio.to_thread(load_site, site_root.resolve(), KNOWN_BUILDERS)
        started = time.perf_counter()
        await manager.current(site)
        cold_seconds = time.perf_counter() - started
        timings, rendered = [], []
        for number, post in enumerate(pick_posts(posts, edits, offset=5)):
            path = sitegate_post(site.root, post.slug)
            text = await asyncio.to_thread(path.read_text, encoding="utf-8")
            started = time.perf_counter()
            await asyncio.to_thread(path.write_text, edited(text, f"manager-{number}"), encoding="utf-8")
            manager.invalidate(site.name)
            build = await manager.current(site)
            timings.append(time.perf_counter() - started)
            _expect(post_page(post.slug) in build.record.rendered, f"{post.slug}: page not re-rendered")
            rendered.append(len(build.record.rendered))
            await asyncio.sleep(EDIT_INTERVAL_SECONDS)
        return ManagerFigures(cold_seconds, EditRun(Samples(tuple(timings)), tuple(rendered)))
    finally:
        await manager.close()


def _expect(condition: bool, problem: str) -> None:
    """A benchmark that measured the wrong thing must fail loudly, not report a number."""
    if not condition:
        raise RuntimeError(problem)
