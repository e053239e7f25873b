"""The build folder kept under a size limit: least recently served builds go, builds in service stay."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from gateway.building.build_dir import SiteBuildDir
from gateway.cluster import cache
from gateway.cluster.cache import BuildSizes, evict

RECORD = b'{"build_id":"x"}'
LOG = b"built\n"
BESIDE = len(RECORD) + len(LOG)
PAGE = 1000
# Served this many seconds ago at "0", so that the folders count as settled for the memo.
LONG_AGO = 10_000


def make_build(root: Path, site: str, build_id: str, *, served: int, size: int = PAGE) -> Path:
    """A complete build: one page, a stylesheet in a subfolder, its record (mtime = ``served``
    seconds after LONG_AGO) and its log."""
    folder = root / site / build_id
    (folder / "assets").mkdir(parents=True)
    (folder / "index.html").write_bytes(b"p" * size)
    (folder / "assets" / "site.css").write_bytes(b"c" * 100)
    record = root / site / f"{build_id}.json"
    record.write_bytes(RECORD)
    (root / site / f"{build_id}.log").write_bytes(LOG)
    moment = int((time.time() - LONG_AGO + served) * 1e9)
    for path in (folder, folder / "assets", record):
        os.utime(path, ns=(moment, moment))
    return folder


def weight(size: int = PAGE) -> int:
    return size + 100 + BESIDE


def serve(root: Path, site: str, build_id: str) -> None:
    os.symlink(build_id, root / site / "current")


def builds_left(root: Path, site: str) -> list[str]:
    return sorted(path.stem for path in (root / site).glob("*.json"))


def test_nothing_goes_under_the_limit(tmp_path: Path) -> None:
    make_build(tmp_path, "a.example", "aa01", served=1)
    report = evict(tmp_path, 10 * weight())
    assert (report.total_bytes_before, report.total_bytes_after) == (weight(), weight())
    assert report.evicted == () and not report.over_limit


def test_the_least_recently_served_go_first(tmp_path: Path) -> None:
    make_build(tmp_path, "a.example", "aa01", served=100)
    make_build(tmp_path, "a.example", "aa02", served=300)
    make_build(tmp_path, "a.example", "aa03", served=400)
    serve(tmp_path, "a.example", "aa03")
    make_build(tmp_path, "b.example", "bb01", served=200)
    make_build(tmp_path, "b.example", "bb02", served=500)
    serve(tmp_path, "b.example", "bb02")
    report = evict(tmp_path, 3 * weight())
    assert report.evicted == (("a.example", "aa01"), ("b.example", "bb01"))
    assert (report.total_bytes_before, report.total_bytes_after) == (5 * weight(), 3 * weight())
    assert not report.over_limit
    assert builds_left(tmp_path, "a.example") == ["aa02", "aa03"]
    assert builds_left(tmp_path, "b.example") == ["bb02"]
    # Folder, record and log gone, and the trash emptied.
    assert sorted(path.name for path in (tmp_path / "b.example").iterdir() if path.name != ".lock") == [
        "bb02", "bb02.json", "bb02.log", "current",
    ]  # fmt: skip


def test_the_build_in_service_stays_even_alone_over_the_limit(tmp_path: Path) -> None:
    make_build(tmp_path, "a.example", "aa01", served=100)
    make_build(tmp_path, "a.example", "aa02", served=200, size=5000)
    serve(tmp_path, "a.example", "aa02")
    report = evict(tmp_path, 1000)
    assert report.evicted == (("a.example", "aa01"),)
    assert report.total_bytes_after == weight(5000) and report.over_limit
    assert builds_left(tmp_path, "a.example") == ["aa02"]


def test_protected_builds_stay(tmp_path: Path) -> None:
    make_build(tmp_path, "a.example", "aa01", served=100)
    make_build(tmp_path, "a.example", "aa02", served=200)
    make_build(tmp_path, "a.example", "aa03", served=300)
    serve(tmp_path, "a.example", "aa03")
    report = evict(tmp_path, 0, protect={("a.example", "aa01")})
    assert report.evicted == (("a.example", "aa02"),) and report.over_limit
    assert builds_left(tmp_path, "a.example") == ["aa01", "aa03"]


def test_a_hard_link_counts_once(tmp_path: Path) -> None:
    old = make_build(tmp_path, "a.example", "aa01", served=100, size=4000)
    new = make_build(tmp_path, "a.example", "aa02", served=200)
    os.link(old / "index.html", new / "carried.html")
    serve(tmp_path, "a.example", "aa02")
    report = evict(tmp_path, 0)
    assert report.total_bytes_before == weight(4000) + weight()
    # The carried file stays with the build in service: only the old build's own bytes go.
    assert report.evicted == (("a.example", "aa01"),)
    assert report.total_bytes_after == weight() + 4000


def test_staging_trash_and_record_less_folders_are_neither_counted_nor_touched(tmp_path: Path) -> None:
    make_build(tmp_path, "a.example", "aa01", served=100)
    make_build(tmp_path, "a.example", "aa02", served=200)
    serve(tmp_path, "a.example", "aa02")
    make_build(tmp_path, "b.example", "bb01", served=50)
    serve(tmp_path, "b.example", "bb01")
    # A folder without its record (an interrupted publish) is not a build: ``ffff``.
    leftovers = [tmp_path / "b.example" / name for name in (".staging-left", ".trash-bb00-1234abcd", "ffff")]
    for leftover in leftovers:
        leftover.mkdir()
        (leftover / "big").write_bytes(b"x" * 50_000)
    report = evict(tmp_path, 2 * weight())
    assert report.total_bytes_before == 3 * weight()
    assert report.evicted == (("a.example", "aa01"),)
    assert all((leftover / "big").is_file() for leftover in leftovers)


def test_a_site_being_built_keeps_all_its_builds(tmp_path: Path) -> None:
    make_build(tmp_path, "a.example", "aa01", served=100)
    make_build(tmp_path, "a.example", "aa02", served=200)
    serve(tmp_path, "a.example", "aa02")
    build_dir = SiteBuildDir(tmp_path / "a.example")
    staging = build_dir.staging()
    assert evict(tmp_path, 0).evicted == ()
    build_dir.discard(staging)
    with build_dir.locked(threading.Event()):
        assert evict(tmp_path, 0).evicted == ()
    (tmp_path / "a.example" / "aa03.carry").write_text("{}")
    assert evict(tmp_path, 0).evicted == ()
    (tmp_path / "a.example" / "aa03.carry").unlink()
    assert evict(tmp_path, 0).evicted == (("a.example", "aa01"),)


def test_the_memo_sees_a_sibling_added_later(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for number in range(3):
        make_build(tmp_path, "a.example", f"aa0{number}", served=number)
    weighed: list[str] = []
    real_weigh = cache._weigh
    monkeypatch.setattr(cache, "_weigh", lambda folder: weighed.append(folder) or real_weigh(folder))
    sizes = BuildSizes()
    first = evict(tmp_path, 10**9, sizes=sizes)
    assert first.total_bytes_before == 3 * weight() and len(weighed) == 3
    weighed.clear()
    assert evict(tmp_path, 10**9, sizes=sizes) == first and weighed == []
    # Precompression adds a sibling to a published build, in a subfolder.
    (tmp_path / "a.example" / "aa01" / "assets" / "site.css.gz").write_bytes(b"z" * 40)
    again = evict(tmp_path, 10**9, sizes=sizes)
    assert again.total_bytes_before == 3 * weight() + 40
    assert weighed == [str(tmp_path / "a.example" / "aa01")]
    assert again == evict(tmp_path, 10**9)


def test_a_missing_build_folder_weighs_nothing(tmp_path: Path) -> None:
    assert evict(tmp_path / "absent", 0) == cache.EvictionReport(0, 0, (), False)
