"""What every builder shares: the files under a folder that count as a build's inputs."""

from __future__ import annotations

import os
from pathlib import Path

from builders.base import files_under, walk_files, walk_paths
from tests.builders.jinja_site import write_files


def test_files_come_in_a_stable_order_each_folder_before_its_subfolders(tmp_path: Path) -> None:
    root = write_files(tmp_path / "site", {name: "x" for name in ("b.html", "a/z.html", "a/b/c.html", "c.md", "a/a.html")})
    assert [path.relative_to(root).as_posix() for path in walk_files(root)] == [
        "b.html", "c.md", "a/a.html", "a/z.html", "a/b/c.html",
    ]
    assert list(walk_paths(str(root))) == [str(path) for path in walk_files(root)]


def test_dotfiles_editor_leftovers_and_tool_folders_are_not_inputs(tmp_path: Path) -> None:
    root = write_files(tmp_path / "site", {
        name: "x"
        for name in ("keep.html", ".hidden", "draft.html~", ".page.html.swp", "x.swp",
                     ".git/config", "node_modules/p/index.js", "__pycache__/m.pyc", ".sitegate/posts.json", "sub/.env")
    })
    assert [path.name for path in walk_files(root)] == ["keep.html"]


def test_a_linked_file_counts_and_a_linked_folder_is_not_followed(tmp_path: Path) -> None:
    outside = write_files(tmp_path / "outside", {"shared.css": "x", "deep/page.html": "x"})
    root = write_files(tmp_path / "site", {"own.html": "x"})
    os.symlink(outside / "shared.css", root / "linked.css")
    os.symlink(outside / "deep", root / "linked-folder")
    os.symlink(tmp_path / "missing", root / "broken.html")
    assert sorted(path.name for path in walk_files(root)) == ["linked.css", "own.html"]


def test_a_missing_folder_or_a_file_has_no_inputs(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    assert list(walk_files(tmp_path / "missing")) == []
    assert list(walk_files(tmp_path / "file")) == []


def test_files_under_folders_come_from_the_inputs_when_a_build_has_them(tmp_path: Path) -> None:
    for name in ("pages/a.html", "pages/deep/b.html", "pagesx/c.html", "content/d.md"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    pages = str(tmp_path / "pages")
    walked = files_under([], [pages])
    assert walked == [str(tmp_path / "pages/a.html"), str(tmp_path / "pages/deep/b.html")]
    listed = [str(tmp_path / name) for name in ("content/d.md", "pages/a.html", "pagesx/c.html")]
    # The inputs are what the build read: a file added since is not theirs to name.
    assert files_under(listed, [pages + "/"]) == [str(tmp_path / "pages/a.html")]
