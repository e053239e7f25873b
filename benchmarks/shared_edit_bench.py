"""Issue 12, "## Measure": the time from saving a shared component to its new markup being
served, for the shared React library and, next to it, the same edit of the shared Jinja library.

The edit is the same on both sides: the shared Hero's title gets a new class (a copy of
``shared/components``, ``react/ui/Hero.jsx`` and ``ui/hero.html``; never the repo's files). A
Vite site and a Jinja blog made from the templates (``vite`` imports ``@shared/components``,
``blog`` calls ``ui/hero.html`` on its home page) run in a real ``sitegate serve`` and then in a
real ``sitegate dev``, both on loopback with the bench's own stub of the blog API:

- production: save, ``POST /_sitegate/hooks/rebuild/{site}`` (production has no watcher; a
  deploy or an operator calls it), then poll until the new markup is served (old build serving
  meanwhile): for the Vite site, the page's bundle with the class (React renders in the browser);
  for the blog, the page;
- development: a headless Chromium tab open on the page, timed until the class is in its DOM.
  Vite hot-replaces the component (no reload allowed); the blog's tab reloads on the gateway's
  live-reload event. For the blog also, as benchmarks/reload_bench.py times it: save → reload
  event and → the page served right after it.

``python -m benchmarks.shared_edit_bench [--quick] [--work DIR]`` prints the markdown section.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from benchmarks.reload_bench import next_event
from benchmarks.shared_edit_browser import (
    Reloaded,
    open_tab,
    seconds_until_after_reload,
    seconds_until_in_dom,
    watch_reloads,
)
from benchmarks.shared_edit_setup import (
    JINJA_SITE,
    VITE_SITE,
    ComponentEdit,
    Gateway,
    Layout,
    backend_url,
    hero_edits,
    prepare,
    start_backend,
)
from benchmarks.stats import Samples, ms

EDIT_INTERVAL_SECONDS = 1.0
_POLL_SECONDS = 0.02
_SERVED_TIMEOUT_SECONDS = 180.0
_EVENT_TIMEOUT_SECONDS = 60.0
_BUNDLE = re.compile(r'src="(/assets/index-[\w-]+\.js)"')
HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Figures:
    react_production: Samples
    react_hmr: Samples
    jinja_production: Samples
    jinja_dev_dom: Samples
    # The blog tab's reload, from the save: when the new document began, when its page arrived.
    jinja_dev_reload_started: Samples
    jinja_dev_response: Samples
    jinja_dev_event: Samples
    jinja_dev_served: Samples
    first_builds: float


def measure_shared_edits(work: Path, quick: bool) -> str:
    """Run both gateways on fresh copies under ``work`` (3 edits of each kind with ``quick``,
    else 8); the markdown section "## Issue 12: editing a shared component"."""
    edits = 3 if quick else 8
    return render(asyncio.run(_measure(work, edits)), edits)


async def _measure(work: Path, edits: int) -> Figures:
    layout = await asyncio.to_thread(prepare, work)
    react, jinja = hero_edits(layout.shared)
    backend = await start_backend()
    try:
        async with aiohttp.ClientSession() as session:
            react_production, jinja_production, first = await _production(layout, session, backend_url(backend), react, jinja, edits)
            # The dev gateway starts from the components as the repo has them.
            for edit in (react, jinja):
                edit.path.write_text(edit.original, encoding="utf-8")
            dev = await _development(layout, session, backend_url(backend), react, jinja, edits)
    finally:
        await backend.cleanup()
        for edit in (react, jinja):
            edit.path.write_text(edit.original, encoding="utf-8")
    return Figures(react_production, dev[0], jinja_production, *dev[1:], first)


async def _production(
    layout: Layout, session: aiohttp.ClientSession, backend: str, react: ComponentEdit, jinja: ComponentEdit, edits: int
) -> tuple[Samples, Samples, float]:
    async with await Gateway.start("serve", layout, backend) as gateway:
        started = time.perf_counter()
        await _bundle_with(gateway, session, "sg-hero__title")
        await gateway.page(session, JINJA_SITE, "/")
        first = time.perf_counter() - started
        timings: dict[str, list[float]] = {VITE_SITE: [], JINJA_SITE: []}
        for site, edit in ((VITE_SITE, react), (JINJA_SITE, jinja)):
            for number in range(edits):
                await gateway.until_idle(session, site)
                token = edit.token(number)
                written = edit.save(number)
                await gateway.rebuild(session, site)
                if site == VITE_SITE:
                    served = _bundle_with(gateway, session, token)
                else:
                    served = _page_with(gateway, session, JINJA_SITE, "/", token)
                await asyncio.wait_for(served, _SERVED_TIMEOUT_SECONDS)
                timings[site].append(time.time() - written)
                await asyncio.sleep(EDIT_INTERVAL_SECONDS)
    return Samples(tuple(timings[VITE_SITE])), Samples(tuple(timings[JINJA_SITE])), first


async def _bundle_with(gateway: Gateway, session: aiohttp.ClientSession, token: str) -> None:
    """Until the Vite page's bundle has ``token``: the page names its bundle by content hash, so
    a bundle is fetched only when the page names a new one."""
    checked = None
    while True:
        script = _BUNDLE.search(await gateway.page(session, VITE_SITE, "/"))
        if script is None:
            raise RuntimeError(f"{VITE_SITE}/ names no /assets/index-*.js bundle")
        if script[1] != checked:
            if token in await gateway.page(session, VITE_SITE, script[1]):
                return
            checked = script[1]
        await asyncio.sleep(_POLL_SECONDS)


async def _page_with(gateway: Gateway, session: aiohttp.ClientSession, host: str, path: str, token: str) -> None:
    while token not in await gateway.page(session, host, path):
        await asyncio.sleep(_POLL_SECONDS)


async def _development(
    layout: Layout, session: aiohttp.ClientSession, backend: str, react: ComponentEdit, jinja: ComponentEdit, edits: int
) -> tuple[Samples, Samples, Samples, Samples, Samples, Samples]:
    async with await Gateway.start("dev", layout, backend) as gateway:
        hmr = await _hmr(gateway, react, edits)
        # Numbers go on from one kind of edit to the next, so no save rewrites the file as it is.
        reloads = await _live_reloads(gateway, jinja, edits, edits)
        events, served = [], []
        for number in range(2 * edits, 3 * edits):
            event_seconds, served_seconds = await _jinja_live_reload(gateway, session, jinja, number)
            events.append(event_seconds)
            served.append(served_seconds)
            await asyncio.sleep(EDIT_INTERVAL_SECONDS)
    dom, started, response = (Samples(tuple(getattr(r, key) for r in reloads)) for key in ("in_dom", "started", "response"))
    return hmr, dom, started, response, Samples(tuple(events)), Samples(tuple(served))


async def _hmr(gateway: Gateway, edit: ComponentEdit, edits: int) -> Samples:
    """Edits saved with a Chromium tab open on the Vite page (``vite.test.localhost``, as
    ``sitegate dev`` serves it): seconds until the new class is in the tab's DOM, no reload."""
    timings = []
    async with open_tab(f"http://{VITE_SITE}.localhost:{gateway.port}/", ".sg-hero.site-hero .sg-hero__title") as page:
        for number in range(edits):
            timings.append(await seconds_until_in_dom(page, edit.token(number), lambda n=number: edit.save(n)))
            await asyncio.sleep(EDIT_INTERVAL_SECONDS)
    return Samples(tuple(timings))


