"""Test helper: a real nginx (Debian's package) on a free loopback port, running a config that
``sitegate nginx-config`` wrote, always stopped by its PID."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BROTLI_MODULE = Path("/usr/lib/nginx/modules/ngx_http_brotli_static_module.so")


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    assert found, "nginx is not installed: `make test` installs it (apt-get install nginx-light)"
    return found


def has_brotli() -> bool:
    # Under CI `make test` installs the module, so its absence there is a failure, not a skip.
    assert BROTLI_MODULE.exists() or os.environ.get("CI") != "true", f"{BROTLI_MODULE} is missing"
    return BROTLI_MODULE.exists()


def nginx_config(*args: str, sites: Path, builds: Path, gateway_port: int, env: dict[str, str] | None = None) -> str:
    """What ``sitegate nginx-config ARGS`` prints for these sites, reaching the gateway on its port."""
    result = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "nginx-config", "--gateway", f"http://127.0.0.1:{gateway_port}",
         "--sites", str(sites), "--build-dir", str(builds), *args],
        cwd=ROOT, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout


def upstream_config(sites: Path, builds: Path, listen: int, ports: list[int]) -> str:
    """What ``sitegate nginx-config --upstream`` prints for gateways on these loopback ports."""
    upstreams = [arg for port in ports for arg in ("--upstream", f"127.0.0.1:{port}")]
    result = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "nginx-config", "--sites", str(sites), "--build-dir", str(builds),
         "--listen", f"127.0.0.1:{listen}", *upstreams],
        cwd=ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout


def write_nginx_conf(workdir: Path, site_conf: str, *, brotli: bool = False) -> Path:
    """A whole nginx.conf around the generated http-level file, everything kept in ``workdir``."""
    (workdir / "sitegate.conf").write_text(site_conf)
    temp_paths = "\n".join(
        f"    {kind}_temp_path {workdir / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = workdir / "nginx.conf"
    conf.write_text(
        f"""{"user root;" if os.geteuid() == 0 else ""}
{f"load_module {BROTLI_MODULE};" if brotli else ""}
worker_processes 1;
daemon off;
pid {workdir / 'nginx.pid'};
error_log {workdir / 'error.log'} warn;
events {{ worker_connections 256; }}
http {{
    access_log {workdir / 'access.log'};
{temp_paths}
    include {workdir / 'sitegate.conf'};
}}
"""
    )
    return conf


def check_config(conf: Path) -> subprocess.CompletedProcess[str]:
    """``nginx -t`` on it."""
    return subprocess.run(
        [nginx_binary(), "-t", "-p", str(conf.parent), "-c", str(conf)], capture_output=True, text=True, timeout=30
    )


@contextmanager
def running_nginx(conf: Path, port: int) -> Iterator[None]:
    process = subprocess.Popen([nginx_binary(), "-p", str(conf.parent), "-c", str(conf)])
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                if process.poll() is not None:
                    raise AssertionError(f"nginx did not start: {(conf.parent / 'error.log').read_text()}")
                time.sleep(0.05)
        else:
            raise AssertionError("nginx did not listen within 10 s")
        yield
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
