"""Load from wrk on loopback, and the CPU a server spent answering it.

``run_wrk`` runs wrk on one core (``taskset``) for a bounded time and reads its summary;
``ProcessTree`` reads the CPU time of a server and every process under it from ``/proc``, so
a server's CPU per request is (after - before) / requests. The parsing and the arithmetic are
pure, and tested in ``tests/benchmarks/test_load.py``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
LOAD_CORE = 1
SERVER_CORE = 0
# wrk busier than this share of its core is taken to be what bounds the figure.
LOAD_BOUND_SHARE = 0.9
_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}
_LATENCY = re.compile(r"^\s*99%\s+([\d.]+)(us|ms|s|m)\s*$", re.MULTILINE)
_TOTAL = re.compile(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m),", re.MULTILINE)
_SOCKET = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
_NON_2XX = re.compile(r"Non-2xx or 3xx responses: (\d+)")


@dataclass(frozen=True)
class WrkSummary:
    """What wrk printed: requests completed, over how long, the 99th percentile of latency and
    the requests that went wrong (socket errors and answers other than 2xx/3xx)."""

    requests: int
    seconds: float
    p99_seconds: float
    errors: int

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class LoadRun:
    """One wrk run against one server: wrk's summary, the server's CPU time over it, and wrk's
    own CPU time (to say when the load generator, not the server, was the limit)."""

    wrk: WrkSummary
    server_cpu_seconds: float
    wrk_cpu_seconds: float
    wall_seconds: float

    @property
    def cpu_us_per_request(self) -> float:
        return cpu_us_per_request(self.server_cpu_seconds, self.wrk.requests)

    @property
    def load_bound(self) -> bool:
        return self.wall_seconds > 0 and self.wrk_cpu_seconds / self.wall_seconds >= LOAD_BOUND_SHARE


def parse_wrk(text: str) -> WrkSummary:
    total = _TOTAL.search(text)
    latency = _LATENCY.search(text)
    if total is None or latency is None:
        raise ValueError(f"not wrk --latency output:\n{text[-2000:]}")
    socket = _SOCKET.search(text)
    non_2xx = _NON_2XX.search(text)
    errors = sum(int(n) for n in socket.groups()) if socket else 0
    errors += int(non_2xx.group(1)) if non_2xx else 0
    return WrkSummary(
        requests=int(total.group(1)),
        seconds=float(total.group(2)) * _UNITS[total.group(3)],
        p99_seconds=float(latency.group(1)) * _UNITS[latency.group(2)],
        errors=errors,
    )


def cpu_us_per_request(cpu_seconds: float, requests: int) -> float:
    return cpu_seconds * 1e6 / requests if requests > 0 else float("nan")


def parse_proc_stat(text: str) -> tuple[int, int]:
    """(parent pid, CPU ticks) from one ``/proc/<pid>/stat``. The ticks are the process's own
    user and system time (all its threads) plus that of the children it has reaped, so summing
    the live processes of a tree counts every process that ever ran in it exactly once."""
    # The command name is in parentheses and may hold spaces or parentheses itself.
    fields = text[text.rindex(")") + 2 :].split()
    # After the name: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14).
    return int(fields[1]), sum(int(fields[index]) for index in (11, 12, 13, 14))


def tree_ticks(stats: dict[int, tuple[int, int]], root: int) -> int:
    """CPU ticks of ``root`` and all its live descendants, from {pid: (ppid, ticks)}."""
    children: dict[int, list[int]] = {}
    for pid, (ppid, _ticks) in stats.items():
        children.setdefault(ppid, []).append(pid)
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        if pid in stats:
            total += stats[pid][1]
        todo.extend(children.get(pid, ()))
    return total


def _all_stats() -> dict[int, tuple[int, int]]:
    stats = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stats[int(entry.name)] = parse_proc_stat(Path(entry.path, "stat").read_text())
            except (OSError, ValueError, IndexError):
                continue  # gone between the listing and the read
    return stats


def cpu_seconds(pids: tuple[int, ...]) -> float:
    """CPU time of these processes and everything under them, in seconds."""
    stats = _all_stats()
    return sum(tree_ticks(stats, pid) for pid in pids) / CLOCK_TICKS


def memory_kib(pid: int, field: str) -> int:
    """A ``/proc/<pid>/status`` figure in KiB: VmRSS (resident now) or VmHWM (its peak)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise ValueError(f"no {field} for {pid}")


