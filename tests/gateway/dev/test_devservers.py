"""Dev servers as a developer sees them: started on the first request, pages and WebSockets
forwarded, /api still to the backend, restarted after they died, stopped with the gateway.

The dev server is a tiny real aiohttp app started by the site's `dev` command; it starts a child
process too, so stopping it must take its whole process group.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient

from builders.command.process import group_members
from gateway.app import create_app
from gateway.config import Mode
from tests.gateway.sitefarm import settings_for, write_site

DEV_SERVER = """
import os, subprocess, sys
from aiohttp import web

port = int(sys.argv[1])
subprocess.Popen(["sleep", "1000"])
print("dev server starting on", port, flush=True)

async def page(request):
    text = f"dev page {request.path} pid={os.getpid()} env={os.environ.get('NODE_ENV')}"
    return web.Response(text=text, content_type="text/html")

async def socket(request):
    ws = web.WebSocketResponse(protocols=("hmr",))
    await ws.prepare(request)
    await ws.send_str("connected")
    async for message in ws:
        await ws.send_str("echo " + message.data)
    return ws

app = web.Application()
app.router.add_get("/hmr", socket)
app.router.add_get("/{tail:.*}", page)
web.run_app(app, host="127.0.0.1", port=port, print=None)
"""


def dev_site(tmp_path: Path, dev: list[str], backend: str = "http://127.0.0.1:9") -> Path:
    toml = f'builder = "command"\nbuild = "true"\ndev = {json.dumps(dev)}\n[api]\nbackend = "{backend}"\n'
    return write_site(tmp_path / "sites", "a.test", {"devserver.py": DEV_SERVER}, toml=toml)


async def get(client: TestClient, path: str = "/") -> tuple[int, str]:
    response = await client.get(path, headers={"Host": "a.test"})
    return response.status, await response.text()


def pid_in(body: str) -> int:
    return int(body.split("pid=")[1].split()[0])


def wait_until_gone(group: int) -> list[int]:
    deadline = time.monotonic() + 15
    while group_members(group) and time.monotonic() < deadline:
        time.sleep(0.05)
    return group_members(group)


async def test_pages_websockets_and_api_each_go_where_they_belong(
    aiohttp_client, aiohttp_server, tmp_path: Path
) -> None:
    async def hello(request: web.Request) -> web.Response:
        return web.json_response({"tenant": request.headers["X-Tenant-Domain"]})

    backend_app = web.Application()
    backend_app.router.add_get("/api/hello", hello)
    backend = await aiohttp_server(backend_app)
    dev_site(tmp_path, [sys.executable, "devserver.py", "{port}"], backend=str(backend.make_url("")))
    client = await aiohttp_client(create_app(settings_for(tmp_path, mode=Mode.DEVELOPMENT)))

    status, body = await get(client, "/about")
    assert status == 200 and body.startswith("dev page /about") and "env=development" in body
    api = await client.get("/api/hello", headers={"Host": "a.test"})
    assert await api.json() == {"tenant": "a.test"}

    async with client.ws_connect("/hmr", headers={"Host": "a.test"}, protocols=("hmr",)) as socket:
        assert socket.protocol == "hmr"
        assert (await socket.receive(timeout=10)).data == "connected"
        await socket.send_str("ping")
        assert (await socket.receive(timeout=10)).data == "echo ping"

    assert pid_in((await get(client))[1]) == pid_in(body)


async def test_a_dead_dev_server_is_reported_then_restarted(aiohttp_client, tmp_path: Path) -> None:
    dev_site(tmp_path, [sys.executable, "devserver.py", "{port}"])
    client = await aiohttp_client(create_app(settings_for(tmp_path, mode=Mode.DEVELOPMENT)))
    first = pid_in((await get(client))[1])

    os.kill(first, signal.SIGKILL)
    status, body = await get(client)
    assert status == 503 and "its dev server stopped" in body and "dev server starting on" in body

    status, body = await get(client)
    assert status == 200 and pid_in(body) != first


async def test_stopping_the_gateway_stops_the_dev_server_and_its_children(aiohttp_client, tmp_path: Path) -> None:
    dev_site(tmp_path, [sys.executable, "devserver.py", "{port}"])
    client = await aiohttp_client(create_app(settings_for(tmp_path, mode=Mode.DEVELOPMENT)))
    group = pid_in((await get(client))[1])
    assert len(group_members(group)) == 2

    await client.close()
    assert await asyncio.to_thread(wait_until_gone, group) == []


async def test_a_dev_server_that_cannot_start_shows_why(aiohttp_client, tmp_path: Path) -> None:
    dev_site(tmp_path, ["sh", "-c", "echo 'Error: Cannot find module vite'; exit 1"])
    client = await aiohttp_client(create_app(settings_for(tmp_path, mode=Mode.DEVELOPMENT)))
    status, body = await get(client)
    assert status == 503
    assert "exited with status 1 before it answered" in body and "Cannot find module vite" in body


async def test_a_missing_dev_program_is_a_clear_error(aiohttp_client, tmp_path: Path) -> None:
    dev_site(tmp_path, ["node_modules/.bin/vite", "--port", "{port}"])
    client = await aiohttp_client(create_app(settings_for(tmp_path, mode=Mode.DEVELOPMENT)))
    status, body = await get(client)
    assert status == 503 and "node_modules/.bin/vite" in body and "No such file" in body


async def test_production_builds_the_site_instead(aiohttp_client, tmp_path: Path) -> None:
    root = dev_site(tmp_path, [sys.executable, "devserver.py", "{port}"])
    build = 'build = ["sh", "-c", "mkdir -p dist && echo built > dist/index.html"]'
    (root / "site.toml").write_text((root / "site.toml").read_text().replace('build = "true"', build))
    client = await aiohttp_client(create_app(settings_for(tmp_path)))
    assert await get(client) == (200, "built\n")
