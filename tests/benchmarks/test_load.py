"""The pure parts of issue 14's load runs: reading wrk's summary, CPU time from /proc, the
per-request arithmetic, the Lua the headers go out in, and the ratios and verdicts of the report."""

from __future__ import annotations

import math
import os

import pytest

from benchmarks.load import (
    LoadRun,
    WrkSummary,
    cpu_us_per_request,
    lua_string,
    parse_proc_stat,
    parse_wrk,
    tree_ticks,
)
from benchmarks.load_report import share, times
from benchmarks.serving_bench import Cell

WRK_OUTPUT = """Running 5s test @ http://127.0.0.1:40123/2k.html
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.92ms  513.04us  12.71ms   91.33%
    Req/Sec    16.71k     1.20k   18.06k    84.00%
  Latency Distribution
     50%    1.83ms
     75%    2.01ms
     90%    2.31ms
     99%    3.75ms
  83151 requests in 5.00s, 187.43MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:  16627.53
Transfer/sec:     37.48MB
"""


def test_wrk_summary_is_read_from_its_output() -> None:
    summary = parse_wrk(WRK_OUTPUT)

    assert summary == WrkSummary(requests=83151, seconds=5.0, p99_seconds=0.00375, errors=7)
    assert summary.per_second == pytest.approx(16630.2)


def test_latency_units_are_converted_and_a_clean_run_has_no_errors() -> None:
    text = WRK_OUTPUT.replace("99%    3.75ms", "99%  812.00us").replace("in 5.00s", "in 1.01m")
    text = "\n".join(line for line in text.splitlines() if "errors" not in line and "Non-2xx" not in line)

    summary = parse_wrk(text)

    assert summary.p99_seconds == pytest.approx(0.000812)
    assert summary.seconds == pytest.approx(60.6)
    assert summary.errors == 0


def test_output_without_the_latency_table_is_refused() -> None:
    with pytest.raises(ValueError):
        parse_wrk("  100 requests in 1.00s, 1MB read\n")


def test_proc_stat_gives_the_parent_and_all_four_cpu_times_even_with_a_strange_name() -> None:
    # pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime ...
    text = "4242 (my (odd) srv) S 17 4242 4242 0 -1 4194560 900 0 0 0 120 30 5 2 20 0 3 0 100 1000 50\n"

    assert parse_proc_stat(text) == (17, 120 + 30 + 5 + 2)


def test_the_real_stat_of_this_process_parses() -> None:
    with open(f"/proc/{os.getpid()}/stat") as stat:
        ppid, ticks = parse_proc_stat(stat.read())

    assert ppid == os.getppid() and ticks >= 0


def test_a_tree_counts_the_root_and_every_live_descendant_once() -> None:
    stats = {1: (0, 1000), 10: (1, 50), 11: (10, 7), 12: (10, 3), 20: (1, 99), 13: (11, 1)}

    assert tree_ticks(stats, 10) == 50 + 7 + 3 + 1
    assert tree_ticks(stats, 12) == 3
    assert tree_ticks(stats, 404) == 0


def test_cpu_per_request_is_in_microseconds() -> None:
    assert cpu_us_per_request(2.5, 100_000) == pytest.approx(25.0)
    assert math.isnan(cpu_us_per_request(1.0, 0))


def test_a_run_is_load_bound_when_wrk_kept_its_core_busy() -> None:
    summary = WrkSummary(requests=50_000, seconds=5.0, p99_seconds=0.002, errors=0)

    busy = LoadRun(summary, server_cpu_seconds=1.0, wrk_cpu_seconds=4.7, wall_seconds=5.0)
    idle = LoadRun(summary, server_cpu_seconds=1.0, wrk_cpu_seconds=2.0, wall_seconds=5.0)

    assert busy.load_bound and not idle.load_bound
    assert busy.cpu_us_per_request == pytest.approx(20.0)


def test_an_etag_goes_into_lua_as_one_string() -> None:
    assert lua_string('"abc-12"') == '"\\"abc-12\\""'
    assert lua_string("a\\b") == '"a\\\\b"'


def test_cells_give_medians_over_rounds_and_ratios_need_both_sides() -> None:
    runs = tuple(
        LoadRun(WrkSummary(requests, 1.0, p99, 0), server_cpu_seconds=cpu, wrk_cpu_seconds=0.1, wall_seconds=1.0)
        for requests, p99, cpu in ((1000, 0.003, 0.10), (3000, 0.001, 0.15), (2000, 0.002, 0.40))
    )
    cell = Cell("sitegate", "2 KiB", runs)

    assert cell.per_second.median == 2000
    assert (cell.per_second.low, cell.per_second.high) == (1000, 3000)
    assert cell.p99.median == 0.002
    assert cell.cpu_us.median == pytest.approx(100.0)  # 100, 50 and 200 µs
    assert share(cell.cpu_us.median, 50.0) == pytest.approx(2.0)
    assert math.isnan(share(1.0, 0.0)) and times(float("nan")) == "n/a"
    assert times(1.234) == "1.23x"
