"""Issue 14's part of RESULTS.md: the targets judged from the figures, and a table per section
with each contender's median and min–max over the rounds and its ratios to the peers."""

from __future__ import annotations

import math

from benchmarks import forwarding_bench as fwd
from benchmarks import scale_bench as scale
from benchmarks import serving_bench as serving
from benchmarks.load import CLOCK_TICKS
from benchmarks.load_bench import LoadFigures
from benchmarks.machine import Machine
from benchmarks.serving_bench import Cell
from benchmarks.stats import Samples

STATIC_FLOOR_RATIO = 1.0
LARGE_NGINX_RATIO = 2.5
WORKERS_RATIO = 1.7
API_EXTRA_US = 200.0
TRANSFER_GROWTH_KIB = 30 * 1024
ISOLATION_RATIO = 2.0
SCALE_RSS_KIB = 200 * 1024
DIRECT_RATIO = 0.9


def share(a: float, b: float) -> float:
    """a / b, or NaN where b is nothing (a missing or failed contender)."""
    return a / b if b > 0 and not math.isnan(a) and not math.isnan(b) else float("nan")


def times(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:,.2f}x"


def _verdict(met: bool | None) -> str:
    return "**n/a**" if met is None else "**met**" if met else "**missed**"


def _spread(samples: Samples, scale_by: float, digits: int) -> str:
    fmt = f"{{:,.{digits}f}}"
    middle = fmt.format(samples.median * scale_by)
    if samples.count < 2:
        return middle
    return f"{middle} ({fmt.format(samples.low * scale_by)}–{fmt.format(samples.high * scale_by)})"


def _figures(cell: Cell) -> str:
    bound = " †" if cell.load_bound else ""
    return (
        f"{_spread(cell.per_second, 1, 0)}{bound} | {_spread(cell.p99, 1000, 1)} | {_spread(cell.cpu_us, 1, 0)} "
        f"| {cell.errors}"
    )


def _median(cell: Cell | None, what: str) -> float:
    if cell is None:
        return float("nan")
    return cell.per_second.median if what == "rps" else cell.cpu_us.median


def target_rows(load: LoadFigures) -> list[str]:
    s, f = load.serving, load.forwarding
    small, large = serving.FILES[0][0], serving.FILES[2][0]
    one_small = s.cell(serving.SITEGATE_ONE, small)
    floor_small = s.cell(serving.FLOOR, small)
    static_small = s.cell("aiohttp `web.static`", small)
    cpu_floor = share(_median(one_small, "cpu"), _median(floor_small, "cpu"))
    rps_floor = share(_median(one_small, "rps"), _median(floor_small, "rps"))
    cheaper = share(_median(static_small, "cpu"), _median(one_small, "cpu"))
    cpu_nginx = share(_median(s.cell(serving.SITEGATE_ONE, large), "cpu"), _median(s.cell(serving.NGINX, large), "cpu"))
    two = s.cell(serving.SITEGATE_TWO, small)
    workers = share(_median(two, "rps"), _median(one_small, "rps"))
    workers_met = None if two is None else workers >= WORKERS_RATIO
    extras = fwd.median_extra(f)
    sitegate_extra, proxy_extra = extras[fwd.VIA_SITEGATE], extras[fwd.VIA_PROXY]
    growth = max(transfer.growth_kib for transfer in f.transfers)
    h, i, sc = load.herd, load.isolation, load.scale
    isolation = share(i.building_p99.median, i.idle_p99.median)
    direct = {c.case: c for c in load.direct}
    direct_ratios = {
        label: share(_median(_find(load.direct, scale.DIRECT, label), "rps"),
                     _median(_find(load.direct, scale.NGINX_ALONE, label), "rps"))
        for label in direct
    }  # fmt: skip
    direct_text = ", ".join(f"{label} {times(value)}" for label, value in direct_ratios.items())
    bounded = "" if "cores 0–1 with wrk on core 2" in s.workers_note else " (bounded: wrk shares core 1 with a worker)"
    return [
        f"| static 2 KiB: server CPU per request ≤ {STATIC_FLOOR_RATIO:.1f}× aiohttp's floor, req/s ≥ 1.0× (14) "
        f"| CPU {times(cpu_floor)} the floor's, req/s {times(rps_floor)}; `web.static` uses {times(cheaper)} "
        f"sitegate's CPU (target ≥ 6x) | {_verdict(cpu_floor <= STATIC_FLOOR_RATIO and rps_floor >= 1.0)} |",
        f"| static 1 MiB: server CPU per request ≤ {LARGE_NGINX_RATIO}× nginx's (14) | {times(cpu_nginx)} "
        f"| {_verdict(cpu_nginx <= LARGE_NGINX_RATIO)} |",
        f"| `--workers 2`: ≥ {WORKERS_RATIO}× one worker's req/s, 2 KiB (14) "
        f"| {times(workers) if two else s.unavailable.get(serving.SITEGATE_TWO, 'n/a')}{bounded} | {_verdict(workers_met)} |",
        f"| `/api`: ≤ {API_EXTRA_US:.0f} µs extra server CPU per request over the backend alone, < half the plain "
        f"aiohttp proxy's (14) | sitegate +{sitegate_extra:,.0f} µs, plain proxy +{proxy_extra:,.0f} µs, nginx "
        f"+{extras[fwd.VIA_NGINX]:,.0f} µs | {_verdict(sitegate_extra <= API_EXTRA_US and sitegate_extra < proxy_extra / 2)} |",
        f"| 100 MB streamed through sitegate with ≤ 30 MiB RSS growth (14) | peak grew {growth / 1024:,.1f} MiB "
        f"| {_verdict(growth <= TRANSFER_GROWTH_KIB)} |",
        f"| cold herd: exactly 1 build, 0 errors (14) | {h.builds_run} build(s), {h.errors} errors, "
        f"{h.requests} requests | {_verdict(h.builds_run == 1 and h.errors == 0)} |",
        f"| isolation: B's p99 ≤ {ISOLATION_RATIO:.0f}× its idle p99 while A builds (14) | {times(isolation)} "
        f"({i.building_p99.median * 1000:,.1f} ms vs {i.idle_p99.median * 1000:,.1f} ms) | {_verdict(isolation <= ISOLATION_RATIO)} |",
        f"| scale: {sc.registered:,} sites, {sc.built} built, RSS ≤ 200 MiB (14) | peak {sc.peak_kib / 1024:,.0f} MiB "
        f"| {_verdict(sc.peak_kib <= SCALE_RSS_KIB)} |",
        f"| `--direct`: ≥ {DIRECT_RATIO}× nginx alone (14) | req/s {direct_text} "
        f"| {_verdict(all(value >= DIRECT_RATIO for value in direct_ratios.values()))} |",
    ]


