"""Parsed posts kept between builds."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from builders.jinja.content import new_markdown, parse_post
from builders.jinja.post_cache import PostCache


def a_post(tmp_path: Path):  # type: ignore[no-untyped-def]
    path = tmp_path / "p.md"
    text = "---\ntitle: T\ndate: 2024-01-01\ntags: [a]\nevent: 2024-02-03\nseen: 2024-02-03T04:05:06Z\nlist: [1, x]\n---\nBody\n"
    path.write_text(text)
    return parse_post(path, "content/posts/p.md", text, new_markdown())


def test_a_post_survives_the_round_trip(tmp_path: Path) -> None:
    post = a_post(tmp_path)
    cache = PostCache(tmp_path / "cache" / "posts.json")
    cache.put(post, "d1")
    cache.save()
    again = PostCache(tmp_path / "cache" / "posts.json").get(post.source, "d1")
    assert again == post
    assert again.extra["event"] == dt.date(2024, 2, 3)
    assert isinstance(again.extra["seen"], dt.datetime)


def test_a_different_digest_or_no_digest_is_a_miss(tmp_path: Path) -> None:
    post = a_post(tmp_path)
    cache = PostCache(tmp_path / "posts.json")
    cache.put(post, "d1")
    assert cache.get(post.source, "d2") is None
    assert cache.get(post.source, None) is None


def test_forgotten_posts_are_dropped_and_the_file_rewritten(tmp_path: Path) -> None:
    post = a_post(tmp_path)
    cache = PostCache(tmp_path / "posts.json")
    cache.put(post, "d1")
    cache.save()
    cache = PostCache(tmp_path / "posts.json")
    cache.keep_only(set())
    cache.save()
    assert PostCache(tmp_path / "posts.json").get(post.source, "d1") is None


def test_a_broken_cache_file_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "posts.json").write_text("{not json")
    assert PostCache(tmp_path / "posts.json").get("/x.md", "d") is None
    (tmp_path / "posts.json").write_text('{"version": 1, "posts": {"/x.md": ["d", {"title": 1}]}}')
    assert PostCache(tmp_path / "posts.json").get("/x.md", "d") is None


def test_an_unwritable_place_means_no_cache_not_an_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    cache = PostCache(blocker / "posts.json")
    cache.put(a_post(tmp_path), "d1")
    cache.save()
    assert not (blocker / "posts.json").exists()
