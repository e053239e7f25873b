"""The soak's sites and its check for half-published builds.

Every file a rebuilt soak site serves carries the generation of the sources it was built from. The
soak writes generation N+1, asks for a rebuild and waits until N+1 is served before writing
again, so each build reads one generation. A response is then from one complete build only if
its page carries one generation throughout, and from a build in service only if that
generation is not older than one already served by a response that ended before it began
(nor newer than the sources written). A build published half-way (some pages new, some old)
breaks the second rule as soon as an old page is fetched after a new one.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from benchmarks.projects import BLOG_TEMPLATE

STATIC_SITE = "static.test"
BLOG_SITE = "blog.test"
ECHO_SITE = "echo.test"
STATIC_PAGES = ("/", "/a.html", "/b.html")
BLOG_PAGES = ("/", "/blog/", "/blog/post-3/", "/tags/")
STYLESHEET = "/style.css"
DATA_FILE = "/data.txt"
_DATA_LINES = 400
_POSTS = 12
_MARKER = re.compile(rb"soak-generation[^0-9]{0,16}(\d+)")

_BLOG_BASE = """\
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="soak-generation" content="{% include "layouts/generation.html" %}">
<title>{% block title %}{{ site.title }}{% endblock %}</title>
{% block styles %}{% endblock %}{% block head %}{% endblock %}
</head>
<body>{% block nav %}{% endblock %}<main>{% block content %}{% endblock %}</main>{% block footer %}{% endblock %}
<!-- soak-generation {% include "layouts/generation.html" %} -->
</body>
</html>
"""


def write_sites(sites_dir: Path, echo_backend: str) -> None:
    """A static site and a Jinja blog (the blog template, our layout, a dozen posts), at generation 0,
    and a site whose ``/api`` is ``echo_backend`` (``benchmarks.soak_websocket``), never rebuilt."""
    static = sites_dir / STATIC_SITE
    static.mkdir(parents=True)
    (static / "site.toml").write_text('builder = "static"\n', encoding="utf-8")
    blog = sites_dir / BLOG_SITE
    shutil.copytree(BLOG_TEMPLATE, blog, ignore=shutil.ignore_patterns(".sitegate", "node_modules"))
    (blog / "layouts" / "base.html").write_text(_BLOG_BASE, encoding="utf-8")
    for number in range(_POSTS):
        post = f"---\ntitle: Post {number}\ndate: 2024-02-{number + 1:02d}\ntags: [soak]\n---\nBody of post {number}.\n"
        (blog / "content" / "posts" / f"post-{number}.md").write_text(post, encoding="utf-8")
    write_generation(sites_dir, 0)
    echo = sites_dir / ECHO_SITE
    (echo / "public").mkdir(parents=True)
    (echo / "public" / "index.html").write_text("<!doctype html>\n<title>echo</title>\n", encoding="utf-8")
    (echo / "site.toml").write_text(f'builder = "static"\n[api]\nbackend = "{echo_backend}"\n', encoding="utf-8")


def write_generation(sites_dir: Path, generation: int) -> None:
    """The files that change with each generation, each replaced whole: a build reads a file
    as it was or as it is, and a published build that linked the old file keeps it."""
    public = sites_dir / STATIC_SITE / "public"
    for path in STATIC_PAGES:
        name = "index.html" if path == "/" else path.lstrip("/")
        _replace(public / name, static_page(path, generation))
    _replace(public / STYLESHEET.lstrip("/"), f"/* soak-generation {generation} */\nbody {{ color: #123; }}\n".encode())
    _replace(public / DATA_FILE.lstrip("/"), data_text(generation))
    _replace(sites_dir / BLOG_SITE / "layouts" / "generation.html", str(generation).encode())


def static_page(path: str, generation: int) -> bytes:
    filler = "<p>Some text of the page, long enough to be worth compressing.</p>\n" * 40
    return (
        f'<!doctype html>\n<html><head><meta name="soak-generation" content="{generation}">'
        f"<title>{path}</title></head>\n<body>\n{filler}<!-- soak-generation {generation} -->\n</body>\n</html>\n"
    ).encode()


def data_text(generation: int) -> bytes:
    """A text file for Range requests in which every byte range says its generation."""
    line = f"soak-generation {generation:08d} " + "." * 38 + "\n"
    return line.encode() * _DATA_LINES


def page_generation(body: bytes) -> int | None:
    """The generation of a complete page, or None when it is cut short or mixes generations."""
    found = {int(number) for number in _MARKER.findall(body)}
    complete = body.rstrip().endswith(b"</html>") and len(_MARKER.findall(body)) >= 2
    return found.pop() if complete and len(found) == 1 else None


def stylesheet_generation(body: bytes) -> int | None:
    found = _MARKER.findall(body)
    return int(found[0]) if len(found) == 1 else None


def range_generation(body: bytes, start: int, candidates: range) -> int | None:
    """The generation whose data file has exactly ``body`` at ``start``, if any."""
    for generation in candidates:
        if data_text(generation)[start : start + len(body)] == body:
            return generation
    return None


class Ledger:
    """The generations written and served per site, and what a response may carry."""

    def __init__(self, sites: tuple[str, ...]) -> None:
        self.written = dict.fromkeys(sites, 0)
        self.served = dict.fromkeys(sites, 0)

    def floor(self, site: str) -> int:
        """Taken when a request starts: the newest generation a finished response carried."""
        return self.served[site]

    def saw(self, site: str, generation: int, floor: int) -> str | None:
        """Records a finished response of ``generation``; a problem if no build in service could
        have given it."""
        if generation < floor:
            return f"{site}: generation {generation} served after {floor} had been"
        if generation > self.written[site]:
            return f"{site}: generation {generation} served before it was written"
        self.served[site] = max(self.served[site], generation)
        return None


def _replace(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.new")
    staging.write_bytes(content)
    os.replace(staging, path)
