from __future__ import annotations

import gzip
import os
from pathlib import Path

import brotli

from gateway.building.compress import precompress

TEXT = ("<p>sitegate serves many sites from one gateway.</p>\n" * 200).encode()


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_text_files_get_gzip_and_brotli_siblings_that_decode_to_the_original(tmp_path: Path) -> None:
    write(tmp_path / "index.html", TEXT)
    write(tmp_path / "assets" / "app.js", TEXT)

    assert precompress(tmp_path) == 2

    for name in ("index.html", "assets/app.js"):
        assert gzip.decompress((tmp_path / f"{name}.gz").read_bytes()) == TEXT
        assert brotli.decompress((tmp_path / f"{name}.br").read_bytes()) == TEXT
        assert (tmp_path / f"{name}.br").stat().st_size < len(TEXT)


def test_output_is_reproducible(tmp_path: Path) -> None:
    first = write(tmp_path / "one" / "style.css", TEXT)
    second = write(tmp_path / "two" / "style.css", TEXT)
    os.utime(second, (1_000_000, 1_000_000))

    precompress(tmp_path / "one")
    precompress(tmp_path / "two")

    for suffix in (".gz", ".br"):
        assert Path(f"{first}{suffix}").read_bytes() == Path(f"{second}{suffix}").read_bytes()
    # The gzip header's mtime field (bytes 4-8) is zero, so it never depends on when we ran.
    assert Path(f"{first}.gz").read_bytes()[4:8] == b"\0\0\0\0"


def test_small_and_already_compressed_files_are_left_alone(tmp_path: Path) -> None:
    write(tmp_path / "tiny.css", b"a{}")
    write(tmp_path / "photo.png", TEXT)
    write(tmp_path / "font.woff2", TEXT)
    write(tmp_path / "archive.zip", TEXT)

    assert precompress(tmp_path) == 0
    assert sorted(path.name for path in tmp_path.iterdir()) == ["archive.zip", "font.woff2", "photo.png", "tiny.css"]


def test_min_size_is_configurable(tmp_path: Path) -> None:
    write(tmp_path / "small.json", b'{"key": "value", "key2": "value", "key3": "value"}')

    assert precompress(tmp_path, min_size=10) == 1
    assert (tmp_path / "small.json.gz").exists()


def test_running_again_does_not_compress_the_siblings(tmp_path: Path) -> None:
    write(tmp_path / "index.html", TEXT)

    precompress(tmp_path)
    assert precompress(tmp_path) == 0  # nothing left to compress

    assert sorted(path.name for path in tmp_path.iterdir()) == ["index.html", "index.html.br", "index.html.gz"]


def test_no_sibling_when_compression_does_not_shrink_the_file(tmp_path: Path) -> None:
    write(tmp_path / "noise.txt", os.urandom(4096))

    assert precompress(tmp_path) == 0
    assert sorted(path.name for path in tmp_path.iterdir()) == ["noise.txt"]


def test_a_stale_sibling_is_removed_when_the_new_content_does_not_compress(tmp_path: Path) -> None:
    write(tmp_path / "data.txt", os.urandom(4096))
    write(tmp_path / "data.txt.gz", gzip.compress(b"old content"))

    precompress(tmp_path)

    assert not (tmp_path / "data.txt.gz").exists()


def test_symlinks_are_not_followed(tmp_path: Path) -> None:
    outside = write(tmp_path / "outside" / "lib.js", TEXT)
    build = tmp_path / "build"
    build.mkdir()
    (build / "lib.js").symlink_to(outside)

    assert precompress(build) == 0
    assert sorted(path.name for path in build.iterdir()) == ["lib.js"]
    assert sorted(path.name for path in outside.parent.iterdir()) == ["lib.js"]


def test_large_files_are_compressed_correctly(tmp_path: Path) -> None:
    big = b"".join(f"line {number}: some repetitive log text\n".encode() for number in range(60_000))
    assert len(big) > 1024 * 1024
    write(tmp_path / "big.txt", big)

    assert precompress(tmp_path) == 1
    assert brotli.decompress((tmp_path / "big.txt.br").read_bytes()) == big
    assert gzip.decompress((tmp_path / "big.txt.gz").read_bytes()) == big
