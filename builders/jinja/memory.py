"""What a ``JinjaBuilder`` kept alive across builds remembers of one site, so an edit costs what
changed rather than the size of the site. Each part is keyed by what it was made from, so a
build using it writes exactly what a cold build would."""

from __future__ import annotations

import threading
from collections.abc import Hashable
from pathlib import Path

from cachetools import LRUCache
from markupsafe import Markup

from builders.jinja.env import TemplateMemory
from builders.jinja.plan import BlogPlanner
from builders.jinja.posts import PostStore
from builders.jinja.tailwind_server import TailwindServer

# Rendered Markdown kept per site: enough for a feed and the pages an edit renders in-process.
POST_HTML_KEPT = 256


class SiteMemory:
    """``lock`` lets one build of the site at a time use the rest."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.posts = PostStore()
        self.blog = BlogPlanner()
        self.templates = TemplateMemory()
        self.post_html: LRUCache[tuple[str, str], Markup] = LRUCache(maxsize=POST_HTML_KEPT)
        # The last input list's path objects: making a thousand of them costs more than the walk.
        self.input_paths: dict[str, Path] = {}
        # The last sitemap, by every page's URL and each post's date.
        self.sitemap: tuple[Hashable, bytes] | None = None
        # In development: the site's Tailwind, kept loaded between builds (its Node process).
        self.tailwind = TailwindServer()
