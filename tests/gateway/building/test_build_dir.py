"""A site's builds on disk: what prune takes out of what a crashed or running build left."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gateway.building.build_dir import SiteBuildDir
from gateway.building.record import BuildRecord


def record(build_id: str) -> BuildRecord:
    return BuildRecord(build_id=build_id, dependencies={}, input_digests={}, rendered=(), seconds=0.0)


def test_a_staging_folder_of_a_running_build_stays_and_an_abandoned_one_goes(tmp_path: Path) -> None:
    running = SiteBuildDir(tmp_path)
    live = running.staging()
    (live / "index.html").write_text("half")
    # A process that made a staging folder and was killed before publishing it.
    script = "import os, sys; from pathlib import Path; from gateway.building.build_dir import SiteBuildDir; " \
        "print(SiteBuildDir(Path(sys.argv[1])).staging()); sys.stdout.flush(); os._exit(9)"
    killed = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, timeout=30)
    abandoned = Path(killed.stdout.strip())
    assert abandoned.is_dir()

    SiteBuildDir(tmp_path).prune(keep=3, protect=set())
    assert live.is_dir() and not abandoned.exists()
    running.discard(live)


def test_a_current_link_left_by_a_dead_process_goes_and_one_of_a_live_process_stays(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    os.symlink("x", tmp_path / f".current-{dead.stdout.strip()}-x")
    os.symlink("y", tmp_path / f".current-{os.getpid()}-y")
    SiteBuildDir(tmp_path).prune(keep=3, protect=set())
    assert sorted(entry.name for entry in tmp_path.iterdir()) == [f".current-{os.getpid()}-y"]


def test_a_publish_that_fails_removes_its_staging_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    builds = SiteBuildDir(tmp_path)
    staging = builds.staging()
    (staging / "index.html").write_text("page")

    def full(*_: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "rename", full)
    with pytest.raises(OSError):
        builds.publish(staging, record("abc"), "log")
    assert not staging.exists() and builds.find("abc") is None


def test_pruning_keeps_the_log_of_a_failure_newer_than_every_build(tmp_path: Path) -> None:
    """It is all that says why the site failed (``sitegate sites``, the status page)."""
    build_dir = SiteBuildDir(tmp_path / "site.test")
    for number in range(4):
        build_dir.output(f"b{number}").mkdir(parents=True)
        build_dir.write_record(BuildRecord(f"b{number}", {}, {}, (), 0.1))
        time.sleep(0.01)
    build_dir.write_log("failed", "boom")
    build_dir.prune(keep=2, protect=set())
    assert (build_dir.root / "failed.log").is_file()
    assert not build_dir.output("b0").exists()
