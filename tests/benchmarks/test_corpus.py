"""The benchmark corpus: the same seed gives the same posts, and every post is one sitegate,
MkDocs and Pelican all accept, with the parts the benchmark promises."""

from __future__ import annotations

import re
from pathlib import Path

from markdown_it import MarkdownIt

from benchmarks.corpus import MAX_WORDS, MIN_WORDS, edited, generate_posts
from benchmarks.projects import (
    write_mkdocs_project,
    write_pelican_project,
    write_sitegate_site,
)
from builders.jinja.content import new_markdown, parse_post

COUNT = 25


def files_of(root: Path) -> dict[str, bytes]:
    return {path.relative_to(root).as_posix(): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


def test_the_same_seed_writes_the_same_files_and_another_seed_does_not(tmp_path: Path) -> None:
    first = write_sitegate_site(generate_posts(COUNT, seed=1), tmp_path / "one")
    again = write_sitegate_site(generate_posts(COUNT, seed=1), tmp_path / "two")
    other = write_sitegate_site(generate_posts(COUNT, seed=2), tmp_path / "three")
    assert files_of(first) == files_of(again)
    assert files_of(first) != files_of(other)


def test_every_post_has_the_promised_length_and_parts() -> None:
    posts = generate_posts(COUNT, seed=3)
    assert len(posts) == COUNT and len({post.slug for post in posts}) == COUNT
    for post in posts:
        assert MIN_WORDS <= post.words <= MAX_WORDS
        assert "\n## " in post.body or "\n### " in post.body
        assert "\n- " in post.body or "\n1. " in post.body
        assert "```" in post.body
        assert "](post:" in post.body or "](https://" in post.body
        assert 1 <= len(post.tags) <= 4 and post.title and post.summary


def test_sitegate_reads_every_post_with_its_front_matter_and_links(tmp_path: Path) -> None:
    posts = generate_posts(COUNT, seed=4)
    site = write_sitegate_site(posts, tmp_path / "sites")
    markdown = new_markdown()
    slugs = {post.slug for post in posts}
    for post in posts:
        source = site / "content" / "posts" / f"{post.slug}.md"
        parsed = parse_post(source, source.name, source.read_text(encoding="utf-8"), markdown)
        assert (parsed.slug, parsed.title, parsed.tags, parsed.summary) == (
            post.slug,
            post.title,
            post.tags,
            post.summary,
        )
        assert parsed.date.date() == post.date
        html = markdown.render(source.read_text(encoding="utf-8").split("---\n", 2)[2])
        assert '<pre><code class="language-' in html
        assert "<h2>" in html or "<h3>" in html
        for link in (part.split("/", 1)[0] for part in html.split('href="/blog/')[1:]):
            assert link in slugs
    assert (site / "site.toml").is_file() and (site / "pages" / "index.html").is_file()


def test_mkdocs_and_pelican_get_the_same_posts_with_their_own_links(tmp_path: Path) -> None:
    posts = generate_posts(COUNT, seed=5)
    mkdocs = write_mkdocs_project(posts, tmp_path / "mkdocs")
    pelican = write_pelican_project(posts, tmp_path / "pelican")
    assert (mkdocs / "mkdocs.yml").is_file() and (pelican / "pelicanconf.py").is_file()
    for post in posts:
        page = (mkdocs / "docs" / "posts" / f"{post.slug}.md").read_text(encoding="utf-8")
        article = (pelican / "content" / f"{post.slug}.md").read_text(encoding="utf-8")
        assert "](post:" not in page and "](post:" not in article
        assert article.startswith(f"Title: {post.title}\nDate: {post.date.isoformat()}\n")
        assert page.startswith(f'---\ntitle: "{post.title}"\n')
        for target in re.findall(r'href="([a-z0-9-]+)\.md"', MarkdownIt("commonmark").render(page)):
            assert (mkdocs / "docs" / "posts" / f"{target}.md").is_file()
        for target in re.findall(r"\]\(\{filename\}/([a-z0-9-]+)\.md\)", article):
            assert (pelican / "content" / f"{target}.md").is_file()


def test_an_edit_keeps_the_front_matter_and_adds_its_token() -> None:
    text = "---\ntitle: T\ndate: 2024-01-01\n---\nBody.\n"
    changed = edited(text, "abc")
    assert changed.startswith(text.rstrip("\n")) and "abc" in changed.split("Body.", 1)[1]
