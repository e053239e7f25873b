"""A command build where the gateway runs as root: as the unprivileged build user, in a
workspace of its own, with the output handed to the gateway."""

from __future__ import annotations

import os
import pwd
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from builders.base import BuildContext, BuildUser
from builders.command.builder import CommandBuilder
from gateway.app import create_app
from tests.gateway.sitefarm import settings_for, write_site

# Under CI (root, as there) these always run: a CI that is not root fails them instead.
pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 and not os.environ.get("CI"), reason="running a build as another user needs root"
)

NOBODY = pwd.getpwnam("nobody")
USER = BuildUser(NOBODY.pw_name, NOBODY.pw_uid, NOBODY.pw_gid)
BUILD = (
    "sh -c 'mkdir -p dist && id -u > dist/uid.txt && echo \"$HOME\" > dist/home.txt"
    " && (cat ../../secret.txt 2>/dev/null || echo denied) > dist/secret.txt"
    " && cp page.html dist/index.html'"
)


@pytest.fixture
def reachable() -> Iterator[Path]:
    """A folder the build user can pass through (pytest's own temporary folders are root's only)."""
    folder = Path(tempfile.mkdtemp(prefix="sitegate-build-user-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder)


def command_site(root: Path) -> Path:
    site = root / "sites" / "a.test"
    site.mkdir(parents=True)
    (site / "site.toml").write_text(f'builder = "command"\nbuild = "{BUILD.replace(chr(34), chr(92) + chr(34))}"\n')
    (site / "page.html").write_text("<h1>built</h1>")
    secret = root / "secret.txt"
    secret.write_text("the gateway's secret")
    secret.chmod(0o600)
    return site


def build_as_user(root: Path, site: Path) -> Path:
    out = root / "out"
    out.mkdir(exist_ok=True)
    ctx = BuildContext(
        site_name="a.test",
        site_dir=site,
        shared_dir=root,
        out_dir=out,
        options={"build": BUILD},
        build_user=USER,
        work_dir=root / "work",
    )
    CommandBuilder().build(ctx)
    return out


def test_a_command_build_runs_as_the_build_user_in_its_own_workspace(reachable: Path) -> None:
    site = command_site(reachable)
    out = build_as_user(reachable, site)
    assert (out / "uid.txt").read_text().strip() == str(USER.uid)
    assert (out / "secret.txt").read_text().strip() == "denied"
    assert (out / "home.txt").read_text().strip() == str(reachable / "work" / "site" / ".home")
    assert (out / "index.html").read_text() == "<h1>built</h1>"
    # It wrote into its workspace, not the site's folder, and what is served is the gateway's.
    assert not (site / "dist").exists()
    assert all(path.stat().st_uid == os.geteuid() for path in out.rglob("*"))


def test_the_workspace_follows_the_sources_and_keeps_installed_dependencies(reachable: Path) -> None:
    site = command_site(reachable)
    (site / "old.txt").write_text("soon gone")
    build_as_user(reachable, site)
    installed = reachable / "work" / "site" / "node_modules" / "kept.js"
    installed.parent.mkdir()
    installed.write_text("installed")
    (site / "old.txt").unlink()
    (site / "page.html").write_text("<h1>edited</h1>")
    shutil.rmtree(reachable / "out")
    out = build_as_user(reachable, site)
    assert (out / "index.html").read_text() == "<h1>edited</h1>"
    assert not (reachable / "work" / "site" / "old.txt").exists()
    assert installed.read_text() == "installed"


async def test_the_gateway_builds_command_sites_as_its_build_user(aiohttp_client, reachable: Path) -> None:
    site = command_site(reachable)
    write_site(reachable / "sites", "a.test", {}, site.joinpath("site.toml").read_text())
    settings = settings_for(reachable, build_user=USER)
    client = await aiohttp_client(create_app(settings))
    response = await client.get("/uid.txt", headers={"Host": "a.test"})
    assert response.status == 200 and (await response.text()).strip() == str(USER.uid)
    secret = await client.get("/secret.txt", headers={"Host": "a.test"})
    assert (await secret.text()).strip() == "denied"
