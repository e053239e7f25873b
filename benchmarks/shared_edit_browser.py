"""A headless Chromium tab on a page of a dev gateway, as tests/gateway/dev/test_shared_hmr_browser.py
drives it (Playwright, the machine's Chromium): the time from a file's write until a class shows
up in the tab's DOM, read by the page itself so no polling interval adds to it."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from playwright.async_api import Page, async_playwright

# The tests' flags (tests/gateway/dev/test_livereload_browser.py): without the background
# networking ones Chromium keeps trying to reach Google's hosts through a closed network.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
_FIRST_LOAD_MS = 120_000
_EDIT_TIMEOUT_MS = 60_000

# A MutationObserver stamps the wall-clock time (ms) at which an element with the class first
# appears; Python compares it with time.time() of the write (one machine, one clock).
_WATCH = """token => {
  window.__sgSeen = null
  const stamp = () => {
    if (window.__sgSeen === null && document.querySelector('.' + token)) {
      window.__sgSeen = performance.timeOrigin + performance.now()
      observer.disconnect()
    }
  }
  const observer = new MutationObserver(stamp)
  observer.observe(document.documentElement, { subtree: true, childList: true, attributes: true, attributeFilter: ['class'] })
  stamp()
}"""


@asynccontextmanager
async def open_tab(url: str, ready_selector: str, ready_function: str | None = None) -> AsyncIterator[Page]:
    """A tab on ``url`` once ``ready_selector`` is rendered (and ``ready_function`` true, e.g. the
    live-reload stream connected); Chromium is closed after the block."""
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        raise RuntimeError("Chromium is not installed (make test installs it: apt-get install chromium)")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        try:
            page = await browser.new_page()
            await page.goto(url, timeout=_FIRST_LOAD_MS)
            await page.wait_for_selector(ready_selector, timeout=_FIRST_LOAD_MS)
            if ready_function is not None:
                await page.wait_for_function(ready_function, timeout=_FIRST_LOAD_MS)
            # Vite may still reload once after a first visit (its dependency optimiser): let it.
            await page.wait_for_load_state("networkidle", timeout=_FIRST_LOAD_MS)
            # A reload wipes this mark: every edit must reach the tab without one.
            await page.evaluate("window.__notReloaded = true")
            yield page
        finally:
            await browser.close()


async def seconds_until_in_dom(page: Page, token: str, save: Callable[[], float]) -> float:
    """Watch for ``token``, call ``save`` (which writes the edit and returns time.time() of the
    write), and return the seconds until an element of class ``token`` is in the DOM."""
    await page.evaluate(_WATCH, token)
    written = save()
    await page.wait_for_function("window.__sgSeen !== null", timeout=_EDIT_TIMEOUT_MS)
    if not await page.evaluate("window.__notReloaded === true"):
        raise RuntimeError("the page reloaded: the edit was not hot-replaced")
    seen_ms = await page.evaluate("window.__sgSeen")
    return float(seen_ms) / 1000 - written


# The same stamp for a tab that reloads: run at the start of every new document, it looks for
# the class named in sessionStorage (which survives the reload) and stamps it there.
_WATCH_EACH_DOCUMENT = """(() => {
  const token = sessionStorage.getItem('__sgToken')
  if (!token || sessionStorage.getItem('__sgSeen')) return
  const stamp = () => {
    if (!sessionStorage.getItem('__sgSeen') && document.querySelector('.' + token)) {
      const [nav] = performance.getEntriesByType('navigation')
      const at = ms => String(performance.timeOrigin + ms)
      sessionStorage.setItem('__sgSeen', at(performance.now()))
      sessionStorage.setItem('__sgStarted', at(0))
      sessionStorage.setItem('__sgResponse', at(nav ? nav.responseStart : 0))
      observer.disconnect()
    }
  }
  const observer = new MutationObserver(stamp)
  observer.observe(document, { subtree: true, childList: true })
})()"""


async def watch_reloads(page: Page) -> None:
    await page.add_init_script(_WATCH_EACH_DOCUMENT)


@dataclass(frozen=True)
class Reloaded:
    """Seconds from the save until: the reload began, the page's first byte came, the class was
    in the new document's DOM."""

    started: float
    response: float
    in_dom: float


async def seconds_until_after_reload(page: Page, token: str, save: Callable[[], float]) -> Reloaded:
    """Like ``seconds_until_in_dom`` for a tab that reloads to show the edit (``watch_reloads``
    first): stamped by the new document as its parser inserts the element."""
    await page.evaluate("token => { sessionStorage.removeItem('__sgSeen'); sessionStorage.setItem('__sgToken', token) }", token)
    written = save()
    # Playwright's wait survives the reload; the figure is the page's own stamp, not this wait.
    await page.wait_for_selector("." + token, timeout=_EDIT_TIMEOUT_MS)
    stamps = await page.evaluate("['__sgStarted', '__sgResponse', '__sgSeen'].map(key => sessionStorage.getItem(key))")
    if None in stamps:
        raise RuntimeError("the new document did not stamp the class")
    started, response, seen = (float(stamp) / 1000 - written for stamp in stamps)
    return Reloaded(started, response, seen)
