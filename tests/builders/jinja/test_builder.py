"""The Jinja builder as a site author sees it: pages, shared components, overrides, content,
feeds, theme and assets."""

from __future__ import annotations

import os
import re
import time
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest

from builders.base import BuildContext
from builders.errors import BuildError
from builders.jinja.builder import JinjaBuilder
from builders.workers import ProcessWorkers
from gateway.config import PACKAGED_TEMPLATES
from tests.builders.jinja_site import (
    REPO,
    SHARED,
    api_post,
    build,
    copy_tree,
    write_files,
)

ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


def post(title: str, date: str, tags: str = "[]", extra: str = "", body: str = "Some text.") -> str:
    return f"---\ntitle: {title}\ndate: {date}\ntags: {tags}\n{extra}---\n{body}\n"


@pytest.fixture
def blog(tmp_path: Path) -> Path:
    return write_files(
        tmp_path / "blog.example",
        {
            "site.toml": 'builder = "jinja"\ntitle = "Example Blog"\nposts_per_page = 2\n[theme]\nprimary = "#112233"\n',
            "pages/index.html": '{% extends "layouts/base.html" %}{% block content %}<h1>Home</h1>{% endblock %}',
            "content/posts/first.md": post("First & best", "2024-01-01", "[python, web]", body="Hello **world**.\n\n```python\nprint(1)\n```"),
            "content/posts/second.md": post("Second", "2024-01-02", "[python]"),
            "content/posts/third.md": "+++\ntitle = \"Third\"\ndate = 2024-01-03\ntags = [\"Web\"]\n+++\nThird body.\n",
            "content/posts/secret.md": post("Secret plan", "2024-01-04", "[python]", extra="draft: true\n"),
        },
    )


def test_pages_become_clean_urls_and_404_stays(tmp_path: Path) -> None:
    site = write_files(
        tmp_path / "pages.example",
        {
            "pages/index.html": "home",
            "pages/about.html": "about",
            "pages/docs/index.html": "docs",
            "pages/404.html": "missing",
            "pages/_partial.html": "never a page",
            "pages/_parts/nav.html": "never a page",
        },
    )
    built = build(site)
    pages = {name for name in built.result.files if name.endswith(".html")}
    assert pages == {"index.html", "about/index.html", "docs/index.html", "404.html"}
    assert built.read("about/index.html") == "about"


def test_posts_become_pages_with_rendered_markdown(blog: Path) -> None:
    built = build(blog)
    html = built.read("blog/first/index.html")
    assert "<h1 class=\"sg-post__title\">First &amp; best</h1>" in html
    assert "<p>Hello <strong>world</strong>.</p>" in html
    assert '<pre><code class="language-python">print(1)' in html
    assert 'href="/tags/python/"' in html and 'href="/tags/web/"' in html
    assert "<title>First &amp; best · Example Blog</title>" in html


def test_blog_index_is_paginated_newest_first(blog: Path) -> None:
    built = build(blog)
    first, second = built.read("blog/index.html"), built.read("blog/page/2/index.html")
    assert first.index("Third") < first.index("Second")
    assert "First &amp; best" not in first and "First &amp; best" in second
    assert 'rel="next" href="/blog/page/2/"' in first
    assert 'rel="prev" href="/blog/"' in second and 'rel="next"' not in second
    assert not (built.out / "blog/page/3").exists()


def test_tag_pages_group_posts_by_tag_slug(blog: Path) -> None:
    built = build(blog)
    web = built.read("tags/web/index.html")
    assert "Third" in web and "First &amp; best" in web and "Second" not in web
    tags = built.read("tags/index.html")
    assert re.search(r'href="/tags/python/"[^<]*>python</a> <span class="sg-tags__count">\(2\)', tags)


def test_drafts_are_built_only_in_development(blog: Path) -> None:
    production = build(blog)
    assert "blog/secret/index.html" not in production.result.files
    assert "Secret plan" not in production.read("blog/index.html") + production.read("feed.xml")
    development = build(blog, mode="development")
    assert "<strong>Draft</strong>" in development.read("blog/secret/index.html")
    assert "Secret plan" in development.read("blog/index.html")


