"""HTML of a post written through the blog API, cut down to what a blog post needs.

Such a post is written by whoever holds an account on the backend, and its Markdown may carry
raw HTML, which Markdown passes through: published as is, a post could run script on the site's
pages under the site's origin. Ammonia (``nh3``) parses the HTML as a browser would and keeps only
the tags, attributes and URL schemes listed here; everything else is dropped, and the text of
``<script>`` and ``<style>`` with it.
"""

from __future__ import annotations

import re

import nh3

_TAGS = {
    *(f"h{level}" for level in range(1, 7)),
    "p", "br", "hr", "blockquote", "ul", "ol", "li",
    "a", "img", "figure", "figcaption",
    "pre", "code", "em", "strong", "del", "s", "sup", "sub",
    "table", "thead", "tbody", "tr", "th", "td",
}
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    # Markdown's "3. item" starts a list at 3.
    "ol": {"start"},
    "pre": {"class"},
    "code": {"class"},
    "th": {"align", "colspan", "rowspan"},
    "td": {"align", "colspan", "rowspan"},
}
# Markdown aligns a table column with a style attribute; only these exact values are kept, so no
# other CSS (an overlay covering the page, say) gets through.
_ALIGNMENTS = {f"text-align:{side}" for side in ("left", "center", "right")}
_TAG_ATTRIBUTE_VALUES = {"th": {"style": _ALIGNMENTS}, "td": {"style": _ALIGNMENTS}}
# Relative URLs are kept as well: a post links to the site's own pages and images.
_URL_SCHEMES = {"http", "https", "mailto"}
# A fenced block's language (```python gives class="language-python"), for a highlighter; any other
# class could borrow the site's own styles.
_LANGUAGE_CLASS = re.compile(r"language-[A-Za-z0-9_+#.-]+")


def sanitize_html(html: str) -> str:
    """``html`` with only what a blog post needs; links get ``rel="noopener noreferrer"``."""
    return nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        tag_attribute_values=_TAG_ATTRIBUTE_VALUES,
        attribute_filter=_keep_language_class,
        url_schemes=_URL_SCHEMES,
    )


def _keep_language_class(tag: str, attribute: str, value: str) -> str | None:
    if attribute != "class":
        return value
    return " ".join(name for name in value.split() if _LANGUAGE_CLASS.fullmatch(name)) or None
