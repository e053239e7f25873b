"""``@shared/components`` without a toolchain: which files are the package's, which sites import
it, the link into node_modules, and that Jinja sites and the dev watcher leave its files alone."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import MappingProxyType

from builders.base import BuildContext
from builders.command.build_data import write_data
from builders.command.presets import ViteBuilder
from builders.command.shared_library import imports_library, js_only, link_library, package_files
from builders.jinja.builder import JinjaBuilder
from gateway.config import PACKAGED_COMPONENTS
from gateway.dev.watch import affected_sites
from gateway.sites.registry import Registry, Site
from tests.gateway.sitefarm import write_site


def context(site: Path, shared: Path = PACKAGED_COMPONENTS, **fields: object) -> BuildContext:
    return BuildContext(site_name=site.name, site_dir=site, shared_dir=shared, out_dir=site / "out", **fields)  # type: ignore[arg-type]


def test_the_package_exports_blog_ui_and_layouts_and_ships_its_sources() -> None:
    manifest = json.loads((PACKAGED_COMPONENTS / "package.json").read_text())
    assert manifest["name"] == "@shared/components"
    for entry in ("./blog", "./ui", "./layouts", "./styles.css"):
        assert (PACKAGED_COMPONENTS / manifest["exports"][entry]).is_file()
    names = {path.name for path in package_files(PACKAGED_COMPONENTS)}
    assert {"package.json", "styles.css", "PostCard.jsx", "Layout.jsx", "Hero.jsx"} <= names
    assert "README.md" not in names and "post_card.html" not in names


def test_only_a_site_that_imports_the_library_has_its_files_as_inputs(tmp_path: Path) -> None:
    uses = write_site(tmp_path, "uses.test", {"src/main.jsx": "import { PostList } from '@shared/components/blog'\n"}, "")
    plain = write_site(tmp_path, "plain.test", {"src/main.js": "import './style.css'\n", "notes.md": "@shared/components\n"}, "")
    assert imports_library([uses / "src" / "main.jsx"]) and not imports_library([plain / "src" / "main.js", plain / "notes.md"])
    shared_inputs = {str(path) for path in ViteBuilder().input_files(context(uses)) if js_only(str(path), PACKAGED_COMPONENTS)}
    assert str(PACKAGED_COMPONENTS / "react" / "blog" / "PostCard.jsx") in shared_inputs
    assert not any(js_only(str(path), PACKAGED_COMPONENTS) for path in ViteBuilder().input_files(context(plain)))


def test_jinja_sites_do_not_read_the_react_package(tmp_path: Path) -> None:
    site = write_site(tmp_path, "jinja.test", {"pages/index.html": "hi"}, 'builder = "jinja"\n')
    inputs = [str(path) for path in JinjaBuilder().input_files(context(site))]
    assert str(PACKAGED_COMPONENTS / "blog" / "post_card.html") in inputs
    assert str(PACKAGED_COMPONENTS / "styles.css") in inputs
    assert not any(js_only(path, PACKAGED_COMPONENTS) for path in inputs)


def test_the_link_is_made_replaced_and_never_over_a_sites_own_package(tmp_path: Path) -> None:
    site, old, new = tmp_path / "site", tmp_path / "old", tmp_path / "new"
    for folder in (site, old, new):
        folder.mkdir()
    link = site / "node_modules" / "@shared" / "components"
    assert link_library(site, old) and os.readlink(link) == str(old)
    assert link_library(site, new) and os.readlink(link) == str(new)
    link.unlink()
    link.mkdir()
    assert not link_library(site, new) and not link.is_symlink()


def test_a_dev_edit_of_a_react_component_rebuilds_no_jinja_site(tmp_path: Path) -> None:
    shared, sites = tmp_path / "shared", tmp_path / "sites"
    registry = Registry([Site("jinja.test", sites / "jinja.test", "jinja")])
    inputs = {"jinja.test": frozenset({str(shared / "blog" / "post_card.html")})}
    jsx = affected_sites([shared / "react" / "blog" / "New.jsx"], sites_dir=sites, shared_dir=shared, registry=registry, inputs=inputs)
    html = affected_sites([shared / "blog" / "new.html"], sites_dir=sites, shared_dir=shared, registry=registry, inputs=inputs)
    assert jsx.sites == frozenset() and html.sites == {"jinja.test"}


def test_the_build_gets_its_data_as_a_file(tmp_path: Path) -> None:
    data = MappingProxyType({"posts": ({"slug": "a", "title": "A"},)})
    path = write_data(context(tmp_path, data=data))
    assert path.parent.name == ".sitegate" and json.loads(path.read_text()) == {"posts": [{"slug": "a", "title": "A"}]}
