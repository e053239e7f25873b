"""Incremental builds: each kind of input, edited between two builds, re-renders exactly the
outputs that used it; everything else is reused, and the result equals a cold build."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from builders.errors import BuildError
from builders.jinja.builder import JinjaBuilder
from tests.builders.jinja_site import (
    SHARED,
    Built,
    api_post,
    build,
    copy_tree,
    publish_api_posts,
    write_files,
)

POST_PAGES = {f"blog/{slug}/index.html" for slug in ("a", "b", "c", "d")}
LISTINGS = {"blog/index.html", "blog/page/2/index.html", "tags/x/index.html", "tags/y/index.html"}
HTML = POST_PAGES | LISTINGS | {"tags/index.html", "index.html", "about/index.html"}


def post(title: str, date: str, tags: str) -> str:
    return f"---\ntitle: {title}\ndate: {date}\ntags: [{tags}]\n---\nThe body of {title}.\n"


@pytest.fixture
def shared(tmp_path: Path) -> Path:
    return copy_tree(SHARED, tmp_path / "shared")


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """Posts d, c | b, a on two blog pages (newest first); tag x: c, a; tag y: d, b."""
    return write_files(
        tmp_path / "inc.example",
        {
            "site.toml": 'builder = "jinja"\ntitle = "Inc"\nposts_per_page = 2\n[theme]\nprimary = "#111111"\n',
            "pages/index.html": '{% extends "layouts/base.html" %}{% block styles %}<link href="{{ asset(\'app.css\') }}">{% endblock %}',
            "pages/about.html": '{% extends "layouts/page.html" %}{% block page_body %}About us{% endblock %}',
            "layouts/page.html": '{% extends "shared/layouts/page.html" %}{% block page_title %}<h1>About</h1>{% endblock %}',
            "components/blog/post_card.html": '{% extends "shared/blog/post_card.html" %}{% block meta %}{% endblock %}',
            "content/posts/a.md": post("A", "2024-01-01", "x"),
            "content/posts/b.md": post("B", "2024-01-02", "y"),
            "content/posts/c.md": post("C", "2024-01-03", "x"),
            "content/posts/d.md": post("D", "2024-01-04", "y"),
            "assets/app.css": "body { margin: 0 }",
            "public/robots.txt": "User-agent: *",
        },
    )


def rebuild(site: Path, shared: Path, before: Built, data: dict[str, Any] | None = None) -> Built:
    """An incremental build after an edit, checked against a cold build of the same inputs."""
    after = build(site, shared_dir=shared, previous=before, data=data)
    assert after.tree() == build(site, shared_dir=shared, data=data).tree()
    return after


def test_a_cold_build_renders_everything_and_an_unchanged_one_nothing(site: Path, shared: Path) -> None:
    first = build(site, shared_dir=shared)
    assert first.rendered == set(first.result.files)
    again = rebuild(site, shared, first)
    assert again.rendered == set()
    assert again.result.dependencies == first.result.dependencies


def test_editing_a_post_renders_it_and_the_listings_that_show_it(site: Path, shared: Path) -> None:
    first = build(site, shared_dir=shared)
    (site / "content/posts/a.md").write_text(post("A, revised", "2024-01-01", "x"))
    after = rebuild(site, shared, first)
    # The sitemap shows no title: it is made anew only when a URL or a date changes.
    assert after.rendered == {
        "blog/a/index.html", "blog/page/2/index.html", "tags/x/index.html", "tags/index.html", "feed.xml",
    }
    assert "A, revised" in after.read("blog/page/2/index.html")


def test_editing_a_posts_body_leaves_the_listings_alone_unless_they_show_bodies(site: Path, shared: Path) -> None:
    first = build(site, shared_dir=shared)
    a = site / "content/posts/a.md"
    # Below the first paragraph, which is the summary listings show.
    a.write_text(a.read_text() + "\nA second paragraph.\n")
    after = rebuild(site, shared, first)
    assert after.rendered == {"blog/a/index.html", "feed.xml"}
    assert "A second paragraph." in after.read("blog/a/index.html")
    write_files(site, {"pages/index.html": "{% for p in site.posts %}{{ p.content }}{% endfor %}"})
    showing = rebuild(site, shared, after)
    a.write_text(a.read_text().replace("A second paragraph.", "Another paragraph."))
    again = rebuild(site, shared, showing)
    assert again.rendered == {"blog/a/index.html", "index.html", "feed.xml"}
    assert "Another paragraph." in again.read("index.html")


def test_a_post_moving_between_pages_renders_the_pages_it_leaves_and_joins(site: Path, shared: Path) -> None:
    first = build(site, shared_dir=shared)
    (site / "content/posts/a.md").write_text(post("A", "2024-01-05", "x"))
    after = rebuild(site, shared, first)
    assert {"blog/index.html", "blog/page/2/index.html", "tags/x/index.html", "sitemap.xml"} <= after.rendered
    assert after.rendered.isdisjoint({"blog/b/index.html", "blog/c/index.html", "tags/y/index.html", "index.html"})


def test_adding_a_post_renders_it_and_every_listing(site: Path, shared: Path) -> None:
    first = build(site, shared_dir=shared)
    (site / "content/posts/e.md").write_text(post("E", "2024-01-05", "y"))
    after = rebuild(site, shared, first)
    assert after.rendered == {
        "blog/e/index.html", "blog/index.html", "blog/page/2/index.html", "blog/page/3/index.html",
        "tags/x/index.html", "tags/y/index.html", "tags/y/page/2/index.html", "tags/index.html",
        "feed.xml", "sitemap.xml",
    }


def test_editing_a_site_layout_renders_the_pages_that_extend_it(site: Path, shared: Path) -> None:
    first = build(site, shared_dir=shared)
    (site / "layouts/page.html").write_text('{% extends "shared/layouts/page.html" %}{% block page_title %}<h1>Who</h1>{% endblock %}')
    after = rebuild(site, shared, first)
    assert after.rendered == {"about/index.html"}


def test_editing_a_shared_component_renders_only_pages_that_use_it_in_every_site(tmp_path: Path, site: Path, shared: Path) -> None:
    own_card = '{% macro post_card(post, class_="") %}<p>{{ post.title }}</p>{% endmacro %}'
    other = write_files(
        tmp_path / "other.example",
        {"components/blog/post_card.html": own_card, "content/posts/z.md": post("Z", "2024-02-01", "z")},
    )
    first, other_first = build(site, shared_dir=shared), build(other, shared_dir=shared)
    card = shared / "blog/post_card.html"
    card.write_text(card.read_text().replace('class="sg-post-card__title"', 'class="sg-post-card__title changed"'))
    after = rebuild(site, shared, first)
    assert after.rendered == LISTINGS
    assert "changed" in after.read("blog/index.html")
    # The other site replaced the card completely: nothing of it uses the shared file.
    assert rebuild(other, shared, other_first).rendered == set()


def test_editing_a_shared_component_used_by_every_page(site: Path, shared: Path) -> None:
    first = build(site, shared_dir=shared)
    footer = shared / "ui/footer.html"
    footer.write_text(footer.read_text().replace("sg-footer", "sg-footer edited"))
    assert rebuild(site, shared, first).rendered == HTML


def test_editing_a_site_override_renders_only_that_sites_pages_using_it(tmp_path: Path, site: Path, shared: Path) -> None:
    other = copy_tree(site, tmp_path / "twin.example")
    first, twin_first = build(site, shared_dir=shared), build(other, shared_dir=shared)
    (site / "components/blog/post_card.html").write_text('{% extends "shared/blog/post_card.html" %}{% block summary %}{% endblock %}')
    assert rebuild(site, shared, first).rendered == LISTINGS
    assert rebuild(other, shared, twin_first).rendered == set()


def test_creating_an_override_renders_the_pages_that_would_use_it(site: Path, shared: Path) -> None:
    first = build(site, shared_dir=shared)
    write_files(site, {"components/blog/tag_list.html": '{% macro tag_list(tags, class_="", counts=false) %}tags{% endmacro %}'})
    after = rebuild(site, shared, first)
    assert after.rendered == POST_PAGES | LISTINGS | {"tags/index.html"}


def test_editing_the_theme_renders_the_stylesheet_and_pages_that_read_site_toml(site: Path, shared: Path) -> None:
    first = build(site, shared_dir=shared)
    toml = site / "site.toml"
    toml.write_text(toml.read_text().replace("#111111", "#222222"))
    after = rebuild(site, shared, first)
    assert after.rendered == HTML | {"theme.css", "feed.xml"}
    assert "--primary: #222222;" in after.read("theme.css")


def test_the_sitemap_is_made_anew_when_its_urls_change(site: Path, shared: Path) -> None:
    first = build(site, shared_dir=shared)
    toml = site / "site.toml"
    toml.write_text('base_url = "https://moved.example"\n' + toml.read_text())
    after = rebuild(site, shared, first)
    assert "sitemap.xml" in after.rendered and "https://moved.example/about/" in after.read("sitemap.xml")


def test_editing_an_asset_renders_its_new_name_and_the_pages_that_link_it(site: Path, shared: Path) -> None:
    first = build(site, shared_dir=shared)
    (site / "assets/app.css").write_text("body { margin: 1px }")
    after = rebuild(site, shared, first)
    (new_asset,) = {name for name in after.rendered if name.startswith("assets/")}
    assert after.rendered == {new_asset, "index.html"}
    assert f'href="/{new_asset}"' in after.read("index.html")


def test_in_development_a_stylesheet_edit_changes_the_stylesheet_alone(site: Path, shared: Path) -> None:
    first = build(site, shared_dir=shared, mode="development")
    assert 'href="/assets/app.css"' in first.read("index.html")
    (site / "assets/app.css").write_text("body { margin: 1px }")
    after = build(site, shared_dir=shared, previous=first, mode="development")
    assert after.rendered == {"assets/app.css"}
    assert after.tree() == build(site, shared_dir=shared, mode="development").tree()
    (site / "assets/app.css").unlink()
    with pytest.raises(BuildError, match="app.css"):
        build(site, shared_dir=shared, previous=after, mode="development")


def test_publishing_an_api_post_leaves_the_other_posts_pages_alone(site: Path, shared: Path) -> None:
    publish_api_posts(site)
    one = api_post("p", "API one", "2024-01-10", tags=("x",))
    first = build(site, shared_dir=shared, data={"posts": [one]})
    assert "API one" in first.read("blog/index.html")
    after = rebuild(site, shared, first, {"posts": [api_post("q", "API two", "2024-01-11", tags=("z",)), one]})
    assert {"blog/q/index.html", "blog/index.html", "tags/z/index.html", "feed.xml", "sitemap.xml"} <= after.rendered
    assert after.rendered.isdisjoint(POST_PAGES | {"blog/p/index.html", "tags/y/index.html", "about/index.html"})


def test_editing_an_api_post_renders_its_page_and_the_listings_that_show_it(site: Path, shared: Path) -> None:
    publish_api_posts(site)
    others = [api_post("q", "API two", "2024-01-11", tags=("z",))]
    first = build(site, shared_dir=shared, data={"posts": [*others, api_post("p", "API one", "2024-01-10", tags=("x",))]})
    edited = api_post("p", "API one", "2024-01-10", tags=("x",), body="Edited *text*.")
    after = rebuild(site, shared, first, {"posts": [*others, edited]})
    assert after.rendered == {"blog/p/index.html", "blog/index.html", "tags/x/index.html", "tags/index.html", "feed.xml"}
    assert "<em>text</em>" in after.read("blog/p/index.html")
    gone = rebuild(site, shared, after, {"posts": others})
    assert "blog/p/index.html" not in gone.result.files and "blog/q/index.html" not in gone.rendered


def test_a_page_that_lists_all_posts_depends_on_every_post(site: Path, shared: Path) -> None:
    write_files(site, {"pages/index.html": "{% for p in site.posts %}{{ p.title }}{% endfor %}"})
    first = build(site, shared_dir=shared)
    (site / "content/posts/b.md").write_text(post("B2", "2024-01-02", "y"))
    after = rebuild(site, shared, first)
    assert "index.html" in after.rendered and after.read("index.html") == "DCB2A"
    assert "about/index.html" not in after.rendered


def test_switching_to_development_brings_drafts_into_listings(site: Path, shared: Path) -> None:
    (site / "content/posts/draft.md").write_text("---\ntitle: Draft\ndate: 2024-01-10\ndraft: true\n---\nSoon.\n")
    first = build(site, shared_dir=shared)
    development = build(site, shared_dir=shared, previous=first, mode="development")
    assert {"blog/draft/index.html", "blog/index.html", "blog/page/2/index.html"} <= development.rendered
    assert development.tree() == build(site, shared_dir=shared, mode="development").tree()
    back = build(site, shared_dir=shared, previous=development)
    assert back.tree() == first.tree()


def test_the_record_names_every_input_an_output_used(site: Path, shared: Path) -> None:
    built = build(site, shared_dir=shared)
    post_inputs = built.result.dependencies["blog/a/index.html"]
    assert str(site / "content/posts/a.md") in post_inputs
    assert str(shared / "layouts/post.html") in post_inputs
    assert str(shared / "blog/post_page.html") in post_inputs
    assert str(shared / "blog/tag_list.html") in post_inputs
    assert str(site / "components/blog/post_page.html") in post_inputs  # a possible override
    assert str(site / "content/posts/b.md") not in post_inputs
    listing = built.result.dependencies["blog/index.html"]
    assert str(site / "components/blog/post_card.html") in listing
    assert str(shared / "blog/post_card.html") in listing  # the override extends it
    assert built.result.dependencies["robots.txt"] == frozenset({str(site / "public/robots.txt")})


def test_pages_using_backend_data_render_again_only_when_it_changes(site: Path, shared: Path) -> None:
    write_files(site, {"pages/team.html": "{% for person in data.team %}{{ person }} {% endfor %}"})
    first = build(site, shared_dir=shared, data={"team": ["Ada"]})
    same = build(site, shared_dir=shared, previous=first, data={"team": ["Ada"]})
    assert same.rendered == set()
    changed = build(site, shared_dir=shared, previous=same, data={"team": ["Ada", "Linus"]})
    assert changed.rendered == {"team/index.html"}
    assert changed.read("team/index.html") == "Ada Linus "


def test_editing_the_newest_post_of_a_tag_leaves_the_tags_later_pages_alone(site: Path, shared: Path) -> None:
    (site / "content/posts/e.md").write_text(post("E", "2024-01-05", "y"))  # tag y: e, d | b
    first = build(site, shared_dir=shared)
    (site / "content/posts/e.md").write_text(post("E", "2024-01-05", "y").replace("The body", "A new body"))
    after = rebuild(site, shared, first)
    assert "tags/y/index.html" in after.rendered and "tags/y/page/2/index.html" not in after.rendered
    # The tag's name is spelled as in its newest post: a new spelling shows on every page.
    (site / "content/posts/e.md").write_text(post("E", "2024-01-05", "Y"))
    respelled = rebuild(site, shared, after)
    assert "tags/y/page/2/index.html" in respelled.rendered
    assert "Posts tagged “Y”" in respelled.read("tags/y/page/2/index.html")


def test_one_builder_kept_across_edits_builds_what_a_fresh_one_would(site: Path, shared: Path) -> None:
    """The gateway keeps one builder per site. What it remembers between builds (parsed posts,
    rendered Markdown, the blog plan, compiled templates) must never show in what it builds."""
    original_a = (site / "content/posts/a.md").read_text()
    card = shared / "blog/post_card.html"
    publish_api_posts(site)
    api = [api_post("p", "API one", "2024-01-03T12:00:00", tags=("x",)), api_post("q", "API two", "2023-12-01")]
    edits = [
        ("a post's body", lambda: (site / "content/posts/a.md").write_text(original_a.replace("The body", "A new body"))),
        ("a post's title and tags", lambda: (site / "content/posts/c.md").write_text(post("C renamed", "2024-01-03", "x, y"))),
        ("a post's update date", lambda: (site / "content/posts/b.md").write_text(post("B", "2024-01-02", "y").replace("tags", "updated: 2024-02-01\ntags"))),
        ("a site layout", lambda: write_files(site, {
            "layouts/page.html": '{% extends "shared/layouts/page.html" %}{% block page_title %}{% include "ui/badge.html" %}{% endblock %}',
            "components/ui/badge.html": "<h1>Who</h1>",
        })),
        ("a shared component", lambda: card.write_text(card.read_text().replace("sg-post-card__title", "sg-post-card__title edited"))),
        ("a new newest post", lambda: (site / "content/posts/e.md").write_text(post("E", "2024-01-06", "X"))),
        ("a post deleted", lambda: (site / "content/posts/e.md").unlink()),
        ("a post reverted", lambda: (site / "content/posts/a.md").write_text(original_a)),
        ("a draft", lambda: (site / "content/posts/f.md").write_text(post("F", "2024-01-07", "y").replace("tags", "draft: true\ntags"))),
        ("an API post published", lambda: api.insert(0, api_post("r", "API three", "2024-01-08", tags=("Y",)))),
        ("an API post's body", lambda: api.__setitem__(1, api_post("p", "API one", "2024-01-03T12:00:00", tags=("x",), body="New."))),
        ("an API post retitled and retagged", lambda: api.__setitem__(2, api_post("q", "API 2", "2023-12-01", tags=("x", "z")))),
        ("an API post's update date", lambda: api.__setitem__(2, api_post("q", "API 2", "2023-12-01", tags=("x", "z"), updated="2024-03-01"))),
        ("an API post unpublished", lambda: api.__setitem__(0, api_post("r", "API three", "2024-01-08", status="draft"))),
        ("an API post deleted", lambda: api.pop(1)),
    ]
    builder = JinjaBuilder()
    before = build(site, shared_dir=shared, builder=builder, data={"posts": list(api)})
    for what, edit in edits:
        edit()
        for mode in ("production", "development"):
            data = {"posts": list(api)}
            after = build(site, shared_dir=shared, previous=before, mode=mode, builder=builder, data=data)
            cold = build(site, shared_dir=shared, mode=mode, data=data)
            assert after.tree() == cold.tree(), f"after {what}, in {mode}"
            assert after.result.dependencies == cold.result.dependencies, f"after {what}, in {mode}"
            before = after
    assert "F" in before.read("blog/index.html") and "API three" not in before.read("blog/index.html")
