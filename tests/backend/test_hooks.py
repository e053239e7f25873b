"""The rebuild hook client, against a small real gateway stand-in that records its calls."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from shared.backend.hooks import RebuildHooks
from shared.backend.keys import HOOKS
from shared.backend.settings import HookPolicy

from .conftest import BackendFactory, Visitor, free_port

POLICY = HookPolicy(coalesce_seconds=0.05, attempts=3, first_backoff_seconds=0.01, timeout_seconds=5.0)


@dataclass
class Gateway:
    """Records each rebuild call; answers with the queued statuses, then 202."""

    server: TestServer
    calls: list[tuple[str, str | None]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    hold: asyncio.Event | None = None
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        return str(self.server.make_url("")).rstrip("/")


ServerFactory = Callable[..., Awaitable[TestServer]]


@pytest.fixture
async def gateway(aiohttp_server: ServerFactory) -> Gateway:
    app = web.Application()
    recorder = Gateway(server=None)  # type: ignore[arg-type]

    async def rebuild(request: web.Request) -> web.Response:
        recorder.calls.append((request.match_info["site"], request.headers.get("X-Sitegate-Token")))
        recorder.arrived.set()
        if recorder.hold is not None:
            await recorder.hold.wait()
        status = recorder.statuses.pop(0) if recorder.statuses else 202
        return web.json_response({"status": "rebuilding"}, status=status)

    app.router.add_post("/_sitegate/hooks/rebuild/{site}", rebuild)
    recorder.server = await aiohttp_server(app)
    return recorder


async def test_a_burst_of_changes_makes_one_call(gateway: Gateway) -> None:
    hooks = RebuildHooks(gateway.url, token="tok", policy=POLICY)
    for _ in range(20):
        hooks.request_rebuild("a.example")
    await hooks.wait_idle()
    assert gateway.calls == [("a.example", "tok")]
    await hooks.close()


async def test_each_site_gets_its_own_call(gateway: Gateway) -> None:
    hooks = RebuildHooks(gateway.url, token=None, policy=POLICY)
    for tenant in ("a.example", "b.example", "a.example", "b.example"):
        hooks.request_rebuild(tenant)
    await hooks.wait_idle()
    assert sorted(gateway.calls) == [("a.example", None), ("b.example", None)]
    await hooks.close()


async def test_a_change_during_a_call_makes_one_more_call(gateway: Gateway) -> None:
    hooks = RebuildHooks(gateway.url, token=None, policy=POLICY)
    gateway.hold = asyncio.Event()
    hooks.request_rebuild("a.example")
    await asyncio.wait_for(gateway.arrived.wait(), timeout=10)
    hooks.request_rebuild("a.example")
    hooks.request_rebuild("a.example")
    gateway.hold.set()
    await hooks.wait_idle()
    assert gateway.calls == [("a.example", None), ("a.example", None)]
    await hooks.close()


async def test_a_failing_gateway_is_retried(gateway: Gateway) -> None:
    gateway.statuses = [503, 502]
    hooks = RebuildHooks(gateway.url, token=None, policy=POLICY)
    hooks.request_rebuild("a.example")
    await hooks.wait_idle()
    assert len(gateway.calls) == 3
    await hooks.close()


async def test_a_refusal_is_logged_and_not_retried(gateway: Gateway, caplog: pytest.LogCaptureFixture) -> None:
    gateway.statuses = [404]
    hooks = RebuildHooks(gateway.url, token=None, policy=POLICY)
    with caplog.at_level(logging.ERROR, logger="shared.backend.hooks"):
        hooks.request_rebuild("unknown.example")
        await hooks.wait_idle()
    assert len(gateway.calls) == 1
    assert "unknown.example" in caplog.text and "404" in caplog.text
    await hooks.close()


async def test_a_gateway_that_is_down_is_retried_then_logged(caplog: pytest.LogCaptureFixture) -> None:
    hooks = RebuildHooks(f"http://127.0.0.1:{free_port()}", token=None, policy=POLICY)
    with caplog.at_level(logging.WARNING, logger="shared.backend.hooks"):
        hooks.request_rebuild("a.example")
        await hooks.wait_idle()
    retries = [record for record in caplog.records if record.levelno == logging.WARNING]
    gave_up = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert len(retries) == POLICY.attempts - 1
    assert len(gave_up) == 1 and "gave up after 3 attempts" in gave_up[0].getMessage()
    await hooks.close()


async def test_post_changes_ask_the_gateway_to_rebuild_that_site(
    start_backend: BackendFactory, gateway: Gateway
) -> None:
    client = await start_backend(gateway_url=gateway.url, backend_token="tok", hooks=POLICY)
    editor = Visitor(client, "a.example", headers={"X-Sitegate-Token": "tok"})
    await editor.become_editor("editor@a.example")
    hooks = client.app[HOOKS]

    await editor.publish("Hello")
    await hooks.wait_idle()
    assert gateway.calls == [("a.example", "tok")]

    assert (await editor.patch("/api/blog/posts/hello", json={"title": "Hello again"})).status == 200
    await hooks.wait_idle()
    assert (await editor.delete("/api/blog/posts/hello")).status == 204
    await hooks.wait_idle()
    assert gateway.calls == [("a.example", "tok")] * 3

    assert (await editor.get("/api/blog/posts")).status == 200
    await hooks.wait_idle()
    assert len(gateway.calls) == 3


async def test_the_api_does_not_wait_for_or_fail_on_a_gateway_that_is_down(start_backend: BackendFactory) -> None:
    slow_policy = HookPolicy(coalesce_seconds=0.05, attempts=3, first_backoff_seconds=30.0, close_grace_seconds=0.1)
    client = await start_backend(gateway_url=f"http://127.0.0.1:{free_port()}", hooks=slow_policy)
    editor = Visitor(client, "a.example")
    await editor.become_editor("editor@a.example")
    post = await editor.publish("Still works")
    assert post["slug"] == "still-works"
    # The hook is still backing off (30 s) while the API has already answered.
    assert (await editor.get("/api/blog/posts/still-works")).status == 200
