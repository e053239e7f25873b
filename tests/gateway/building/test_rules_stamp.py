"""The stamp nginx --direct looks for: it names a build's rules, and only its own."""

from __future__ import annotations

from pathlib import Path

from gateway.building.build_dir import SiteBuildDir
from gateway.building.rules_stamp import STAMP_PREFIX, stamp_name, write_stamp


def stamps(build: Path) -> list[str]:
    return sorted(path.name for path in build.glob(STAMP_PREFIX + "*"))


def test_the_stamp_follows_the_rules_and_nothing_else(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<p>hi</p>")
    without_rules = stamp_name(tmp_path)
    (tmp_path / "index.html").write_text("<p>changed</p>")
    assert stamp_name(tmp_path) == without_rules
    (tmp_path / "_headers").write_text("/*\n  X-Frame-Options: DENY\n")
    with_headers = stamp_name(tmp_path)
    (tmp_path / "_headers").unlink()
    (tmp_path / "_redirects").write_text("/*\n  X-Frame-Options: DENY\n")
    assert len({without_rules, with_headers, stamp_name(tmp_path)}) == 3


def test_a_site_cannot_ship_a_stamp_that_claims_other_rules(tmp_path: Path) -> None:
    (tmp_path / "_headers").write_text("/*\n  X-Frame-Options: DENY\n")
    (tmp_path / (STAMP_PREFIX + "0123456789abcdef")).touch()
    write_stamp(tmp_path)
    assert stamps(tmp_path) == [stamp_name(tmp_path)]


def test_current_is_pointed_only_at_a_stamped_build(tmp_path: Path) -> None:
    build_dir = SiteBuildDir(tmp_path / "site.test")
    (build_dir.output("abc")).mkdir(parents=True)
    build_dir.point_current("abc")
    assert build_dir.current_id() == "abc"
    assert stamps(build_dir.output("abc")) == [stamp_name(build_dir.output("abc"))]


def test_a_build_folder_that_cannot_be_written_is_left_unstamped(tmp_path: Path) -> None:
    write_stamp(tmp_path / "gone")
    assert not (tmp_path / "gone").exists()
