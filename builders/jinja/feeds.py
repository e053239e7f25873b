"""``/feed.xml`` (Atom) and ``/sitemap.xml``, written as escaped text: a sitemap of thousands
of URLs is made again on every post edit, and an element tree of it costs more than the rest of
the edit. Every text and attribute passes through one escape, so whatever a title contains the
result is well-formed XML."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

from builders.jinja.content import Post

ATOM = "http://www.w3.org/2005/Atom"
SITEMAP = "http://www.sitemaps.org/schemas/sitemap/0.9"
_DECLARATION = "<?xml version='1.0' encoding='utf-8'?>\n"
# Characters XML 1.0 forbids even when escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# Inside an attribute a line break or tab would be normalised to a space by the reader.
_ATTRIBUTE_ENTITIES = {'"': "&quot;", "\r": "&#13;", "\n": "&#10;", "\t": "&#09;"}
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
    updated = max((post.updated for post in posts), default=_EPOCH)
    parts = [
        _DECLARATION,
        f'<feed xmlns="{ATOM}">',
        _element("title", title),
        _element("id", base_url + "/"),
        _element("updated", _stamp(updated)),
        _empty("link", href=base_url + "/feed.xml", rel="self", type="application/atom+xml"),
        _empty("link", href=base_url + "/", rel="alternate", type="text/html"),
        "<author>", _element("name", title), "</author>",
    ]
    for post in posts:
        url = base_url + post.url
        parts += [
            "<entry>",
            _element("title", post.title),
            _element("id", url),
            _empty("link", href=url, rel="alternate", type="text/html"),
            _element("published", _stamp(post.date)),
            _element("updated", _stamp(post.updated)),
            *(_empty("category", term=tag) for tag in post.tags),
            _element("summary", post.summary) if post.summary else "",
            _element("content", html(post), type="html"),
            "</entry>",
        ]
    parts.append("</feed>\n")
    return "".join(parts).encode("utf-8")


def sitemap(base_url: str, entries: Sequence[SitemapEntry]) -> bytes:
    parts = [_DECLARATION, f'<urlset xmlns="{SITEMAP}">']
    for entry in entries:
        lastmod = "" if entry.lastmod is None else f"<lastmod>{entry.lastmod.date().isoformat()}</lastmod>"
        parts.append(f"<url>{_element('loc', base_url + entry.path)}{lastmod}</url>")
    parts.append("</urlset>\n")
    return "".join(parts).encode("utf-8")


def _element(tag: str, text: str, **attributes: str) -> str:
    opening = tag + _attributes(attributes)
    text = _clean(text)
    return f"<{opening}>{escape(text)}</{tag}>" if text else f"<{opening} />"


def _empty(tag: str, **attributes: str) -> str:
    return f"<{tag}{_attributes(attributes)} />"


def _attributes(attributes: dict[str, str]) -> str:
    return "".join(f' {name}="{escape(_clean(value), _ATTRIBUTE_ENTITIES)}"' for name, value in attributes.items())


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


def _clean(text: str) -> str:
    return _NOT_XML.sub("", text)
