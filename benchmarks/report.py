"""RESULTS.md from one run's figures: the machine, the command, every figure, the ratios against
the peers of the same run, and the issues' targets judged."""

from __future__ import annotations

import re
from dataclasses import dataclass

from benchmarks.build_bench import (
    EDIT_INTERVAL_SECONDS,
    SHARED_COMPONENT,
    BuilderFigures,
    EditRun,
    ManagerFigures,
)
from benchmarks.corpus import CorpusPost
from benchmarks.machine import Machine
from benchmarks.mkdocs_serve import ServeFigures
from benchmarks.production_bench import ProductionFigures
from benchmarks.reload_bench import ReloadFigures
from benchmarks.stats import Samples, ms, ratio, secs

_HEADING = re.compile(r"^#{2,3} ", re.MULTILINE)
EDIT_TARGET_SECONDS = 0.050
RELOAD_TARGET_SECONDS = 0.100


@dataclass(frozen=True)
class PeerFigures:
    versions: dict[str, str]
    floor: Samples
    floor_highlight: Samples
    mkdocs: Samples
    pelican: Samples
    serve: ServeFigures
    serve_dirty: ServeFigures


@dataclass(frozen=True)
class RunFigures:
    command: str
    machine: Machine
    seed: int
    posts: tuple[CorpusPost, ...]
    peers: PeerFigures
    builder: BuilderFigures
    manager: ManagerFigures
    production: ProductionFigures
    reload: ReloadFigures
    total_seconds: float


def render(run: RunFigures, more: Sections | None = None) -> str:
    """RESULTS.md; ``more`` adds the rows, sections and notes of the measurements beside these."""
    more = more or Sections((), (), ())
    targets = _targets(run)
    return "\n".join([
        *_header(run), *targets[:-1], *more.target_rows, "", *more.sections, *_cold(run), *_edits(run),
        *_reload(run), *_method(run), *more.method,
    ]) + "\n"  # fmt: skip


@dataclass(frozen=True)
class Sections:
    """Lines from other measurements of the same run: rows for the targets table, whole sections,
    and notes for the end of "How it is measured"."""

    target_rows: tuple[str, ...]
    sections: tuple[str, ...]
    method: tuple[str, ...]


def _verdict(met: bool) -> str:
    return "**met**" if met else "**missed**"


def _header(run: RunFigures) -> list[str]:
    m, v = run.machine, run.peers.versions
    words = sorted(post.words for post in run.posts)
    bodies = [post.body for post in run.posts]
    return [
        "# Benchmarks",
        "",
        f"Written by `{run.command}` in one run ({run.total_seconds:,.0f} s in all): every figure below comes from "
        "the same run, the same machine and the same corpus. Do not edit by hand; run it again.",
        "",
        f"- **Machine**: {m.cores} cores ({m.cpu}), {m.memory_gib:.1f} GiB memory, {m.system}, Python {m.python}; "
        f"{m.date}; commit {m.commit}.",
        f"- **Peers** (their own virtualenv, pinned): MkDocs {v['mkdocs']}, Pelican {v['pelican']} "
        f"(Python-Markdown {v['markdown']}), markdown-it-py {v['markdown-it-py']}, Jinja2 {v['jinja2']}, "
        f"Pygments {v['pygments']}, PyYAML {v['pyyaml']}.",
        f"- **Corpus**: {len(run.posts):,} posts from seed {run.seed}, {words[0]:,}–{words[-1]:,} words each "
        f"(median {words[len(words) // 2]:,}, {sum(words):,} in all), {sum(b.count('```') // 2 for b in bodies):,} "
        f"fenced code blocks, {sum(len(_HEADING.findall(b)) for b in bodies):,} headings, "
        f"{sum(b.count('](') for b in bodies):,} links; front matter: title, date, tags, summary. "
        "Written as a sitegate Jinja site (`shared/templates/blog`), an MkDocs project (posts as pages, default theme) "
        "and a Pelican project (default theme).",
        "",
    ]


def _targets(run: RunFigures) -> list[str]:
    floor = run.peers.floor.median
    first = run.production.first_request.median
    edit = run.manager.post_edits.timings.median
    builder_edit = run.builder.post_edits.timings.median
    event, page = run.reload.to_reload_event.median, run.reload.to_new_page.median
    b = run.builder
    return [
        "## Targets",
        "",
        "| target (issue) | figure | verdict |",
        "|---|---|---|",
        f"| cold build no slower than the floor (3) | first request to a cold production gateway {secs(first)} "
        f"vs floor {secs(floor)} ({ratio(first, floor)} the floor; medians) | {_verdict(first <= floor)} |",
        f"| one-post edit ≤ 50 ms median (3) | gateway rebuild (development) {ms(edit)}; builder alone "
        f"{ms(builder_edit)} | {_verdict(edit <= EDIT_TARGET_SECONDS)} |",
        f"| shared component edit re-renders only the pages using it (3) | {b.shared_edit_rendered:,} re-rendered, "
        f"{b.shared_edit_users:,} use it, {b.shared_edit_post_pages:,} post pages | {_verdict(b.shared_edit_exact)} |",
        f"| write → reload ≤ 100 ms median (6) | reload event {ms(event)}, new page served {ms(page)} "
        f"| {_verdict(max(event, page) <= RELOAD_TARGET_SECONDS)} |",
        f"| at least 8x faster than `mkdocs serve --dirty` (6) | {ratio(run.peers.serve_dirty.to_reload.median, page)} "
        f"(new page served) | {_verdict(run.peers.serve_dirty.to_reload.median >= 8 * page)} |",
        "",
    ]


