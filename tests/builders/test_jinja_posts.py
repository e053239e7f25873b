"""Loading a site's posts: newest first, drafts only in development, each parsed once per
content digest, from memory on a long-lived builder and from the cache file on a fresh one."""

from __future__ import annotations

from pathlib import Path

import pytest

from builders.base import BuildError
from builders.jinja_posts import PostStore
from tests.builders.jinja_site import write_files


def post(title: str, date: str, extra: str = "") -> str:
    return f"---\ntitle: {title}\ndate: {date}\n{extra}---\nBody of {title}.\n"


@pytest.fixture
def site(tmp_path: Path) -> Path:
    return write_files(tmp_path / "site", {
        "content/posts/old.md": post("Old", "2024-01-01"),
        "content/posts/new.md": post("New", "2024-02-01"),
        "content/posts/draft.md": post("Draft", "2024-03-01", "draft: true\n"),
        "content/posts/notes.txt": "not a post",
    })


def load(store: PostStore, site: Path, digests: dict[str, str], drafts: bool = False) -> list[str]:
    posts = store.load(site, str(site / "content/posts"), digests, site / ".sitegate/posts.json", drafts)
    return [post.title for post in posts]


def digests_of(site: Path, digest: str = "1") -> dict[str, str]:
    return {str(path): digest for path in (site / "content/posts").glob("*.md")}


def test_published_posts_come_newest_first_and_drafts_only_when_asked(site: Path) -> None:
    assert load(PostStore(), site, digests_of(site)) == ["New", "Old"]
    assert load(PostStore(), site, digests_of(site), drafts=True) == ["Draft", "New", "Old"]


def test_a_post_is_parsed_again_only_when_its_digest_changes(site: Path) -> None:
    store, digests = PostStore(), digests_of(site)
    load(store, site, digests)
    (site / "content/posts/old.md").write_text(post("Old, edited", "2024-01-01"))
    # The digest stands for the content the gateway fingerprinted: the same one means the same post.
    assert load(store, site, digests) == ["New", "Old"]
    assert load(store, site, digests | {str(site / "content/posts/old.md"): "2"}) == ["New", "Old, edited"]


def test_a_fresh_store_starts_from_the_cache_file_a_warm_one_leaves_it_alone(site: Path) -> None:
    digests = digests_of(site)
    load(PostStore(), site, digests)
    cache_file = site / ".sitegate/posts.json"
    written = cache_file.read_bytes()
    (site / "content/posts/old.md").write_text(post("Old, edited", "2024-01-01"))
    warm = PostStore()
    assert load(warm, site, digests) == ["New", "Old"]  # parsed by the first store, read from the file
    assert load(warm, site, digests | {str(site / "content/posts/old.md"): "2"}) == ["New", "Old, edited"]
    assert cache_file.read_bytes() == written
    # After a restart the stale entry only costs a parse.
    assert load(PostStore(), site, digests | {str(site / "content/posts/old.md"): "2"}) == ["New", "Old, edited"]


def test_posts_without_a_digest_are_always_read(site: Path) -> None:
    store = PostStore()
    assert load(store, site, {}) == ["New", "Old"]
    (site / "content/posts/old.md").write_text(post("Old, edited", "2024-01-01"))
    assert load(store, site, {}) == ["New", "Old, edited"]


def test_a_deleted_post_is_gone_and_a_broken_one_is_named(site: Path) -> None:
    store = PostStore()
    load(store, site, digests_of(site))
    (site / "content/posts/old.md").unlink()
    assert load(store, site, digests_of(site)) == ["New"]
    (site / "content/posts/bad.md").write_text("---\ntitle: [\n---\n")
    with pytest.raises(BuildError) as caught:
        load(store, site, digests_of(site, "3"))
    assert caught.value.file == "content/posts/bad.md"
