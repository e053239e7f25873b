"""``mkdocs serve``'s live reload, timed the way its own page script sees it: from a file write
until the long poll ``/livereload/<epoch>/<id>`` answers with a newer epoch (the moment the
browser reloads)."""

from __future__ import annotations

import asyncio
import re
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from benchmarks.corpus import edited
from benchmarks.gateway_process import stop_process
from benchmarks.peers import Peers
from benchmarks.projects import mkdocs_post
from benchmarks.stats import Samples

_EPOCH = re.compile(r"livereload\((\d+),\s*(\d+)\)")
# The first build of 1,000 pages takes tens of seconds before the server answers at all.
_START_TIMEOUT_SECONDS = 600.0
_RELOAD_TIMEOUT_SECONDS = 300.0


@dataclass(frozen=True)
class ServeFigures:
    dirty: bool
    startup_seconds: float
    to_reload: Samples


async def measure_mkdocs_serve(
    peers: Peers, project: Path, slugs: Sequence[str], *, dirty: bool, log_file: Path
) -> ServeFigures:
    """Start ``mkdocs serve`` (``--dirty`` or not), then edit each post of ``slugs`` in turn."""
    port = _free_port()
    command = [str(peers.tool("mkdocs")), "serve", "-a", f"127.0.0.1:{port}"]
    if dirty:
        command.append("--dirty")
    started = time.perf_counter()
    with log_file.open("ab") as log:
        process = await asyncio.create_subprocess_exec(*command, cwd=project, stdout=log, stderr=log)
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None)) as session:
            base = f"http://127.0.0.1:{port}"
            epoch, request_id = await _wait_for_first_page(session, f"{base}/posts/{slugs[0]}/", process)
            startup = time.perf_counter() - started
            timings = []
            for number, slug in enumerate(slugs):
                path = mkdocs_post(project, slug)
                text = await asyncio.to_thread(path.read_text, encoding="utf-8")
                poll = asyncio.create_task(_newer_epoch(session, base, epoch, request_id))
                # The poll is parked on the server before the write, as a waiting browser's is.
                await asyncio.sleep(0.2)
                written = time.perf_counter()
                await asyncio.to_thread(path.write_text, edited(text, f"mkdocs-{number}"), encoding="utf-8")
                epoch = await asyncio.wait_for(poll, _RELOAD_TIMEOUT_SECONDS)
                timings.append(time.perf_counter() - written)
            return ServeFigures(dirty=dirty, startup_seconds=startup, to_reload=Samples(tuple(timings)))
    finally:
        await stop_process(process)


async def _wait_for_first_page(
    session: aiohttp.ClientSession, url: str, process: asyncio.subprocess.Process
) -> tuple[int, int]:
    deadline = time.perf_counter() + _START_TIMEOUT_SECONDS
    while time.perf_counter() < deadline:
        if process.returncode is not None:
            raise RuntimeError(f"mkdocs serve exited with {process.returncode}")
        try:
            async with session.get(url) as response:
                if response.status == 200:
                    found = _EPOCH.search(await response.text())
                    if found is None:
                        raise RuntimeError("mkdocs serve sent a page without its live-reload script")
                    return int(found.group(1)), int(found.group(2))
        except aiohttp.ClientConnectionError:
            pass
        await asyncio.sleep(0.25)
    raise RuntimeError(f"mkdocs serve did not answer within {_START_TIMEOUT_SECONDS:.0f} s")


async def _newer_epoch(session: aiohttp.ClientSession, base: str, epoch: int, request_id: int) -> int:
    """mkdocs answers a poll after 60 s even when nothing changed; the page script polls again."""
    while True:
        async with session.get(f"{base}/livereload/{epoch}/{request_id}") as response:
            answered = int((await response.text()).strip())
        if answered > epoch:
            return answered



def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