def lua_string(text: str) -> str:
    """A Lua string literal of ``text`` (an ETag carries double quotes)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def lua_script(header_lines: dict[str, str], hosts: tuple[str, ...] = ()) -> Path:
    """A wrk script that sets request headers, and with ``hosts`` sends each request to the
    next Host in turn (wrk's -H gives one Host for the whole run)."""
    lines = [f"wrk.headers[{lua_string(name)}] = {lua_string(value)}" for name, value in header_lines.items()]
    if hosts:
        listed = ", ".join(lua_string(host) for host in hosts)
        lines += [
            f"local hosts = {{{listed}}}",
            "local next = 0",
            "request = function()",
            "  next = next % #hosts + 1",
            '  wrk.headers["Host"] = hosts[next]',
            "  return wrk.format()",
            "end",
        ]
    handle, name = tempfile.mkstemp(prefix="sitegate-wrk-", suffix=".lua")
    os.write(handle, ("\n".join(lines) + "\n").encode())
    os.close(handle)
    return Path(name)


@dataclass(frozen=True)
class Load:
    """What wrk sends: one URL, a Host, extra headers, how hard and how long."""

    url: str
    host: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    rotate_hosts: tuple[str, ...] = ()
    connections: int = 32
    seconds: int = 5  # wrk takes whole seconds
    cores: str = str(LOAD_CORE)


def run_wrk(load: Load, server_pids: tuple[int, ...]) -> LoadRun:
    """One bounded wrk run (its own timeout beside wrk's -d); the servers' CPU time is read
    just before and just after."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise RuntimeError("wrk is not installed: `make bench-deps` installs it")
    headers = dict(load.headers) | ({"Host": load.host} if load.host else {})
    script = lua_script(headers, load.rotate_hosts)
    command = ["taskset", "-c", load.cores, wrk, "-t1", f"-c{load.connections}", f"-d{load.seconds}s",
               "--timeout", "10s", "--latency", "-s", str(script), load.url]  # fmt: skip
    try:
        before, children_before = cpu_seconds(server_pids), _children_cpu()
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            output, _ = process.communicate(timeout=load.seconds + 30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise
        wall = time.perf_counter() - started
        after = cpu_seconds(server_pids)
        # Popen reaped wrk, the one child to end meanwhile: the children's CPU time grew by its.
        wrk_cpu = _children_cpu() - children_before
    finally:
        script.unlink(missing_ok=True)
    if process.returncode != 0:
        raise RuntimeError(f"wrk failed ({process.returncode}): {output.decode(errors='replace')[-1000:]}")
    summary = parse_wrk(output.decode(errors="replace"))
    return LoadRun(summary, after - before, wrk_cpu, wall)


def _children_cpu() -> float:
    usage = os.times()
    return usage.children_user + usage.children_system


def wait_idle(pids: tuple[int, ...], share: float = 0.05, timeout: float = 120.0) -> float:
    """Wait until these servers use less than ``share`` of a core over half a second: a
    gateway finishes a build in the background (precompression), which must not be counted
    against, or run beside, the next measurement. Returns the seconds waited."""
    started = time.perf_counter()
    last = cpu_seconds(pids)
    while time.perf_counter() - started < timeout:
        time.sleep(0.5)
        now = cpu_seconds(pids)
        if now - last < share * 0.5:
            break
        last = now
    return time.perf_counter() - started