def _cold(run: RunFigures) -> list[str]:
    p, b, prod, floor = run.peers, run.builder, run.production, run.peers.floor.median

    def row(name: str, samples: Samples) -> str:
        spread = f"{secs(samples.low)}–{secs(samples.high)}" if samples.count > 1 else "–"
        return (
            f"| {name} | {secs(samples.median)} | {spread} | {samples.count} | {ratio(samples.median, floor)} "
            f"| {ratio(p.mkdocs.median, samples.median)} |"
        )

    log = prod.cold_build
    split = ""
    if log.builder_seconds is not None and log.build_seconds is not None:
        split = (
            f" The build log of the last first request: {secs(log.build_seconds)} for the build, of which "
            f"{secs(log.builder_seconds)} in the Jinja builder and about {secs(log.build_seconds - log.builder_seconds)} "
            "in the rest of the gateway's build step (fingerprinting the inputs, publishing"
            + (f", precompressing {log.precompressed:,} files" if log.precompressed is not None else "")
            + ")."
        )
    return [
        "## Issue 3: cold builds",
        "",
        "| build | median | range | runs | ÷ floor | MkDocs ÷ this |",
        "|---|---|---|---|---|---|",
        row("floor: markdown-it-py + one Jinja2 template, one process, no highlighting", p.floor),
        row("floor with Pygments highlighting of fenced code", p.floor_highlight),
        row(f"sitegate: `JinjaBuilder.build` alone ({b.cold_outputs:,} outputs)", b.cold),
        row("sitegate: first request to a cold **production** gateway until the page arrives", prod.first_request),
        row(
            "sitegate: first request to a cold development gateway (no precompression)",
            Samples((run.reload.first_request_seconds,)),
        ),
        row("sitegate: `BuildManager` cold build, development (no HTTP)", Samples((run.manager.cold_seconds,))),
        row(f"MkDocs {p.versions['mkdocs']}: `mkdocs build`", p.mkdocs),
        row(f"Pelican {p.versions['pelican']}: `pelican content`", p.pelican),
        "",
        f"The builder's own log of its cold build: `{'; '.join(b.cold_log.splitlines())}`.{split}",
        "",
        "Highlighting: sitegate does not highlight code at build time (a fenced block becomes "
        '`<pre><code class="language-…">`), so its fair floor is the one without Pygments. Pelican highlights '
        "with Pygments (codehilite, its default); MkDocs' default theme highlights in the browser (highlight.js). "
        f"The floor renders the {len(run.posts):,} post pages only; sitegate also makes the blog index pages, tag pages, "
        "the tags index, the home page, feed.xml and sitemap.xml.",
        "",
    ]


def _edit_row(name: str, run: EditRun) -> str:
    t = run.timings
    rendered = f"{min(run.rendered):,}–{max(run.rendered):,}" if run.rendered else "–"
    return f"| {name} | {ms(t.median)} | {ms(t.p90)} | {ms(t.low)}–{ms(t.high)} | {rendered} | {t.count} |"


def _samples_row(name: str, samples: Samples, note: str = "–") -> str:
    return f"| {name} | {ms(samples.median)} | {ms(samples.p90)} | {ms(samples.low)}–{ms(samples.high)} | {note} | {samples.count} |"


def _edits(run: RunFigures) -> list[str]:
    b, serve = run.builder, run.peers.serve
    return [
        "## Issue 3: rebuilds after an edit",
        "",
        "| edit | median | p90 | range | outputs made anew | edits |",
        "|---|---|---|---|---|---|",
        _edit_row("one post: `JinjaBuilder.build` alone, previous build handed over (`carry_over`)", b.post_edits),
        _samples_row(
            "one post: fingerprinting the inputs before that (walk + digests, stat-cached)", b.fingerprint_seconds
        ),
        _samples_row(
            "one post: carrying the unchanged outputs over after it (hard links, as the gateway does after publishing)",
            b.carry_over_seconds,
        ),
        _edit_row(
            "one post: `BuildManager`, development (fingerprint, build, publish, file table)", run.manager.post_edits
        ),
        _samples_row(
            "one post: production gateway, write → rebuild hook → new text served",
            run.production.rebuilds,
        ),
        f"| shared component `{SHARED_COMPONENT}` (every post page uses it): `JinjaBuilder.build` alone "
        f"| {ms(b.shared_edit_seconds)} | – | – | {b.shared_edit_rendered:,} | 1 |",
        _samples_row("MkDocs: `mkdocs serve` after one edit (it rebuilds every page)", serve.to_reload),
        "",
        f"The shared-component edit made {b.shared_edit_rendered:,} outputs anew; the previous build's dependency "
        f"record says {b.shared_edit_users:,} outputs use the component, and the site has "
        f"{b.shared_edit_post_pages:,} post pages: "
        + ("the three sets are equal." if b.shared_edit_exact else "**the sets differ** (see the issue)."),
        "",
    ]


