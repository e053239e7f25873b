"""Issue 14: edits on the example Tailwind sites (codersinflow.com, darkflows.com) in a real
``sitegate dev`` (its own process and port, as ``reload_bench`` runs it), timed from the file
write to the event that tells an open tab: ``reload`` for a post edit and for a template edit
that adds a class the stylesheet lacks, ``css`` (the stylesheet swapped in place) for an edit of
the site's ``tailwind.css``. Edits alternate between the two sites. After each event the page
and ``/tailwind.css`` are fetched as the browser would, and the edit must show in them: the
post's new text, the new class's rule, the new stylesheet rule.

``python -m benchmarks.tailwind_bench [--quick] [--work DIR]`` prints the markdown section.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from benchmarks.gateway_process import GatewayOptions, RunningGateway
from benchmarks.projects import REPO, copy_shared_components
from benchmarks.reload_bench import next_event
from benchmarks.shared_edit_setup import backend_url, start_backend
from benchmarks.stats import Samples, ms
from builders.command import npm
from builders.command.environment import command_environment
from builders.command.process import OutputLog
from gateway.config import Mode, Settings

SITES = ("codersinflow.com", "darkflows.com")
# A page of each site that extends its layout, and a post of each.
PAGES = {"codersinflow.com": ("pages/about.html", "/about/"), "darkflows.com": ("pages/index.html", "/")}
POSTS = {"codersinflow.com": "small-modules", "darkflows.com": "dark-by-default"}
KINDS = (
    "post edit",
    "template edit adding a new class",
    "stylesheet edit: a plain rule",
    "stylesheet edit: a component's `@apply` (in `@layer`)",
)
# What the issue measured before (one-shot Tailwind CLI per edit), for the table.
BEFORE = {
    "post edit": "550–810 ms, median ≈ 640 (issue 14, codersinflow.com, 8 edits)",
    "template edit adding a new class": "not in the issue",
    "stylesheet edit: a plain rule": "not in the issue (6–14 ms on a site without Tailwind)",
    "stylesheet edit: a component's `@apply` (in `@layer`)": "not in the issue",
}
EDIT_INTERVAL_SECONDS = 1.0
_EVENT_TIMEOUT_SECONDS = 60.0
_CSS_WAIT_SECONDS = 10.0
HERE = Path(__file__).resolve().parent
NPM_CACHE = HERE / ".work" / "tailwind-npm"


@dataclass(frozen=True)
class EditFigures:
    to_event: Samples
    # Edits after whose event /tailwind.css was not yet right (the new rule followed later, or
    # a post edit changed it).
    css_late: int


def measure_tailwind_edits(work: Path, quick: bool) -> str:
    """Copy the example Tailwind sites into ``work``, run a real ``sitegate dev`` on them and time
    each kind of edit (8 of each, 3 with ``quick``); the markdown section for RESULTS.md."""
    edits = 3 if quick else 8
    figures, first = asyncio.run(_measure(work, edits))
    return render(figures, first, edits)


async def _measure(work: Path, edits: int) -> tuple[dict[str, EditFigures], float]:
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    sites = work / "sites"
    for name in SITES:
        shutil.copytree(REPO / "sites" / name, sites / name, ignore=shutil.ignore_patterns("node_modules", ".sitegate"))
        await asyncio.to_thread(_install, sites / name)
    shared = await asyncio.to_thread(copy_shared_components, work / "shared")
    backend = await start_backend()
    try:
        options = GatewayOptions(
            Mode.DEVELOPMENT, sites, shared, work / "builds", work / "gateway.log", backend_url=backend_url(backend)
        )
        async with await RunningGateway.start(options) as gateway, aiohttp.ClientSession() as session:
            started = time.perf_counter()
            for name in SITES:
                await gateway.page(session, name, "/")
                await gateway.page(session, name, "/tailwind.css")
            first = time.perf_counter() - started
            edit_kinds: dict[str, Callable[[str, int], Awaitable[tuple[float, bool]]]] = {
                KINDS[0]: lambda name, n: _post_edit(gateway, session, sites / name, name, n),
                KINDS[1]: lambda name, n: _template_edit(gateway, session, sites / name, name, n),
                KINDS[2]: lambda name, n: _stylesheet_edit(gateway, session, sites / name, name, n),
                KINDS[3]: lambda name, n: _component_edit(gateway, session, sites / name, name, n),
            }
            figures = {}
            for kind, edit in edit_kinds.items():
                seconds, late = [], 0
                for number in range(edits):
                    to_event, css_in_time = await edit(SITES[number % len(SITES)], number)
                    seconds.append(to_event)
                    late += not css_in_time
                    await asyncio.sleep(EDIT_INTERVAL_SECONDS)
                figures[kind] = EditFigures(Samples(tuple(seconds)), late)
    finally:
        await backend.cleanup()
    return figures, first


def _install(site: Path) -> None:
    """``node_modules`` as ``npm ci`` makes it, installed once per lockfile under
    benchmarks/.work and copied in (with the stamp that tells the gateway it is up to date)."""
    install = npm.install_for(site, None)
    assert install is not None
    key = npm.dependency_key(install)
    cached = NPM_CACHE / key
    if not (cached / "node_modules" / npm.STAMP_NAME).is_file():
        shutil.rmtree(cached, ignore_errors=True)
        cached.mkdir(parents=True)
        for name in (npm.MANIFEST, *npm.LOCKFILES):
            if (site / name).is_file():
                shutil.copyfile(site / name, cached / name)
        cached_install = npm.install_for(cached, None)
        assert cached_install is not None
        env = command_environment(inherited=dict(Settings().command_env), site_name=site.name, api_url="", site_env={}, node_env="development")
        npm.ensure_installed(cached_install, env=env, timeout=600, output=OutputLog())
    shutil.copytree(cached / "node_modules", site / "node_modules", symlinks=True)
    install.stamp.write_text(key)


async def _post_edit(
    gateway: RunningGateway, session: aiohttp.ClientSession, site: Path, name: str, number: int
) -> tuple[float, bool]:
    path = site / "content" / "posts" / f"{POSTS[name]}.md"
    token = f"tailwind-bench-post-{number}"
    text = path.read_text(encoding="utf-8")
    page = f"/blog/{POSTS[name]}/"
    before = await gateway.page(session, name, "/tailwind.css")
    to_event = await _edit(gateway, session, name, page, path, text + f"\n\nEdited: {token}.\n", ("reload",), token)
    # The edit adds no class: the stylesheet must stay as it was.
    return to_event, await gateway.page(session, name, "/tailwind.css") == before


async def _template_edit(
    gateway: RunningGateway, session: aiohttp.ClientSession, site: Path, name: str, number: int
) -> tuple[float, bool]:
    relative, page = PAGES[name]
    path = site / relative
    # An arbitrary value no page has: a class the stylesheet cannot have yet.
    pixels = 101 + number
    token = f"tailwind-bench-class-{number}"
    text = path.read_text(encoding="utf-8")
    marker = "{% endblock %}"
    cut = text.rindex(marker)
    added = f'<p class="mt-[{pixels}px]">{token}</p>'
    to_event = await _edit(gateway, session, name, page, path, text[:cut] + added + text[cut:], ("reload",), token)
    return to_event, await _css_has(gateway, session, name, f".mt-\\[{pixels}px\\]")


async def _stylesheet_edit(
    gateway: RunningGateway, session: aiohttp.ClientSession, site: Path, name: str, number: int
) -> tuple[float, bool]:
    path = site / "tailwind.css"
    rule = f".tailwind-bench-{number}"
    text = path.read_text(encoding="utf-8")
    new_text = text + f"\n{rule} {{ outline-width: {number + 1}px; }}\n"
    to_event = await _edit(gateway, session, name, "/", path, new_text, ("css", "reload"), None)
    return to_event, await _css_has(gateway, session, name, rule)


async def _component_edit(
    gateway: RunningGateway, session: aiohttp.ClientSession, site: Path, name: str, number: int
) -> tuple[float, bool]:
    """The first component of the site's stylesheet gets one more utility, a new one each time."""
    path = site / "tailwind.css"
    original = (REPO / "sites" / name / "tailwind.css").read_text(encoding="utf-8")
    pixels = 201 + number
    new_text = original.replace("@apply ", f"@apply pt-[{pixels}px] ", 1)
    to_event = await _edit(gateway, session, name, "/", path, new_text, ("css", "reload"), None)
    return to_event, await _css_has(gateway, session, name, f"padding-top: {pixels}px")


