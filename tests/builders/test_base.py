"""What every builder shares: the files under a folder that count as a build's inputs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from builders.base import files_under, walk_files, walk_paths
from builders.errors import BuildError
from builders.paths import Boundary
from tests.builders.jinja_site import write_files


def test_files_come_in_a_stable_order_each_folder_before_its_subfolders(tmp_path: Path) -> None:
    root = write_files(tmp_path / "site", {name: "x" for name in ("b.html", "a/z.html", "a/b/c.html", "c.md", "a/a.html")})
    assert [path.relative_to(root).as_posix() for path in walk_files(root, Boundary.of(root))] == [
        "b.html", "c.md", "a/a.html", "a/z.html", "a/b/c.html",
    ]
    assert list(walk_paths(str(root), Boundary.of(root))) == [str(path) for path in walk_files(root, Boundary.of(root))]


def test_dotfiles_editor_leftovers_and_tool_folders_are_not_inputs(tmp_path: Path) -> None:
    root = write_files(tmp_path / "site", {
        name: "x"
        for name in ("keep.html", ".hidden", "draft.html~", ".page.html.swp", "x.swp",
                     ".git/config", "node_modules/p/index.js", "__pycache__/m.pyc", ".sitegate/posts.json", "sub/.env")
    })
    assert [path.name for path in walk_files(root, Boundary.of(root))] == ["keep.html"]


def test_a_link_inside_the_site_counts_as_its_file_and_a_linked_folder_is_not_followed(tmp_path: Path) -> None:
    site = write_files(tmp_path / "site", {"public/own.html": "x", "notes/shared.css": "x", "notes/deep/page.html": "x"})
    os.symlink(site / "notes/shared.css", site / "public/linked.css")
    os.symlink("../notes/deep", site / "public/linked-folder")
    public = site / "public"
    assert [path.name for path in walk_files(public, Boundary.of(site))] == ["linked.css", "own.html"]
    # Linked from another allowed root (a Jinja site's shared library): counts too.
    shared = write_files(tmp_path / "shared", {"ui/button.html": "x"})
    os.symlink(shared / "ui/button.html", public / "button.html")
    assert "button.html" in [path.name for path in walk_files(public, Boundary.of(site, shared))]


@pytest.mark.parametrize(
    ("target", "words"),
    [
        ("outside/secret.txt", "points outside the site"),
        ("outside", "points outside the site"),
        ("site/../outside/secret.txt", "points outside the site"),
        ("missing.txt", "does not exist"),
        ("site/public/escape.txt", "cannot be followed"),
    ],
)
def test_a_link_out_of_the_site_or_to_nothing_is_a_build_error_naming_it(tmp_path: Path, target: str, words: str) -> None:
    write_files(tmp_path / "outside", {"secret.txt": "the server's"})
    site = write_files(tmp_path / "site", {"public/own.html": "x"})
    os.symlink(tmp_path / target, site / "public/escape.txt")
    with pytest.raises(BuildError) as caught:
        list(walk_files(site / "public", Boundary.of(site)))
    assert caught.value.file == "public/escape.txt" and words in caught.value.message
    assert str(caught.value).startswith("public/escape.txt: a link ")


def test_a_walked_folder_that_is_itself_a_link_out_of_the_site_is_refused(tmp_path: Path) -> None:
    outside = write_files(tmp_path / "outside", {"secret.txt": "the server's"})
    site = write_files(tmp_path / "site", {"site.toml": ""})
    os.symlink(outside, site / "public")
    with pytest.raises(BuildError, match="points outside the site") as caught:
        walk_paths(str(site / "public"), Boundary.of(site))
    assert caught.value.file == "public"


def test_links_among_ignored_files_are_never_resolved(tmp_path: Path) -> None:
    site = write_files(tmp_path / "site", {"public/own.html": "x"})
    for name in (".env", "node_modules", "page.html~"):
        os.symlink("/etc/hostname", site / "public" / name)
    assert [path.name for path in walk_files(site / "public", Boundary.of(site))] == ["own.html"]


def test_a_missing_folder_or_a_file_has_no_inputs(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    assert list(walk_files(tmp_path / "missing", Boundary.of(tmp_path))) == []
    assert list(walk_files(tmp_path / "file", Boundary.of(tmp_path))) == []


def test_files_under_folders_come_from_the_inputs_when_a_build_has_them(tmp_path: Path) -> None:
    for name in ("pages/a.html", "pages/deep/b.html", "pagesx/c.html", "content/d.md"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    pages = str(tmp_path / "pages")
    walked = files_under([], [pages], Boundary.of(tmp_path))
    assert walked == [str(tmp_path / "pages/a.html"), str(tmp_path / "pages/deep/b.html")]
    listed = [str(tmp_path / name) for name in ("content/d.md", "pages/a.html", "pagesx/c.html")]
    # The inputs are what the build read: a file added since is not theirs to name.
    assert files_under(listed, [pages + "/"], Boundary.of(tmp_path)) == [str(tmp_path / "pages/a.html")]