def _find(cells: tuple[Cell, ...], contender: str, case: str) -> Cell | None:
    return next((c for c in cells if c.contender == contender and c.case == case), None)


_HEAD = "| {first} | req/s | p99 ms | CPU µs/request | errors |{extra}"


def _static(load: LoadFigures) -> list[str]:
    s = load.serving
    lines = [
        "## Issue 14: static serving",
        "",
        f"Each contender served the same files (aiohttp {load.versions['aiohttp']}, nginx {load.versions['nginx']}, "
        f"wrk {load.versions['wrk']}; sitegate as it ships, its access log on); wrk `-t1 -c{s.connections} -d{s.seconds}s --latency` on core 1, "
        f"{s.rounds} rounds, contenders in turn within each round. Medians, (min–max) over the rounds. "
        "÷ floor and ÷ nginx: this contender's CPU per request over theirs (req/s ÷ floor: its req/s over the floor's). "
        "† : wrk was busy ≥ 90 % of its core in at least one round, so the load generator may be what bounds it.",
        "",
    ]
    for case in s.cases:
        floor, nginx = s.cell(serving.FLOOR, case), s.cell(serving.NGINX, case)
        lines += [f"### {case}", "", _HEAD.format(first="server", extra=" req/s ÷ floor | CPU ÷ floor | CPU ÷ nginx |"),
                  "|---|---|---|---|---|---|---|---|"]  # fmt: skip
        for name in s.contenders:
            cell = s.cell(name, case)
            if cell is None:
                lines.append(f"| {name} | {s.unavailable.get(name, 'not measured')} | | | | | | |")
                continue
            lines.append(
                f"| {name} | {_figures(cell)} | {times(share(_median(cell, 'rps'), _median(floor, 'rps')))} "
                f"| {times(share(_median(cell, 'cpu'), _median(floor, 'cpu')))} "
                f"| {times(share(_median(cell, 'cpu'), _median(nginx, 'cpu')))} |"
            )
        lines.append("")
    lines += [s.workers_note, ""]
    return lines


