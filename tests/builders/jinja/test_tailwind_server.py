"""Tailwind kept loaded in development (builders/jinja/tailwind_server.py): the CSS it makes is
the CLI's, edit after edit, and whatever happens to its process the next build still gets its
CSS. Real Tailwind, from the example site's own packages (installed once per lockfile)."""

from __future__ import annotations

import os
import re
import signal
import tempfile
from dataclasses import replace
from pathlib import Path

import pytest

from builders.errors import BuildError
from builders.jinja.builder import JinjaBuilder
from builders.jinja.tailwind import build_tailwind
from builders.paths import Boundary
from tests.builders.jinja_site import REPO, SHARED, Built, build, copy_tree, write_files
from tests.builders.npm_cache import copy_dependencies


@pytest.fixture(scope="module")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = copy_tree(REPO / "sites" / "darkflows.com", tmp_path_factory.mktemp("packaged") / "darkflows.com")
    copy_dependencies(site)
    return site


@pytest.fixture
def site(packaged: Path, tmp_path: Path) -> Path:
    copy = copy_tree(packaged, tmp_path / "darkflows.com")
    (copy / "node_modules").symlink_to(packaged / "node_modules", target_is_directory=True)
    return copy


@pytest.fixture
def builder() -> JinjaBuilder:
    return JinjaBuilder()


def dev(site: Path, builder: JinjaBuilder, previous: Built | None = None) -> Built:
    return build(site, mode="development", builder=builder, previous=previous)


def cli_css(built: Built, site: Path) -> str:
    """What the one-shot CLI makes of the same build, in a folder holding all its pages."""
    within = Boundary.of(site.absolute(), SHARED)
    folders = [site / "pages", site / "layouts", site / "components", SHARED]
    out = Path(tempfile.mkdtemp(dir=site.parent))
    for page in built.result.files:
        if page.endswith(".html"):
            source = built.out / page
            if not source.is_file():
                source = built.ctx.previous.out_dir / page  # type: ignore[union-attr]
            (out / page).parent.mkdir(parents=True, exist_ok=True)
            (out / page).write_bytes(source.read_bytes())
    build_tailwind(replace(built.ctx, out_dir=out), site.absolute(), out, within, folders)
    return (out / "tailwind.css").read_text()


def server_pid(builder: JinjaBuilder, site: Path) -> int:
    pid = builder._memories[site.absolute()].tailwind.pid
    assert pid is not None
    return pid


def test_the_warm_css_is_the_clis_css(site: Path, builder: JinjaBuilder) -> None:
    first = dev(site, builder)
    assert "Tailwind (development process" in first.result.log and "new context" in first.result.log
    assert first.read("tailwind.css") == cli_css(first, site)


def test_a_new_class_in_a_template_is_compiled_by_the_same_process(site: Path, builder: JinjaBuilder) -> None:
    first = dev(site, builder)
    pid = server_pid(builder, site)
    write_files(site, {"pages/new.html": '{% extends "layouts/base.html" %}{% block content %}<p class="skew-y-3">x</p>{% endblock %}'})
    after = dev(site, builder, first)
    assert ".skew-y-3" in after.read("tailwind.css") and server_pid(builder, site) == pid
    assert "compiled in" in after.result.log and "new context" not in after.result.log
    assert after.read("tailwind.css") == cli_css(after, site)


def test_a_post_edit_with_no_new_class_keeps_the_css_without_a_compile(site: Path, builder: JinjaBuilder) -> None:
    first = dev(site, builder)
    post = site / "content" / "posts" / "dark-by-default.md"
    post.write_text(post.read_text() + "\nSome brand new words: flowtables, conntrack, zebra.\n")
    after = dev(site, builder, first)
    assert "blog/dark-by-default/index.html" in after.rendered
    assert "the last CSS kept" in after.result.log
    # Only the edited pages are in the new folder; the CSS still has every page's classes.
    assert after.read("tailwind.css") == first.read("tailwind.css") == cli_css(after, site)


