"""`sitegate create`: a new site in one command, served at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from builders import KNOWN_BUILDERS
from gateway.app import create_app
from gateway.config import PACKAGED_TEMPLATES
from gateway.sites.create import CreateError, available_templates, create_site
from gateway.sites.registry import Registry
from tests.gateway.sitefarm import settings_for
from tests.gateway.test_cli import run_sitegate


def test_the_templates_ship_with_sitegate() -> None:
    assert {"default", "blog", "vite", "astro", "next"} <= set(available_templates(PACKAGED_TEMPLATES))


@pytest.mark.parametrize("template", ["default", "blog", "vite", "astro", "next"])
def test_each_template_makes_a_valid_site(tmp_path: Path, template: str) -> None:
    folder = create_site(tmp_path / "sites", PACKAGED_TEMPLATES, "New-Site.example", template)
    assert folder == tmp_path / "sites" / "new-site.example"
    site = Registry.scan(tmp_path / "sites", KNOWN_BUILDERS).sites["new-site.example"]
    assert site.error is None
    assert not (folder / "node_modules").exists()


@pytest.mark.parametrize("template", ["default", "blog"])
async def test_a_created_jinja_site_is_served_right_away(aiohttp_client, tmp_path: Path, template: str) -> None:
    create_site(tmp_path / "sites", PACKAGED_TEMPLATES, "fresh.example", template)
    client = await aiohttp_client(create_app(settings_for(tmp_path)))
    response = await client.get("/", headers={"Host": "fresh.example"})
    assert response.status == 200, await response.text()
    assert "fresh.example" in await response.text()


@pytest.mark.parametrize(
    ("domain", "template", "reason"),
    [
        ("../evil", "default", "not a domain name"),
        ("localhost", "default", "not a domain name"),
        ("ok.example", "nope", "no template 'nope'"),
    ],
)
def test_bad_requests_are_refused(tmp_path: Path, domain: str, template: str, reason: str) -> None:
    with pytest.raises(CreateError, match=reason):
        create_site(tmp_path / "sites", PACKAGED_TEMPLATES, domain, template)


def test_an_existing_site_is_never_overwritten(tmp_path: Path) -> None:
    create_site(tmp_path / "sites", PACKAGED_TEMPLATES, "mine.example", "default")
    marker = tmp_path / "sites" / "mine.example" / "pages" / "mine.html"
    marker.write_text("my work")
    with pytest.raises(CreateError, match="already exists"):
        create_site(tmp_path / "sites", PACKAGED_TEMPLATES, "mine.example", "blog")
    assert marker.read_text() == "my work"


def test_the_command_creates_and_explains(tmp_path: Path) -> None:
    result = run_sitegate("create", "cli.example", "--template", "blog", "--sites", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "cli.example" / "site.toml").is_file()
    assert "http://cli.example.localhost:3000/" in result.stdout
    again = run_sitegate("create", "cli.example", "--sites", str(tmp_path))
    assert again.returncode == 2 and "already exists" in again.stderr
