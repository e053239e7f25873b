"""The soak's short form (``benchmarks/soak.py``): a real production gateway and backend under
mixed load for a few seconds, rebuilt twice, with no error, no response from a half-published
build, a WebSocket echoing through the gateway all along, and every process it started ended
when it returns."""

from __future__ import annotations

import time
from pathlib import Path

from benchmarks.soak import SoakFigures, report, run_soak


async def test_a_short_soak_has_no_errors_and_no_half_builds(tmp_path: Path) -> None:
    started = time.monotonic()
    figures = await run_soak(tmp_path, seconds=8, clients=4, rebuild_every=3)
    elapsed = time.monotonic() - started

    assert figures.failures(check_rss=False) == [], report(figures, [])
    assert len(figures.rebuild_seconds) >= 2
    assert {"static", "blog", "stylesheet", "revalidate", "range", "api"} <= set(figures.requests)
    assert figures.statuses[304] > 0 and figures.statuses[206] > 0
    # The one socket, held across both rebuilds.
    assert figures.websocket.echoed > 0 and figures.websocket.errors == []
    # It stops by itself: the run, plus starting and stopping two processes.
    assert figures.stopped and elapsed < 8 + 60


def test_rss_growth_is_judged_on_medians_after_the_warm_up() -> None:
    steady = SoakFigures(seconds=30, clients=1, rss_kib=[50_000] * 10 + [80_000] + [60_000] * 19)
    assert steady.rss_growth == 0.0
    growing = SoakFigures(seconds=30, clients=1, rss_kib=[60_000] * 15 + [70_000] * 15)
    assert growing.rss_growth is not None and growing.rss_growth > 0.1
    assert "RSS grew" in " ".join(growing.failures(check_rss=True))
    assert SoakFigures(seconds=8, clients=1, rss_kib=[1] * 8).rss_growth is None