def _forwarding(load: LoadFigures) -> list[str]:
    f = load.forwarding
    extras = fwd.median_extra(f)
    lines = [
        "## Issue 14: forwarding `/api`",
        "",
        f"`GET {fwd.API_PATH}` of the real shared backend (`sitegate backend`, SQLite), answering `{f.body}`. "
        "CPU is the hop's and the backend's together; extra is that less the backend's own when hit directly.",
        "",
        _HEAD.format(first="path", extra=" extra CPU µs/request |"),
        "|---|---|---|---|---|---|",
    ]
    for cell in f.cells:
        extra = extras.get(cell.contender)
        lines.append(f"| {cell.contender} | {_figures(cell)} | {'–' if extra is None else f'+{extra:,.0f}'} |")
    lines += ["", "| 100 MB through sitegate | seconds | MB/s | RSS before | peak after | growth |", "|---|---|---|---|---|---|"]
    for t in f.transfers:
        lines.append(
            f"| {t.direction} | {t.seconds:,.2f} | {fwd.TRANSFER_BYTES / 1e6 / t.seconds:,.0f} | {t.rss_before_kib / 1024:,.1f} MiB "
            f"| {t.peak_after_kib / 1024:,.1f} MiB | {t.growth_kib / 1024:,.1f} MiB |"
        )
    lines += ["", "The transfers go to a small upstream that drops uploads and streams zeros "
              "(`benchmarks/contender_servers.py sink`), so only the gateway's memory is at stake.", ""]  # fmt: skip
    return lines


def _building(load: LoadFigures) -> list[str]:
    h, i, sc = load.herd, load.isolation, load.scale
    statuses = ", ".join(f"{status or 'no answer'}: {count}" for status, count in sorted(h.statuses.items()))
    idle_rps = Samples(tuple(run.wrk.per_second for run in i.idle))
    busy_rps = Samples(tuple(run.wrk.per_second for run in i.building))
    overlap = sum(i.overlapped)
    return [
        "## Issue 14: cold herd, isolation, scale",
        "",
        f"**Cold herd.** {h.requests} requests sent at once, each on its own connection, to a production gateway "
        f"that had never built the site (a Jinja blog of {h.pages} pages): builds run {h.builds_run} (the gateway's "
        f"`/_sitegate/health`), build records on disk {h.builds_on_disk}, answers {statuses}; the last answer "
        f"came {h.last_response_seconds:,.2f} s after the first request was sent.",
        "",
        f"**Isolation.** Site B (a 2 KiB file, wrk `-c8`) while site A, a fresh {i.posts:,}-post Jinja blog, builds "
        f"cold in the same gateway (A's first request), against B with the gateway idle, in {len(i.idle)} alternating "
        f"round(s). B's p99: idle {_spread(i.idle_p99, 1000, 1)} ms, during A's build {_spread(i.building_p99, 1000, 1)} ms; "
        f"B's req/s idle {_spread(idle_rps, 1, 0)}, during {_spread(busy_rps, 1, 0)}. A's builds took "
        f"{', '.join(f'{s:,.1f} s' for s in i.build_seconds)}; {overlap} of {len(i.overlapped)} lasted past B's load run. "
        "The gateway is pinned to core 0, so the build's render processes share that core with serving.",
        "",
        f"**Scale.** {sc.registered:,} static sites registered, {sc.built} of them built by a first request each "
        f"({sc.build_seconds:,.1f} s for the {sc.built}, 8 at a time), then requested in rotation (wrk's script gives "
        f"each request the next Host): req/s {_spread(sc.cell.per_second, 1, 0)}, p99 {_spread(sc.cell.p99, 1000, 1)} ms, "
        f"CPU {_spread(sc.cell.cpu_us, 1, 0)} µs/request, {sc.cell.errors} errors. Gateway memory: "
        f"{sc.rss_start_kib / 1024:,.0f} MiB resident with the sites registered and none built, "
        f"{sc.rss_end_kib / 1024:,.0f} MiB at the end, peak {sc.peak_kib / 1024:,.0f} MiB.",
        "",
    ]


def _direct(load: LoadFigures) -> list[str]:
    lines = [
        "## Issue 14: nginx `--direct`",
        "",
        "nginx running what `sitegate nginx-config --direct` wrote, in front of a production gateway that has built "
        "the site, against nginx serving the same build folder with a plain `root`; both one worker, sendfile, "
        "keep-alive, no access log. CPU counts nginx and, for `--direct`, the gateway behind it.",
        "",
        _HEAD.format(first="server", extra=" req/s ÷ nginx alone |"),
        "|---|---|---|---|---|---|",
    ]
    for cell in load.direct:
        alone = _find(load.direct, scale.NGINX_ALONE, cell.case)
        lines.append(f"| {cell.contender}, {cell.case} | {_figures(cell)} | {times(share(_median(cell, 'rps'), _median(alone, 'rps')))} |")
    return [*lines, ""]