async def _live_reloads(gateway: Gateway, edit: ComponentEdit, edits: int, first: int) -> list[Reloaded]:
    """The same with a tab on the blog, which reloads on the live-reload event: the watcher goes
    in every new document. The tab's stream must be open, or it would miss the first reload."""
    reloads = []
    connected = "window.__sitegate && window.__sitegate.connected"
    async with open_tab(f"http://{JINJA_SITE}.localhost:{gateway.port}/", ".sg-hero__title", connected) as page:
        await watch_reloads(page)
        for number in range(first, first + edits):
            reloads.append(await seconds_until_after_reload(page, edit.token(number), lambda n=number: edit.save(n)))
            await asyncio.sleep(EDIT_INTERVAL_SECONDS)
    return reloads


async def _jinja_live_reload(gateway: Gateway, session: aiohttp.ClientSession, edit: ComponentEdit, number: int) -> tuple[float, float]:
    """reload_bench's way: an event stream open for the page, save → ``reload`` and → the page
    served with the new class, fetched right after the event as the browser would."""
    events = gateway.url("/_sitegate/events?path=/")
    async with session.get(events, headers={"Host": JINJA_SITE}) as stream:
        if (await next_event(stream))[0] != "hello":
            raise RuntimeError("the event stream did not begin with hello")
        written = edit.save(number)
        # A save can reach the watcher in two parts: the first reload after which the page has
        # the class counts.
        while True:
            name, _ = await asyncio.wait_for(next_event(stream), _EVENT_TIMEOUT_SECONDS)
            if name == "error-overlay":
                raise RuntimeError("the Jinja edit broke the blog's build")
            if name != "reload":
                continue
            reloaded = time.time()
            body = await gateway.page(session, JINJA_SITE, "/")
            if edit.token(number) in body:
                return reloaded - written, time.time() - written



