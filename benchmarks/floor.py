"""The floor: the least work a blog build can do, in one process. Each post's front matter is
read, its Markdown rendered with markdown-it-py (the library sitegate uses, configured alike),
put into one plain Jinja2 template and written out; nothing else (no listings, no feeds, no
dependency record, no compression).

Run by the benchmark in the peers' virtualenv, on its own:
``python floor.py POSTS_DIR OUT_DIR [--highlight]`` (``--highlight``: Pygments on fenced code).
It imports nothing from sitegate, so it measures only the libraries.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import jinja2
import yaml
from markdown_it import MarkdownIt
from markupsafe import Markup

PAGE = jinja2.Template(
    """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{{ title }}</title></head>
<body>
<article>
<h1>{{ title }}</h1>
<p><time datetime="{{ date }}">{{ date }}</time> · {% for tag in tags %}<a href="/tags/{{ tag }}/">{{ tag }}</a> {% endfor %}</p>
{{ content }}
</article>
</body>
</html>
""",
    autoescape=True,
)
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def new_markdown(highlight: bool) -> MarkdownIt:
    options: dict[str, Any] = {}
    if highlight:
        from pygments import highlight as pygmentize
        from pygments.formatters import HtmlFormatter
        from pygments.lexers import get_lexer_by_name
        from pygments.util import ClassNotFound

        formatter = HtmlFormatter(nowrap=True)

        def highlighter(code: str, language: str, _attrs: Any) -> str:
            try:
                lexer = get_lexer_by_name(language)
            except ClassNotFound:
                return ""
            return pygmentize(code, lexer, formatter)

        options["highlight"] = highlighter
    return MarkdownIt("commonmark", options).enable(["table", "strikethrough"])


def render_all(posts_dir: Path, out_dir: Path, highlight: bool) -> int:
    markdown = new_markdown(highlight)
    count = 0
    for source in sorted(posts_dir.glob("*.md")):
        _, front, body = source.read_text(encoding="utf-8").split("---\n", 2)
        meta = yaml.load(front, Loader=LOADER)
        html = PAGE.render(
            title=meta["title"],
            date=meta["date"],
            tags=meta.get("tags", []),
            content=Markup(markdown.render(body)),
        )
        target = out_dir / source.stem / "index.html"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(html, encoding="utf-8")
        count += 1
    return count


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("posts_dir", type=Path)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--highlight", action="store_true")
    args = parser.parse_args(argv)
    count = render_all(args.posts_dir, args.out_dir, args.highlight)
    print(f"{count} posts rendered")
    return 0 if count else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