def test_stylesheet_edits_inside_and_outside_layers(site: Path, builder: JinjaBuilder) -> None:
    built = dev(site, builder)
    sheet = site / "tailwind.css"
    sheet.write_text(sheet.read_text() + "\n.plain-rule { outline-width: 3px; }\n")
    built = dev(site, builder, built)
    assert ".plain-rule" in built.read("tailwind.css") and "new context" not in built.result.log
    assert built.read("tailwind.css") == cli_css(built, site)
    # A component's @apply list, then a base rule's: swapped into the context.
    sheet.write_text(sheet.read_text().replace(".sg-nav { @apply ", ".sg-nav { @apply skew-x-12 ", 1))
    built = dev(site, builder, built)
    assert "@layer rules swapped in" in built.result.log
    assert "--tw-skew-x: 12deg" in built.read("tailwind.css")
    assert built.read("tailwind.css") == cli_css(built, site)
    sheet.write_text(sheet.read_text().replace("main > h1 { @apply mb-10 ", "main > h1 { @apply mb-12 ", 1))
    built = dev(site, builder, built)
    assert "@layer rules swapped in" in built.result.log
    assert built.read("tailwind.css") == cli_css(built, site)
    # A new component, and a rule that now mixes declarations with @apply: a new context.
    sheet.write_text(sheet.read_text().replace("@layer components {", "@layer components {\n  .sg-new { @apply p-1; }", 1))
    built = dev(site, builder, built)
    assert "new context" in built.result.log
    assert built.read("tailwind.css") == cli_css(built, site)
    sheet.write_text(sheet.read_text().replace(".sg-new { @apply p-1; }", ".sg-new { color: red; @apply p-2; }", 1))
    built = dev(site, builder, built)
    assert "new context" in built.result.log
    assert built.read("tailwind.css") == cli_css(built, site)
    # A component that applies another: editing the other changes it too.
    write_files(site, {"pages/applied.html": '{% extends "layouts/base.html" %}{% block content %}<p class="sg-new">x</p>{% endblock %}'})
    sheet.write_text(sheet.read_text().replace(".sg-new { color: red; @apply p-2; }", ".sg-new { @apply sg-nav; }", 1))
    built = dev(site, builder, built)
    assert built.read("tailwind.css") == cli_css(built, site)
    sheet.write_text(sheet.read_text().replace(".sg-nav { @apply skew-x-12 ", ".sg-nav { @apply skew-x-6 ", 1))
    built = dev(site, builder, built)
    assert "@layer rules swapped in" in built.result.log
    assert "--tw-skew-x: 12deg" not in built.read("tailwind.css")
    assert built.read("tailwind.css") == cli_css(built, site)
    # A component that applies a rule of the author's own, outside @layer: editing that rule too.
    text = sheet.read_text().replace(".sg-new { @apply sg-nav; }", ".sg-new { @apply own-thing; }", 1)
    sheet.write_text(text + "\n.own-thing { color: rgb(1 2 3); }\n")
    built = dev(site, builder, built)
    assert built.read("tailwind.css") == cli_css(built, site)
    sheet.write_text(sheet.read_text().replace("rgb(1 2 3)", "rgb(4 5 6)"))
    built = dev(site, builder, built)
    assert built.read("tailwind.css").count("rgb(4 5 6)") == 2
    assert built.read("tailwind.css") == cli_css(built, site)
    # A rule swapped in and a new class on a page, in one build.
    sheet.write_text(sheet.read_text().replace(".sg-nav { @apply skew-x-6 ", ".sg-nav { @apply skew-x-3 ", 1))
    write_files(site, {"pages/applied.html": '{% extends "layouts/base.html" %}{% block content %}<p class="sg-new -skew-y-2">x</p>{% endblock %}'})
    built = dev(site, builder, built)
    assert "@layer rules swapped in" in built.result.log and ".-skew-y-2" in built.read("tailwind.css")
    assert built.read("tailwind.css") == cli_css(built, site)


def test_a_config_edit_makes_a_new_context_from_the_new_config(site: Path, builder: JinjaBuilder) -> None:
    first = dev(site, builder)
    config = site / "tailwind.config.js"
    config.write_text(config.read_text().replace('900: "#450a0a"', '900: "#123456"'))
    after = dev(site, builder, first)
    assert "new context" in after.result.log
    assert "#123456" in after.read("tailwind.css") or "18 52 86" in after.read("tailwind.css")
    assert after.read("tailwind.css") == cli_css(after, site)


def test_a_killed_process_is_started_again(site: Path, builder: JinjaBuilder) -> None:
    first = dev(site, builder)
    pid = server_pid(builder, site)
    os.kill(pid, signal.SIGKILL)
    write_files(site, {"pages/new.html": '{% extends "layouts/base.html" %}{% block content %}<p class="skew-y-6">x</p>{% endblock %}'})
    after = dev(site, builder, first)
    assert server_pid(builder, site) != pid
    # The new process read the pages carried over from the previous build too.
    assert after.read("tailwind.css") == cli_css(after, site)
    assert ".skew-y-6" in after.read("tailwind.css")


def test_a_tailwind_error_fails_the_build_with_the_clis_output(site: Path, builder: JinjaBuilder) -> None:
    first = dev(site, builder)
    sheet = site / "tailwind.css"
    sheet.write_text(sheet.read_text() + "\n.broken { @apply no-such-class; }\n")
    with pytest.raises(BuildError, match="tailwindcss failed") as caught:
        dev(site, builder, first)
    assert "no-such-class" in caught.value.log
    sheet.write_text(sheet.read_text().replace(".broken { @apply no-such-class; }", ""))
    again = dev(site, builder, first)
    assert "Tailwind (development process" in again.result.log


def test_production_runs_the_cli_minified(site: Path, builder: JinjaBuilder) -> None:
    built = build(site, builder=builder)
    assert "tailwindcss --input" in built.result.log and "--minify" in built.result.log
    assert builder._memories[site.absolute()].tailwind.pid is None
