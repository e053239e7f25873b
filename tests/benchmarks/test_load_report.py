"""Issue 14's targets judged from figures made up here, so each verdict is known beforehand, and
the sections render every contender, including one this commit cannot run."""

from __future__ import annotations

from benchmarks import forwarding_bench as fwd
from benchmarks import scale_bench as scale
from benchmarks import serving_bench as serving
from benchmarks.herd_bench import HerdFigures, IsolationFigures
from benchmarks.load import LoadRun, WrkSummary
from benchmarks.load_bench import QUICK, LoadFigures
from benchmarks.load_report import quick_document, sections, target_rows
from benchmarks.machine import Machine
from benchmarks.scale_bench import ScaleFigures
from benchmarks.serving_bench import Cell, ServingFigures

MIB = 1024


def cell(contender: str, case: str, per_second: float, cpu_us: float, p99: float = 0.002) -> Cell:
    runs = tuple(
        LoadRun(WrkSummary(int(per_second), 1.0, p99, 0), per_second * cpu_us / 1e6, 0.5, 1.0) for _ in range(3)
    )
    return Cell(contender, case, runs)


def figures(*, sitegate_cpu: float, two_workers: bool = True, herd_builds: int = 1) -> LoadFigures:
    cases = ("2 KiB", "1 MiB", serving.NOT_MODIFIED)
    speeds = {  # contender: (req/s, CPU µs per request) for every case
        serving.SITEGATE_ONE: (1e6 / sitegate_cpu, sitegate_cpu),
        serving.NGINX: (20_000, 40),
        serving.FLOOR: (10_000, 100),
        "aiohttp `web.static`": (1_500, 700),
    }
    if two_workers:
        speeds[serving.SITEGATE_TWO] = (1.8e6 / sitegate_cpu, sitegate_cpu)
    cells = tuple(cell(name, case, rps, cpu) for name, (rps, cpu) in speeds.items() for case in cases)
    unavailable = {} if two_workers else {serving.SITEGATE_TWO: "not available in this commit"}
    serving_figures = ServingFigures(cells, (*speeds, *unavailable), cases, unavailable, 3, 1, 32, "2 cores.")
    forwarding = fwd.ForwardingFigures(
        (cell(fwd.DIRECT, "small JSON", 5000, 300), cell(fwd.VIA_NGINX, "small JSON", 4000, 370),
         cell(fwd.VIA_SITEGATE, "small JSON", 3000, 450), cell(fwd.VIA_PROXY, "small JSON", 1500, 900)),
        '{"items": []}',
        (fwd.Transfer("upload", 1.0, 40 * MIB, 45 * MIB), fwd.Transfer("download", 1.0, 40 * MIB, 41 * MIB)),
    )  # fmt: skip
    idle = tuple(cell("b", "idle", 2000, 100, 0.010).runs)
    busy = tuple(cell("b", "busy", 1500, 100, 0.015).runs)
    return LoadFigures(
        plan=QUICK,
        quick=True,
        serving=serving_figures,
        forwarding=forwarding,
        herd=HerdFigures(500, 52, herd_builds, herd_builds, 0, 2.5, {200: 500}),
        isolation=IsolationFigures(idle, busy, (9.0, 9.5, 10.0), 1000, (True, True, True)),
        scale=ScaleFigures(1000, 100, 3.0, tuple(cell("s", "rotation", 3000, 300).runs), 40 * MIB, 60 * MIB, 70 * MIB),
        direct=(cell(scale.DIRECT, "2 KiB", 19_000, 45), cell(scale.NGINX_ALONE, "2 KiB", 20_000, 40)),
        load_average=("1.00 1.00 1.00", "1.10 1.00 1.00"),
        versions={"aiohttp": "3", "nginx": "1.22.1", "wrk": "4.1.0"},
    )


def verdicts(load: LoadFigures) -> list[str]:
    return [row.rsplit("|", 2)[1].strip() for row in target_rows(load)]


def test_a_sitegate_as_cheap_as_the_floor_meets_every_target() -> None:
    # 100 µs for 2 KiB and 1 MiB alike: the floor's CPU, 2.5x nginx's 40 µs.
    rows = verdicts(figures(sitegate_cpu=100))

    assert rows == ["**met**"] * 9


def test_a_costlier_sitegate_misses_the_serving_targets_and_only_those() -> None:
    rows = verdicts(figures(sitegate_cpu=150))

    assert rows[:2] == ["**missed**", "**missed**"]
    assert rows[2:] == ["**met**"] * 7


def test_the_herd_needs_exactly_one_build() -> None:
    assert verdicts(figures(sitegate_cpu=100, herd_builds=2))[5] == "**missed**"


def test_a_commit_without_workers_is_reported_not_judged() -> None:
    load = figures(sitegate_cpu=100, two_workers=False)

    assert verdicts(load)[2] == "**n/a**"
    text = "\n".join(sections(load))
    assert "| sitegate, --workers 2 | not available in this commit |" in text


def test_the_extra_cpu_of_a_hop_is_its_figure_less_the_direct_one() -> None:
    load = figures(sitegate_cpu=100)

    assert fwd.median_extra(load.forwarding) == {fwd.VIA_NGINX: 70, fwd.VIA_SITEGATE: 150, fwd.VIA_PROXY: 600}


def test_the_quick_document_says_what_it_is_and_carries_the_other_sections() -> None:
    machine = Machine(2, "cpu", 4.0, "Linux", "3.11", "2026-12-02 12:00 UTC", "abc1234")
    text = quick_document("make bench QUICK=1", machine, {"starlette": "1"}, 90.0, figures(sitegate_cpu=100),
                          ["## Tailwind", ""])  # fmt: skip

    assert text.startswith("# Benchmarks (quick run)")
    assert "commit abc1234" in text and "`make bench QUICK=1`" in text
    assert "## Tailwind" in text and "This was a `--quick` run" in text