def test_feed_is_valid_atom_newest_first(blog: Path) -> None:
    built = build(blog)
    feed = ET.fromstring(built.read("feed.xml"))
    assert feed.tag == f"{ATOM}feed"
    assert feed.findtext(f"{ATOM}title") == "Example Blog"
    entries = feed.findall(f"{ATOM}entry")
    assert [entry.findtext(f"{ATOM}title") for entry in entries] == ["Third", "Second", "First & best"]
    first = entries[2]
    assert first.find(f"{ATOM}link").get("href") == "https://blog.example/blog/first/"
    assert first.findtext(f"{ATOM}updated") == "2024-01-01T00:00:00Z"
    assert "<strong>world</strong>" in first.findtext(f"{ATOM}content")
    assert 'type="application/atom+xml" href="/feed.xml"' in built.read("blog/index.html")


def test_sitemap_lists_every_page_with_absolute_urls(blog: Path) -> None:
    built = build(blog, base_url="https://www.blog.example/")
    urls = ET.fromstring(built.read("sitemap.xml")).findall(f"{SITEMAP}url")
    locations = {url.findtext(f"{SITEMAP}loc"): url.findtext(f"{SITEMAP}lastmod") for url in urls}
    assert locations["https://www.blog.example/"] is None
    assert locations["https://www.blog.example/blog/second/"] == "2024-01-02"
    assert {"https://www.blog.example/blog/page/2/", "https://www.blog.example/tags/web/"} <= set(locations)
    assert not any("secret" in location for location in locations)


def test_theme_becomes_css_variables_and_a_template_object(tmp_path: Path) -> None:
    site = write_files(
        tmp_path / "theme.example",
        {
            "site.toml": '[theme]\nprimary = "#3B82F6"\ndark = "#0A0A0A"\n[theme.font]\nbody = "Inter, sans-serif"\n',
            "pages/index.html": "<b style=\"color: {{ theme.primary }}\">{{ theme.font.body }}</b>",
        },
    )
    built = build(site)
    assert built.read("theme.css") == ":root {\n  --primary: #3B82F6;\n  --dark: #0A0A0A;\n  --font-body: Inter, sans-serif;\n}\n"
    assert built.read("index.html") == '<b style="color: #3B82F6">Inter, sans-serif</b>'


def test_assets_get_content_hashed_names_that_change_with_content(tmp_path: Path) -> None:
    site = write_files(
        tmp_path / "assets.example",
        {
            "assets/app.css": "body { color: red }",
            "assets/img/logo.svg": "<svg/>",
            "public/robots.txt": "User-agent: *",
            "public/_redirects": "/old /new 301",
            "pages/index.html": "{{ asset('app.css') }} {{ asset('img/logo.svg') }}",
        },
    )
    first = build(site)
    css, logo = first.read("index.html").split()
    assert re.fullmatch(r"/assets/app\.[0-9a-f]{8}\.css", css)
    assert re.fullmatch(r"/assets/img/logo\.[0-9a-f]{8}\.svg", logo)
    assert first.read(css.lstrip("/")) == "body { color: red }"
    assert first.read("robots.txt") == "User-agent: *" and first.read("_redirects") == "/old /new 301"
    (site / "assets/app.css").write_text("body { color: blue }")
    second = build(site)
    new_css, new_logo = second.read("index.html").split()
    assert new_css != css and new_logo == logo
    assert not (second.out / css.lstrip("/")).exists()
    # In development the names stay, so an edit changes the asset and not the pages linking it.
    development = build(site, mode="development")
    assert development.read("index.html") == "/assets/app.css /assets/img/logo.svg"
    assert development.read("assets/app.css") == "body { color: blue }"


def test_a_site_override_replaces_the_shared_component_for_that_site_only(tmp_path: Path) -> None:
    card = "blog/post_card.html"
    own = '{% macro post_card(post, class_="") %}<div class="mine">{{ post.title }}</div>{% endmacro %}'
    posts = {"content/posts/a.md": post("A post", "2024-01-01")}
    custom = write_files(tmp_path / "custom.example", {f"components/{card}": own, **posts})
    plain = write_files(tmp_path / "plain.example", posts)
    assert '<div class="mine">A post</div>' in build(custom).read("blog/index.html")
    plain_html = build(plain).read("blog/index.html")
    assert "mine" not in plain_html and 'class="sg-post-card"' in plain_html


