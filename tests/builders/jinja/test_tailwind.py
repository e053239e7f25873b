"""Real Tailwind builds with each site's own npm package and config (slow: runs npm)."""

from __future__ import annotations

from pathlib import Path

import pytest

from builders.errors import BuildError
from tests.builders.jinja_site import (
    REPO,
    Built,
    api_post,
    build,
    copy_tree,
    write_files,
)

# What the gateway fetches for each site's [data] (codersinflow.com publishes its API posts).
SITE_DATA = {"codersinflow.com": {"posts": [api_post("api-post", "An API post", "2024-06-01")]}, "darkflows.com": {}}
CODERS_DATA = SITE_DATA["codersinflow.com"]


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Built]]:
    """Both example sites, copied without node_modules and built once (npm installs here)."""
    root = tmp_path_factory.mktemp("tailwind")
    built: dict[str, tuple[Path, Built]] = {}
    for name in ("codersinflow.com", "darkflows.com"):
        site = copy_tree(REPO / "sites" / name, root / name)
        built[name] = (site, build(site, data=SITE_DATA[name]))
    return built


def test_the_example_sites_get_their_own_tailwind_css(sites: dict[str, tuple[Path, Built]]) -> None:
    coders, dark = sites["codersinflow.com"][1], sites["darkflows.com"][1]
    assert "npm ci" in coders.result.log and "npm ci" in dark.result.log
    coders_css, dark_css = coders.read("tailwind.css"), dark.read("tailwind.css")
    assert coders_css != dark_css
    assert ".rounded-flow{" in coders_css and ".shadow-glow{" not in coders_css
    assert ".shadow-glow{" in dark_css and ".bg-ink-900{background-color:var(--dark)}" in dark_css
    assert ".rounded-flow{" not in dark_css
    # Classes passed to shared components by each site's pages end up in its CSS.
    assert ".md\\:grid-cols-2{" in coders_css and ".tracking-terminal{" in dark_css
    assert ".md\\:text-7xl{" in dark_css and ".bg-blood-600{" in dark_css  # darkflows' hero and its button
    assert '<link rel="stylesheet" href="/tailwind.css">' in coders.read("blog/index.html")


def test_an_unchanged_site_reuses_its_css_and_its_packages(sites: dict[str, tuple[Path, Built]]) -> None:
    site, first = sites["codersinflow.com"]
    again = build(site, previous=first, data=CODERS_DATA)
    assert again.rendered == set()
    assert again.read("tailwind.css") == first.read("tailwind.css")
    assert "npm ci" not in again.result.log and "tailwindcss" not in again.result.log


def test_a_new_class_on_a_page_runs_tailwind_again(sites: dict[str, tuple[Path, Built]], tmp_path: Path) -> None:
    site = copy_tree(sites["darkflows.com"][0], tmp_path / "darkflows.com")
    (site / "node_modules").symlink_to(sites["darkflows.com"][0] / "node_modules")
    first = build(site)
    write_files(site, {"pages/new.html": '{% extends "layouts/base.html" %}{% block content %}<p class="skew-y-3">x</p>{% endblock %}'})
    after = build(site, previous=first)
    assert after.rendered == {"new/index.html", "sitemap.xml", "tailwind.css"}
    assert ".skew-y-3{" in after.read("tailwind.css")


def test_a_variant_with_an_ampersand_passed_to_a_component_gets_its_css(
    sites: dict[str, tuple[Path, Built]], tmp_path: Path
) -> None:
    site = copy_tree(sites["darkflows.com"][0], tmp_path / "darkflows.com")
    (site / "node_modules").symlink_to(sites["darkflows.com"][0] / "node_modules")
    page = (
        '{% extends "layouts/base.html" %}{% from "ui/card.html" import card %}'
        '{% block content %}{{ card(title="T", body="B", class_="[&>p]:skew-x-6") }}{% endblock %}'
    )
    first = build(site)
    write_files(site, {"pages/cards.html": page})
    after = build(site, previous=first)
    # The page shows the class escaped; the template has it as written.
    assert "[&amp;&gt;p]:skew-x-6" in after.read("cards/index.html")
    assert "skew-x-6>p{" in after.read("tailwind.css").replace("\\", "")
    write_files(site, {"components/unused.html": '<i class="-skew-y-6"></i>'})
    again = build(site, previous=after)
    assert again.rendered == {"tailwind.css"}
    assert ".-skew-y-6{" in again.read("tailwind.css")


def test_packages_are_installed_when_missing_or_when_the_lock_file_changes(
    sites: dict[str, tuple[Path, Built]], tmp_path: Path
) -> None:
    site = copy_tree(sites["codersinflow.com"][0], tmp_path / "codersinflow.com")
    assert "npm ci" in build(site, data=CODERS_DATA).result.log
    assert "npm ci" not in build(site, data=CODERS_DATA).result.log
    lock = site / "package-lock.json"
    lock.write_text(lock.read_text() + "\n")
    assert "npm ci" in build(site, data=CODERS_DATA).result.log


def test_a_broken_tailwind_config_fails_the_build_with_its_output(sites: dict[str, tuple[Path, Built]], tmp_path: Path) -> None:
    site = copy_tree(sites["darkflows.com"][0], tmp_path / "darkflows.com")
    (site / "node_modules").symlink_to(sites["darkflows.com"][0] / "node_modules")
    (site / "tailwind.config.js").write_text("module.exports = {;\n")
    with pytest.raises(BuildError, match="tailwindcss failed") as caught:
        build(site)
    assert "SyntaxError" in caught.value.log


def test_tailwind_without_a_package_json_is_a_clear_error(tmp_path: Path) -> None:
    site = write_files(tmp_path / "bare.example", {"pages/index.html": "<p class='p-4'>x</p>"})
    with pytest.raises(BuildError, match="package.json") as caught:
        build(site, tailwind=True)
    assert caught.value.file == "package.json"


def test_a_folder_with_a_comma_in_its_path_is_a_clear_error(sites: dict[str, tuple[Path, Built]], tmp_path: Path) -> None:
    site = copy_tree(sites["darkflows.com"][0], tmp_path / "a,b" / "darkflows.com")
    (site / "node_modules").symlink_to(sites["darkflows.com"][0] / "node_modules")
    with pytest.raises(BuildError, match="path has a comma"):
        build(site)
