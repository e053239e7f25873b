"""Faults of the machine under a real gateway process (issue 11): killed mid-build or
mid-publish, and a disk that fills up during a build. The last good build keeps serving,
``current`` never points at half a build, and what a crash left behind goes at the next start."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.gateway.processes import gateway, kill, processes_building_into
from tests.gateway.sitefarm import write_site

GOOD = 'builder = "command"\nbuild = ["sh", "-c", "mkdir -p dist && echo good > dist/index.html"]\n'
# Writes half its output straight into the staging folder, then takes its time.
SLOW = 'builder = "command"\nbuild = ["sh", "-c", "echo half > \\"$SITEGATE_OUT_DIR/half.html\\"; sleep 30"]\n'


def fetch(base: str, host: str, path: str = "/", method: str = "GET") -> tuple[int, str]:
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request(method, path, headers={"Host": host})
        response = connection.getresponse()
        return response.status, response.read().decode(errors="replace")
    finally:
        connection.close()


def wait_until(check: Callable[[], object], seconds: float = 15.0) -> object:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.05)
    raise AssertionError(f"not true within {seconds} s: {check}")


def leftovers(site_builds: Path) -> list[str]:
    return sorted(entry.name for entry in site_builds.iterdir() if entry.name.startswith((".staging-", ".trash-", ".current-")))


def assert_current_is_complete(site_builds: Path) -> str:
    current = os.readlink(site_builds / "current")
    assert (site_builds / current).is_dir() and (site_builds / f"{current}.json").is_file()
    assert not (site_builds / f"{current}.carry").exists()
    return current


def test_a_gateway_killed_mid_build_serves_its_last_good_build_after_a_restart_and_clears_the_half_build(
    tmp_path: Path,
) -> None:
    sites, builds = tmp_path / "sites", tmp_path / "builds"
    root = write_site(sites, "a.test", {}, GOOD)
    site_builds = builds / "a.test"
    try:
        with gateway(sites, builds) as (first, base):
            assert fetch(base, "a.test") == (200, "good\n")
            good = assert_current_is_complete(site_builds)
            (root / "site.toml").write_text(SLOW)
            first.send_signal(signal.SIGHUP)  # the changed site.toml now, not at the next poll
            half = wait_until(lambda: [*site_builds.glob(".staging-*/half.html")] or fetch(base, "a.test") and None)
            first.kill()
            first.wait()
        staging = half[0].parent  # type: ignore[index]
        assert os.readlink(site_builds / "current") == good

        with gateway(sites, builds) as (_, base):
            started = time.monotonic()
            # Served from disk at once, while the slow build runs again behind it.
            assert fetch(base, "a.test") == (200, "good\n")
            assert time.monotonic() - started < 5
            wait_until(lambda: not staging.exists() and not [*site_builds.glob(".trash-*")])
            assert assert_current_is_complete(site_builds) == good
    finally:
        # A SIGKILLed gateway cannot stop its build command; the test does, by PID.
        kill(processes_building_into(builds))


# Where publishing stops: the staging folder not yet moved into place, the build folder in
# place without its record, or the record written and ``current`` not yet switched.
CRASHES = {
    "before_rename": "real = os.rename\n"
    "os.rename = lambda a, b, **k: os._exit(70) if '.staging-' in str(a) else real(a, b, **k)\n",
    "before_record": "import gateway.building.build_dir as b\n"
    "b.SiteBuildDir.write_record = lambda self, record: os._exit(70)\n",
    "before_current": "real = os.replace\n"
    "os.replace = lambda a, b, **k: os._exit(70) if str(b).endswith('/current') else real(a, b, **k)\n",
}


@pytest.mark.parametrize("where", sorted(CRASHES))
def test_a_gateway_killed_while_publishing_keeps_current_on_a_complete_build(tmp_path: Path, where: str) -> None:
    sites, builds = tmp_path / "sites", tmp_path / "builds"
    root = write_site(sites, "a.test", {"public/index.html": "good"})
    site_builds = builds / "a.test"
    with gateway(sites, builds) as (_, base):
        assert fetch(base, "a.test") == (200, "good")
    good = assert_current_is_complete(site_builds)

    (root / "public" / "index.html").write_text("new")
    crashing = f"import os, sys\n{CRASHES[where]}from gateway.cli import main\nsys.exit(main())\n"
    with gateway(sites, builds, code=crashing) as (process, base):
        # Served from disk; the build behind it crashes the process.
        assert fetch(base, "a.test") == (200, "good")
        assert process.wait(timeout=15) == 70
    assert os.readlink(site_builds / "current") == good
    assert_current_is_complete(site_builds)
    assert leftovers(site_builds) or where == "before_record"

    with gateway(sites, builds) as (_, base):
        assert fetch(base, "a.test")[0] == 200
        wait_until(lambda: fetch(base, "a.test") == (200, "new"))
        wait_until(lambda: not leftovers(site_builds))
        assert_current_is_complete(site_builds)
    # Nothing in the site's folder but complete builds with their records and logs.
    names = {entry.name for entry in site_builds.iterdir()}
    # (current and nginx's rules link lead to one of them.)
    folders = {name for name in names if (site_builds / name).is_dir() and not (site_builds / name).is_symlink()}
    assert folders and all(f"{name}.json" in names for name in folders)


@pytest.fixture
def small_disk(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A 2 MB tmpfs for the build folder."""
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount_point)], capture_output=True)
    if result.returncode != 0:
        # Under CI a full disk that cannot be made is a failure, never a skip.
        reason = f"cannot mount a tmpfs here: {result.stderr.decode().strip()}"
        (pytest.fail if os.environ.get("CI") else pytest.skip)(reason)
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_a_build_that_fills_the_disk_fails_clearly_and_the_current_build_keeps_serving(
    tmp_path: Path, small_disk: Path
) -> None:
    sites = tmp_path / "sites"
    root = write_site(sites, "a.test", {"public/index.html": "good"})
    site_builds = small_disk / "a.test"
    with gateway(sites, small_disk) as (_, base):
        assert fetch(base, "a.test") == (200, "good")
        good = assert_current_is_complete(site_builds)
        (root / "public" / "big.bin").write_bytes(os.urandom(3 * 1024 * 1024))
        assert fetch(base, "localhost", "/_sitegate/hooks/rebuild/a.test", "POST")[0] == 202

        def failed() -> str | None:
            return json.loads(fetch(base, "localhost", "/_sitegate/health")[1])["sites"]["a.test"]["last_error"]

        error = str(wait_until(failed))
        assert error.startswith("no space left on device for build ") and " of a.test" in error
        assert fetch(base, "a.test") == (200, "good")
        assert os.readlink(site_builds / "current") == good
        assert not [*site_builds.glob(".staging-*")] and not (site_builds / "big.bin").exists()
