"""``sitegate backend`` as an operator runs it: real processes, real stores."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from gateway.config import Settings
from shared.backend import cli as backend_cli
from tests.ports import free_port, wait_for_port

from .conftest import (
    OPEN_REGISTRATION,
    BackendFactory,
    Visitor,
    stop,
)

REPO = Path(__file__).resolve().parents[2]


def clean_env(data_dir: Path) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("SITEGATE_")}
    env["SITEGATE_DATA_DIR"] = str(data_dir)
    return env


def sitegate_backend(*args: str, data_dir: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", "backend", *args],
        cwd=REPO,
        env=clean_env(data_dir),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_create_user_makes_an_editor_who_can_sign_in(
    start_backend: BackendFactory, store_url: str, tmp_path: Path
) -> None:
    result = sitegate_backend(
        "--store", store_url, "create-user", "--tenant", "A.Example", "--email", "Boss@A.example",
        "--role", "editor", data_dir=tmp_path, stdin="a strong password\n",
    )
    assert result.returncode == 0, result.stderr
    assert "created editor boss@a.example on a.example" in result.stdout

    visitor = Visitor(await start_backend(), "a.example", dict(OPEN_REGISTRATION))
    response = await visitor.login("boss@a.example", "a strong password")
    assert response.status == 200
    assert (await response.json())["user"]["role"] == "editor"
    # Sign-ups are readers, the CLI's editor or not.
    assert (await visitor.stranger().register("someone@a.example"))["role"] == "reader"


async def test_create_user_makes_a_reader_unless_told_editor(
    start_backend: BackendFactory, store_url: str, tmp_path: Path
) -> None:
    result = sitegate_backend(
        "--store", store_url, "create-user", "--tenant", "a.example", "--email", "first@a.example",
        "--password", "a strong password", data_dir=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "created reader first@a.example on a.example" in result.stdout
    visitor = Visitor(await start_backend(), "a.example")
    assert (await visitor.login("first@a.example", "a strong password")).status == 200
    assert (await visitor.post("/api/blog/posts", json={"title": "Mine"})).status == 403


async def test_create_user_refuses_a_taken_email(store_url: str, tmp_path: Path) -> None:
    args = ("--store", store_url, "create-user", "--tenant", "a.example", "--email", "x@a.example")
    assert sitegate_backend(*args, "--password", "long enough 1", data_dir=tmp_path).returncode == 0
    again = sitegate_backend(*args, "--password", "long enough 2", data_dir=tmp_path)
    assert again.returncode == 1
    assert "exists" in again.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--tenant", "not a domain", "--email", "x@a.example", "--password", "long enough"), "tenant"),
        (("--tenant", "a.example", "--email", "nope", "--password", "long enough"), "email"),
        (("--tenant", "a.example", "--email", "x@a.example", "--password", "short"), "password"),
        (("--tenant", "a.example", "--email", "x@a.example", "--role", "owner", "--password", "long enough"), "role"),
    ],
)
def test_create_user_explains_bad_input(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    result = sitegate_backend("create-user", *args, data_dir=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unknown_store_url_is_a_usage_error(tmp_path: Path) -> None:
    result = sitegate_backend("--store", "postgres://db/x", data_dir=tmp_path)
    assert result.returncode == 2
    assert "sqlite:///" in result.stderr


async def test_the_backend_serves_on_the_port_it_is_given(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "shared.backend", "--port", str(port)],
        cwd=REPO,
        env=clean_env(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, process, "sitegate backend")
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/api/health") as response:
                assert response.status == 200
            async with session.get(
                f"http://127.0.0.1:{port}/api/blog/posts", headers={"X-Tenant-Domain": "a.example"}
            ) as response:
                assert response.status == 200
        assert (tmp_path / "backend.sqlite3").exists()
    finally:
        stop(process)


async def test_start_backend_listens_where_the_gateway_expects_it(tmp_path: Path) -> None:
    port = free_port()
    settings = Settings(data_dir=tmp_path, backend_url=f"http://127.0.0.1:{port}")
    runner = await backend_cli.start_backend(settings)
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{settings.backend_url}/api/health") as response:
                assert response.status == 200
    finally:
        await runner.cleanup()
