"""The environment of a site's own commands: written out in full, never the gateway's own."""

from __future__ import annotations

from pathlib import Path

from builders.command.environment import command_environment
from gateway.config import load_settings


def environment(**overrides: object) -> dict[str, str]:
    arguments: dict = {
        "inherited": {"PATH": "/opt/node/bin:/usr/bin", "HOME": "/home/site", "AWS_SECRET": "x"},
        "site_name": "a.test",
        "api_url": "http://backend:8000",
        "site_env": {},
        "node_env": "production",
    }
    arguments.update(overrides)
    return command_environment(**arguments)


def test_only_path_and_home_come_from_the_gateway() -> None:
    env = environment(out_dir=Path("/builds/a.test/.staging"))
    assert env["PATH"] == "/opt/node/bin:/usr/bin" and env["HOME"] == "/home/site"
    assert "AWS_SECRET" not in env
    assert env["NODE_ENV"] == "production"
    assert env["SITEGATE_SITE"] == "a.test"
    assert env["SITEGATE_OUT_DIR"] == "/builds/a.test/.staging"
    assert env["API_URL"] == "http://backend:8000"


def test_telemetry_is_off_for_every_framework() -> None:
    env = environment()
    assert env["NEXT_TELEMETRY_DISABLED"] == "1"
    assert env["ASTRO_TELEMETRY_DISABLED"] == "1"
    assert env["DO_NOT_TRACK"] == "1"


def test_the_site_env_wins_except_for_what_describes_the_build() -> None:
    env = environment(
        site_env={"NODE_ENV": "staging", "VITE_TITLE": "Hi", "SITEGATE_SITE": "other.test"},
        extra={"VITE_TITLE": "preset"},
    )
    assert env["NODE_ENV"] == "staging" and env["VITE_TITLE"] == "Hi"
    assert env["SITEGATE_SITE"] == "a.test"


def test_the_install_step_gets_no_node_env() -> None:
    assert "NODE_ENV" not in environment(node_env=None)


def test_settings_take_path_and_home_from_the_environment_and_nothing_else() -> None:
    settings = load_settings({"PATH": "/usr/bin", "HOME": "/root", "SITEGATE_BACKEND_TOKEN": "secret"})
    assert dict(settings.command_env) == {"PATH": "/usr/bin", "HOME": "/root"}
