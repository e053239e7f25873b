"""The command builder: a site's own build command, its output served like any build."""

from __future__ import annotations

import asyncio
import os
import shlex
import time
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

import pytest
from aiohttp.test_utils import TestClient

from builders.base import BuildContext
from builders.command.builder import BuildPlan, CommandBuilder
from builders.command.process import group_members
from builders.errors import BuildError
from gateway.app import create_app
from gateway.config import Mode, Settings
from tests.gateway.sitefarm import settings_for, write_site

ENV = dict(Settings().command_env)
WRITE_SITE = "mkdir -p dist/assets && echo '<h1>hi</h1>' > dist/index.html && echo 'x' > dist/assets/app-1a2b3c4d.js"


def context(site: Path, out: Path, **options: object) -> BuildContext:
    out.mkdir(parents=True, exist_ok=True)
    return BuildContext(
        site_name="a.test",
        site_dir=site,
        shared_dir=site.parent,
        out_dir=out,
        options=MappingProxyType(options),
        env=MappingProxyType({"GREETING": "hello"}),
        backend_url="http://backend.test:8000",
        command_env=ENV,
    )


def sh(script: str) -> tuple[str, ...]:
    return ("sh", "-c", script)


def wait_until_gone(group: int) -> list[int]:
    deadline = time.monotonic() + 15
    while group_members(group) and time.monotonic() < deadline:
        time.sleep(0.05)
    return group_members(group)


