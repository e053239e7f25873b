"""``/feed.xml`` (Atom) and ``/sitemap.xml``, built with ElementTree so they are always
well-formed XML whatever a title contains."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from builders.content import Post

ATOM = "http://www.w3.org/2005/Atom"
SITEMAP = "http://www.sitemaps.org/schemas/sitemap/0.9"
# Characters XML 1.0 forbids even when escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# An empty feed still needs an <updated>; a fixed one keeps equal inputs giving equal outputs.
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


@dataclass(frozen=True)
class SitemapEntry:
    path: str
    lastmod: dt.datetime | None = None


def atom_feed(
    *,
    title: str,
    base_url: str,
    posts: Sequence[Post],
    html: Callable[[Post], str],
) -> bytes:
    """The feed of ``posts`` (newest first)."""
    # The namespace is set as a plain attribute: ElementTree cannot combine a default
    # namespace with unprefixed attributes.
    feed = ET.Element("feed", xmlns=ATOM)
    _text(feed, "title", title)
    _text(feed, "id", base_url + "/")
    updated = max((post.updated for post in posts), default=_EPOCH)
    _text(feed, "updated", _stamp(updated))
    ET.SubElement(feed, "link", href=base_url + "/feed.xml", rel="self", type="application/atom+xml")
    ET.SubElement(feed, "link", href=base_url + "/", rel="alternate", type="text/html")
    _text(ET.SubElement(feed, "author"), "name", title)
    for post in posts:
        entry = ET.SubElement(feed, "entry")
        url = base_url + post.url
        _text(entry, "title", post.title)
        _text(entry, "id", url)
        ET.SubElement(entry, "link", href=url, rel="alternate", type="text/html")
        _text(entry, "published", _stamp(post.date))
        _text(entry, "updated", _stamp(post.updated))
        for tag in post.tags:
            ET.SubElement(entry, "category", term=_clean(tag))
        if post.summary:
            _text(entry, "summary", post.summary)
        _text(entry, "content", html(post)).set("type", "html")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True) + b"\n"


def sitemap(base_url: str, entries: Sequence[SitemapEntry]) -> bytes:
    urlset = ET.Element("urlset", xmlns=SITEMAP)
    for entry in entries:
        url = ET.SubElement(urlset, "url")
        ET.SubElement(url, "loc").text = _clean(base_url + entry.path)
        if entry.lastmod is not None:
            ET.SubElement(url, "lastmod").text = entry.lastmod.date().isoformat()
    return ET.tostring(urlset, encoding="utf-8", xml_declaration=True) + b"\n"


def _text(parent: ET.Element, tag: str, text: str) -> ET.Element:
    element = ET.SubElement(parent, tag)
    element.text = _clean(text)
    return element


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


def _clean(text: str) -> str:
    return _NOT_XML.sub("", text)