def test_a_site_template_extends_the_shared_original_changing_one_block(tmp_path: Path) -> None:
    site = write_files(
        tmp_path / "extend.example",
        {
            "components/blog/post_card.html": '{% extends "shared/blog/post_card.html" %}'
            "{% block title %}<h3 class=\"own\">{{ post.title|upper }}</h3>{% endblock %}",
            "content/posts/a.md": post("A post", "2024-01-01", body="Body text."),
        },
    )
    html = build(site).read("blog/index.html")
    assert '<h3 class="own">A POST</h3>' in html
    assert 'class="sg-post-card"' in html and "Body text." in html  # the rest is the shared card


def test_components_take_class_and_html_attributes(tmp_path: Path) -> None:
    site = write_files(
        tmp_path / "ui.example",
        {
            "pages/index.html": '{% from "ui/button.html" import button %}'
            '{{ button("Go", href="/go", class_="big", aria_label="Go now", data_track=true, hidden=false) }}',
        },
    )
    html = build(site).read("index.html")
    assert html == '<a href="/go" class="sg-button sg-button--primary big" aria-label="Go now" data-track>Go</a>'


def test_data_comes_from_the_backend_and_from_data_files(tmp_path: Path) -> None:
    site = write_files(
        tmp_path / "data.example",
        {
            "site.toml": '[data]\nmotto = "/api/motto"\n',
            "data/team.json": '[{"name": "Ada"}, {"name": "Linus"}]',
            "data/bad.yaml": "a: [",
            "pages/index.html": "{{ data.motto.text }}: {% for person in data.team %}{{ person.name }} {% endfor %}",
            "pages/bad.html": "\n{{ data.bad }}",
            "pages/missing.html": "{{ data.nothing }}",
        },
    )
    with pytest.raises(BuildError) as caught:
        build(site, data={"motto": {"text": "Ship it"}})
    assert caught.value.file == "data/bad.yaml"
    (site / "data/bad.yaml").unlink()
    (site / "pages/bad.html").unlink()
    with pytest.raises(BuildError, match="data has no attribute 'nothing'") as caught:
        build(site, data={"motto": {"text": "Ship it"}})
    assert caught.value.file == "pages/missing.html"
    (site / "pages/missing.html").unlink()
    assert build(site, data={"motto": {"text": "Ship it"}}).read("index.html") == "Ship it: Ada Linus "


def test_the_example_sites_override_per_site(tmp_path: Path) -> None:
    # codersinflow.com publishes its API posts too; this is what the gateway would fetch for it.
    api_posts = {"posts": [api_post("from-the-api", "Written through the API", "2030-01-01", body="Via *the API*.")]}
    coders = build(copy_tree(REPO / "sites" / "codersinflow.com", tmp_path / "codersinflow.com"), data=api_posts, tailwind=False)
    dark = build(copy_tree(REPO / "sites" / "darkflows.com", tmp_path / "darkflows.com"), tailwind=False)
    coders_post = coders.read("blog/welcome/index.html")
    dark_post = dark.read("blog/dark-by-default/index.html")
    assert 'class="sg-post"' in coders_post and "df-post" not in coders_post
    assert "df-post" in dark_post and 'class="sg-post"' not in dark_post
    assert "bg-gradient-to-r" in coders.read("index.html")  # its hero extends the shared one
    dark_home = dark.read("index.html")
    assert "bg-gradient-to-r" not in dark_home
    # darkflows' own hero: a large headline and its call to action as a solid red button.
    assert re.search(r'<h1 class="[^"]*text-5xl[^"]*">See every flow\.', dark_home)
    assert re.search(r'<a href="/blog/" class="sg-button sg-button--primary [^"]*bg-blood-600[^"]*">Read the log</a>', dark_home)
    assert "--primary: #3B82F6;" in coders.read("theme.css") and "--dark: #0A0A0A;" in coders.read("theme.css")
    assert "--primary: #DC2626;" in dark.read("theme.css") and "--dark: #000000;" in dark.read("theme.css")
    assert "Our roadmap" not in coders.read("blog/index.html")  # a draft
    assert "<em>the API</em>" in coders.read("blog/from-the-api/index.html")
    assert "Written through the API" in coders.read("blog/index.html") and "Welcome" in coders.read("blog/page/2/index.html")


