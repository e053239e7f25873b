"""Issue 3, what a visitor waits for: a production gateway with no build of the site yet, and the
first request for a post page until its body arrives (build, precompression, publish, file
table, response). Then the production rebuild after an edit, triggered by the rebuild hook,
until the new text is served."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from benchmarks.build_bench import EDIT_INTERVAL_SECONDS, pick_posts
from benchmarks.corpus import CorpusPost, edited
from benchmarks.gateway_process import GatewayOptions, RunningGateway
from benchmarks.projects import (
    SITE_NAME,
    copy_shared_components,
    sitegate_post,
    write_sitegate_site,
)
from benchmarks.stats import Samples
from gateway.config import Mode

_BUILDER_LINE = re.compile(r"reused, in ([\d.]+) s")
_BUILD_LINE = re.compile(r"built \w+ in (\d+) ms")
_PRECOMPRESSED = re.compile(r"(\d+) precompressed")
_POLL_SECONDS = 0.02
_REBUILD_TIMEOUT_SECONDS = 300.0


@dataclass(frozen=True)
class BuildLog:
    """What the gateway's build log says of one build; None where the log has no such line."""

    builder_seconds: float | None
    build_seconds: float | None
    precompressed: int | None


@dataclass(frozen=True)
class ProductionFigures:
    first_request: Samples
    cold_build: BuildLog
    rebuilds: Samples


@dataclass(frozen=True)
class FirstRequest:
    seconds: float
    build: BuildLog


async def first_request_to_cold_gateway(posts: Sequence[CorpusPost], work: Path) -> FirstRequest:
    """A fresh gateway with a fresh copy of the site under ``work``: the first request's time,
    and what the log says of the build it waited for."""
    async with await _fresh_gateway(posts, work) as gateway, aiohttp.ClientSession() as session:
        seconds = await _first_request(gateway, session, posts)
        return FirstRequest(seconds, await asyncio.to_thread(read_build_log, work / "builds" / SITE_NAME))


async def measure_rebuilds(posts: Sequence[CorpusPost], work: Path, edits: int) -> Samples:
    """Edits rebuilt through the hook by a gateway that has served the site once."""
    async with await _fresh_gateway(posts, work) as gateway, aiohttp.ClientSession() as session:
        await _first_request(gateway, session, posts)
        timings = []
        for number, post in enumerate(pick_posts(posts, edits, offset=11)):
            token = f"production-{number}"
            path = sitegate_post(work / "sites" / SITE_NAME, post.slug)
            text = await asyncio.to_thread(path.read_text, encoding="utf-8")
            started = time.perf_counter()
            await asyncio.to_thread(path.write_text, edited(text, token), encoding="utf-8")
            async with session.post(gateway.url(f"/_sitegate/hooks/rebuild/{SITE_NAME}")) as response:
                if response.status != 202:
                    raise RuntimeError(f"the rebuild hook answered {response.status}")
            page = f"/blog/{post.slug}/"
            await asyncio.wait_for(_until_served(gateway, session, page, token), _REBUILD_TIMEOUT_SECONDS)
            timings.append(time.perf_counter() - started)
            await asyncio.sleep(EDIT_INTERVAL_SECONDS)
    return Samples(tuple(timings))


async def _fresh_gateway(posts: Sequence[CorpusPost], work: Path) -> RunningGateway:
    await asyncio.to_thread(write_sitegate_site, posts, work / "sites")
    shared = await asyncio.to_thread(copy_shared_components, work / "shared")
    return await RunningGateway.start(
        GatewayOptions(Mode.PRODUCTION, work / "sites", shared, work / "builds", work / "gateway.log")
    )


async def _first_request(gateway: RunningGateway, session: aiohttp.ClientSession, posts: Sequence[CorpusPost]) -> float:
    target = posts[len(posts) // 2]
    started = time.perf_counter()
    body = await gateway.page(session, SITE_NAME, f"/blog/{target.slug}/")
    seconds = time.perf_counter() - started
    if target.title not in body:
        raise RuntimeError(f"the first page served is not {target.slug}")
    return seconds


async def _until_served(gateway: RunningGateway, session: aiohttp.ClientSession, path: str, token: str) -> None:
    """The build in service answers while the new one is made, so this polls."""
    while token not in await gateway.page(session, SITE_NAME, path):
        await asyncio.sleep(_POLL_SECONDS)


def read_build_log(site_builds: Path) -> BuildLog:
    """The oldest build log of the site: its first, cold build."""
    logs = sorted(site_builds.glob("*.log"), key=lambda path: path.stat().st_mtime)
    text = logs[0].read_text(encoding="utf-8") if logs else ""
    builder = _BUILDER_LINE.search(text)
    build = _BUILD_LINE.search(text)
    precompressed = _PRECOMPRESSED.search(text)
    return BuildLog(
        builder_seconds=float(builder.group(1)) if builder else None,
        build_seconds=int(build.group(1)) / 1000 if build else None,
        precompressed=int(precompressed.group(1)) if precompressed else None,
    )