def _reload(run: RunFigures) -> list[str]:
    r, p = run.reload, run.peers
    page = r.to_new_page.median
    rebuild_rows = []
    if r.gateway_rebuilds is not None:
        pages = f"{min(r.rendered):,}–{max(r.rendered):,} pages" if r.rendered else "–"
        rebuild_rows.append(
            _samples_row("sitegate: the gateway's own rebuild (its log line per rebuild)", r.gateway_rebuilds, pages)
        )
    return [
        "## Issue 6: from a file write to the browser's reload (development)",
        "",
        "| | median | p90 | range | note | edits |",
        "|---|---|---|---|---|---|",
        _samples_row("sitegate: write → `reload` on the tab's SSE stream", r.to_reload_event),
        _samples_row("sitegate: write → the page served with the new text", r.to_new_page),
        *rebuild_rows,
        _samples_row(
            "`mkdocs serve --dirty`: write → long poll answers a newer epoch",
            p.serve_dirty.to_reload,
            f"{ratio(p.serve_dirty.to_reload.median, page)} sitegate's page time",
        ),
        _samples_row(
            "`mkdocs serve`: write → long poll answers a newer epoch",
            p.serve.to_reload,
            f"{ratio(p.serve.to_reload.median, page)} sitegate's page time",
        ),
        "",
        f"`mkdocs serve` took {secs(p.serve.startup_seconds)} to serve its first page "
        f"(`--dirty`: {secs(p.serve_dirty.startup_seconds)}); sitegate's development gateway served its first page of "
        f"the cold site in {secs(r.first_request_seconds)}.",
        "",
    ]


def _method(run: RunFigures) -> list[str]:
    return [
        "## How it is measured",
        "",
        "- Cold means nothing to start from: a fresh copy of each project, no build folder and no cache "
        "(sitegate's `.sitegate/` post and template caches are absent). The cold builds run round by round, each "
        "round the floor, sitegate's first request, sitegate's builder, then the peers, so a stretch of load from "
        "other tenants of the machine weighs on all of them alike; the floor and sitegate, whose ratio is a target, "
        "run in every round, the slower peers in the first three. The ratios use medians.",
        "- Peers and the floor are timed as whole commands, from starting the interpreter to its exit, as a "
        "person waits for them. The floor (`benchmarks/floor.py`) reads front matter with PyYAML, renders with "
        "markdown-it-py configured as sitegate's (CommonMark, tables, strikethrough) and writes one file per post.",
        "- sitegate's gateways run in their own process (`benchmarks/gateway_process.py`: the real `create_app` "
        "on 127.0.0.1), so the client never shares their event loop. A first request is timed from sending it "
        "until the whole body has arrived.",
        "- Edits append a paragraph carrying a fresh token to the end of a post (front matter untouched), each to a "
        "different post spread over the corpus; a figure counts only once the new token is seen where it should be. "
        f"Edits through a gateway are {EDIT_INTERVAL_SECONDS:.0f} s apart, as a person saves, so the work a gateway "
        "does after publishing (completing the build folder, pruning old builds) falls between them.",
        "- Development reloads: a tab's stream `/_sitegate/events?path=/blog/<slug>/` is open before the write; "
        "the page is fetched right after the `reload` event, as the browser would. The watcher's debounce "
        "(50 ms by default) is part of the figure, as it is of what a person sees.",
        "- `mkdocs serve`: its long poll is parked before the write and timed until it answers a newer epoch. "
        "It notices changes by polling the files every 0.5 s, so its `--dirty` median moves from run to run "
        "with where the writes fall in that cycle. "
        f"Without `--dirty` it rebuilds all pages on every save, so it gets {run.peers.serve.to_reload.count} edits, "
        f"not {run.reload.to_new_page.count}; the production rebuild through the hook gets {run.production.rebuilds.count}.",
        "- p90 is the nearest-rank 90th percentile (a measured value); with few edits it is close to the maximum.",
        "- Where a rebuild's time goes: `python -m benchmarks.profile_rebuild` (cProfile of the gateway's build step "
        "on the same corpus; not part of this run).",
    ]
