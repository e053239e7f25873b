from __future__ import annotations

import io
import os
import stat
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from gateway.building.compress import precompress
from gateway.cluster import archive
from gateway.cluster.archive import ArchiveError, pack, unpack

PAGE = ("<main><h1>A post</h1><p>sitegate serves many sites from one gateway.</p></main>\n" * 60).encode()


def make_build(root: Path) -> Path:
    """A small real build: pages with their .gz/.br siblings, images, a dot file, an empty
    folder, a name beyond ASCII, and a sibling being written (its .partial)."""
    for page in ("index.html", "blog/index.html", "blog/first-post/index.html", "über/index.html"):
        (root / page).parent.mkdir(parents=True, exist_ok=True)
        (root / page).write_bytes(PAGE + page.encode())
    (root / "images").mkdir()
    for number in range(3):
        (root / "images" / f"photo-{number}.jpg").write_bytes(os.urandom(50_000))
    (root / ".sitegate-rules-0123").write_text("/old /new 301\n")
    (root / "empty").mkdir()
    precompress(root)
    (root / "blog" / ".index.html.gz.partial").write_bytes(b"half a sibling")
    return root


def tree(root: Path) -> dict[str, bytes | None]:
    """Every entry under ``root``: a file's bytes, None for a folder."""
    return {
        str(path.relative_to(root)): None if path.is_dir() else path.read_bytes() for path in sorted(root.rglob("*"))
    }


def fresh(path: Path) -> Path:
    path.mkdir(parents=True)
    return path


def test_a_build_comes_back_byte_for_byte_without_the_leftover_partial(tmp_path: Path) -> None:
    build = make_build(fresh(tmp_path / "build"))
    out = fresh(tmp_path / "out")

    size = pack(build, tmp_path / "build.tar")
    unpack(tmp_path / "build.tar", out)

    assert size == (tmp_path / "build.tar").stat().st_size
    expected = {name: data for name, data in tree(build).items() if not name.endswith(".partial")}
    assert tree(out) == expected
    assert "blog/index.html.br" in expected and "empty" in expected and "über/index.html" in expected


def test_files_come_back_0644_and_folders_0755_with_their_mtime(tmp_path: Path) -> None:
    build = make_build(fresh(tmp_path / "build"))
    os.chmod(build / "index.html", 0o600)
    os.utime(build / "index.html", (1_700_000_000.7, 1_700_000_000.7))
    out = fresh(tmp_path / "out")

    pack(build, tmp_path / "build.tar")
    unpack(tmp_path / "build.tar", out)

    assert stat.S_IMODE((out / "index.html").stat().st_mode) == 0o644
    assert stat.S_IMODE((out / "blog").stat().st_mode) == 0o755
    # Every gateway sends the same Last-Modified for the build.
    assert (out / "index.html").stat().st_mtime == 1_700_000_000


def test_packing_is_reproducible_whatever_order_the_files_were_written_in(tmp_path: Path) -> None:
    names = ["b.html", "a/z.css", "a/b.js", "c.txt"]
    for folder, order in (("one", names), ("two", names[::-1])):
        for name in order:
            path = tmp_path / folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(name)
        for path in (tmp_path / folder).rglob("*"):
            os.utime(path, (1_000_000, 1_000_000))

    pack(tmp_path / "one", tmp_path / "one.tar")
    pack(tmp_path / "two", tmp_path / "two.tar")

    assert (tmp_path / "one.tar").read_bytes() == (tmp_path / "two.tar").read_bytes()


def test_a_file_carried_over_as_a_hard_link_travels_as_a_file_of_its_own(tmp_path: Path) -> None:
    build = make_build(fresh(tmp_path / "build"))
    os.link(build / "index.html", build / "blog" / "carried.html")
    out = fresh(tmp_path / "out")

    pack(build, tmp_path / "build.tar")
    unpack(tmp_path / "build.tar", out)

    assert (out / "blog" / "carried.html").read_bytes() == (build / "index.html").read_bytes()
    assert (out / "blog" / "carried.html").stat().st_ino != (out / "index.html").stat().st_ino


def test_a_symlink_in_the_build_is_refused_by_name_and_no_archive_is_left(tmp_path: Path) -> None:
    build = make_build(fresh(tmp_path / "build"))
    (build / "blog" / "latest").symlink_to("first-post")

    with pytest.raises(ArchiveError, match="latest"):
        pack(build, tmp_path / "build.tar")

    assert not (tmp_path / "build.tar").exists()


def test_a_fifo_in_the_build_is_refused(tmp_path: Path) -> None:
    build = make_build(fresh(tmp_path / "build"))
    os.mkfifo(build / "pipe")

    with pytest.raises(ArchiveError, match="pipe"):
        pack(build, tmp_path / "build.tar")


# Hostile archives: each writes its members to the open tar.


def regular(name: str, data: bytes = b"x") -> tuple[tarfile.TarInfo, bytes]:
    member = tarfile.TarInfo(name)
    member.size = len(data)
    return member, data


