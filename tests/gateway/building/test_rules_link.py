"""The link nginx --direct serves a site through: named by the rules of the build it leads to."""

from __future__ import annotations

import os
from pathlib import Path

from gateway.building.build_dir import SiteBuildDir
from gateway.building.rules_link import LINK_PREFIX, link_name


def links(site_root: Path) -> dict[str, str]:
    return {path.name: os.readlink(path) for path in site_root.glob(LINK_PREFIX + "*")}


def test_the_name_follows_the_rules_and_nothing_else(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<p>hi</p>")
    without_rules = link_name(tmp_path)
    (tmp_path / "index.html").write_text("<p>changed</p>")
    assert link_name(tmp_path) == without_rules
    (tmp_path / "_headers").write_text("/*\n  X-Frame-Options: DENY\n")
    with_headers = link_name(tmp_path)
    (tmp_path / "_headers").unlink()
    (tmp_path / "_redirects").write_text("/*\n  X-Frame-Options: DENY\n")
    assert len({without_rules, with_headers, link_name(tmp_path)}) == 3


def test_current_and_the_rules_link_move_together_and_old_rules_lose_theirs(tmp_path: Path) -> None:
    build_dir = SiteBuildDir(tmp_path / "site.test")
    for build_id, headers in (("one", None), ("two", None), ("three", "/*\n  X-Frame-Options: DENY\n")):
        build_dir.output(build_id).mkdir(parents=True)
        if headers:
            (build_dir.output(build_id) / "_headers").write_text(headers)
    build_dir.point_current("one")
    plain = link_name(build_dir.output("one"))
    assert links(build_dir.root) == {plain: "one"}
    build_dir.point_current("two")
    assert links(build_dir.root) == {plain: "two"}
    build_dir.point_current("three")
    # nginx's config for the plain rules now finds nothing, and hands the site to the gateway.
    assert links(build_dir.root) == {link_name(build_dir.output("three")): "three"}
    assert build_dir.current_id() == "three"


def test_pruning_leaves_the_link_alone(tmp_path: Path) -> None:
    build_dir = SiteBuildDir(tmp_path / "site.test")
    build_dir.output("one").mkdir(parents=True)
    build_dir.point_current("one")
    build_dir.prune(keep=1, protect={"one"})
    assert list(links(build_dir.root).values()) == ["one"]