@pytest.mark.parametrize("name", ["default", "blog"])
def test_the_templates_are_working_sites(tmp_path: Path, name: str) -> None:
    built = build(copy_tree(PACKAGED_TEMPLATES / name, tmp_path / f"{name}.example"))
    assert "<h1 class=\"sg-hero__title\">" in built.read("index.html")
    assert "404.html" in built.result.files


@pytest.mark.parametrize(
    ("files", "file", "line", "words"),
    [
        ({"pages/index.html": "ok\nok\n{{ nope }}\n"}, "pages/index.html", 3, "'nope' is undefined"),
        ({"pages/index.html": 'a\n{% include "ui/missing.html" %}'}, "pages/index.html", 2, "ui/missing.html"),
        (
            {"pages/index.html": '{% include "ui/bad.html" %}', "components/ui/bad.html": "x\n\n\n{% if %}"},
            "components/ui/bad.html", 4, "syntax",
        ),
        (
            {"pages/index.html": '{% from "ui/nav.html" import nav %}\n{{ nav([{"label": "x"}]) }}'},
            "shared/ui/nav.html", 6, "has no attribute 'href'",
        ),
        ({"pages/index.html": "\n{{ asset('nope.css') }}"}, "pages/index.html", 2, "nope.css"),
        ({"pages/index.html": '{% extends "layouts/loop.html" %}', "layouts/loop.html": '{% extends "layouts/loop.html" %}'},
         "layouts/loop.html", 1, "loop"),
    ],
)
def test_template_errors_name_the_file_and_line(tmp_path: Path, files: dict[str, str], file: str, line: int, words: str) -> None:
    site = write_files(tmp_path / "broken.example", files)
    with pytest.raises(BuildError) as caught:
        build(site)
    assert (caught.value.file, caught.value.line) == (file, line)
    assert words in caught.value.message


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("---\ntitle: x\ndate: [unclosed\n---\n", 3, "bad YAML"),
        ("---\ntitle: x\n---\nbody", 1, "date"),
        ("---\ndate: 2024-01-01\ntags: 5\ntitle: x\n---\n", 3, "tags"),
        ("+++\ntitle = \"x\"\ndate = \n+++\n", 3, "bad TOML"),
        ("no front matter", 1, "front matter"),
        ("---\ntitle: x\ndate: 2024-13-45\n---\n", 2, "month must be in 1..12"),
    ],
)
def test_bad_front_matter_names_the_post_and_line(tmp_path: Path, text: str, line: int, words: str) -> None:
    site = write_files(tmp_path / "posts.example", {"content/posts/bad.md": text})
    with pytest.raises(BuildError) as caught:
        build(site)
    assert (caught.value.file, caught.value.line) == ("content/posts/bad.md", line)
    assert words in caught.value.message


def test_two_sources_for_one_url_fail_the_build(tmp_path: Path) -> None:
    site = write_files(
        tmp_path / "clash.example",
        {"content/posts/a.md": post("A", "2024-01-01"), "pages/blog/index.html": "mine"},
    )
    with pytest.raises(BuildError, match="both make /blog/index.html") as caught:
        build(site)
    assert caught.value.file == "pages/blog/index.html"


def test_bad_settings_fail_with_site_toml_named(tmp_path: Path) -> None:
    site = write_files(tmp_path / "settings.example", {"pages/index.html": "x"})
    for options in (
        {"theme": {"primary": "red; } body { display: none"}},
        {"posts_per_page": 0},
        {"tailwind": "yes"},
        {"base_url": "ftp://x"},
    ):
        with pytest.raises(BuildError) as caught:
            build(site, **options)
        assert caught.value.file == "site.toml"


SECRET = "root:x:0:0:the server's own file"


@pytest.mark.parametrize(
    "link",
    [
        "pages/evil.html",
        "layouts/base.html",
        "components/ui/card.html",
        "content/posts/leak.md",
        "data/menu.json",
        "public/passwd.txt",
        "assets/passwd.css",
        "tailwind.config.js",
    ],
)
def test_a_source_linked_out_of_the_site_fails_the_build_naming_the_link(tmp_path: Path, link: str) -> None:
    (tmp_path / "secret.txt").write_text(SECRET)
    site = write_files(tmp_path / "links.example", {"pages/index.html": "home"})
    (site / link).parent.mkdir(parents=True, exist_ok=True)
    os.symlink(tmp_path / "secret.txt", site / link)
    with pytest.raises(BuildError) as caught:
        build(site)
    assert caught.value.file == link and "points outside the site" in caught.value.message


