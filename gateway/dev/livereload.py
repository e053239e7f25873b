"""Development: open tabs hear over Server-Sent Events when their site's build changed.

Only tabs whose page changed reload; a change to stylesheets alone swaps them in place; a
failed build shows an overlay until a good build clears it.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from builders.errors import BuildError
from gateway.serving.files import FileTable
from gateway.serving.static import find_entry

SCRIPT_PATH = "/_sitegate/livereload.js"
EVENTS_PATH = "/_sitegate/events"
_SCRIPT_FILE = Path(__file__).with_name("livereload.js")
_BODY_END = re.compile(rb"</body\s*>", re.IGNORECASE)
_HEARTBEAT_SECONDS = 15.0

Event = tuple[str, Mapping[str, Any]]
# Not sent: tells a stream to end. The browser reconnects to the next gateway by itself.
_GOODBYE: Event = ("", {})


@dataclass(eq=False)
class Tab:
    site: str
    page: str
    queue: asyncio.Queue[Event] = field(default_factory=asyncio.Queue)


def tab_event(page: str, table: FileTable, changed: frozenset[str], build_id: str) -> Event:
    """What one tab showing ``page`` should do about a new build that changed ``changed``
    (URL paths of the build's files)."""
    if not changed:
        return "build", {"build": build_id}
    stylesheets = {path for path in changed if path.endswith(".css")}
    pages = {path for path in changed if path.endswith(".html")}
    entry = find_entry(table, page)
    if changed - stylesheets - pages or entry is None or entry.url_path in pages:
        return "reload", {"build": build_id}
    if stylesheets:
        return "css", {"build": build_id, "paths": sorted(stylesheets)}
    return "build", {"build": build_id}


def changed_paths(before: FileTable | None, after: FileTable) -> frozenset[str]:
    """URL paths added, removed or changed in content between two builds."""
    if before is None:
        return frozenset(entry.url_path for entry in after)
    old = {entry.url_path: entry.etag for entry in before}
    new = {entry.url_path: entry.etag for entry in after}
    return frozenset(path for path in old.keys() | new.keys() if old.get(path) != new.get(path))


def failure_details(site: str, error: BuildError) -> dict[str, Any]:
    return {"site": site, "file": error.file, "line": error.line, "message": error.message, "log": error.log[-4000:]}


def inject_script(html: bytes, build_id: str | None) -> bytes:
    """The live-reload script, just before ``</body>`` (or at the end of a page without one)."""
    tag = f'<script src="{SCRIPT_PATH}" data-build="{build_id or ""}" defer></script>'.encode()
    matches = list(_BODY_END.finditer(html))
    if not matches:
        return html + tag
    cut = matches[-1].start()
    return html[:cut] + tag + html[cut:]


class LiveReloadHub:
    def __init__(self) -> None:
        self._tabs: dict[str, set[Tab]] = {}
        self._failures: dict[str, dict[str, Any]] = {}

    def open(self, site: str, page: str) -> Tab:
        tab = Tab(site, page)
        self._tabs.setdefault(site, set()).add(tab)
        return tab

    def close(self, tab: Tab) -> None:
        self._tabs.get(tab.site, set()).discard(tab)

    def failure(self, site: str) -> dict[str, Any] | None:
        return self._failures.get(site)

    def published(self, site: str, build_id: str, table: FileTable, changed: frozenset[str]) -> None:
        was_failing = self._failures.pop(site, None) is not None
        for tab in self._tabs.get(site, ()):
            event = ("reload", {"build": build_id}) if was_failing else tab_event(tab.page, table, changed, build_id)
            tab.queue.put_nowait(event)

    def close_all(self) -> None:
        """The gateway is stopping: end every stream now rather than at the shutdown timeout."""
        for tabs in self._tabs.values():
            for tab in tabs:
                tab.queue.put_nowait(_GOODBYE)

    def failed(self, site: str, error: BuildError) -> None:
        details = failure_details(site, error)
        self._failures[site] = details
        for tab in self._tabs.get(site, ()):
            tab.queue.put_nowait(("error-overlay", details))


async def send_events(request: web.Request, hub: LiveReloadHub, site: str, build_id: str | None) -> web.StreamResponse:
    """One tab's event stream, until the tab goes away."""
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",
        }
    )
    await response.prepare(request)
    tab = hub.open(site, request.query.get("path", "/"))
    try:
        await response.write(b"retry: 1000\n\n")
        await _write_event(response, ("hello", {"build": build_id, "error": hub.failure(site)}))
        while True:
            try:
                event = await asyncio.wait_for(tab.queue.get(), _HEARTBEAT_SECONDS)
            except TimeoutError:
                await response.write(b": ping\n\n")
                continue
            if event is _GOODBYE:
                return response
            await _write_event(response, event)
    except ConnectionResetError:
        return response
    finally:
        hub.close(tab)


async def _write_event(response: web.StreamResponse, event: Event) -> None:
    name, data = event
    await response.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())


async def script(_request: web.Request) -> web.Response:
    body = await asyncio.to_thread(_SCRIPT_FILE.read_bytes)
    return web.Response(body=body, content_type="text/javascript", headers={"Cache-Control": "no-store"})
