"""Framework presets: their command lines and env, and a real Vite site built and run by Vite."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

import aiohttp
import pytest

from builders.base import BuildContext
from builders.command.presets import (
    ASTRO_OUT_DIR,
    NEXT_EXPORT_DIR,
    AstroBuilder,
    NextBuilder,
    ViteBuilder,
    dev_command,
)
from builders.errors import BuildError
from gateway.app import create_app
from gateway.config import Mode, Settings
from gateway.keys import DEV_SERVERS, SITES
from tests.builders.vite_site import SITE_NAME, vite_dependencies, vite_sites

__all__ = ["vite_dependencies", "vite_sites"]

IMMUTABLE = "public, max-age=31536000, immutable"


def context(tmp_path: Path, **options: object) -> BuildContext:
    (tmp_path / "out").mkdir(exist_ok=True)
    return BuildContext(
        site_name="a.test",
        site_dir=tmp_path / "site",
        shared_dir=tmp_path,
        out_dir=tmp_path / "out",
        options=MappingProxyType(options),
        command_env=dict(Settings().command_env),
    )


def fake_tool(tmp_path: Path, name: str, script: str) -> None:
    """A stand-in for a framework's CLI in the site's node_modules/.bin (no npm needed)."""
    tool = tmp_path / "site" / "node_modules" / ".bin" / name
    tool.parent.mkdir(parents=True, exist_ok=True)
    tool.write_text("#!/bin/sh\n" + script)
    tool.chmod(0o755)


def test_vite_builds_straight_into_the_build_folder(tmp_path: Path) -> None:
    plan = ViteBuilder().plan(context(tmp_path))
    out = str(tmp_path / "out")
    assert plan.argv == ("node_modules/.bin/vite", "build", "--outDir", out, "--emptyOutDir", "--base", "/")
    assert plan.output is None and plan.requires == ("node",)


def test_astro_builds_inside_the_project_with_telemetry_off(tmp_path: Path) -> None:
    plan = AstroBuilder().plan(context(tmp_path, base="/docs"))
    assert plan.argv == ("node_modules/.bin/astro", "build", "--outDir", ASTRO_OUT_DIR, "--base", "/docs/")
    assert plan.output == ASTRO_OUT_DIR and ASTRO_OUT_DIR in plan.ignored
    assert plan.env["ASTRO_TELEMETRY_DISABLED"] == "1"


def test_next_exports_inside_the_project_and_reads_its_dirs_from_the_env(tmp_path: Path) -> None:
    plan = NextBuilder().plan(context(tmp_path))
    assert plan.argv == ("node_modules/.bin/next", "build")
    assert plan.output == NEXT_EXPORT_DIR
    assert plan.env["SITEGATE_NEXT_DIST_DIR"] == NEXT_EXPORT_DIR
    assert plan.env["SITEGATE_BASE_PATH"] == "" and plan.env["NEXT_TELEMETRY_DISABLED"] == "1"
    assert NextBuilder().plan(context(tmp_path, base="/blog/")).env["SITEGATE_BASE_PATH"] == "/blog"
    assert "output: 'export'" in plan.hint


def test_a_sites_own_build_command_keeps_the_presets_env(tmp_path: Path) -> None:
    plan = NextBuilder().plan(context(tmp_path, build="npm run build", output="out"))
    assert plan.argv == ("npm", "run", "build") and plan.output == "out"
    assert plan.env["NEXT_TELEMETRY_DISABLED"] == "1"


def test_a_bad_base_is_named_in_the_error(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="base must be a URL path starting with '/'"):
        ViteBuilder().plan(context(tmp_path, base="docs"))


def test_preset_inputs_leave_out_outputs_and_files_the_tool_rewrites(tmp_path: Path) -> None:
    site = tmp_path / "site"
    for name in ("app/page.tsx", "next-env.d.ts", "out/index.html", ".next/cache/x", "dist/index.html"):
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_text(name)
    next_inputs = {path.relative_to(site).as_posix() for path in NextBuilder().input_files(context(tmp_path))}
    assert next_inputs == {"app/page.tsx", "dist/index.html"}
    vite_inputs = {path.relative_to(site).as_posix() for path in ViteBuilder().input_files(context(tmp_path))}
    assert vite_inputs == {"app/page.tsx", "next-env.d.ts", "out/index.html"}


def test_next_output_is_copied_out_of_the_project(tmp_path: Path) -> None:
    fake_tool(
        tmp_path, "next", 'mkdir -p "$SITEGATE_NEXT_DIST_DIR" && echo exported > "$SITEGATE_NEXT_DIST_DIR/index.html"'
    )
    result = NextBuilder().build(context(tmp_path))
    assert result.files == ("index.html",)
    assert (tmp_path / "out" / "index.html").read_text() == "exported\n"


def test_next_without_the_export_config_says_what_to_set(tmp_path: Path) -> None:
    fake_tool(tmp_path, "next", "mkdir -p .next && echo server build > .next/BUILD_ID")
    with pytest.raises(BuildError, match="wrote no .sitegate/next-export/ folder .*output: 'export'"):
        NextBuilder().build(context(tmp_path))


def test_a_tool_that_writes_nothing_into_the_build_folder_is_a_clear_error(tmp_path: Path) -> None:
    fake_tool(tmp_path, "vite", "echo 'nothing to do'")
    with pytest.raises(BuildError, match="succeeded but wrote nothing to its output folder"):
        ViteBuilder().build(context(tmp_path))
    fake_tool(tmp_path, "astro", "echo 'nothing to do'")
    with pytest.raises(BuildError, match="wrote no .sitegate/astro-out/ folder"):
        AstroBuilder().build(context(tmp_path))


def test_a_tool_missing_from_node_modules_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "site").mkdir()
    with pytest.raises(BuildError, match="node_modules/.bin/vite does not exist"):
        ViteBuilder().build(context(tmp_path))


def test_a_missing_node_is_a_clear_error(tmp_path: Path) -> None:
    fake_tool(tmp_path, "vite", "exit 0")
    no_node = replace(context(tmp_path), command_env={"PATH": str(tmp_path / "empty")})
    with pytest.raises(BuildError, match="node was not found on the gateway's PATH"):
        ViteBuilder().build(no_node)


def test_dev_commands_come_from_the_preset_or_the_site() -> None:
    assert dev_command("vite", {}) == (
        "node_modules/.bin/vite", "--port", "{port}", "--host", "127.0.0.1", "--strictPort",
    )  # fmt: skip
    assert dev_command("astro", {})[:2] == ("node_modules/.bin/astro", "dev")
    assert dev_command("next", {})[-2:] == ("--hostname", "127.0.0.1")
    assert dev_command("vite", {"dev": "npm run dev -- --port {port}"}) == (
        "npm",
        "run",
        "dev",
        "--",
        "--port",
        "{port}",
    )
    assert dev_command("command", {"dev": ("python", "serve.py", "{port}")}) == ("python", "serve.py", "{port}")
    assert dev_command("vite", {"dev": False}) is None
    assert dev_command("command", {}) is None
    with pytest.raises(BuildError, match="dev must be a command"):
        dev_command("vite", {"dev": 3})


async def test_a_vite_site_is_built_once_and_its_hashed_assets_are_immutable(
    aiohttp_client, vite_sites: Path, tmp_path: Path
) -> None:
    client = await aiohttp_client(create_app(Settings(sites_dir=vite_sites, build_dir=tmp_path / "builds", build_user=None)))
    host = {"Host": SITE_NAME}
    first = await client.get("/", headers=host)
    page = await first.text()
    assert first.status == 200 and "<h1>Client Site</h1>" in page
    assert first.headers["Cache-Control"] != IMMUTABLE

    script_path = re.search(r'src="(/assets/index-[\w-]+\.js)"', page)
    assert script_path is not None
    script = await client.get(script_path[1], headers=host)
    assert script.status == 200 and script.headers["Cache-Control"] == IMMUTABLE
    assert "/api/blog/posts" in await script.text()

    second = await client.get("/", headers=host)
    assert second.status == 200 and second.headers["ETag"] == first.headers["ETag"]
    health = await (await client.get("/_sitegate/health")).json()
    assert health["sites"][SITE_NAME]["builds_started"] == 1
    build_id = health["sites"][SITE_NAME]["current_build"]
    log = (tmp_path / "builds" / SITE_NAME / f"{build_id}.log").read_text()
    assert "vite v8" in log and "dependencies up to date" in log


async def test_the_vite_dev_server_serves_the_site_and_its_hot_reload_socket(
    aiohttp_client, vite_sites: Path, tmp_path: Path
) -> None:
    settings = Settings(sites_dir=vite_sites, build_dir=tmp_path / "builds", mode=Mode.DEVELOPMENT, build_user=None)
    app = create_app(settings)
    client = await aiohttp_client(app)
    host = {"Host": SITE_NAME}
    page = await client.get("/", headers=host)
    assert page.status == 200 and "/@vite/client" in await page.text()
    vite_client = await (await client.get("/@vite/client", headers=host)).text()
    token = re.search(r'const wsToken = "([^"]+)"', vite_client)
    assert token is not None
    style = await client.get("/src/style.css", headers=host)
    assert style.status == 200

    async with client.ws_connect(f"/?token={token[1]}", headers=host, protocols=("vite-hmr",)) as socket:
        assert (await socket.receive_json(timeout=20))["type"] == "connected"
        stylesheet = vite_sites / SITE_NAME / "src" / "style.css"
        stylesheet.write_text(stylesheet.read_text() + "\nbody { color: red; }\n")
        update = await socket.receive_json(timeout=20)
        assert update["type"] == "update" and update["updates"][0]["path"] == "/src/style.css"

    dev_server = await app[DEV_SERVERS].upstream(app[SITES].registry.resolve(SITE_NAME))
    await client.close()
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientConnectionError):
            await session.get(dev_server)
