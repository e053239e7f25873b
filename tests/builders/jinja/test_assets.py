"""Fingerprinted assets, public files and the build folder writer."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from builders.errors import BuildError
from builders.jinja.assets import (
    AssetLookup,
    OutputDir,
    fingerprint_assets,
    public_files,
)
from builders.paths import Boundary
from tests.builders.jinja_site import write_files


def test_names_carry_a_content_hash(tmp_path: Path) -> None:
    assets = write_files(tmp_path / "assets", {"app.css": "a", "js/app.min.js": "b", "README": "c"})
    table = fingerprint_assets(assets, Boundary.of(assets))
    assert table["app.css"].output == "assets/app.ca978112.css"
    assert table["js/app.min.js"].url.startswith("/assets/js/app.min.") and table["js/app.min.js"].url.endswith(".js")
    assert table["README"].output.startswith("assets/README.")
    (assets / "app.css").write_text("changed")
    assert fingerprint_assets(assets, Boundary.of(assets))["app.css"].output != "assets/app.ca978112.css"


def test_without_fingerprints_names_stay_as_they_are(tmp_path: Path) -> None:
    assets = write_files(tmp_path / "assets", {"app.css": "a", "js/app.min.js": "b"})
    table = fingerprint_assets(assets, Boundary.of(assets), hashed=False)
    assert (table["app.css"].url, table["js/app.min.js"].url) == ("/assets/app.css", "/assets/js/app.min.js")
    (assets / "app.css").write_text("changed")
    assert fingerprint_assets(assets, Boundary.of(assets), hashed=False)["app.css"] == table["app.css"]


def test_asset_lookup_records_the_url_it_gave_and_refuses_unknown_names(tmp_path: Path) -> None:
    assets = write_files(tmp_path / "assets", {"app.css": "a"})
    used: list[str] = []
    lookup = AssetLookup(fingerprint_assets(assets, Boundary.of(assets)), used.append)
    assert lookup("/app.css") == "/assets/app.ca978112.css"
    (assets / "app.css").write_text("changed")
    AssetLookup(fingerprint_assets(assets, Boundary.of(assets)), used.append)("app.css")
    AssetLookup(fingerprint_assets(assets, Boundary.of(assets), hashed=False), used.append)("app.css")
    # A page depends on the URL it links: a new fingerprint or a switch of mode changes it.
    assert len(set(used)) == 3 and all(token.startswith(str(assets / "app.css")) for token in used)
    with pytest.raises(BuildError, match="known: app.css"):
        lookup("nope.css")


def test_public_files_keep_their_paths(tmp_path: Path) -> None:
    public = write_files(tmp_path / "public", {"robots.txt": "x", "img/a.png": "y", ".hidden": "z"})
    assert public_files(public, Boundary.of(public)) == {
        "robots.txt": str(public / "robots.txt"),
        "img/a.png": str(public / "img/a.png"),
    }


@pytest.mark.parametrize("folder", ["public", "assets"])
@pytest.mark.parametrize(
    ("target", "words"),
    [("outside/secret.txt", "points outside the site"), ("outside", "points outside the site"), ("missing", "does not exist")],
)
def test_a_link_out_of_the_site_or_to_nothing_is_refused(tmp_path: Path, folder: str, target: str, words: str) -> None:
    write_files(tmp_path, {"outside/secret.txt": "the server's"})
    site = write_files(tmp_path / "site", {f"{folder}/own.txt": "x"})
    os.symlink(tmp_path / target, site / folder / "escape.txt")
    read = {"public": public_files, "assets": fingerprint_assets}[folder]
    with pytest.raises(BuildError) as caught:
        read(site / folder, Boundary.of(site))
    assert caught.value.file == f"{folder}/escape.txt" and words in caught.value.message


def test_a_link_inside_the_site_or_into_the_shared_library_is_its_file(tmp_path: Path) -> None:
    shared = write_files(tmp_path / "shared", {"ui/logo.svg": "<svg/>"})
    site = write_files(tmp_path / "site", {"content/cv.pdf": "pdf", "assets/app.css": "a"})
    (site / "public").mkdir()
    os.symlink("../content/cv.pdf", site / "public" / "cv.pdf")
    os.symlink(shared / "ui/logo.svg", site / "assets" / "logo.svg")
    within = Boundary.of(site, shared)
    assert public_files(site / "public", within) == {"cv.pdf": str(site / "public/cv.pdf")}
    assert fingerprint_assets(site / "assets", within, hashed=False)["logo.svg"].source == str(site / "assets/logo.svg")


def test_copies_are_independent_and_links_share_the_previous_file(tmp_path: Path) -> None:
    source = write_files(tmp_path, {"src.txt": "one"}) / "src.txt"
    previous = OutputDir(tmp_path / "previous")
    previous.copy("deep/a.txt", str(source))
    source.write_text("two")
    assert (tmp_path / "previous/deep/a.txt").read_text() == "one"
    current = OutputDir(tmp_path / "current")
    assert current.link("deep/a.txt", tmp_path / "previous")
    assert os.path.samefile(tmp_path / "current/deep/a.txt", tmp_path / "previous/deep/a.txt")
    assert not current.link("missing.txt", tmp_path / "previous")
    with pytest.raises(BuildError, match="cannot copy"):
        current.copy("x.txt", str(tmp_path / "absent.txt"))
