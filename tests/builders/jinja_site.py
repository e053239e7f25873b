"""Test helpers for the Jinja builder: sites written to disk and built the way the gateway
builds them (digests of every input, the previous build handed over)."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from builders.base import BuildContext, BuildResult, PreviousBuild
from builders.jinja.builder import JinjaBuilder
from builders.workers import ProcessWorkers
from shared.backend.blog import post_json
from shared.backend.store import Post, PostStatus

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO / "shared" / "components"
_NOT_OPTIONS = ("aliases", "builder", "api", "env")


def write_files(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def copy_tree(source: Path, target: Path) -> Path:
    """A copy of a site or of the shared library, without tool caches."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("node_modules", ".sitegate"))
    return target


def api_post(
    slug: str,
    title: str,
    published: str,
    *,
    body: str = "An API post.",
    tags: tuple[str, ...] = (),
    summary: str = "",
    status: str = "published",
    updated: str | None = None,
) -> dict[str, Any]:
    """A post as the backend's blog API lists it: what the gateway hands a build for
    ``[data] posts = "/api/blog/posts"``. Dates are ISO dates or date-times (UTC)."""
    published_at = dt.datetime.fromisoformat(published).replace(tzinfo=dt.UTC)
    updated_at = dt.datetime.fromisoformat(updated).replace(tzinfo=dt.UTC) if updated else published_at
    return post_json(
        Post(
            id=f"id-{slug}", tenant="site.example", slug=slug, title=title, body=body, summary=summary, tags=tags,
            status=PostStatus(status), author="Ada", author_id=None, created_at=published_at, updated_at=updated_at,
            published_at=published_at if status == "published" else None,
        )
    )


def publish_api_posts(site_dir: Path) -> Path:
    """Make ``site_dir`` publish the posts of its ``[data] posts`` as blog posts."""
    toml = site_dir / "site.toml"
    toml.write_text(f'posts_from = "posts"\n{toml.read_text()}\n[data]\nposts = "/api/blog/posts"\n')
    return site_dir


@dataclass(frozen=True)
class Built:
    ctx: BuildContext
    result: BuildResult

    @property
    def out(self) -> Path:
        return self.ctx.out_dir

    @property
    def rendered(self) -> set[str]:
        return set(self.result.rendered)

    def read(self, relative: str) -> str:
        return (self.out / relative).read_text(encoding="utf-8")

    def tree(self) -> dict[str, bytes]:
        return {path.relative_to(self.out).as_posix(): path.read_bytes() for path in sorted(self.out.rglob("*")) if path.is_file()}

    def as_previous(self) -> PreviousBuild:
        return PreviousBuild(self.out, self.result.dependencies, self.ctx.input_digests)


def build(
    site_dir: Path,
    *,
    shared_dir: Path = SHARED,
    previous: Built | None = None,
    mode: str = "production",
    builder: JinjaBuilder | None = None,
    data: dict[str, Any] | None = None,
    workers: ProcessWorkers | None = None,
    **options: Any,
) -> Built:
    """Build ``site_dir`` into a new folder beside it; ``options`` override ``site.toml``;
    ``data`` stands for what the gateway fetched for ``[data]``."""
    toml = site_dir / "site.toml"
    table = tomllib.loads(toml.read_text()) if toml.exists() else {}
    merged = {key: value for key, value in table.items() if key not in _NOT_OPTIONS} | options
    builds = site_dir.parent / f"{site_dir.name}-builds"
    builds.mkdir(exist_ok=True)
    out = builds / str(len(list(builds.iterdir())))
    out.mkdir()
    builder = builder or JinjaBuilder()
    ctx = BuildContext(
        site_name=site_dir.name,
        site_dir=site_dir,
        shared_dir=shared_dir,
        out_dir=out,
        mode=mode,
        options=merged,
        data=data or {},
        workers=workers,
    )
    digests = {str(path): hashlib.blake2b(path.read_bytes(), digest_size=16).hexdigest() for path in builder.input_files(ctx)}
    ctx = replace(ctx, input_digests=digests, previous=previous.as_previous() if previous else None)
    return Built(ctx, builder.build(ctx))
