"""Atom feed and sitemap: always well-formed, whatever the titles contain."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

from builders.jinja.content import Post
from builders.jinja.feeds import ATOM, SITEMAP, SitemapEntry, atom_feed, sitemap

A = f"{{{ATOM}}}"
S = f"{{{SITEMAP}}}"


def a_post(slug: str, title: str, day: int) -> Post:
    date = dt.datetime(2024, 3, day, tzinfo=dt.timezone.utc)
    return Post(
        source=f"/s/{slug}.md", label=f"content/posts/{slug}.md", slug=slug, title=title, date=date,
        updated=date, tags=("t&1",), draft=False, summary="<sum>", body_line=4,
    )


def test_feed_entries_are_escaped_and_parse() -> None:
    posts = [a_post("b", "Tom & <Jerry>\x07", 2), a_post("a", "First", 1)]
    xml = atom_feed(title="Site & co", base_url="https://site.example", posts=posts, html=lambda p: f"<p>{p.slug}</p>")
    feed = ET.fromstring(xml)
    assert feed.findtext(f"{A}title") == "Site & co"
    assert feed.findtext(f"{A}updated") == "2024-03-02T00:00:00Z"
    entry = feed.find(f"{A}entry")
    assert entry.findtext(f"{A}title") == "Tom & <Jerry>"
    assert entry.findtext(f"{A}id") == "https://site.example/blog/b/"
    assert entry.find(f"{A}content").get("type") == "html"
    assert entry.findtext(f"{A}content") == "<p>b</p>"
    assert entry.find(f"{A}category").get("term") == "t&1"


def test_an_empty_feed_is_still_valid_and_stable() -> None:
    first = atom_feed(title="T", base_url="https://x.example", posts=[], html=str)
    assert first == atom_feed(title="T", base_url="https://x.example", posts=[], html=str)
    assert ET.fromstring(first).findall(f"{A}entry") == []


def test_sitemap_has_absolute_locations_and_dates() -> None:
    when = dt.datetime(2024, 3, 1, 12, tzinfo=dt.timezone.utc)
    root = ET.fromstring(sitemap("https://x.example", [SitemapEntry("/"), SitemapEntry("/blog/a/", when)]))
    urls = [(u.findtext(f"{S}loc"), u.findtext(f"{S}lastmod")) for u in root.findall(f"{S}url")]
    assert urls == [("https://x.example/", None), ("https://x.example/blog/a/", "2024-03-01")]


def test_characters_xml_forbids_are_dropped_everywhere_even_from_links() -> None:
    posts = [a_post("b", "T\x01", 2)]
    base = "https://x.example/\x0bsub"
    feed = ET.fromstring(atom_feed(title="S\x02", base_url=base, posts=posts, html=lambda p: "<p>\x03</p>"))
    assert feed.find(f"{A}link").get("href") == "https://x.example/sub/feed.xml"
    assert feed.find(f"{A}entry").findtext(f"{A}content") == "<p></p>"
    root = ET.fromstring(sitemap(base, [SitemapEntry("/a\x0c&b/")]))
    assert root.findtext(f"{S}url/{S}loc") == "https://x.example/sub/a&b/"