def test_a_folder_linked_out_of_the_site_or_a_link_to_nothing_fails_the_build(tmp_path: Path) -> None:
    write_files(tmp_path / "elsewhere", {"card.html": SECRET})
    site = write_files(tmp_path / "links.example", {"pages/index.html": "home"})
    (site / "components").mkdir()
    os.symlink(tmp_path / "elsewhere", site / "components" / "cards")
    with pytest.raises(BuildError, match="points outside the site") as caught:
        build(site)
    assert caught.value.file == "components/cards"
    os.unlink(site / "components" / "cards")
    os.symlink(tmp_path / "nowhere.html", site / "pages" / "gone.html")
    with pytest.raises(BuildError, match="does not exist") as caught:
        build(site)
    assert caught.value.file == "pages/gone.html"


def test_a_render_refuses_a_template_linked_out_even_without_the_inputs_walk(tmp_path: Path) -> None:
    """A builder used on its own walks no template folders: the template loader checks too."""
    (tmp_path / "secret.txt").write_text(SECRET)
    site = write_files(tmp_path / "links.example", {"pages/index.html": '{% include "ui/evil.html" %}'})
    (site / "components/ui").mkdir(parents=True)
    os.symlink(tmp_path / "secret.txt", site / "components/ui/evil.html")
    out = tmp_path / "out"
    out.mkdir()
    ctx = BuildContext(site_name=site.name, site_dir=site, shared_dir=SHARED, out_dir=out)
    with pytest.raises(BuildError, match="points outside the site") as caught:
        JinjaBuilder().build(ctx)
    assert caught.value.file == "components/ui/evil.html"
    assert not any(SECRET in path.read_text() for path in out.rglob("*") if path.is_file())


def test_links_inside_the_site_and_into_the_shared_library_are_followed(tmp_path: Path) -> None:
    site = write_files(
        tmp_path / "links.example",
        {
            "pages/index.html": '{% from "ui/mine.html" import button %}{{ button("Go", href="/go") }}'
            '{% include "ui/note.html" %}',
            "notes/note.html": "<p>note</p>",
            "notes/robots.txt": "User-agent: *",
        },
    )
    (site / "components/ui").mkdir(parents=True)
    (site / "public").mkdir()
    os.symlink(SHARED / "ui/button.html", site / "components/ui/mine.html")
    os.symlink("../../notes/note.html", site / "components/ui/note.html")
    os.symlink("../notes/robots.txt", site / "public/robots.txt")
    built = build(site)
    assert built.read("index.html").startswith('<a href="/go" class="sg-button') and "<p>note</p>" in built.read("index.html")
    assert built.read("robots.txt") == "User-agent: *" and not (built.out / "robots.txt").is_symlink()


def test_many_pages_render_in_worker_processes_like_inline(tmp_path: Path) -> None:
    site = write_files(
        tmp_path / "many.example",
        {f"content/posts/p{n:03}.md": post(f"Post {n}", f"2024-01-{n % 28 + 1:02}", "[bulk]") for n in range(40)},
    )
    parallel = build(site, builder=JinjaBuilder(parallel_threshold=10))
    assert "processes" in parallel.result.log
    inline = build(site, builder=JinjaBuilder(parallel_threshold=10_000))
    assert "processes" not in inline.result.log
    assert parallel.tree() == inline.tree()
    assert parallel.result.dependencies == inline.result.dependencies


def test_worker_processes_kept_between_builds_render_each_build_from_its_own_sources(tmp_path: Path) -> None:
    site = write_files(
        tmp_path / "kept.example",
        {f"content/posts/p{n:03}.md": post(f"Post {n}", f"2024-02-{n % 28 + 1:02}", "[kept]") for n in range(30)},
    )
    workers = ProcessWorkers(count=2)
    try:
        first = build(site, builder=JinjaBuilder(parallel_threshold=10), workers=workers)
        write_files(
            site,
            {
                "content/posts/p027.md": post("Renamed post", "2024-02-28", "[kept]", body="New words."),
                "layouts/post.html": '{% extends "shared/layouts/post.html" %}{% block post %}<p>own layout</p>{{ super() }}{% endblock %}',
            },
        )
        second = build(site, builder=JinjaBuilder(parallel_threshold=10), workers=workers)
        assert workers.started
    finally:
        workers.close()
    assert "in 2 processes" in first.result.log and "in 2 processes" in second.result.log
    inline = build(site, builder=JinjaBuilder(parallel_threshold=10_000))
    assert second.tree() == inline.tree()
    assert "Renamed post" in second.read("blog/p027/index.html")
    assert "own layout" in second.read("blog/p001/index.html")
    assert "New words." in second.read("feed.xml")


