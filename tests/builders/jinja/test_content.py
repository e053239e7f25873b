"""Posts: front matter in YAML or TOML, the body, and errors that point at the line."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from builders.errors import BuildError
from builders.jinja.content import (
    new_markdown,
    parse_post,
    post_from_item,
    read_body,
    slugify,
    split_front_matter,
)
from tests.builders.jinja_site import api_post


def parse(tmp_path: Path, text: str, name: str = "hello-world.md"):  # type: ignore[no-untyped-def]
    path = tmp_path / name
    path.write_text(text)
    return parse_post(path, f"content/posts/{name}", text, new_markdown())


def test_yaml_front_matter(tmp_path: Path) -> None:
    post = parse(tmp_path, "---\ntitle: Hello\ndate: 2024-05-01 10:30:00\ntags: [a, B c, a]\nauthor: Ada\n---\nBody *here*.\n")
    assert (post.title, post.slug, post.url) == ("Hello", "hello-world", "/blog/hello-world/")
    assert post.date == dt.datetime(2024, 5, 1, 10, 30, tzinfo=dt.timezone.utc)
    assert post.updated == post.date
    assert post.tags == ("a", "B c")
    assert post.extra == {"author": "Ada"}
    assert post.summary == "Body here."
    assert read_body(post) == "Body *here*.\n"


def test_toml_front_matter_with_slug_summary_and_draft(tmp_path: Path) -> None:
    text = '+++\ntitle = "T"\ndate = 2024-01-02\nupdated = 2024-02-03\nslug = "custom-slug"\nsummary = "Short."\ndraft = true\ntags = "x, y"\n+++\nText\n'
    post = parse(tmp_path, text)
    assert (post.slug, post.summary, post.draft, post.tags) == ("custom-slug", "Short.", True, ("x", "y"))
    assert post.updated.date() == dt.date(2024, 2, 3)


def test_summary_skips_headings_code_and_lists(tmp_path: Path) -> None:
    body = "# Title\n\n```\ncode\n```\n\n- item\n\n1. first\n\n2024 was a [good](http://x) year &amp; more.\n"
    post = parse(tmp_path, f"---\ntitle: T\ndate: 2024-01-01\n---\n{body}")
    assert post.summary == "2024 was a good year & more."


def test_long_summaries_are_cut_at_a_word(tmp_path: Path) -> None:
    post = parse(tmp_path, "---\ntitle: T\ndate: 2024-01-01\n---\n" + "word " * 100)
    assert len(post.summary) <= 241 and post.summary.endswith("word…")


def test_windows_line_endings_and_a_bom(tmp_path: Path) -> None:
    text = "\ufeff---\r\ntitle: T\r\ndate: 2024-01-01\r\n---\r\nLine one\r\n"
    post = parse(tmp_path, text)
    assert post.title == "T" and read_body(post).strip() == "Line one"


def test_the_body_line_survives_an_empty_body(tmp_path: Path) -> None:
    post = parse(tmp_path, "---\ntitle: T\ndate: 2024-01-01\n---")
    assert read_body(post) == ""


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("---\ntitle: T\ndate: 2024-01-01\nslug: Not/OK\n---\n", 4, "slug"),
        ("---\ntitle: T\ndate: 2024-01-01\ndraft: maybe\n---\n", 4, "draft"),
        ("---\ntitle: T\ndate: 2024-01-01\nsummary: [1]\n---\n", 4, "summary"),
        ("---\ntitle: T\ndate: 2024-01-01\ntags: ['!!!']\n---\n", 4, "letters"),
        ("---\ntitle: T\n", 1, "never closed"),
        ("---\n- a\n- b\n---\n", 2, "table"),
        ("---\ntitle: [x]\ndate: 2024-01-01\n---\n", 2, "title"),
        ("---\ntitle: T\ndate: yesterday\n---\n", 3, "date"),
    ],
)
def test_errors_name_the_line(tmp_path: Path, text: str, line: int, words: str) -> None:
    with pytest.raises(BuildError) as caught:
        parse(tmp_path, text)
    assert (caught.value.file, caught.value.line) == ("content/posts/hello-world.md", line)
    assert words in caught.value.message


def test_split_front_matter_reports_where_the_body_starts() -> None:
    meta, body, line = split_front_matter("---\na: 1\nb: 2\n---\nbody\n", "x.md")
    assert (meta, body, line) == ({"a": 1, "b": 2}, "body\n", 5)


def test_a_file_name_becomes_a_slug(tmp_path: Path) -> None:
    assert parse(tmp_path, "---\ntitle: T\ndate: 2024-01-01\n---\n", name="My First Post!.md").slug == "my-first-post"
    with pytest.raises(BuildError, match="slug"):
        parse(tmp_path, "---\ntitle: T\ndate: 2024-01-01\n---\n", name="!!!.md")


def test_slugify() -> None:
    assert slugify("Hello, World!") == "hello-world"
    assert slugify("C++ & Rust") == "c-rust"


def test_a_post_from_backend_data_is_a_post_with_its_body_in_hand() -> None:
    item = api_post("from-api", "From the API", "2024-05-01T09:30:00", body="Hi *there*.", tags=("a", "B c"), updated="2024-06-01")
    post = post_from_item(item, "token", "[data] posts “from-api”", new_markdown())
    assert (post.title, post.slug, post.url, post.tags, post.draft) == ("From the API", "from-api", "/blog/from-api/", ("a", "B c"), False)
    assert post.date == dt.datetime(2024, 5, 1, 9, 30, tzinfo=dt.timezone.utc)
    assert post.updated.date() == dt.date(2024, 6, 1)
    assert (post.summary, read_body(post), post.extra["author"]) == ("Hi there.", "Hi *there*.", "Ada")
    # An item without a publication time is dated by its creation.
    undated = post_from_item({**item, "published_at": None}, "token", "label", new_markdown())
    assert undated.date == dt.datetime(2024, 5, 1, 9, 30, tzinfo=dt.timezone.utc)
