"""--log-format json: every log line of the real command is one JSON object."""

from __future__ import annotations

import json
import signal
import urllib.request
from pathlib import Path

from tests.gateway.processes import spawn, stop
from tests.gateway.sitefarm import write_site
from tests.ports import free_port, wait_for_port


def test_log_format_json_writes_one_object_per_line(tmp_path: Path) -> None:
    write_site(tmp_path / "sites", "a.test", {"public/index.html": "home"})
    port = free_port()
    args = ["serve", "--host", "127.0.0.1", "--port", str(port), "--sites", str(tmp_path / "sites"),
            "--build-dir", str(tmp_path / "builds"), "--log-format", "json"]
    process = spawn(args, {"SITEGATE_BUILD_USER": "root"})
    try:
        wait_for_port(port, process, "sitegate")
        request = urllib.request.Request(f"http://127.0.0.1:{port}/", headers={"Host": "a.test"})
        assert urllib.request.urlopen(request, timeout=30).read() == b"home"
        process.send_signal(signal.SIGTERM)
        assert process.stderr is not None
        output = process.stderr.read().decode()
    finally:
        stop(process)
    entries = [json.loads(line) for line in output.splitlines()]
    assert entries and all({"time", "level", "logger", "message"} <= entry.keys() for entry in entries)
    access = [entry for entry in entries if entry["logger"] == "sitegate.access"]
    assert len(access) == 1
    assert {key: access[0][key] for key in ("site", "method", "path", "status", "bytes", "cache")} == {
        "site": "a.test", "method": "GET", "path": "/", "status": 200, "bytes": 4, "cache": "miss",
    }
    assert access[0]["duration_ms"] >= 0
