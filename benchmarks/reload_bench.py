"""Issue 6: a development gateway (real ``create_app``, watch on, its own process and port)
serving the corpus. For each edit, a tab's event stream is open on the post's page; timed from
the file write until (a) the stream says ``reload`` and (b) the page, fetched right after as the
browser would, carries the new text."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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

_EVENT_TIMEOUT_SECONDS = 60.0
_REBUILD_LINE = re.compile(rf"{re.escape(SITE_NAME)}: (\d+) pages re-rendered, \d+ files changed, (\d+) ms")


@dataclass(frozen=True)
class ReloadFigures:
    first_request_seconds: float
    to_reload_event: Samples
    to_new_page: Samples
    # From the gateway's own log line per rebuild: its rebuild time and pages re-rendered.
    gateway_rebuilds: Samples | None
    rendered: tuple[int, ...]


async def measure_reload(posts: Sequence[CorpusPost], work: Path, edits: int) -> ReloadFigures:
    site_root = await asyncio.to_thread(write_sitegate_site, posts, work / "sites")
    shared = await asyncio.to_thread(copy_shared_components, work / "shared")
    options = dev_gateway(work, shared)
    targets = pick_posts(posts, edits, offset=7)
    async with await RunningGateway.start(options) as gateway, aiohttp.ClientSession() as session:
        started = time.perf_counter()
        await gateway.page(session, SITE_NAME, f"/blog/{targets[0].slug}/")
        first_request = time.perf_counter() - started
        to_event, to_page = [], []
        for number, post in enumerate(targets):
            event_seconds, page_seconds = await edit_and_wait(gateway, session, site_root, post, f"dev-{number}")
            to_event.append(event_seconds)
            to_page.append(page_seconds)
            await asyncio.sleep(EDIT_INTERVAL_SECONDS)
    log = await asyncio.to_thread(options.log_file.read_text, encoding="utf-8")
    rebuilds = [(int(pages), int(milliseconds) / 1000) for pages, milliseconds in _REBUILD_LINE.findall(log)]
    return ReloadFigures(
        first_request_seconds=first_request,
        to_reload_event=Samples(tuple(to_event)),
        to_new_page=Samples(tuple(to_page)),
        gateway_rebuilds=Samples(tuple(seconds for _, seconds in rebuilds)) if rebuilds else None,
        rendered=tuple(pages for pages, _ in rebuilds),
    )


def dev_gateway(work: Path, shared: Path) -> GatewayOptions:
    return GatewayOptions(Mode.DEVELOPMENT, work / "sites", shared, work / "builds", work / "gateway.log")


async def edit_and_wait(
    gateway: RunningGateway, session: aiohttp.ClientSession, site_root: Path, post: CorpusPost, token: str
) -> tuple[float, float]:
    """Edit ``post`` with a tab open on its page: seconds from the write to the ``reload`` event
    and to the page served with ``token``."""
    page = f"/blog/{post.slug}/"
    path = sitegate_post(site_root, post.slug)
    text = await asyncio.to_thread(path.read_text, encoding="utf-8")
    events = gateway.url(f"/_sitegate/events?path={page}")
    async with session.get(events, headers={"Host": SITE_NAME}) as stream:
        name, _ = await next_event(stream)
        if name != "hello":
            raise RuntimeError(f"the event stream began with {name!r}, not hello")
        written = time.perf_counter()
        await asyncio.to_thread(path.write_text, edited(text, token), encoding="utf-8")
        # An editor's write can reach the watcher in two parts; the edit counts as shown at the
        # first reload after which the page has the new text.
        while True:
            name, data = await asyncio.wait_for(next_event(stream), _EVENT_TIMEOUT_SECONDS)
            if name == "error-overlay":
                raise RuntimeError(f"the edit of {post.slug} broke the build: {data.get('message')}")
            if name != "reload":
                continue
            reloaded = time.perf_counter()
            body = await gateway.page(session, SITE_NAME, page)
            served = time.perf_counter()
            if token in body:
                return reloaded - written, served - written


async def next_event(stream: aiohttp.ClientResponse) -> tuple[str, dict[str, Any]]:
    """The next server-sent event of the live-reload stream: its name and data."""
    name = ""
    while True:
        line = await stream.content.readline()
        if not line:
            raise RuntimeError("the event stream ended")
        text = line.decode().rstrip("\n")
        if text.startswith("event: "):
            name = text.removeprefix("event: ")
        elif text.startswith("data: ") and name:
            return name, json.loads(text.removeprefix("data: "))
