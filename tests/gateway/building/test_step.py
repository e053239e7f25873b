"""Incremental builds: publish what changed, carry the rest over (after, in development), never serve a gap."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

from builders import KNOWN_BUILDERS, builder_for
from gateway.building.build import Build
from gateway.building.step import BuildStep
from gateway.config import PACKAGED_TEMPLATES, Mode
from gateway.sites.registry import Registry
from tests.gateway.sitefarm import settings_for

TEMPLATE = PACKAGED_TEMPLATES / "blog"
POST = "blog/hello-world/index.html"
OTHER_POST = "blog/writing-posts/index.html"


def make_step(tmp_path: Path, mode: Mode = Mode.DEVELOPMENT) -> tuple[BuildStep, Path]:
    site_dir = tmp_path / "sites" / "blog.test"
    if not site_dir.exists():
        shutil.copytree(TEMPLATE, site_dir, ignore=shutil.ignore_patterns(".sitegate", "node_modules"))
    settings = settings_for(tmp_path, mode=mode).with_absolute_paths()
    return BuildStep(settings, builder_for, "test", threading.Event()), site_dir


def build(step: BuildStep, tmp_path: Path, current: Build | None) -> Build:
    site = Registry.scan((tmp_path / "sites").resolve(), KNOWN_BUILDERS).sites["blog.test"]
    built = step.run(site, current, None, {})
    assert isinstance(built, Build), built
    return built


def edit_post(site_dir: Path, old: str, new: str) -> None:
    post = site_dir / "content" / "posts" / "hello-world.md"
    post.write_text(post.read_text().replace(old, new))


def test_an_edit_publishes_what_it_rendered_and_its_table_serves_everything(tmp_path: Path) -> None:
    step, site_dir = make_step(tmp_path)
    first = build(step, tmp_path, None)
    edit_post(site_dir, "written in **Markdown**", "written in **plain Markdown**")
    second = build(step, tmp_path, first)

    assert POST in second.record.rendered and OTHER_POST not in second.record.rendered
    assert (second.path / POST).is_file()
    assert not (second.path / OTHER_POST).exists()
    carried = second.table.get("/" + OTHER_POST)
    assert carried is not None and carried.path.read_bytes() == (first.path / OTHER_POST).read_bytes()
    assert "plain Markdown" in second.table.get("/" + POST).path.read_text()

    tidied = step.tidy(second, lambda: second)
    assert (second.path / OTHER_POST).is_file()
    assert all(entry.path.is_relative_to(second.path) for entry in tidied.table)
    assert (tmp_path / "builds" / "blog.test" / "current").resolve() == second.path.resolve()


def test_reverting_an_edit_brings_back_the_earlier_build(tmp_path: Path) -> None:
    step, site_dir = make_step(tmp_path)
    first = build(step, tmp_path, None)
    edit_post(site_dir, "**Markdown**", "**Markup**")
    second = build(step, tmp_path, first)
    edit_post(site_dir, "**Markup**", "**Markdown**")
    third = build(step, tmp_path, second)
    assert third.build_id == first.build_id and third.reused


def test_an_incomplete_build_is_completed_and_kept_when_found_again_after_a_restart(tmp_path: Path) -> None:
    step, site_dir = make_step(tmp_path)
    first = build(step, tmp_path, None)
    edit_post(site_dir, "**Markdown**", "**Markup**")
    second = build(step, tmp_path, first)

    restarted, _ = make_step(tmp_path)
    again = build(restarted, tmp_path, None)
    # Its record was still to be written: the outputs are made again into the same folder.
    assert again.build_id == second.build_id
    assert (again.path / OTHER_POST).is_file()
    assert "Markup" in (again.path / POST).read_text()
    assert all(entry.path.is_relative_to(again.path) for entry in again.table)


def test_pruning_keeps_every_build_the_table_in_service_points_into(tmp_path: Path) -> None:
    step, site_dir = make_step(tmp_path)
    current = build(step, tmp_path, None)
    for version in range(5):
        edit_post(site_dir, "**Markdown", f"**Markdown {version}")
        current = build(step, tmp_path, current)
    step.tidy(current, lambda: None)
    for entry in current.table:
        assert entry.path.is_file(), entry.url_path


def test_edits_in_a_row_before_any_tidying_complete_into_a_whole_build(tmp_path: Path) -> None:
    step, site_dir = make_step(tmp_path)
    current = build(step, tmp_path, None)
    for version in range(3):
        edit_post(site_dir, "**Markdown", f"**Markdown {version}")
        if version == 1:
            other = site_dir / "content" / "posts" / "writing-posts.md"
            other.write_text(other.read_text() + "\nOne more line.\n")
        current = build(step, tmp_path, current)
    tidied = step.tidy(current, lambda: current)
    files = {path.relative_to(current.path).as_posix() for path in current.path.rglob("*") if path.is_file()}
    assert {entry.url_path[1:] for entry in tidied.table} <= files
    assert "One more line." in (current.path / OTHER_POST).read_text()
    assert "Markdown 2" in (current.path / POST).read_text()
    shutil.copytree(site_dir, tmp_path / "cold" / "sites" / "blog.test", ignore=shutil.ignore_patterns(".sitegate"))
    cold_step, _ = make_step(tmp_path / "cold")
    cold = build(cold_step, tmp_path / "cold", None)
    assert cold.build_id == current.build_id
    for entry in cold.table:
        assert (current.path / entry.url_path[1:]).read_bytes() == entry.path.read_bytes(), entry.url_path


def test_a_production_edit_goes_into_service_complete_with_current_pointing_at_it(tmp_path: Path) -> None:
    """nginx --direct serves what ``current`` points at: it must never lag the build in service
    nor point at a folder whose unchanged files are still to be carried over."""
    step, site_dir = make_step(tmp_path, Mode.PRODUCTION)
    first = step.tidy(build(step, tmp_path, None), lambda: None)
    edit_post(site_dir, "written in **Markdown**", "written in **plain Markdown**")
    second = build(step, tmp_path, first)

    assert POST in second.record.rendered and OTHER_POST not in second.record.rendered
    assert (tmp_path / "builds" / "blog.test" / "current").resolve() == second.path.resolve()
    assert (second.path / OTHER_POST).read_bytes() == (first.path / OTHER_POST).read_bytes()
    assert all(entry.path.is_relative_to(second.path) for entry in second.table)
    rules_links = [path.resolve() for path in (tmp_path / "builds" / "blog.test").glob(".rules-*")]
    assert rules_links == [second.path.resolve()], "nginx's link moves with current"
