from __future__ import annotations

import os
from pathlib import Path

import pytest

from gateway.cluster import store as store_module
from gateway.cluster.archive import ArchiveError
from gateway.cluster.store import BuildNotInStore, BuildStore, StoreError, StoreLocation
from tests.cluster.conftest import S3Server, create_bucket, location_in

SITE = "example.com"
BUILD_ID = "3f2a9c0d1e4b5a6c7d8e"
RECORD = '{"build_id":"3f2a9c0d1e4b5a6c7d8e","inputs":[],"digests":[],"dependencies":{},"rendered":[],"seconds":0.5}'


def make_build(root: Path, marker: str = "first") -> Path:
    (root / "blog" / "post").mkdir(parents=True)
    (root / "index.html").write_text(f"<h1>{marker}</h1>")
    (root / "blog" / "post" / "index.html").write_text("<p>post</p>" * 500)
    (root / "blog" / "post" / "photo.jpg").write_bytes(os.urandom(20_000))
    return root


def tree(root: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(root)): None if p.is_dir() else p.read_bytes() for p in sorted(root.rglob("*"))}


def empty_folder(path: Path) -> Path:
    path.mkdir()
    return path


def test_an_uploaded_build_downloads_byte_for_byte_with_its_record(
    build_store_location: StoreLocation, tmp_path: Path
) -> None:
    store = BuildStore(build_store_location)
    build = make_build(tmp_path / "build")

    assert not store.has(SITE, BUILD_ID)
    assert store.upload(SITE, BUILD_ID, build, RECORD) is True
    assert store.has(SITE, BUILD_ID)

    out = empty_folder(tmp_path / "out")
    assert store.download(SITE, BUILD_ID, out) == RECORD
    assert tree(out) == tree(build)


def test_another_gateway_sees_the_build_under_the_same_location(
    build_store_location: StoreLocation, tmp_path: Path
) -> None:
    BuildStore(build_store_location).upload(SITE, BUILD_ID, make_build(tmp_path / "build"), RECORD)

    elsewhere = BuildStore(build_store_location)

    assert elsewhere.has(SITE, BUILD_ID)
    assert not elsewhere.has("other.example.com", BUILD_ID)


def test_a_second_upload_of_the_same_build_changes_nothing(build_store_location: StoreLocation, tmp_path: Path) -> None:
    store = BuildStore(build_store_location)
    first = make_build(tmp_path / "first", "first")
    store.upload(SITE, BUILD_ID, first, RECORD)

    again = store.upload(SITE, BUILD_ID, make_build(tmp_path / "second", "second"), '{"another": "record"}')

    out = empty_folder(tmp_path / "out")
    assert again is False
    assert store.download(SITE, BUILD_ID, out) == RECORD
    assert tree(out) == tree(first)


def test_losing_the_race_to_put_the_record_is_no_upload(
    build_store_location: StoreLocation, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    winner = BuildStore(build_store_location)
    winner.upload(SITE, BUILD_ID, make_build(tmp_path / "winner"), RECORD)
    loser = BuildStore(build_store_location)
    # The loser looked before the winner's record was there.
    monkeypatch.setattr(loser, "has", lambda site, build_id: False)

    assert loser.upload(SITE, BUILD_ID, make_build(tmp_path / "loser", "loser"), '{"loser": true}') is False
    assert winner.download(SITE, BUILD_ID, empty_folder(tmp_path / "out")) == RECORD


def test_a_large_build_goes_in_parts_and_comes_back_in_ranges(
    build_store_location: StoreLocation, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "RANGE_SIZE", 1024 * 1024)
    store = BuildStore(build_store_location)
    build = make_build(tmp_path / "build")
    # Over one multipart part (S3's least is 5 MiB) and over several download ranges.
    (build / "video.mp4").write_bytes(os.urandom(store_module.PART_SIZE + 123_457))

    store.upload(SITE, BUILD_ID, build, RECORD)
    out = empty_folder(tmp_path / "out")
    store.download(SITE, BUILD_ID, out)

    assert tree(out) == tree(build)


def test_downloading_a_build_not_in_the_store_says_so(build_store_location: StoreLocation, tmp_path: Path) -> None:
    out = empty_folder(tmp_path / "out")

    with pytest.raises(BuildNotInStore, match=f"{SITE}/{BUILD_ID}"):
        BuildStore(build_store_location).download(SITE, BUILD_ID, out)

    assert list(out.iterdir()) == []


def test_a_build_with_a_symlink_is_refused_and_not_put_in_the_store(
    build_store_location: StoreLocation, tmp_path: Path
) -> None:
    store = BuildStore(build_store_location)
    build = make_build(tmp_path / "build")
    (build / "latest").symlink_to("blog/post")

    with pytest.raises(ArchiveError, match="latest"):
        store.upload(SITE, BUILD_ID, build, RECORD)

    assert not store.has(SITE, BUILD_ID)


def test_a_stopped_store_is_a_store_error_naming_the_endpoint(s3_server_to_stop: S3Server, tmp_path: Path) -> None:
    create_bucket(s3_server_to_stop.endpoint, "builds-down")
    store = BuildStore(location_in(s3_server_to_stop.endpoint, "builds-down"), timeout_seconds=5)
    store.upload(SITE, BUILD_ID, make_build(tmp_path / "build"), RECORD)
    store.ping()

    s3_server_to_stop.stop()

    calls = {
        "ping": store.ping,
        "has": lambda: store.has(SITE, BUILD_ID),
        "download": lambda: store.download(SITE, BUILD_ID, empty_folder(tmp_path / "out")),
        "upload": lambda: store.upload(SITE, "another", tmp_path / "build", RECORD),
    }
    for name, call in calls.items():
        with pytest.raises(StoreError) as failed:
            call()
        message = str(failed.value)
        assert s3_server_to_stop.endpoint in message and "builds-down" in message, name
        assert "\n" not in message and not isinstance(failed.value, BuildNotInStore), name


def test_a_store_url_is_split_into_bucket_and_prefix() -> None:
    location = StoreLocation.parse(
        "s3://team-builds/sitegate/prod/",
        endpoint_url=None,
        region="eu-west-1",
        access_key_id="AKIDEXAMPLE",
        secret_access_key="wJalrXUtnFEMI",
        session_token="FwoGZXIvYXdzEXAMPLE",
    )

    assert (location.bucket, location.prefix, location.region) == ("team-builds", "sitegate/prod", "eu-west-1")
    assert "wJalrXUtnFEMI" not in repr(location) and "FwoGZXIvYXdzEXAMPLE" not in repr(location)
    assert StoreLocation.parse("s3://team-builds").prefix == ""


@pytest.mark.parametrize(
    "url",
    [
        "https://team-builds/prefix",
        "team-builds",
        "s3://",
        "s3:///prefix",
        "s3://Team_Builds",
        "s3://team-builds:9000/prefix",
        "s3://team-builds/prefix?versioning=1",
        "s3://team-builds/a//b",
        "s3://team-builds/a/../b",
    ],
)
def test_a_malformed_store_url_is_a_one_line_error_naming_the_setting(url: str) -> None:
    with pytest.raises(ValueError, match="SITEGATE_BUILD_STORE") as refused:
        StoreLocation.parse(url)

    assert "\n" not in str(refused.value)


def test_credentials_in_the_store_url_are_refused_without_echoing_them() -> None:
    with pytest.raises(ValueError, match="SITEGATE_BUILD_STORE") as refused:
        StoreLocation.parse("s3://AKIDEXAMPLE:wJalrXUtnFEMI@team-builds/prefix")

    assert "wJalrXUtnFEMI" not in str(refused.value)
