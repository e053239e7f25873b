"""A real nginx, configured from deploy/nginx/sitegate.conf.template, in front of the gateway."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from gateway.app import create_app
from tests.gateway.sitefarm import settings_for, write_site
from tests.ports import free_port

TEMPLATE = Path(__file__).resolve().parents[2] / "deploy" / "nginx" / "sitegate.conf.template"



def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    assert found, "nginx is not installed: `make test` installs it (apt-get install nginx-light)"
    return found


def render_like_the_nginx_image(template: str, **variables: str) -> str:
    """The nginx image's envsubst replaces only ``${NAME}`` of variables it was given, so
    nginx's own ``$host`` and friends stay as they are."""
    return re.sub(r"\$\{(\w+)\}", lambda match: variables.get(match[1], match[0]), template)


def start_nginx(workdir: Path, upstream_port: int) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    server_block = render_like_the_nginx_image(
        TEMPLATE.read_text(), SITEGATE_UPSTREAM=f"127.0.0.1:{upstream_port}", NGINX_PORT=f"127.0.0.1:{port}"
    )
    (workdir / "sitegate.conf").write_text(server_block)
    user = "user root;" if os.geteuid() == 0 else ""
    temp_paths = "\n".join(
        f"{kind}_temp_path {workdir / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (workdir / "nginx.conf").write_text(
        f"""{user}
worker_processes 1;
daemon off;
pid {workdir / 'nginx.pid'};
error_log {workdir / 'error.log'} warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    {temp_paths}
    include {workdir / 'sitegate.conf'};
}}
"""
    )
    process = subprocess.Popen([nginx_binary(), "-p", str(workdir), "-c", str(workdir / "nginx.conf")])
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return process, port
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.05)
    process.kill()
    raise AssertionError(f"nginx did not start: {(workdir / 'error.log').read_text()}")


async def echo_backend(request: web.Request) -> web.StreamResponse:
    if request.headers.get("Upgrade", "").lower() == "websocket":
        socket_ = web.WebSocketResponse()
        await socket_.prepare(request)
        async for message in socket_:
            await socket_.send_str(f"{request.headers.get('X-Tenant-Domain')}:{message.data}")
        return socket_
    return web.json_response({name: value for name, value in request.headers.items()})


@pytest.fixture
def nginx_dir(tmp_path: Path) -> Iterator[Path]:
    workdir = tmp_path / "nginx"
    workdir.mkdir()
    yield workdir


@pytest.fixture
async def through_nginx(aiohttp_server, tmp_path: Path, nginx_dir: Path) -> AsyncIterator[str]:
    backend_app = web.Application()
    backend_app.router.add_route("*", "/{path:.*}", echo_backend)
    backend = await aiohttp_server(backend_app)
    write_site(tmp_path / "sites", "shop.test", {"public/index.html": "<h1>the shop</h1>"})
    settings = settings_for(tmp_path, backend_url=f"http://127.0.0.1:{backend.port}")
    gateway = await aiohttp_server(create_app(settings))
    process, port = start_nginx(nginx_dir, gateway.port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        await asyncio.to_thread(process.wait, 10)


async def test_a_site_is_served_through_nginx_by_its_host(through_nginx: str) -> None:
    async with aiohttp.ClientSession() as client:
        async with client.get(through_nginx + "/", headers={"Host": "shop.test"}) as response:
            assert response.status == 200
            assert "the shop" in await response.text()
        async with client.get(through_nginx + "/", headers={"Host": "nobody.test"}) as response:
            assert response.status == 404


async def test_the_backend_sees_the_real_client_and_the_tenant_set_by_the_gateway(through_nginx: str) -> None:
    async with aiohttp.ClientSession() as client:
        headers = {"Host": "shop.test", "X-Tenant-Domain": "victim.test", "X-Forwarded-For": "6.6.6.6"}
        async with client.get(through_nginx + "/api/whoami", headers=headers) as response:
            seen = await response.json()
    assert seen["X-Tenant-Domain"] == "shop.test"
    assert seen["X-Forwarded-For"].split(",")[-1].strip() == "127.0.0.1"
    assert seen["X-Forwarded-Host"] == "shop.test"


async def test_a_websocket_under_api_goes_through_nginx_and_the_gateway(through_nginx: str) -> None:
    async with aiohttp.ClientSession() as client:
        async with client.ws_connect(through_nginx + "/api/socket", headers={"Host": "shop.test"}) as ws:
            await ws.send_str("ping")
            message = await ws.receive(timeout=10)
    assert message.data == "shop.test:ping"


async def test_a_hostile_host_is_refused(through_nginx: str) -> None:
    async with aiohttp.ClientSession() as client:
        async with client.get(through_nginx + "/", headers={"Host": "..%2f..%2fetc"}) as response:
            assert response.status == 400