def test_the_output_folder_becomes_the_build(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    result = CommandBuilder().build(context(site, tmp_path / "out", build=sh(WRITE_SITE)))
    assert sorted(result.files) == ["assets/app-1a2b3c4d.js", "index.html"]
    assert (tmp_path / "out" / "index.html").read_text() == "<h1>hi</h1>\n"
    assert f"$ {shlex.join(sh(WRITE_SITE))}\n" in result.log and "the build has 2 files, from dist/" in result.log


def test_the_command_runs_with_the_site_env_and_sitegate_variables(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("GATEWAY_SECRET", "hunter2")
    site = tmp_path / "site"
    site.mkdir()
    out = tmp_path / "out"
    CommandBuilder().build(context(site, out, build=sh("mkdir -p dist && env > dist/env.txt && touch dist/index.html")))
    env = dict(line.split("=", 1) for line in (out / "env.txt").read_text().splitlines())
    assert env["SITEGATE_SITE"] == "a.test" and env["SITEGATE_OUT_DIR"] == str(out)
    assert env["API_URL"] == "http://backend.test:8000"
    assert env["NODE_ENV"] == "production" and env["GREETING"] == "hello"
    assert env["NEXT_TELEMETRY_DISABLED"] == "1" and env["ASTRO_TELEMETRY_DISABLED"] == "1"
    assert "GATEWAY_SECRET" not in env


def test_a_string_command_runs_without_a_shell(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "dist").mkdir(parents=True)
    (site / "dist" / "index.html").write_text("kept")
    result = CommandBuilder().build(context(site, tmp_path / "out", build="echo $HOME;rm -rf dist"))
    assert "$HOME;rm -rf dist" in result.log
    assert (tmp_path / "out" / "index.html").read_text() == "kept"


def test_a_command_that_writes_nothing_is_a_clear_error(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    with pytest.raises(BuildError, match="the build command succeeded but wrote no dist/ folder"):
        CommandBuilder().build(context(site, tmp_path / "out", build="true"))


def test_an_output_without_index_html_is_a_clear_error(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    build = sh("mkdir -p public_html && echo hi > public_html/about.html")
    with pytest.raises(BuildError, match="wrote public_html/ without an index.html"):
        CommandBuilder().build(context(site, tmp_path / "out", build=build, output="public_html"))


def test_a_failing_command_shows_its_status_and_last_lines(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    build = sh("for i in $(seq 1 300); do echo line $i; done; echo 'Error: cannot find module ./App' >&2; exit 2")
    with pytest.raises(BuildError) as failure:
        CommandBuilder().build(context(site, tmp_path / "out", build=build))
    assert "exited with status 2: Error: cannot find module ./App" in str(failure.value)
    log = failure.value.log.splitlines()
    assert log[-1] == "Error: cannot find module ./App" and "line 300" in log
    assert "line 1" not in log and len(log) <= 201


def test_a_hanging_command_is_killed_at_the_sites_timeout_with_its_children(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    pid_file = tmp_path / "group"
    build = sh(f"echo $$ > {pid_file}; sleep 1000 & sleep 1000")
    with pytest.raises(BuildError, match="ran longer than its timeout of 1 s"):
        CommandBuilder().build(context(site, tmp_path / "out", build=build, timeout=1))
    assert group_members(int(pid_file.read_text())) == []


def test_a_missing_npm_is_a_clear_error(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "package.json").write_text("{}")
    no_npm = replace(context(site, tmp_path / "out", build="true"), command_env={"PATH": str(tmp_path)})
    with pytest.raises(BuildError, match="npm was not found on the gateway's PATH"):
        CommandBuilder().build(no_npm)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "names its build command"),
        ({"build": 42}, "build must be a command"),
        ({"build": "npm 'run"}, "build: cannot read the command"),
        ({"build": "true", "output": "../elsewhere"}, "output must be a folder inside the site"),
        ({"build": "true", "output": "/var/www"}, "output must be a folder inside the site"),
        ({"build": "true", "timeout": "soon"}, "timeout must be a number of seconds"),
        ({"build": "true", "timeout": 0}, "timeout must be a number of seconds"),
    ],
)
def test_bad_settings_are_named_in_the_error(tmp_path: Path, options: dict, message: str) -> None:
    with pytest.raises(BuildError, match=message) as failure:
        CommandBuilder().build(context(tmp_path, tmp_path / "out", **options))
    assert failure.value.file == "site.toml"


def test_inputs_are_the_sources_not_dependencies_caches_or_output(tmp_path: Path) -> None:
    site = tmp_path / "site"
    files = [
        "site.toml", "package.json", "package-lock.json", ".env", ".npmrc", "src/main.js",
        "node_modules/vite/index.js", "build/client/index.html", "dist/old.html", ".git/HEAD",
        ".cache/x", "src/.DS_Store", ".DS_Store", "src/notes.md~",
    ]  # fmt: skip
    for name in files:
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_text(name)
    inputs = CommandBuilder().input_files(context(site, tmp_path / "out", build="true", output="build/client"))
    assert sorted(path.relative_to(site).as_posix() for path in inputs) == [
        ".env", ".npmrc", "dist/old.html", "package-lock.json", "package.json", "site.toml", "src/main.js",
    ]  # fmt: skip


class OutDirBuilder(CommandBuilder):
    """A command that writes straight into SITEGATE_OUT_DIR, as the Vite preset's does."""

    def plan(self, ctx: BuildContext) -> BuildPlan:
        return replace(super().plan(ctx), output=None)


INDEX = "mkdir -p dist && echo home > dist/index.html"


@pytest.mark.parametrize(
    ("script", "link", "words"),
    [
        (f"{INDEX} && ln -s /etc/hostname dist/escape.txt", "dist/escape.txt", "points outside dist/"),
        (f"{INDEX} && mkdir dist/deep && ln -s /etc dist/deep/etc", "dist/deep/etc", "points outside dist/"),
        (f"{INDEX} && echo x > own.txt && ln -s ../own.txt dist/own.txt", "dist/own.txt", "points outside dist/"),
        (f"{INDEX} && ln -s nowhere.txt dist/gone.txt", "dist/gone.txt", "does not exist"),
    ],
)
def test_an_output_with_a_link_out_of_its_folder_is_refused(tmp_path: Path, script: str, link: str, words: str) -> None:
    site = tmp_path / "site"
    site.mkdir()
    with pytest.raises(BuildError) as caught:
        CommandBuilder().build(context(site, tmp_path / "out", build=sh(script)))
    assert caught.value.file == link and words in caught.value.message
    assert not [path for path in (tmp_path / "out").rglob("*") if path.is_file() and path.name != "index.html"]


def test_an_output_folder_linked_out_of_the_site_is_refused(tmp_path: Path) -> None:
    site, elsewhere = tmp_path / "site", tmp_path / "elsewhere"
    site.mkdir()
    script = f"mkdir -p {elsewhere} && echo home > {elsewhere}/index.html && ln -s {elsewhere} dist"
    with pytest.raises(BuildError, match="points outside the site") as caught:
        CommandBuilder().build(context(site, tmp_path / "out", build=sh(script)))
    assert caught.value.file == "dist"


def test_a_link_inside_the_output_is_copied_as_its_file(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    result = CommandBuilder().build(context(site, tmp_path / "out", build=sh(f"{INDEX} && ln -s index.html dist/home.html")))
    assert sorted(result.files) == ["home.html", "index.html"]
    copied = tmp_path / "out" / "home.html"
    assert copied.read_text() == "home\n" and not copied.is_symlink()


def test_a_command_writing_into_the_build_folder_may_not_leave_a_link_out_of_it(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    script = 'echo home > "$SITEGATE_OUT_DIR/index.html" && ln -s /etc/hostname "$SITEGATE_OUT_DIR/escape.txt"'
    with pytest.raises(BuildError, match="points outside its output folder") as caught:
        OutDirBuilder().build(context(site, tmp_path / "out", build=sh(script)))
    assert caught.value.file == "escape.txt"
    inside = 'echo home > "$SITEGATE_OUT_DIR/index.html" && ln -s index.html "$SITEGATE_OUT_DIR/home.html"'
    result = OutDirBuilder().build(context(site, tmp_path / "out2", build=sh(inside)))
    assert sorted(result.files) == ["home.html", "index.html"]


def test_a_source_linked_out_of_the_site_is_refused_and_one_inside_counts(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "src").mkdir(parents=True)
    (site / "src/main.js").write_text("main")
    os.symlink("main.js", site / "src/alias.js")
    ctx = context(site, tmp_path / "out", build="true")
    assert [path.name for path in CommandBuilder().input_files(ctx)] == ["alias.js", "main.js"]
    for target, link, words in [
        ("/etc/hostname", "src/secret.txt", "points outside the site"),
        ("/etc", "src/etc", "points outside the site"),
        (str(tmp_path / "nowhere"), "src/gone.js", "does not exist"),
    ]:
        os.symlink(target, site / link)
        with pytest.raises(BuildError) as caught:
            CommandBuilder().input_files(ctx)
        assert caught.value.file == link and words in caught.value.message
        os.unlink(site / link)


async def get(client: TestClient, path: str = "/") -> tuple[int, str]:
    response = await client.get(path, headers={"Host": "a.test"})
    return response.status, await response.text()


async def test_a_failed_build_shows_its_last_log_lines_in_development(aiohttp_client, tmp_path: Path) -> None:
    script = "for i in $(seq 1 250); do echo step $i; done; echo 'SyntaxError: Unexpected token' >&2; exit 1"
    write_site(tmp_path / "sites", "a.test", {}, toml=f'builder = "command"\nbuild = ["sh", "-c", "{script}"]\n')
    client = await aiohttp_client(create_app(settings_for(tmp_path, mode=Mode.DEVELOPMENT)))
    status, body = await get(client)
    assert status == 503
    assert "exited with status 1: SyntaxError: Unexpected token" in body
    assert "step 250" in body and "step 10\n" not in body


async def test_a_failed_rebuild_keeps_the_last_good_build_in_production(aiohttp_client, tmp_path: Path) -> None:
    script = "test -e broken && { echo broken on purpose; exit 1; }; mkdir -p dist && echo good > dist/index.html"
    root = write_site(tmp_path / "sites", "a.test", {}, toml=f'builder = "command"\nbuild = ["sh", "-c", "{script}"]\n')
    client = await aiohttp_client(create_app(settings_for(tmp_path)))
    assert await get(client) == (200, "good\n")

    (root / "broken").write_text("")
    assert (await client.post("/_sitegate/hooks/rebuild/a.test")).status == 202
    for _ in range(200):
        sites = (await (await client.get("/_sitegate/health")).json())["sites"]
        if sites["a.test"]["builds_failed"]:
            break
        await asyncio.sleep(0.05)
    assert "broken on purpose" in sites["a.test"]["last_error"]
    assert await get(client) == (200, "good\n")


async def test_stopping_the_gateway_kills_a_running_build(aiohttp_client, tmp_path: Path) -> None:
    pid_file = tmp_path / "group"
    script = f"echo $$ > {pid_file}; sleep 1000 & sleep 1000"
    write_site(tmp_path / "sites", "a.test", {}, toml=f'builder = "command"\nbuild = ["sh", "-c", "{script}"]\n')
    client = await aiohttp_client(create_app(settings_for(tmp_path)))
    request = asyncio.create_task(get(client))
    for _ in range(300):
        if pid_file.exists() and pid_file.read_text().strip():
            break
        await asyncio.sleep(0.05)
    group = int(pid_file.read_text())
    assert group_members(group)

    await client.close()
    assert await asyncio.to_thread(wait_until_gone, group) == []
    await asyncio.gather(request, return_exceptions=True)
