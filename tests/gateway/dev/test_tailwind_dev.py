"""`sitegate dev` on an example Tailwind site (a real gateway, real Tailwind from the site's own
packages): edits reach the tab with the CSS they need, through the site's warm Tailwind
process, which a kill does not break and which does not outlive the gateway."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from builders.command.process import group_members
from gateway.app import create_app
from gateway.config import Mode
from tests.builders.jinja_site import REPO, copy_tree
from tests.builders.npm_cache import copy_dependencies
from tests.gateway.dev.test_livereload import next_event
from tests.gateway.sitefarm import settings_for

SITE = "darkflows.com"
HOST = {"Host": SITE}
SCRIPT = "tailwind_server.js"


@pytest.fixture(scope="module")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = copy_tree(REPO / "sites" / SITE, tmp_path_factory.mktemp("packaged") / SITE)
    copy_dependencies(site)
    return site


@pytest.fixture
def site(packaged: Path, tmp_path: Path) -> Path:
    copy = copy_tree(packaged, tmp_path / "sites" / SITE)
    (copy / "node_modules").symlink_to(packaged / "node_modules", target_is_directory=True)
    return copy


async def dev_gateway(aiohttp_client, tmp_path: Path) -> TestClient:  # type: ignore[no-untyped-def]
    settings = settings_for(tmp_path, mode=Mode.DEVELOPMENT, watch_debounce_ms=20)
    client = await aiohttp_client(create_app(settings))
    response = await client.get("/", headers=HOST)
    assert response.status == 200
    return client


def tailwind_processes(site: Path) -> list[int]:
    """The warm Tailwind processes serving ``site`` (by their command line)."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            argv = Path(entry.path, "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(arg.endswith(SCRIPT.encode()) for arg in argv) and any(str(site).encode() in arg for arg in argv):
            found.append(int(entry.name))
    return found


async def edit_and_wait(client: TestClient, page: str, path: Path, text: str, events: tuple[str, ...] = ("reload",)) -> str:
    async with client.get(f"/_sitegate/events?path={page}", headers=HOST) as stream:
        name, _ = await next_event(stream)
        assert name == "hello"
        path.write_text(text)
        while True:
            name, data = await asyncio.wait_for(next_event(stream), 30)
            assert name != "error-overlay", data
            if name in events:
                return name


async def css(client: TestClient) -> str:
    response = await client.get("/tailwind.css", headers=HOST)
    assert response.status == 200
    return await response.text()


def with_class(site: Path, class_: str) -> str:
    text = (site / "pages" / "index.html").read_text()
    cut = text.rindex("{% endblock %}")
    return text[:cut] + f'<p class="{class_}">new</p>' + text[cut:]


async def test_a_new_class_in_a_template_is_in_the_css_at_the_reload(aiohttp_client, tmp_path: Path, site: Path) -> None:
    client = await dev_gateway(aiohttp_client, tmp_path)
    assert ".skew-y-3" not in await css(client)
    [pid] = tailwind_processes(site)
    await edit_and_wait(client, "/", site / "pages" / "index.html", with_class(site, "skew-y-3"))
    assert ".skew-y-3" in await css(client)
    assert tailwind_processes(site) == [pid]


async def test_a_post_edit_reloads_and_keeps_every_pages_classes(aiohttp_client, tmp_path: Path, site: Path) -> None:
    client = await dev_gateway(aiohttp_client, tmp_path)
    before = await css(client)
    # darkflows' hero (its index page only) and its button.
    assert ".md\\:text-7xl" in before and ".bg-blood-600" in before
    post = site / "content" / "posts" / "dark-by-default.md"
    await edit_and_wait(client, "/blog/dark-by-default/", post, post.read_text() + "\nEdited in development.\n")
    page = await client.get("/blog/dark-by-default/", headers=HOST)
    assert "Edited in development." in await page.text()
    assert await css(client) == before


async def test_a_stylesheet_edit_swaps_the_css(aiohttp_client, tmp_path: Path, site: Path) -> None:
    client = await dev_gateway(aiohttp_client, tmp_path)
    sheet = site / "tailwind.css"
    name = await edit_and_wait(client, "/", sheet, sheet.read_text() + "\n.dev-rule { outline-width: 3px; }\n", ("css", "reload"))
    assert name == "css"
    assert ".dev-rule" in await css(client)


async def test_a_killed_tailwind_process_does_not_break_the_next_edit(
    aiohttp_client, tmp_path: Path, site: Path
) -> None:
    client = await dev_gateway(aiohttp_client, tmp_path)
    [pid] = tailwind_processes(site)
    os.kill(pid, signal.SIGKILL)
    await edit_and_wait(client, "/", site / "pages" / "index.html", with_class(site, "skew-y-6"))
    after = await css(client)
    assert ".skew-y-6" in after and ".bg-blood-600" in after
    [again] = tailwind_processes(site)
    assert again != pid
    # And the edit after that goes through the new process.
    await edit_and_wait(client, "/", site / "pages" / "index.html", with_class(site, "skew-y-12"))
    assert ".skew-y-12" in await css(client) and tailwind_processes(site) == [again]


async def test_no_tailwind_process_outlives_the_gateway(aiohttp_client, tmp_path: Path, site: Path) -> None:
    client = await dev_gateway(aiohttp_client, tmp_path)
    [pid] = tailwind_processes(site)
    await client.close()
    deadline = time.monotonic() + 10
    while (group_members(pid) or tailwind_processes(site)) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert group_members(pid) == [] and tailwind_processes(site) == []


async def test_a_gateway_process_killed_outright_leaves_no_tailwind_process(tmp_path: Path, site: Path) -> None:
    """SIGKILL gives the gateway no chance to stop anything: the Tailwind process ends by
    itself when its stdin (a pipe from the gateway) closes."""
    from benchmarks.gateway_process import GatewayOptions, RunningGateway

    options = GatewayOptions(Mode.DEVELOPMENT, tmp_path / "sites", REPO / "shared" / "components", tmp_path / "builds", tmp_path / "log")
    gateway = await RunningGateway.start(options)
    try:
        async with aiohttp.ClientSession() as session:
            await gateway.page(session, SITE, "/")
        [pid] = tailwind_processes(site)
        gateway.process.kill()
        await gateway.process.wait()
        deadline = time.monotonic() + 10
        while group_members(pid) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert group_members(pid) == []
    finally:
        await gateway.stop()
