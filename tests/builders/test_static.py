"""The static builder: a site's public/ folder copied into the build, links only from inside."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from builders.base import BuildContext
from builders.errors import BuildError
from builders.static import StaticBuilder
from tests.builders.jinja_site import write_files


def context(site: Path, out: Path) -> BuildContext:
    out.mkdir(parents=True, exist_ok=True)
    return BuildContext(site_name=site.name, site_dir=site, shared_dir=site.parent / "shared", out_dir=out)


def test_public_is_copied_with_a_link_inside_the_site_as_its_file(tmp_path: Path) -> None:
    site = write_files(tmp_path / "a.test", {"public/index.html": "home", "docs/guide.txt": "the guide"})
    os.symlink("../docs/guide.txt", site / "public" / "guide.txt")
    ctx = context(site, tmp_path / "out")
    assert [path.name for path in StaticBuilder().input_files(ctx)] == ["guide.txt", "index.html"]
    result = StaticBuilder().build(ctx)
    assert sorted(result.files) == ["guide.txt", "index.html"]
    copied = tmp_path / "out" / "guide.txt"
    assert copied.read_text() == "the guide" and not copied.is_symlink()


@pytest.mark.parametrize(
    ("link", "target", "words"),
    [
        ("escape.txt", "outside/secret.txt", "points outside the site"),
        ("escape", "outside", "points outside the site"),
        ("deep/escape.txt", "outside/secret.txt", "points outside the site"),
        ("escape.txt", "a.test/nowhere.txt", "does not exist"),
    ],
)
def test_a_link_out_of_the_site_or_to_nothing_fails_the_build_naming_it(
    tmp_path: Path, link: str, target: str, words: str
) -> None:
    write_files(tmp_path / "outside", {"secret.txt": "the server's"})
    site = write_files(tmp_path / "a.test", {"public/index.html": "home", "public/deep/page.html": "page"})
    os.symlink(tmp_path / target, site / "public" / link)
    ctx = context(site, tmp_path / "out")
    for step in (StaticBuilder().input_files, StaticBuilder().build):
        with pytest.raises(BuildError) as caught:
            step(ctx)
        assert caught.value.file == f"public/{link}" and words in caught.value.message
    assert not any(path.read_text() == "the server's" for path in (tmp_path / "out").rglob("*") if path.is_file())


def test_a_public_folder_linked_out_of_the_site_is_refused(tmp_path: Path) -> None:
    outside = write_files(tmp_path / "outside", {"index.html": "the server's"})
    site = tmp_path / "a.test"
    site.mkdir()
    os.symlink(outside, site / "public")
    with pytest.raises(BuildError, match="points outside the site") as caught:
        StaticBuilder().build(context(site, tmp_path / "out"))
    assert caught.value.file == "public"
