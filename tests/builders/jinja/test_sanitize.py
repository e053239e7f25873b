"""The HTML of API posts keeps what a blog post needs and loses anything that could run script
or restyle the page."""

from __future__ import annotations

from builders.jinja.content import new_markdown
from builders.jinja.sanitize import sanitize_html


def clean_markdown(text: str) -> str:
    return sanitize_html(new_markdown().render(text))


def test_what_a_blog_post_needs_is_kept() -> None:
    html = clean_markdown(
        "# Title\n\n## Part\n\nA *word*, a **word**, ~~gone~~, [a link](https://example.com \"Example\"), "
        "[a page](/about/), [mail](mailto:ada@example.com) and ![a cat](/cat.png \"Cat\").\n\n"
        "3. three\n4. four\n\n- one\n- two\n\n> Quoted.\n\n---\n\n"
        "```python\nprint('hi')\n```\n\n"
        "| left | right |\n|:--|--:|\n| 1 | 2 |\n\n"
        '<figure><img src="https://cdn.example.com/a.png" alt="A" width="640" height="480">'
        "<figcaption>A figure</figcaption></figure>\n\n"
        "x<sup>2</sup> H<sub>2</sub>O <del>old</del> <em>e</em><br>\n"
    )
    for kept in [
        "<h1>Title</h1>", "<h2>Part</h2>", "<em>word</em>", "<strong>word</strong>", "<s>gone</s>",
        '<a href="https://example.com" title="Example" rel="noopener noreferrer">a link</a>',
        '<a href="/about/" rel="noopener noreferrer">', '<a href="mailto:ada@example.com"',
        '<img src="/cat.png" alt="a cat" title="Cat">', '<ol start="3">', "<li>three</li>", "<ul>",
        "<blockquote>", "<hr>", '<pre><code class="language-python">print(\'hi\')',
        "<table>", "<thead>", "<tbody>", '<th style="text-align:left">left</th>', '<td style="text-align:right">2</td>',
        '<figure><img src="https://cdn.example.com/a.png" alt="A" width="640" height="480">',
        "<figcaption>A figure</figcaption>", "<sup>2</sup>", "<sub>2</sub>", "<del>old</del>", "<br>",
    ]:
        assert kept in html, kept


def test_script_handlers_javascript_urls_frames_forms_and_styles_are_dropped() -> None:
    html = clean_markdown(
        "Hello <img src=x onerror=alert(1)> there.\n\n<script>alert(2)</script>\n\n"
        '<a href="javascript:alert(3)">click</a> <a href="JaVaScRiPt:alert(4)">caps</a>\n\n'
        '<iframe src="https://evil.example/"></iframe>\n\n'
        '<form action="https://evil.example/"><input name="password"><button>Go</button></form>\n\n'
        '<p style="position:fixed;inset:0" class="fixed inset-0">Covered</p>\n\n'
        '<table><tr><td style="text-align:left;position:fixed" onclick="alert(5)">cell</td></tr></table>\n\n'
        '<pre class="language-js fixed"><code class="bg-red">x</code></pre>\n\n'
        "<style>body { display: none }</style>\n\n<!-- a comment -->\n"
    )
    for dropped in ["onerror", "<script", "alert(2)", "javascript:", "JaVaScRiPt", "<iframe", "<form",
                    "<input", "<button", "style=", "position", "fixed", "onclick", "bg-red", "<style", "display",
                    "comment"]:
        assert dropped not in html, dropped
    assert '<img src="x">' in html and "<p>Covered</p>" in html and "<td>cell</td>" in html
    assert '<pre class="language-js"><code>x</code></pre>' in html
