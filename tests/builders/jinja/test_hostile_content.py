"""A careless author's site.toml options and posts: each gives a clear build error that names
the file, or safe output; never a crash of the builder and never code run from front matter."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from builders.errors import BuildError
from tests.builders.jinja_site import build, write_files

PAGE = '{% extends "layouts/page.html" %}{% block content %}<p>{{ site.title }}</p>{% endblock %}'
POST = "---\ntitle: Hello\ndate: 2024-01-01\n---\nA post.\n"


def site(tmp_path: Path, toml: str = "", files: dict[str, str] | None = None) -> Path:
    return write_files(tmp_path / "a.test", {"site.toml": toml, "pages/index.html": PAGE, **(files or {})})


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"posts_per_page": "ten"}, "posts_per_page"),
        ({"posts_per_page": 0}, "posts_per_page"),
        ({"posts_per_page": True}, "posts_per_page"),
        ({"posts_from": 3}, "posts_from"),
        ({"timeout": "soon"}, "timeout"),
        ({"theme": {"primary": ["a", "list"]}}, "theme.primary"),
        ({"theme": {"primary": "red; } body { display: none"}}, "not a CSS value"),
        ({"theme": {"bad key!": "red"}}, "theme key"),
    ],
)
def test_an_option_of_the_wrong_type_is_a_build_error_naming_site_toml(
    tmp_path: Path, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(BuildError, match=message) as raised:
        build(site(tmp_path, files={"content/posts/a.md": POST}), **options)
    assert raised.value.file == "site.toml"


@pytest.mark.parametrize(
    "options",
    [{"title": 5}, {"title": {"nested": "table"}}, {"description": ["a", "list"]}, {"unknown_key": 1}, {"theme": {"primary": 3}}],
)
def test_an_odd_but_harmless_option_builds_and_is_escaped(tmp_path: Path, options: dict[str, Any]) -> None:
    built = build(site(tmp_path), **options)
    assert "<p>" in built.read("index.html")


def test_a_title_with_markup_is_escaped(tmp_path: Path) -> None:
    built = build(site(tmp_path), title="<script>alert(1)</script>")
    page = built.read("index.html")
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page


def test_a_huge_site_toml_with_many_unknown_keys_builds(tmp_path: Path) -> None:
    many = "".join(f'key{number} = "{"x" * 100}"\n' for number in range(20_000))
    built = build(site(tmp_path, many))
    assert built.read("index.html")


def write_bytes(root: Path, relative: str, content: bytes) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"---\ntitle: \xff\xfe\n---\nbody \xc3\x28", "cannot read post"),
        (bytes(range(256)) * 10, "cannot read post"),
        (b"just text, no front matter", "front matter"),
        (b"---\ntitle: [unclosed\n---\nx", "YAML"),
        (b"---\n- a\n- b\n---\nx", "front matter must be a table"),
        (b"---\ntitle: [a, b]\ndate: 2024-01-01\n---\nx", "title"),
        (b"---\ntitle: a\ndate: yesterday\n---\nx", "date"),
        (b"---\ntitle: a\ndate: 2024-01-01\ntags: 5\n---\nx", "tags"),
        (b"+++\ntitle = \n+++\nx", "TOML"),
    ],
)
def test_a_broken_post_is_a_build_error_naming_the_file(tmp_path: Path, content: bytes, message: str) -> None:
    root = site(tmp_path)
    write_bytes(root, "content/posts/broken.md", content)
    with pytest.raises(BuildError, match=message) as raised:
        build(root)
    assert raised.value.file == "content/posts/broken.md"


def test_front_matter_cannot_run_code(tmp_path: Path) -> None:
    root = site(tmp_path)
    marker = tmp_path / "pwned"
    write_bytes(
        root,
        "content/posts/evil.md",
        f"---\ntitle: !!python/object/apply:os.system ['touch {marker}']\ndate: 2024-01-01\n---\nx".encode(),
    )
    with pytest.raises(BuildError, match="YAML"):
        build(root)
    assert not marker.exists()


def test_a_yaml_alias_bomb_in_front_matter_builds_without_expanding(tmp_path: Path) -> None:
    levels = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for number, name in enumerate("bcdefg"):
        previous = "abcdefg"[number]
        levels.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]")
    root = site(tmp_path)
    write_bytes(root, "content/posts/bomb.md", ("---\n" + "\n".join(levels) + "\ntitle: Bomb\ndate: 2024-01-01\n---\nx").encode())
    built = build(root)
    assert "Bomb" in built.read("blog/bomb/index.html")


def test_a_template_that_is_not_utf8_is_a_build_error(tmp_path: Path) -> None:
    root = site(tmp_path)
    write_bytes(root, "pages/broken.html", b"\xff\xfe{{ x }}")
    with pytest.raises(BuildError, match="pages/broken.html"):
        build(root)