async def _css_has(gateway: RunningGateway, session: aiohttp.ClientSession, name: str, needle: str) -> bool:
    """True when /tailwind.css has ``needle`` right after the event; else it must come soon."""
    if needle in await gateway.page(session, name, "/tailwind.css"):
        return True
    deadline = time.perf_counter() + _CSS_WAIT_SECONDS
    while time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
        if needle in await gateway.page(session, name, "/tailwind.css"):
            return False
    raise RuntimeError(f"{name}: /tailwind.css never got {needle}")


async def _edit(
    gateway: RunningGateway,
    session: aiohttp.ClientSession,
    name: str,
    page: str,
    path: Path,
    new_text: str,
    events: tuple[str, ...],
    token: str | None,
) -> float:
    """Write ``new_text`` with a tab open on ``page``: seconds to the first of ``events`` after
    which the page has ``token`` (any such event, without one)."""
    async with session.get(gateway.url(f"/_sitegate/events?path={page}"), headers={"Host": name}) as stream:
        event, _ = await next_event(stream)
        if event != "hello":
            raise RuntimeError(f"the event stream began with {event!r}, not hello")
        written = time.perf_counter()
        await asyncio.to_thread(path.write_text, new_text, encoding="utf-8")
        while True:
            event, data = await asyncio.wait_for(next_event(stream), _EVENT_TIMEOUT_SECONDS)
            if event == "error-overlay":
                raise RuntimeError(f"{name}: the edit of {path.name} broke the build: {data.get('message')}")
            if event not in events:
                continue
            arrived = time.perf_counter()
            if token is None or token in await gateway.page(session, name, page):
                return arrived - written



