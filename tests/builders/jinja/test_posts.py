"""Loading a site's posts: newest first, drafts only in development, each parsed once per
content digest, from memory on a long-lived builder and from the cache file on a fresh one.
Posts from backend data (``posts_from``) are posts like the Markdown ones."""

from __future__ import annotations

import html
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from builders.errors import BuildError
from builders.jinja.builder import JinjaBuilder
from builders.jinja.posts import PostStore, merge_posts, posts_source
from tests.builders.jinja_site import api_post, build, publish_api_posts, write_files

ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


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


def test_api_posts_are_the_published_items_each_parsed_once_per_content(tmp_path: Path) -> None:
    store, toml = PostStore(), str(tmp_path / "site.toml")
    items = [api_post("b", "B", "2024-02-01"), api_post("draft", "Draft", "2024-03-01", status="draft"),
             api_post("a", "A", "2024-01-01", body="First *words*.\n\nMore.")]
    first = store.load_api(items, "posts", toml)
    assert [(post.title, post.summary, post.label) for post in first] == [
        ("B", "An API post.", "[data] posts “b”"), ("A", "First words.", "[data] posts “a”"),
    ]
    items[0] = api_post("b", "B, edited", "2024-02-01")
    again = store.load_api(items, "posts", toml)
    assert again[1] is first[1] and again[0].title == "B, edited"
    # Each post stands for its own content, so pages showing one post depend on it alone.
    assert again[0].source != first[0].source and again[1].source == first[1].source


def test_a_bad_api_post_is_named_by_its_data_entry_and_slug(tmp_path: Path) -> None:
    toml = str(tmp_path / "site.toml")
    cases = [
        ({**api_post("x", "X", "2024-01-01"), "title": ""}, "[data] posts “x”", "title"),
        ({**api_post("x", "X", "2024-01-01"), "published_at": "soon", "created_at": None}, "[data] posts “x”", "'soon'"),
        ({**api_post("x", "X", "2024-01-01"), "tags": ["!!"]}, "[data] posts “x”", "'!!'"),
        ({**api_post("x", "X", "2024-01-01"), "slug": "Not a slug"}, "[data] posts “Not a slug”", "slug"),
        ("just text", "[data] posts item 1", "JSON object"),
    ]
    for item, label, problem in cases:
        with pytest.raises(BuildError, match=problem) as caught:
            PostStore().load_api([item], "posts", toml)
        assert caught.value.file == label
    with pytest.raises(BuildError, match="must be a list") as caught:
        PostStore().load_api({"items": []}, "posts", toml)
    assert caught.value.file == "site.toml"


def test_a_markdown_post_and_an_api_post_with_one_slug_fail_naming_both(site: Path) -> None:
    markdown_posts = PostStore().load(site, str(site / "content/posts"), {}, site / ".sitegate/posts.json", False)
    api_posts = PostStore().load_api([api_post("old", "Old from the API", "2024-01-05")], "posts", str(site / "site.toml"))
    with pytest.raises(BuildError) as caught:
        merge_posts(markdown_posts, api_posts)
    assert caught.value.file == "content/posts/old.md"
    assert "[data] posts “old”" in caught.value.message and "/blog/old/" in caught.value.message


def test_posts_from_names_a_data_entry_the_gateway_fetched() -> None:
    options = {"posts_from": "posts", "data": {"posts": "/api/blog/posts"}}
    assert posts_source({}, {"posts": []}) is None
    assert posts_source(options, {"posts": ["item"]}) == ("posts", ["item"], False)
    with pytest.raises(BuildError, match="must name an entry of \\[data\\], not 'news'"):
        posts_source(options | {"posts_from": "news"}, {"posts": []})
    with pytest.raises(BuildError, match="fetched no \\[data\\] posts"):
        posts_source(options, {})


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    """A blog with Markdown posts (2024-01-01, 2024-01-03) that also publishes API posts."""
    return publish_api_posts(write_files(tmp_path / "mixed.example", {
        "site.toml": 'builder = "jinja"\ntitle = "Mixed"\nposts_per_page = 2\n',
        "content/posts/old.md": post("Old", "2024-01-01", "tags: [python]\n"),
        "content/posts/newer.md": post("Newer", "2024-01-03"),
    }))


MIXED_DATA = {"posts": [
    api_post("from-api", "From the API", "2024-01-04T09:30:00", body="Hello **API**.", tags=("Python", "api"),
             updated="2024-01-06T00:00:00"),
    api_post("unpublished", "Unpublished", "2024-01-05", status="draft"),
    api_post("older-api", "Older API", "2024-01-02", summary="Told briefly."),
]}


def test_api_posts_are_blog_posts_like_the_markdown_ones(mixed: Path) -> None:
    built = build(mixed, data=MIXED_DATA)
    page = built.read("blog/from-api/index.html")
    assert "<strong>API</strong>" in page and "From the API" in page and 'href="/tags/python/"' in page
    assert "unpublished" not in " ".join(built.result.files)
    first, second = built.read("blog/index.html"), built.read("blog/page/2/index.html")
    assert first.index("From the API") < first.index("Newer") and "Older API" not in first
    assert second.index("Older API") < second.index("Old<") and "Told briefly." in second
    python = built.read("tags/python/index.html")
    assert "From the API" in python and "Old" in python and "api" in built.read("tags/index.html")
    feed = ET.fromstring(built.read("feed.xml"))
    entries = [(entry.findtext(f"{ATOM}title"), entry.findtext(f"{ATOM}updated")) for entry in feed.iter(f"{ATOM}entry")]
    assert entries[:2] == [("From the API", "2024-01-06T00:00:00Z"), ("Newer", "2024-01-03T00:00:00Z")]
    assert len(entries) == 4 and "<strong>API</strong>" in feed.findtext(f"{ATOM}entry/{ATOM}content", "")
    sitemap = {url.findtext(f"{SITEMAP}loc"): url.findtext(f"{SITEMAP}lastmod") for url in ET.fromstring(built.read("sitemap.xml"))}
    assert sitemap["https://mixed.example/blog/from-api/"] == "2024-01-06"