def sections(load: LoadFigures) -> list[str]:
    return [*_static(load), *_forwarding(load), *_building(load), *_direct(load)]


def method(load: LoadFigures) -> list[str]:
    p = load.plan
    return [
        "- Issue 14's load runs: every server on loopback, pinned to core 0 with `taskset` (children inherit it), "
        "wrk pinned to core 1 (`-t1`, `--latency`, a Lua script setting the headers: Host where the server routes by "
        "it, If-None-Match with the server's own ETag for the 304 path). Each wrk run is bounded (`-d`, and a "
        "timeout beside it), and every server is stopped by its PID. Sections run one after another.",
        "- sitegate runs as it ships: `.venv/bin/sitegate serve --host 127.0.0.1 --port P --sites S --build-dir B` "
        "(`--workers 2` for that contender), production mode, **its access log on** (one line per request, written "
        "to a file as a service manager would). The peers run without an access log (aiohttp's `access_log=None`, "
        "uvicorn's `access_log=False`, nginx's `access_log off`): each is the least its library does per request.",
        "- Server CPU per request: user + system time from `/proc/<pid>/stat` of the server and every live process "
        "under it (threads are in a process's figure; children it reaped are in its cutime/cstime), read just before "
        "and just after the wrk run, divided by the requests wrk completed. Clock ticks are 1/"
        f"{CLOCK_TICKS} s. Before measuring, each section waits until its servers are idle "
        "(a gateway finishes a build in the background: precompression).",
        "- The floor (`benchmarks/contender_servers.py floor`) answers each file's bytes from memory in an aiohttp "
        "`web.Application` (a 304 when If-None-Match equals its ETag); `web.static` and Starlette's `StaticFiles` "
        "(uvicorn, one process, h11, asyncio) serve the folder as their documentation shows; nginx serves it with "
        "one worker, `sendfile on`, keep-alive (1,000,000 requests per connection).",
        f"- The machine is shared: its load average was {load.load_average[0]} when issue 14's runs began and "
        f"{load.load_average[1]} when they ended (1, 5, 15 min). Absolute req/s move with that load; the ratios, "
        "from contenders measured in turn within each round, move less.",
        f"- Sizes of this run: {p.rounds} rounds of {p.seconds} s per contender and case, {p.connections} connections; "
        f"static cases {', '.join(p.sizes)}; `--direct` {p.direct_rounds} round(s); "
        f"herd {p.herd_requests} requests; isolation {p.isolation_rounds} round(s) of {p.isolation_seconds} s, "
        f"{p.isolation_posts:,} posts; scale {p.registered_sites:,} sites, {p.built_sites} built, {p.scale_rounds} round(s)."
        + ( " This was a `--quick` run (`make bench QUICK=1`): one-second load runs, two rounds (one for `--direct` and scale), only "
           "the 2 KiB and 1 MiB files (no 100 KiB, no 304 path), no warm-up load, a smaller isolation site, and none of issue 3's and 6's build and reload "
           "sections; the Tailwind section shrinks as `benchmarks/tailwind_bench.py` decides." if load.quick else ""),
    ]


def quick_document(command: str, machine: Machine, versions: dict[str, str], total_seconds: float,
                   load: LoadFigures, more: list[str]) -> str:  # fmt: skip
    m = machine
    return "\n".join([
        "# Benchmarks (quick run)",
        "",
        f"Written by `{command}` in one run ({total_seconds:,.0f} s in all). **A quick run**: issue 14's "
        "measurements shrunk to fit in two minutes, without the cold-build, rebuild and reload sections of issues 3 "
        "and 6; `make bench` gives the full figures. Do not edit by hand; run it again.",
        "",
        f"- **Machine**: {m.cores} cores ({m.cpu}), {m.memory_gib:.1f} GiB memory, {m.system}, Python {m.python}; "
        f"{m.date}; commit {m.commit}.",
        f"- **Peers** (their own virtualenv, pinned): Starlette {versions.get('starlette')}, uvicorn "
        f"{versions.get('uvicorn')} (h11 {versions.get('h11')}); nginx and wrk from Debian.",
        "",
        "## Targets",
        "",
        "| target (issue) | figure | verdict |",
        "|---|---|---|",
        *target_rows(load),
        "",
        *sections(load),
        *more,
        "## How it is measured",
        "",
        *method(load),
    ]) + "\n"  # fmt: skip