def _row(what: str, mode: str, timed: str, samples: Samples) -> str:
    return f"| {what} | {mode} | {timed} | {ms(samples.median)} | {ms(samples.low)}–{ms(samples.high)} |"


def _span(samples: Samples) -> str:
    return f"{ms(samples.median)} ({ms(samples.low)}–{ms(samples.high)})"


def render(figures: Figures, edits: int) -> str:
    rows = [
        _row("shared React `Hero.jsx` (Vite site)", "production", "save → rebuild hook → page's new bundle served", figures.react_production),
        _row("shared React `Hero.jsx` (Vite site)", "development (Vite HMR)", "save → new class in the open tab's DOM, no reload", figures.react_hmr),
        _row("shared Jinja `ui/hero.html` (blog)", "production", "save → rebuild hook → new page served", figures.jinja_production),
        _row("shared Jinja `ui/hero.html` (blog)", "development (live reload)", "save → new class in the open tab's DOM, after its reload", figures.jinja_dev_dom),
    ]
    event, served = figures.jinja_dev_event, figures.jinja_dev_served
    return "\n".join([
        "## Issue 12: editing a shared component",
        "",
        f"`python -m benchmarks.shared_edit_bench{' --quick' if edits == 3 else ''}`: {edits} edits of each kind, one every "
        f"{EDIT_INTERVAL_SECONDS:.0f} s; median and min–max.",
        "",
        "| Edit of the shared Hero's title (a new class) | Mode | From → to | Median | Min–max |",
        "|---|---|---|---|---|",
        *rows,
        "",
        f"- **Setup.** A copy of `shared/components` (`SITEGATE_SHARED_DIR`), a site from each template (`vite`, which imports "
        f"`@shared/components`; `blog`, whose home page calls `ui/hero.html`), `python -m gateway.cli serve` and then "
        f"`python -m gateway.cli dev` on 127.0.0.1, builds as the gateway's user (`SITEGATE_BUILD_USER=root`), and a stub "
        f"of the blog API (no posts). The first requests of both sites in production (two cold builds) took {ms(figures.first_builds)}.",
        "- **Production** figures include the hook's call and the background rebuild of the one site (`vite build` with "
        "its `@shared/components` link, or the Jinja re-render), its publication and the first poll (every "
        f"{_POLL_SECONDS * 1000:.0f} ms) that gets the new markup; the old build answers until then. The Vite page is "
        "rendered by React in the browser, so its new markup is served when the page names a new bundle that holds it.",
        "- **Development** figures are taken in headless Chromium (Playwright): a MutationObserver in the Vite tab stamps "
        "the moment the class appears (Vite's watcher, the transform, the HMR message through the gateway's WebSocket "
        "relay, React Fast Refresh); the page must not have reloaded. The blog's tab reloads on the gateway's "
        "live-reload event (watch debounce, re-render of the pages that call the component, the new page loaded); "
        "there the new document stamps the class as its parser inserts it.",
        f"- **Blog in development, as `reload_bench` times it:** save → `reload` event {ms(event.median)} "
        f"({ms(event.low)}–{ms(event.high)}), save → the page served right after it {ms(served.median)} "
        f"({ms(served.low)}–{ms(served.high)}). In the tab, from the save: its reload began "
        f"{_span(figures.jinja_dev_reload_started)}, its first byte came {_span(figures.jinja_dev_response)}, "
        f"the class was in the new DOM {_span(figures.jinja_dev_dom)} (median, min–max).",
        "",
    ])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="issue 12: save a shared component → its new markup served")
    parser.add_argument("--quick", action="store_true", help="3 edits of each kind instead of 8")
    parser.add_argument("--work", type=Path, default=HERE / ".work" / "shared-edits", help="scratch folder (emptied first)")
    args = parser.parse_args(argv)
    print(measure_shared_edits(args.work, args.quick))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