def test_an_api_post_taking_a_markdown_posts_slug_fails_the_build(mixed: Path) -> None:
    with pytest.raises(BuildError) as caught:
        build(mixed, data={"posts": [api_post("old", "Old again", "2024-02-01")]})
    assert caught.value.file == "content/posts/old.md" and "[data] posts “old”" in str(caught.value)


def test_a_site_publishing_only_api_posts_has_a_blog(tmp_path: Path) -> None:
    site = publish_api_posts(write_files(tmp_path / "api.example", {"site.toml": 'title = "API only"\n'}))
    built = build(site, data={"posts": [api_post("only", "Only", "2024-01-01")]})
    assert {"blog/only/index.html", "blog/index.html", "feed.xml"} <= set(built.result.files)
    empty = build(site, data={"posts": []})
    assert "feed.xml" in empty.result.files and "blog/index.html" not in empty.result.files


HOSTILE_BODY = "Hello <img src=x onerror=alert(1)> there.\n\n<script>alert(2)</script>\n\n<a href=\"javascript:alert(3)\">click</a>\n"


def hostile_blog(tmp_path: Path, site_toml: str = "") -> Path:
    """A blog of an API post carrying script, and a committed post carrying raw HTML."""
    return publish_api_posts(write_files(tmp_path / "hostile.example", {
        "site.toml": f'title = "Hostile"\n{site_toml}',
        "content/posts/own.md": post("Own", "2024-01-01") + '\n<div class="note" onclick="toggle()">Ours</div>\n',
    }))


HOSTILE_DATA = {"posts": [api_post("evil", "Evil", "2024-01-02", body=HOSTILE_BODY)]}


def test_html_in_an_api_post_is_sanitized_on_its_page_and_in_the_feed(tmp_path: Path) -> None:
    site = hostile_blog(tmp_path)
    built = build(site, data=HOSTILE_DATA)
    page, feed = built.read("blog/evil/index.html"), built.read("feed.xml")
    assert '<p>Hello <img src="x"> there.</p>' in page
    for text in (page, feed):
        assert "onerror" not in text and "script" not in text and "javascript" not in text
    # The site's own post is trusted as it is committed.
    assert '<div class="note" onclick="toggle()">Ours</div>' in built.read("blog/own/index.html")
    in_workers = build(site, data=HOSTILE_DATA, builder=JinjaBuilder(parallel_threshold=1))
    assert "processes" in in_workers.result.log and in_workers.tree() == built.tree()


def test_a_site_that_trusts_its_editors_publishes_their_html_as_written(tmp_path: Path) -> None:
    built = build(hostile_blog(tmp_path, "[blog]\nraw_html = true\n"), data=HOSTILE_DATA)
    page = built.read("blog/evil/index.html")
    assert "<img src=x onerror=alert(1)>" in page and "<script>alert(2)</script>" in page


def test_the_text_fields_of_an_api_post_are_escaped(tmp_path: Path) -> None:
    script = "<script>alert(1)</script>"
    item = {**api_post("loud", f"Title {script}", "2024-01-02", summary=f"Summary {script}", tags=(f"tag {script}",)),
            "author": script}
    # Without a summary, the first paragraph's text stands for it: an entity in it is text too.
    quiet = api_post("quiet", "Quiet", "2024-01-03", body=f"{html.escape(script)} said the post.")
    built = build(hostile_blog(tmp_path), data={"posts": [item, quiet]})
    assert built.read("blog/index.html").count("&lt;script&gt;alert(1)&lt;/script&gt; said the post.") == 1
    for output in ("blog/loud/index.html", "blog/quiet/index.html", "blog/index.html", "tags/index.html", "feed.xml"):
        assert "<script" not in built.read(output) and "&lt;script&gt;" in built.read(output), output


def test_turning_raw_html_on_and_off_renders_the_api_posts_again(tmp_path: Path) -> None:
    site, builder = hostile_blog(tmp_path), JinjaBuilder()
    toml = (site / "site.toml").read_text()
    before = build(site, builder=builder, data=HOSTILE_DATA)
    for raw_html in (True, False, True):
        (site / "site.toml").write_text(f"{toml}\n[blog]\nraw_html = {str(raw_html).lower()}\n")
        # One builder kept across the builds, each incremental: neither the rendered HTML it
        # remembers nor the previous build's pages may stand for the other setting.
        after = build(site, builder=builder, previous=before, data=HOSTILE_DATA)
        assert {"blog/evil/index.html", "feed.xml"} <= after.rendered
        for output in ("blog/evil/index.html", "feed.xml"):
            assert ("onerror" in after.read(output)) is raw_html, (raw_html, output)
        before = after


def test_raw_html_must_be_true_or_false(tmp_path: Path) -> None:
    for site_toml, problem in (("[blog]\nraw_html = \"yes\"\n", "raw_html"), ('blog = "raw"\n', "blog")):
        site = hostile_blog(tmp_path / problem, site_toml)
        with pytest.raises(BuildError, match=problem) as caught:
            build(site, data=HOSTILE_DATA)
        assert caught.value.file == "site.toml"
