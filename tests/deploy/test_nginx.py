"""A real nginx, configured by ``sitegate nginx-config``, in front of the gateway: what passes through."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from gateway.app import create_app
from tests.deploy.nginx import nginx_config, running_nginx, write_nginx_conf
from tests.gateway.sitefarm import settings_for, write_site
from tests.ports import free_port


async def echo_backend(request: web.Request) -> web.StreamResponse:
    if request.headers.get("Upgrade", "").lower() == "websocket":
        socket_ = web.WebSocketResponse()
        await socket_.prepare(request)
        async for message in socket_:
            await socket_.send_str(f"{request.headers.get('X-Tenant-Domain')}:{message.data}")
        return socket_
    return web.json_response({name: value for name, value in request.headers.items()})


@pytest.fixture
async def through_nginx(aiohttp_server, tmp_path: Path) -> AsyncIterator[str]:
    backend_app = web.Application()
    backend_app.router.add_route("*", "/{path:.*}", echo_backend)
    backend = await aiohttp_server(backend_app)
    write_site(tmp_path / "sites", "shop.test", {"public/index.html": "<h1>the shop</h1>"})
    settings = settings_for(tmp_path, backend_url=f"http://127.0.0.1:{backend.port}")
    gateway = await aiohttp_server(create_app(settings))
    port = free_port()
    site_conf = nginx_config(
        "--listen", f"127.0.0.1:{port}", sites=settings.sites_dir, builds=settings.build_dir, gateway_port=gateway.port
    )
    (tmp_path / "nginx").mkdir()
    with running_nginx(write_nginx_conf(tmp_path / "nginx", site_conf), port):
        yield f"http://127.0.0.1:{port}"


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


async def test_with_a_backend_nginx_sends_api_straight_there_with_the_tenant_headers(
    aiohttp_server, tmp_path: Path
) -> None:
    backend_app = web.Application()
    backend_app.router.add_route("*", "/{path:.*}", echo_backend)
    backend = await aiohttp_server(backend_app)
    write_site(tmp_path / "sites", "shop.test", {"public/index.html": "<h1>the shop</h1>"})
    port = free_port()
    site_conf = nginx_config(
        "--listen", f"127.0.0.1:{port}", "--backend", f"http://127.0.0.1:{backend.port}",
        sites=tmp_path / "sites", builds=tmp_path / "builds", gateway_port=free_port(),
        env={"SITEGATE_BACKEND_TOKEN": "s3cret"},
    )  # fmt: skip
    (tmp_path / "nginx").mkdir()
    forged = {"Host": "shop.test", "X-Tenant-Domain": "victim.test", "X-Sitegate-Token": "guess",
              "X-Sitegate-Registration": "open", "X-Forwarded-For": "6.6.6.6", "Forwarded": "for=6.6.6.6"}  # fmt: skip
    with running_nginx(write_nginx_conf(tmp_path / "nginx", site_conf), port):
        async with aiohttp.ClientSession() as client:
            async with client.get(f"http://127.0.0.1:{port}/api/whoami", headers=forged) as response:
                seen = await response.json()
    # No gateway listens at all: nginx alone wrote these.
    assert (seen["X-Tenant-Domain"], seen["X-Site-Name"]) == ("shop.test", "shop.test")
    assert (seen["X-Sitegate-Token"], seen["X-Sitegate-Registration"]) == ("s3cret", "closed")
    assert (seen["X-Forwarded-For"], seen["X-Real-IP"]) == ("127.0.0.1", "127.0.0.1")
    assert "Forwarded" not in seen
