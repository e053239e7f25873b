"""Where template names resolve, and what a render records."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from jinja2 import TemplateNotFound

from builders.errors import BuildError
from builders.jinja.env import (
    RecordingEnvironment,
    SiteLoader,
    TemplateMemory,
    html_attrs,
)
from tests.builders.jinja_site import write_files


@pytest.fixture
def env(tmp_path: Path) -> RecordingEnvironment:
    write_files(tmp_path / "shared", {"ui/a.html": "shared a", "layouts/base.html": "shared base", "lib.html": '{% from "ui/helper.html" import h %}{% macro m() %}{{ h() }}{% endmacro %}',
                                      "ui/helper.html": "{% macro h() %}helped{% endmacro %}"})
    write_files(tmp_path / "site", {"components/ui/a.html": "site a", "layouts/base.html": "site base", "pages/p.html": "page"})
    return RecordingEnvironment(SiteLoader(tmp_path / "site", tmp_path / "shared"))


def test_site_first_then_shared_and_the_shared_prefix(env: RecordingEnvironment) -> None:
    assert env.get_template("ui/a.html").render() == "site a"
    assert env.get_template("shared/ui/a.html").render() == "shared a"
    assert env.get_template("layouts/base.html").render() == "site base"
    assert env.get_template("shared/layouts/base.html").render() == "shared base"
    assert env.get_template("pages/p.html").render() == "page"


@pytest.mark.parametrize("name", ["../site/pages/p.html", "ui/../../x", "/etc/passwd", "shared/", "a\\b", ""])
def test_names_cannot_leave_the_roots(env: RecordingEnvironment, name: str) -> None:
    with pytest.raises(TemplateNotFound):
        env.get_template(name)


@pytest.mark.parametrize("name", ["ui/evil.html", "layouts/evil.html", "pages/evil.html"])
def test_a_template_linked_out_of_the_site_is_a_build_error_naming_it(
    env: RecordingEnvironment, tmp_path: Path, name: str
) -> None:
    (tmp_path / "secret.txt").write_text("root:x:0:0")
    folder = {"ui": "components/ui", "layouts": "layouts", "pages": "pages"}[name.split("/")[0]]
    os.symlink(tmp_path / "secret.txt", tmp_path / "site" / folder / "evil.html")
    with pytest.raises(BuildError, match="points outside the site") as caught:
        env.get_template(name).render()
    assert caught.value.file == f"{folder}/evil.html"


def test_a_template_linked_to_nothing_is_a_build_error(env: RecordingEnvironment, tmp_path: Path) -> None:
    os.symlink(tmp_path / "nowhere.html", tmp_path / "site/components/ui/gone.html")
    with pytest.raises(BuildError, match="does not exist") as caught:
        env.get_template("ui/gone.html")
    assert caught.value.file == "components/ui/gone.html"


def test_a_component_folder_linked_out_of_the_site_is_refused(env: RecordingEnvironment, tmp_path: Path) -> None:
    write_files(tmp_path / "elsewhere", {"card.html": "not the site's"})
    os.symlink(tmp_path / "elsewhere", tmp_path / "site/components/cards")
    with pytest.raises(BuildError, match="points outside the site") as caught:
        env.get_template("cards/card.html")
    assert caught.value.file == "components/cards/card.html"


def test_a_template_linked_inside_the_site_or_into_the_shared_library_renders(
    env: RecordingEnvironment, tmp_path: Path
) -> None:
    os.symlink(tmp_path / "shared/lib.html", tmp_path / "site/components/lib.html")
    os.symlink("../pages/p.html", tmp_path / "site/components/page-again.html")
    assert env.get_template("page-again.html").render() == "page"
    assert env.from_string('{% from "lib.html" import m %}{{ m() }}').render() == "helped"


def test_imports_reached_through_a_cached_module_are_still_recorded(env: RecordingEnvironment, tmp_path: Path) -> None:
    page = env.from_string('{% from "lib.html" import m %}{{ m() }}')
    assert page.render() == "helped"
    env.recorded = set()
    assert page.render() == "helped"  # lib.html's module, and so its import, is cached now
    assert {
        str(tmp_path / "site/components/lib.html"),
        str(tmp_path / "shared/lib.html"),
        str(tmp_path / "site/components/ui/helper.html"),
        str(tmp_path / "shared/ui/helper.html"),
    } <= env.recorded


def test_templates_remembered_between_builds_follow_their_edits(tmp_path: Path) -> None:
    """A long-lived builder keeps compiled templates and their references; an edited template
    is compiled and read again, so both its output and what it records are current."""
    shared = write_files(tmp_path / "shared", {
        "lib.html": '{% from "ui/helper.html" import h %}{% macro m() %}{{ h() }}{% endmacro %}',
        "ui/helper.html": "{% macro h() %}helped{% endmacro %}",
        "ui/other.html": "{% macro h() %}other{% endmacro %}",
        "page.html": '{% from "lib.html" import m %}{{ m() }}',
    })
    memory = TemplateMemory()

    def render_twice() -> tuple[str, set[str]]:
        env = RecordingEnvironment(SiteLoader(tmp_path / "site", shared), memory=memory)
        env.get_template("page.html").render()
        env.recorded = set()
        return env.get_template("page.html").render(), env.recorded  # lib.html's module is cached now

    html, recorded = render_twice()
    assert html == "helped" and str(shared / "ui/helper.html") in recorded
    (shared / "lib.html").write_text('{% from "ui/other.html" import h %}{% macro m() %}{{ h() }}{% endmacro %}')
    html, recorded = render_twice()
    assert html == "other"
    assert str(shared / "ui/other.html") in recorded and str(shared / "ui/helper.html") not in recorded


def test_html_attrs() -> None:
    assert html_attrs({"aria_label": 'say "hi"', "hidden": True, "off": False, "none": None, "n": 3}) == ' aria-label="say &#34;hi&#34;" hidden n="3"'
    with pytest.raises(BuildError):
        html_attrs({"on click": "x"})
