"""``sitegate rollback`` as an operator runs it: on disk, and switching a running gateway."""

from __future__ import annotations

import json
import os
import time
import urllib.request
from pathlib import Path

from gateway.building.build import Build
from tests.gateway.ops.test_sites_list import build
from tests.gateway.processes import gateway
from tests.gateway.sitefarm import write_site
from tests.gateway.test_cli import run_sitegate

PAGE = "<!doctype html><title>a</title><h1>{}</h1>"


def rollback(tmp_path: Path, *args: str, gateway_url: str = "http://127.0.0.1:9") -> tuple[int, str, str]:
    folders = ("--sites", str(tmp_path / "sites"), "--build-dir", str(tmp_path / "builds"))
    result = run_sitegate("rollback", *args, *folders, "--gateway-url", gateway_url)
    return result.returncode, result.stdout, result.stderr


def test_wrong_arguments_are_one_line_and_exit_2(tmp_path: Path) -> None:
    root = write_site(tmp_path / "sites", "a.test", {"public/index.html": PAGE.format("one")})
    code, _, stderr = rollback(tmp_path, "nope.test")
    assert code == 2 and stderr.strip().splitlines() == [f"sitegate rollback: no site named nope.test in {tmp_path / 'sites'}"]

    code, _, stderr = rollback(tmp_path, "a.test")
    assert code == 2 and stderr.strip().splitlines() == ["sitegate rollback: a.test: no kept build older than none to roll back to"]

    first = build(tmp_path, "a.test")
    assert isinstance(first, Build)
    code, _, stderr = rollback(tmp_path, "a.test")
    assert code == 2 and len(stderr.strip().splitlines()) == 1 and "no kept build older than" in stderr

    (root / "public" / "index.html").write_text(PAGE.format("two"))
    assert isinstance(build(tmp_path, "a.test"), Build)
    code, _, stderr = rollback(tmp_path, "a.test", "0123abcd")
    assert code == 2 and stderr.strip().splitlines() == [
        f"sitegate rollback: a.test: no complete build 0123abcd (kept: {os.readlink(tmp_path / 'builds' / 'a.test' / 'current')}, {first.build_id})"
    ]


def test_without_a_gateway_running_it_switches_current_on_disk(tmp_path: Path) -> None:
    root = write_site(tmp_path / "sites", "a.test", {"public/index.html": PAGE.format("one")})
    first = build(tmp_path, "a.test")
    (root / "public" / "index.html").write_text(PAGE.format("two"))
    build(tmp_path, "a.test")
    code, stdout, stderr = rollback(tmp_path, "a.test")
    assert code == 0, stderr
    assert isinstance(first, Build) and os.readlink(tmp_path / "builds" / "a.test" / "current") == first.build_id
    assert "no gateway answered at http://127.0.0.1:9" in stdout


def get(base: str, host: str = "a.test", path: str = "/") -> str:
    request = urllib.request.Request(base + path, headers={"Host": host})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read().decode()


def rebuild(base: str, expected: str) -> None:
    """The rebuild hook, as the backend or a deploy calls it, then wait until it serves."""
    urllib.request.urlopen(urllib.request.Request(f"{base}/_sitegate/hooks/rebuild/a.test", method="POST"), timeout=10)
    deadline = time.monotonic() + 30
    while expected not in get(base):
        assert time.monotonic() < deadline, f"never served {expected!r}"
        time.sleep(0.05)


def settled(base: str) -> dict:
    """The site's health once the look behind a build served from disk is done."""
    deadline = time.monotonic() + 30
    while True:
        with urllib.request.urlopen(f"{base}/_sitegate/health", timeout=10) as response:
            stats = json.load(response)["sites"]["a.test"]
        if stats["builds_started"] and not stats["building"]:
            return stats
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_rollback_switches_a_running_gateway_and_lasts_until_an_edit(tmp_path: Path) -> None:
    root = write_site(tmp_path / "sites", "a.test", {"public/index.html": PAGE.format("one")})
    sites, builds = tmp_path / "sites", tmp_path / "builds"
    with gateway(sites, builds) as (_, base):
        assert "one" in get(base)
        old = settled(base)["current_build"]
        (root / "public" / "index.html").write_text(PAGE.format("two"))
        rebuild(base, "two")

        code, stdout, stderr = rollback(tmp_path, "a.test", gateway_url=base)
        assert code == 0, stderr
        assert f"a.test: current is {old}" in stdout and "serves it now" in stdout
        assert "one" in get(base)  # at once: the command returned after the gateway switched
        assert settled(base)["current_build"] == old

    with gateway(sites, builds) as (_, base):
        assert "one" in get(base)
        # The look behind the build from disk finds the inputs it was rolled back from: it stays.
        assert settled(base)["current_build"] == old
        assert "one" in get(base) and os.readlink(builds / "a.test" / "current") == old

        (root / "public" / "index.html").write_text(PAGE.format("three"))
        rebuild(base, "three")
        assert os.readlink(builds / "a.test" / "current") != old
