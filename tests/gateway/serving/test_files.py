from __future__ import annotations

import gzip
import os
from email.utils import parsedate_to_datetime
from pathlib import Path

import brotli
import pytest

from gateway.building.compress import precompress
from gateway.serving.files import (
    CACHE_IMMUTABLE,
    CACHE_REVALIDATE,
    MEMORY_BODY_LIMIT,
    FileTable,
)


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.fixture
def build(tmp_path: Path) -> Path:
    root = tmp_path / "build"
    write(root / "index.html", b"<h1>home</h1>")
    write(root / "about" / "index.html", b"<h1>about</h1>")
    write(root / "assets" / "app.css", b"body{}")
    return root


def test_every_file_is_listed_by_its_url_path(build: Path) -> None:
    table = FileTable.scan(build)

    assert len(table) == 3
    assert sorted(entry.url_path for entry in table) == ["/about/index.html", "/assets/app.css", "/index.html"]
    entry = table.get("/about/index.html")
    assert entry is not None
    assert entry.path == (build / "about" / "index.html").resolve()
    assert entry.size == len(b"<h1>about</h1>")
    assert entry.body == b"<h1>about</h1>"
    assert "/index.html" in table
    assert table.get("/missing.html") is None
    assert table.get("about/index.html") is None


def test_etag_is_strong_and_follows_the_content(tmp_path: Path) -> None:
    write(tmp_path / "a.txt", b"same")
    write(tmp_path / "b.txt", b"same")
    write(tmp_path / "c.txt", b"different")

    table = FileTable.scan(tmp_path)
    etags = {entry.url_path: entry.etag for entry in table}

    assert etags["/a.txt"] == etags["/b.txt"] != etags["/c.txt"]
    assert etags["/a.txt"].startswith('"') and etags["/a.txt"].endswith('"')
    assert FileTable.scan(tmp_path).get("/a.txt").etag == etags["/a.txt"]  # type: ignore[union-attr]


def test_last_modified_comes_from_the_file(tmp_path: Path) -> None:
    path = write(tmp_path / "page.html", b"x")
    os.utime(path, (1_700_000_000, 1_700_000_000))

    entry = FileTable.scan(tmp_path).get("/page.html")

    assert entry is not None
    assert entry.mtime == 1_700_000_000
    assert parsedate_to_datetime(entry.last_modified).timestamp() == 1_700_000_000
    assert entry.last_modified.endswith("GMT")


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("index.html", "text/html; charset=utf-8"),
        ("app.js", "text/javascript; charset=utf-8"),
        ("style.css", "text/css; charset=utf-8"),
        ("data.json", "application/json; charset=utf-8"),
        ("logo.svg", "image/svg+xml; charset=utf-8"),
        ("photo.png", "image/png"),
        ("font.woff2", "font/woff2"),
        ("module.wasm", "application/wasm"),
        ("site.webmanifest", "application/manifest+json; charset=utf-8"),
        ("README", "application/octet-stream"),
    ],
)
def test_content_type_by_extension(tmp_path: Path, name: str, content_type: str) -> None:
    write(tmp_path / name, b"x")

    assert FileTable.scan(tmp_path).get(f"/{name}").content_type == content_type  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("name", "cache_control"),
    [
        ("app.3f2a1b9c.js", CACHE_IMMUTABLE),
        ("index-B3xk9_aZ.js", CACHE_IMMUTABLE),
        ("style.5d41402abc4b2a76b9719d911017c592.css", CACHE_IMMUTABLE),
        ("logo-a1b2c3d4.svg", CACHE_IMMUTABLE),
        ("app.js", CACHE_REVALIDATE),
        ("main-bundle.js", CACHE_REVALIDATE),
        ("favicon.ico", CACHE_REVALIDATE),
        ("about.html", CACHE_REVALIDATE),
        ("page.3f2a1b9c.html", CACHE_REVALIDATE),
    ],
)
def test_cache_policy_follows_content_hashes_in_names(tmp_path: Path, name: str, cache_control: str) -> None:
    write(tmp_path / name, b"x")

    assert FileTable.scan(tmp_path).get(f"/{name}").cache_control == cache_control  # type: ignore[union-attr]


def test_small_bodies_are_kept_in_memory_and_large_ones_are_not(tmp_path: Path) -> None:
    write(tmp_path / "small.bin", b"s" * MEMORY_BODY_LIMIT)
    write(tmp_path / "large.bin", b"l" * (MEMORY_BODY_LIMIT + 1))

    table = FileTable.scan(tmp_path)

    assert table.get("/small.bin").body == b"s" * MEMORY_BODY_LIMIT  # type: ignore[union-attr]
    large = table.get("/large.bin")
    assert large is not None and large.body is None and large.size == MEMORY_BODY_LIMIT + 1


