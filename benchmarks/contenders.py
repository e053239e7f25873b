"""Server processes for the load runs: sitegate as it ships (``sitegate serve``), nginx, the
backend and the peers of ``contender_servers.py``, each started on its own core with ``taskset``,
ready once its port accepts, and stopped by its PID (never by name)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

from benchmarks.load import SERVER_CORE

REPO = Path(__file__).resolve().parent.parent
SITEGATE = Path(sys.executable).with_name("sitegate")
SERVERS_SCRIPT = Path(__file__).with_name("contender_servers.py")
_START_TIMEOUT_SECONDS = 60.0
_STOP_TIMEOUT_SECONDS = 10.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Spec:
    """How to start one server: its command (run under ``taskset -c cores``), its port and log."""

    name: str
    command: tuple[str, ...]
    port: int
    log: Path
    cores: str = str(SERVER_CORE)
    env: dict[str, str] = field(default_factory=dict)


class Server:
    """A started server; ``stop`` ends it by its PID (SIGINT, SIGTERM, then SIGKILL)."""

    def __init__(self, spec: Spec, process: subprocess.Popen[bytes]) -> None:
        self.spec = spec
        self.process = process

    @property
    def pid(self) -> int:
        return self.process.pid

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.spec.port}{path}"

    @classmethod
    def start(cls, spec: Spec) -> Server:
        with spec.log.open("ab") as log:
            # taskset execs the server, so the PID is the server's own; children inherit the core.
            process = subprocess.Popen(
                ["taskset", "-c", spec.cores, *spec.command], stdout=log, stderr=subprocess.STDOUT,
                cwd=REPO, env={**os.environ, **spec.env}, start_new_session=True,
            )  # fmt: skip
        server = cls(spec, process)
        deadline = time.monotonic() + _START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if process.poll() is not None:
                break
            try:
                socket.create_connection(("127.0.0.1", spec.port), timeout=0.2).close()
                return server
            except OSError:
                time.sleep(0.05)
        server.stop()
        tail = spec.log.read_text(errors="replace")[-2000:] if spec.log.exists() else ""
        raise RuntimeError(f"{spec.name} did not start on port {spec.port}:\n{tail}")

    def stop(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
            if self.process.poll() is not None:
                return
            self.process.send_signal(sig)
            try:
                self.process.wait(_STOP_TIMEOUT_SECONDS)
                return
            except subprocess.TimeoutExpired:
                continue

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def workers_available() -> bool:
    """Whether this commit's ``sitegate serve`` takes ``--workers``."""
    result = subprocess.run([str(SITEGATE), "serve", "--help"], capture_output=True, text=True, timeout=60, cwd=REPO)
    return "--workers" in result.stdout


def sitegate_spec(name: str, sites: Path, builds: Path, log: Path, *, workers: int = 1, cores: str = "0",
                  backend_url: str | None = None, env: dict[str, str] | None = None) -> Spec:  # fmt: skip
    """``sitegate serve`` as it ships: production mode, its access log on (to ``log``)."""
    port = free_port()
    command = [str(SITEGATE), "serve", "--host", "127.0.0.1", "--port", str(port),
               "--sites", str(sites), "--build-dir", str(builds)]  # fmt: skip
    command += ["--workers", str(workers)] if workers > 1 else []
    command += ["--backend-url", backend_url] if backend_url else []
    return Spec(name, tuple(command), port, log, cores, {"SITEGATE_DATA_DIR": str(builds.parent / "data"), **(env or {})})


def peer_spec(name: str, python: Path, kind: str, target: str, log: Path) -> Spec:
    port = free_port()
    return Spec(name, (str(python), str(SERVERS_SCRIPT), kind, target, "--port", str(port)), port, log)


def backend_spec(data_dir: Path, log: Path) -> Spec:
    port = free_port()
    command = (str(SITEGATE), "backend", "--host", "127.0.0.1", "--port", str(port))
    return Spec("sitegate backend", command, port, log, env={"SITEGATE_DATA_DIR": str(data_dir)})


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if found is None:
        raise RuntimeError("nginx is not installed: `make bench-deps` installs it")
    return found


def nginx_spec(name: str, workdir: Path, http_block: str, port: int) -> Spec:
    """nginx with one worker, sendfile and long keep-alive, no access log, everything in
    ``workdir``, in the foreground so its PID is the master's (the worker is its child)."""
    workdir.mkdir(parents=True, exist_ok=True)
    temp = "\n".join(f"    {kind}_temp_path {workdir / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    conf = workdir / "nginx.conf"
    conf.write_text(
        f"""{"user root;" if os.geteuid() == 0 else ""}
worker_processes 1;
daemon off;
pid {workdir / "nginx.pid"};
error_log {workdir / "error.log"} warn;
events {{ worker_connections 4096; }}
http {{
    include /etc/nginx/mime.types;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 65;
    keepalive_requests 1000000;
    access_log off;
{temp}
{http_block}
}}
"""
    )
    return Spec(name, (nginx_binary(), "-p", str(workdir), "-c", str(conf)), port, workdir / "nginx.log")


def nginx_static_block(root: Path, port: int) -> str:
    return f"    server {{\n        listen 127.0.0.1:{port};\n        root {root};\n    }}\n"


def nginx_config(*args: str, sites: Path, builds: Path, gateway_port: int) -> str:
    """What ``sitegate nginx-config ARGS`` prints for these sites."""
    result = subprocess.run(
        [str(SITEGATE), "nginx-config", "--gateway", f"http://127.0.0.1:{gateway_port}",
         "--sites", str(sites), "--build-dir", str(builds), *args],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(f"sitegate nginx-config failed: {result.stderr}")
    return result.stdout