def render(figures: dict[str, EditFigures], first_seconds: float, edits: int) -> str:
    lines = [
        "## Issue 14: Tailwind edits in development",
        "",
        "A real `sitegate dev` on copies of the example Tailwind sites (codersinflow.com and "
        "darkflows.com, edits alternating between them), timed from the file write to the event "
        "an open tab gets: `reload` for a post edit and for a template edit adding a class the "
        "stylesheet lacked (an arbitrary value, `mt-[Npx]`), `css` for an edit of the site's "
        "`tailwind.css` (a plain rule added, or a utility added to the `@apply` of the first rule "
        "in its `@layer`s). Each edit is checked in what the tab fetches next: the page's new text, "
        "and `/tailwind.css`: unchanged after a post edit, with the new rule after the other two. Target: median under 100 ms.",
        "",
        "| edit | median | p90 | min–max | edits | `/tailwind.css` right at the event | before |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind, figure in figures.items():
        samples = figure.to_event
        lines.append(
            f"| {kind} | {ms(samples.median)} | {ms(samples.p90)} | {ms(samples.low)}–{ms(samples.high)} "
            f"| {samples.count} | {samples.count - figure.css_late} of {samples.count} | {BEFORE[kind]} |"
        )
    lines += ["", f"First requests (both sites built, with Tailwind): {ms(first_seconds)}. {edits} edits of each kind.", ""]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.tailwind_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 edits of each kind instead of 8")
    parser.add_argument("--work", type=Path, default=HERE / ".work" / "tailwind", help="scratch folder (git-ignored)")
    args = parser.parse_args(argv)
    print(measure_tailwind_edits(args.work.resolve(), args.quick))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