def test_precompressed_siblings_belong_to_their_file(tmp_path: Path) -> None:
    text = b"<p>hello hello hello hello</p>" * 100
    write(tmp_path / "index.html", text)
    write(tmp_path / "index.html.gz", gzip.compress(text))
    write(tmp_path / "index.html.br", brotli.compress(text))

    table = FileTable.scan(tmp_path)

    assert [entry.url_path for entry in table] == ["/index.html"]
    entry = table.get("/index.html")
    assert entry is not None
    assert [variant.coding for variant in entry.encodings] == ["br", "gzip"]
    br, gz = entry.encodings
    assert brotli.decompress(br.body or b"") == text
    assert gzip.decompress(gz.body or b"") == text
    assert br.size == (tmp_path / "index.html.br").stat().st_size
    assert len({entry.etag, br.etag, gz.etag}) == 3


def test_a_compressed_file_without_an_original_is_a_file_of_its_own(tmp_path: Path) -> None:
    write(tmp_path / "dump.tar.gz", gzip.compress(b"archive"))

    entry = FileTable.scan(tmp_path).get("/dump.tar.gz")

    assert entry is not None
    assert entry.encodings == ()
    assert entry.content_type == "application/gzip"


def test_a_sibling_larger_than_the_original_is_ignored(tmp_path: Path) -> None:
    write(tmp_path / "tiny.txt", b"hi")
    write(tmp_path / "tiny.txt.gz", gzip.compress(b"hi"))

    table = FileTable.scan(tmp_path)

    assert len(table) == 1
    assert table.get("/tiny.txt").encodings == ()  # type: ignore[union-attr]


def test_symlinks_out_of_the_root_are_left_out(tmp_path: Path, build: Path) -> None:
    secret = write(tmp_path / "secret.txt", b"TOPSECRET")
    (build / "leak.txt").symlink_to(secret)
    (build / "etc").symlink_to("/etc")
    (build / "up").symlink_to("..")

    table = FileTable.scan(build)

    assert all(entry.body != b"TOPSECRET" for entry in table)
    assert all(entry.path.is_relative_to(build.resolve()) for entry in table)
    assert table.get("/leak.txt") is None
    assert table.get("/etc/passwd") is None
    assert len(table) == 3


def test_symlinks_inside_the_root_are_served_and_loops_end(build: Path) -> None:
    (build / "home.html").symlink_to("index.html")
    (build / "about" / "loop").symlink_to("..")
    (build / "dangling.html").symlink_to("nowhere.html")

    table = FileTable.scan(build)

    home = table.get("/home.html")
    assert home is not None and home.body == b"<h1>home</h1>"
    assert table.get("/dangling.html") is None
    assert table.get("/about/loop/index.html") is None


def test_only_regular_files_are_listed(build: Path) -> None:
    os.mkfifo(build / "pipe.txt")

    table = FileTable.scan(build)

    assert table.get("/pipe.txt") is None
    assert len(table) == 3


def test_dotfiles_are_hidden_but_well_known_is_served(build: Path) -> None:
    write(build / ".env", b"SECRET=1")
    write(build / ".vite" / "manifest.json", b"{}")
    write(build / ".well-known" / "security.txt", b"Contact: mailto:a@b.c")

    table = FileTable.scan(build)

    assert table.get("/.env") is None
    assert table.get("/.vite/manifest.json") is None
    assert table.get("/.well-known/security.txt") is not None


def test_a_missing_root_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        FileTable.scan(tmp_path / "missing")


def test_a_table_moved_to_a_folder_of_the_same_files_reads_nothing(tmp_path: Path) -> None:
    first, second = tmp_path / "one", tmp_path / "two"
    (first / "blog").mkdir(parents=True)
    (first / "blog" / "index.html").write_text("<p>" + "post " * 400 + "</p>")
    precompress(first)
    table = FileTable.scan(first)
    for path in first.rglob("*"):
        target = second / path.relative_to(first)
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.link(path, target)

    moved = table.moved_to(second)

    entry = moved.get("/blog/index.html")
    assert entry is not None and entry.path == (second / "blog" / "index.html").resolve()
    assert {variant.path.name for variant in entry.encodings} == {"index.html.br", "index.html.gz"}
    assert all(variant.path.is_file() for variant in entry.encodings)
    assert moved.get("/blog/index.html").etag == table.get("/blog/index.html").etag
    assert FileTable.scan(second).get("/blog/index.html").etag == entry.etag