def special(name: str, kind: bytes, target: str = "") -> tuple[tarfile.TarInfo, None]:
    member = tarfile.TarInfo(name)
    member.type = kind
    member.linkname = target
    return member, None


HOSTILE: dict[str, tuple[list[tuple[tarfile.TarInfo, bytes | None]], str]] = {
    "dot-dot": ([regular("../escaped")], "'..'"),
    "dot-dot inside": ([regular("site/../../escaped")], "'..'"),
    "absolute": ([regular("/tmp/escaped")], "absolute"),
    "symlink": ([special("link", tarfile.SYMTYPE, "/etc/passwd")], "symbolic link"),
    "symlink inside": ([regular("page.html"), special("link", tarfile.SYMTYPE, "page.html")], "symbolic link"),
    "hardlink": ([regular("page.html"), special("copy", tarfile.LNKTYPE, "page.html")], "hard link"),
    "device": ([special("null", tarfile.CHRTYPE)], "device"),
    "fifo": ([special("pipe", tarfile.FIFOTYPE)], "FIFO"),
    "duplicate": ([regular("page.html", b"one"), regular("page.html", b"two")], "second entry"),
}


def write_archive(path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]]) -> Path:
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for member, data in members:
            tar.addfile(member, io.BytesIO(data) if data is not None else None)
    return path


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_archive_is_refused_and_leaves_nothing(tmp_path: Path, case: str) -> None:
    members, reason = HOSTILE[case]
    hostile = write_archive(tmp_path / "hostile.tar", members)
    out = fresh(tmp_path / "deep" / "out")

    with pytest.raises(ArchiveError, match=reason) as refused:
        unpack(hostile, out)

    assert "\n" not in str(refused.value)
    assert list(out.iterdir()) == []
    assert not (tmp_path / "deep" / "escaped").exists() and not (tmp_path / "escaped").exists()


@pytest.mark.parametrize(
    ("limit", "value", "reason"),
    [("MAX_MEMBERS", 5, "more than 5 entries"), ("MAX_TOTAL_BYTES", 1000, "more than 1000 bytes")],
)
def test_an_archive_over_a_limit_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limit: str, value: int, reason: str
) -> None:
    monkeypatch.setattr(archive, limit, value)
    big = write_archive(tmp_path / "big.tar", [regular(f"page-{n}.html", b"p" * 300) for n in range(6)])
    out = fresh(tmp_path / "out")

    with pytest.raises(ArchiveError, match=reason):
        unpack(big, out)

    assert list(out.iterdir()) == []


def test_modes_and_owners_in_the_archive_are_not_taken(tmp_path: Path) -> None:
    member, data = regular("run.sh", b"#!/bin/sh\n")
    member.mode, member.uid, member.gid = 0o6777, 12345, 12345
    folder, _ = special("open", tarfile.DIRTYPE)
    folder.mode = 0o777
    out = fresh(tmp_path / "out")

    unpack(write_archive(tmp_path / "modes.tar", [(member, data), (folder, None)]), out)

    assert stat.S_IMODE((out / "run.sh").stat().st_mode) == 0o644
    assert stat.S_IMODE((out / "open").stat().st_mode) == 0o755
    assert (out / "run.sh").stat().st_uid == os.getuid()


@pytest.mark.parametrize(
    "damage",
    [
        # a.html's header is block 0, its data blocks 1-2; b.html's header is block 3.
        pytest.param(lambda data: data[:1000], id="cut mid-file"),
        pytest.param(lambda data: data[:1536], id="cut after a member"),
        pytest.param(lambda data: data[:1536] + b"\x7f" * 512 + data[2048:], id="garbage header"),
        pytest.param(lambda data: os.urandom(len(data)), id="no tar at all"),
    ],
)
def test_a_damaged_archive_is_refused_in_one_line(tmp_path: Path, damage: Callable[[bytes], bytes]) -> None:
    members = [regular("a.html", b"a" * 1000), regular("b.html", b"b" * 100), regular("c.html", b"c" * 100)]
    whole = write_archive(tmp_path / "whole.tar", members).read_bytes()
    (tmp_path / "damaged.tar").write_bytes(damage(whole))
    out = fresh(tmp_path / "out")

    with pytest.raises(ArchiveError) as refused:
        unpack(tmp_path / "damaged.tar", out)

    assert "\n" not in str(refused.value)
    assert list(out.iterdir()) == []


def test_unpacking_into_a_folder_that_is_not_empty_is_an_error(tmp_path: Path) -> None:
    archive_path = write_archive(tmp_path / "a.tar", [regular("a.html")])
    out = fresh(tmp_path / "out")
    (out / "mine.txt").write_text("keep me")

    with pytest.raises(ValueError, match="not empty"):
        unpack(archive_path, out)

    assert (out / "mine.txt").read_text() == "keep me"
