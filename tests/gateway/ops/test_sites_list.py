"""``sitegate sites`` as an operator runs it: read from the build folder, no gateway running."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from builders import KNOWN_BUILDERS, builder_for
from gateway.building.build import Build, Failure
from gateway.building.build_dir import SiteBuildDir
from gateway.building.step import BuildStep
from gateway.sites.registry import load_site
from tests.gateway.sitefarm import settings_for, write_site
from tests.gateway.test_cli import run_sitegate

PAGE = "<!doctype html><title>a</title><h1>{}</h1>"


def build(tmp_path: Path, name: str) -> Build | Failure:
    """One build of one site as the gateway makes it, without a gateway."""
    step = BuildStep(settings_for(tmp_path), builder_for, "test", threading.Event())
    try:
        return step.run(load_site(tmp_path / "sites" / name, KNOWN_BUILDERS), None, None, {})
    finally:
        step.close()


def sites(tmp_path: Path, *flags: str) -> str:
    result = run_sitegate("sites", "--sites", str(tmp_path / "sites"), "--build-dir", str(tmp_path / "builds"), *flags)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_sites_json_describes_the_current_build(tmp_path: Path) -> None:
    files = {"public/index.html": PAGE.format("home"), "public/about.html": PAGE.format("about"), "public/a.css": "b{}"}
    write_site(tmp_path / "sites", "a.test", files, toml='builder = "static"\naliases = ["www.a.test"]\n')
    write_site(tmp_path / "sites", "b.test", {"public/index.html": PAGE.format("b")})
    built = build(tmp_path, "a.test")
    assert isinstance(built, Build)

    listed = {entry["name"]: entry for entry in json.loads(sites(tmp_path, "--json"))}
    a = listed["a.test"]
    assert (a["aliases"], a["builder"], a["state"], a["error"]) == (["www.a.test"], "static", "ready", None)
    current = a["current"]
    assert current["build_id"] == built.build_id
    assert current["pages"] == 2
    assert current["bytes"] == sum(len(text) for text in files.values())
    assert 0 <= current["age_seconds"] < 60 and current["seconds"] >= 0
    assert listed["b.test"]["state"] == "never_built" and listed["b.test"]["current"] is None


def test_a_never_built_site_in_the_table(tmp_path: Path) -> None:
    write_site(tmp_path / "sites", "a.test", {"public/index.html": PAGE.format("home")})
    lines = sites(tmp_path).splitlines()
    assert lines[0].split() == ["SITE", "BUILDER", "STATE", "BUILD", "AGE", "TOOK", "PAGES", "SIZE", "ALIASES"]
    assert lines[1].split() == ["a.test", "static", "never", "built", "-", "-", "-", "-", "-", "-"]
    # Columns line up: each starts where its header does.
    assert lines[1].index("never") == lines[0].index("STATE")


def test_a_failed_build_shows_its_error_and_the_build_still_serving(tmp_path: Path) -> None:
    root = write_site(tmp_path / "sites", "a.test", {"public/index.html": PAGE.format("home")})
    good = build(tmp_path, "a.test")
    (root / "public" / "index.html").unlink()  # an empty public/ cannot be built
    assert isinstance(build(tmp_path, "a.test"), Failure)

    [a] = json.loads(sites(tmp_path, "--json"))
    assert a["state"] == "failed" and a["current"]["build_id"] == good.build_id
    assert a["error"] and "empty" in a["error"]
    assert sites(tmp_path).splitlines()[-1] == f"a.test: {a['error']}"


def test_a_site_is_building_while_a_process_holds_its_staging_folder(tmp_path: Path) -> None:
    write_site(tmp_path / "sites", "a.test", {"public/index.html": PAGE.format("home")})
    build_dir = SiteBuildDir(tmp_path / "builds" / "a.test")
    staging = build_dir.staging()
    try:
        assert json.loads(sites(tmp_path, "--json"))[0]["state"] == "building"
    finally:
        build_dir.discard(staging)
    # A staging folder nobody holds is what a killed build left: not building.
    (tmp_path / "builds" / "a.test" / ".staging-left").mkdir()
    assert json.loads(sites(tmp_path, "--json"))[0]["state"] == "never_built"


def test_sites_with_a_missing_sites_folder_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = run_sitegate("sites", "--sites", str(tmp_path / "nowhere"))
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
