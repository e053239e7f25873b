"""Build ids: content digests cached by stat, and fingerprints equal for equal inputs anywhere."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

import gateway.building.fingerprint as fingerprint_module
from gateway.building.fingerprint import DigestCache, fingerprint, input_labels


def site_files(root: Path) -> list[Path]:
    files = {"site.toml": "", "pages/index.html": "<h1>Home</h1>", "pages/about.html": "<h1>About</h1>"}
    for relative, text in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)
    return sorted(path for path in root.rglob("*") if path.is_file())


def build_id(cache: DigestCache, site: Path, shared: Path) -> str:
    digests = cache.digests(sorted(path for path in site.rglob("*") if path.is_file()))
    return fingerprint(
        builder="jinja@test",
        mode="production",
        options={},
        env={},
        inputs={label: digests[path] for path, label in input_labels(digests, site, shared)},
        data={},
    )


def test_equal_content_has_equal_digests_and_an_edit_changes_them(tmp_path: Path) -> None:
    one, two = tmp_path / "one.txt", tmp_path / "two.txt"
    one.write_text("same words")
    two.write_text("same words")
    cache = DigestCache()
    first = cache.digests([one, two])
    assert first[str(one)] == first[str(two)]
    stat = one.stat()
    one.write_text("SAME WORDS")
    # Same size and modification time: the change of content must still be seen.
    os.utime(one, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert cache.digests([one])[str(one)] != first[str(one)]


def test_an_unchanged_file_is_not_read_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = site_files(tmp_path / "site")
    cache = DigestCache()
    read: list[str] = []
    real = fingerprint_module._file_digest
    monkeypatch.setattr(fingerprint_module, "_file_digest", lambda path: read.append(path) or real(path))
    cache.digests(files)
    assert len(read) == len(files)
    files[0].write_text("edited")
    cache.digests(files)
    assert read[len(files) :] == [str(files[0])]


def test_a_small_cache_forgets_the_oldest_files_but_still_answers(tmp_path: Path) -> None:
    files = site_files(tmp_path / "site")
    cache = DigestCache(maxsize=1)
    assert cache.digests(files) == DigestCache().digests(files)
    assert cache.digests(files[:1]) == {str(files[0]): DigestCache().digests(files[:1])[str(files[0])]}


def test_a_missing_file_fails_loudly(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        DigestCache().digests([tmp_path / "gone.md"])


def test_the_same_site_has_the_same_id_in_any_folder_and_an_edit_changes_it(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    site = tmp_path / "a" / "site.example"
    site_files(site)
    copy = shutil.copytree(site, tmp_path / "b" / "site.example")
    cache = DigestCache()
    assert build_id(cache, site, shared) == build_id(cache, copy, shared)
    (copy / "pages" / "about.html").write_text("<h1>About us</h1>")
    assert build_id(cache, site, shared) != build_id(cache, copy, shared)
