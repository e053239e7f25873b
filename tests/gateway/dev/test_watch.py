"""Which sites a file change affects."""

from __future__ import annotations

from pathlib import Path

from watchfiles import Change

from gateway.dev.watch import SourceFilter, affected_sites
from gateway.sites.registry import Registry, Site

SITES = Path("/srv/sites")
SHARED = Path("/srv/shared/components")
REGISTRY = Registry([Site("a.test", SITES / "a.test", "jinja"), Site("b.test", SITES / "b.test", "jinja")])
INPUTS = {
    "a.test": frozenset({str(SITES / "a.test/pages/index.html"), str(SHARED / "blog/card.html")}),
    "b.test": frozenset({str(SITES / "b.test/pages/index.html"), str(SHARED / "ui/nav.html")}),
}


def affected(*paths: str):  # type: ignore[no-untyped-def]
    return affected_sites([Path(p) for p in paths], sites_dir=SITES, shared_dir=SHARED, registry=REGISTRY, inputs=INPUTS)


def test_a_file_of_a_site_affects_that_site_only() -> None:
    result = affected("/srv/sites/a.test/content/posts/hello.md")
    assert result.sites == {"a.test"} and not result.rescan


def test_a_shared_component_affects_the_sites_that_read_it() -> None:
    assert affected(str(SHARED / "blog/card.html")).sites == {"a.test"}
    assert affected(str(SHARED / "ui/nav.html")).sites == {"b.test"}


def test_a_new_shared_file_affects_every_site_that_reads_the_library() -> None:
    assert affected(str(SHARED / "ui/new.html")).sites == {"a.test", "b.test"}


def test_site_toml_and_new_or_removed_folders_ask_for_a_rescan() -> None:
    assert affected("/srv/sites/a.test/site.toml").rescan
    assert affected("/srv/sites/new.test").rescan
    assert affected("/srv/sites/new.test/public/index.html").rescan
    assert affected("/srv/sites/a.test").rescan


def test_files_outside_both_folders_affect_nothing() -> None:
    result = affected("/etc/passwd")
    assert result.sites == frozenset() and not result.rescan


def test_tool_folders_and_editor_files_are_not_watched() -> None:
    keep = SourceFilter()


    assert keep(Change.modified, "/srv/sites/a.test/pages/index.html")
    for ignored in (
        "/srv/sites/v.test/node_modules/x/index.js",
        "/srv/sites/v.test/dist/index.html",
        "/srv/sites/a.test/.git/HEAD",
        "/srv/sites/a.test/pages/.index.html.swp",
        "/srv/sites/a.test/pages/index.html~",
    ):
        assert not keep(Change.modified, ignored), ignored