# The sandbox refuses one range over 100,000; two nested ones still loop for hours.
RUNAWAY = (
    '{% extends "shared/layouts/post.html" %}\n'
    "{% block post %}{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}{% endblock %}"
)


def test_a_runaway_template_fails_the_build_at_its_time_limit_naming_the_line(tmp_path: Path) -> None:
    site = write_files(
        tmp_path / "loop.example",
        {"layouts/post.html": RUNAWAY, "content/posts/one.md": post("One", "2024-01-01")},
    )
    builder = JinjaBuilder()
    started = time.monotonic()
    with pytest.raises(BuildError, match="longer than 0.5 s") as caught:
        build(site, builder=builder, timeout=0.5)
    assert time.monotonic() - started < 10
    assert (caught.value.file, caught.value.line) == ("layouts/post.html", 2)
    (site / "layouts/post.html").unlink()
    assert "Some text." in build(site, builder=builder, timeout=0.5).read("blog/one/index.html")


def test_a_runaway_template_in_worker_processes_ends_them(tmp_path: Path) -> None:
    site = write_files(
        tmp_path / "loops.example",
        {"layouts/post.html": RUNAWAY, **{f"content/posts/p{n:02}.md": post(f"P{n}", "2024-01-01") for n in range(12)}},
    )
    workers = ProcessWorkers(count=2)
    try:
        with pytest.raises(BuildError, match="longer than 1 s"):
            build(site, builder=JinjaBuilder(parallel_threshold=5), workers=workers, timeout=1)
        assert not workers.started
    finally:
        workers.close()


def test_an_error_in_a_worker_process_names_the_file_and_line(tmp_path: Path) -> None:
    site = write_files(
        tmp_path / "many.example",
        {
            "layouts/post.html": '{% extends "shared/layouts/post.html" %}\n{% block post %}{{ post.subtitle }}{% endblock %}',
            **{f"content/posts/p{n:03}.md": post(f"Post {n}", "2024-01-01", extra="subtitle: s\n" if n != 7 else "") for n in range(20)},
        },
    )
    with pytest.raises(BuildError) as caught:
        build(site, builder=JinjaBuilder(parallel_threshold=5))
    assert (caught.value.file, caught.value.line) == ("layouts/post.html", 2)


def test_a_stopping_gateway_ends_a_build(tmp_path: Path) -> None:
    site = write_files(tmp_path / "stop.example", {f"pages/p{n}.html": "x" for n in range(3)})
    ctx = build(site).ctx
    ctx.stopping.set()
    out = tmp_path / "stopped"
    out.mkdir()
    with pytest.raises(BuildError, match="stopped"):
        JinjaBuilder().build(replace(ctx, out_dir=out, previous=None))


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("{{ cycler.__init__.__globals__ }}", "unsafe"),
        ("{{ site.__class__.__mro__ }}", "unsafe"),
        ("{{ ''.__class__.__subclasses__() }}", "unsafe"),
        ("{% for i in range(10**12) %}{% endfor %}", "Range too big"),
    ],
)
def test_templates_are_sandboxed(tmp_path: Path, expression: str, message: str) -> None:
    site = write_files(tmp_path / "nosy.example", {"pages/index.html": f"<p>\n{expression}</p>"})
    with pytest.raises(BuildError, match=message) as caught:
        build(site)
    assert (caught.value.file, caught.value.line) == ("pages/index.html", 2)


def test_compiled_templates_are_cached_apart_from_those_of_before_the_sandbox(tmp_path: Path) -> None:
    site = write_files(tmp_path / "cached.example", {"pages/index.html": "<p>{{ site.title }}</p>"})
    build(site)
    cached = [path.name for path in (site / ".sitegate" / "templates").iterdir()]
    assert cached and all(name.startswith("__jinja2_sandboxed_") for name in cached)
