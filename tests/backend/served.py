"""The backend served on loopback by an event loop in a thread of its own, for tests that send
it hundreds of requests from synchronous code (Hypothesis) or raw bytes over a socket.

Requests go through ``http.client`` and raw sockets rather than aiohttp's client, which
refuses to send much of what a hostile client would.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import socket
import threading
from collections.abc import Coroutine, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any, TypeVar

import aiohttp
from aiohttp import web
from pymongo import AsyncMongoClient

from shared.backend.app import create_app
from shared.backend.auth import create_account
from shared.backend.keys import PASSWORDS, STORE
from shared.backend.sessions import COOKIE_NAME
from shared.backend.settings import BackendSettings
from shared.backend.store import Role
from shared.backend.stores import store_for_url
from shared.backend.tenancy import REGISTRATION_HEADER, TENANT_HEADER

from .conftest import PASSWORD, file_form

T = TypeVar("T")
TIMEOUT = 10.0


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def error(self) -> dict[str, Any]:
        """The error object every refusal carries; fails the test when the shape is wrong."""
        assert self.headers.get("Content-Type", "").startswith("application/json"), (self.status, self.body[:200])
        error = self.json()["error"]
        assert isinstance(error["code"], str) and isinstance(error["message"], str)
        return dict(error)


@dataclass
class Served:
    """A running backend; ``sessions`` holds an editor's session token per tenant, ``seeded``
    whatever ids a test bench made on it."""

    port: int
    loop: asyncio.AbstractEventLoop
    app: web.Application
    sessions: dict[str, str] = field(default_factory=dict)
    seeded: dict[str, str] = field(default_factory=dict)

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        """Run ``work`` on the backend's own loop (where its store lives) and wait for it."""
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(TIMEOUT)

    def call(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        tenant: str | None = "a.example",
        editor: bool = False,
        content_type: str | None = "application/json",
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        """One request on a fresh connection; ``editor`` signs it in as ``tenant``'s editor."""
        sent = {REGISTRATION_HEADER: "open"}
        if tenant is not None:
            sent[TENANT_HEADER] = tenant
        if content_type is not None:
            sent["Content-Type"] = content_type
        if editor:
            assert tenant is not None
            sent["Cookie"] = f"{COOKIE_NAME}={self.sessions[tenant]}"
        sent.update(headers or {})
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            return Answer(response.status, dict(response.getheaders()), response.read())
        finally:
            connection.close()

    def send_json(self, method: str, path: str, value: Any, **options: Any) -> Answer:
        return self.call(method, path, body=json.dumps(value).encode(), **options)

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=TIMEOUT)

    def make_editor(self, tenant: str) -> None:
        email = f"editor@{tenant}"
        app = self.app
        self.run(
            create_account(
                app[STORE], app[PASSWORDS], tenant, email=email, password=PASSWORD, name="", role=Role.EDITOR
            )
        )
        answer = self.send_json("POST", "/api/auth/login", {"email": email, "password": PASSWORD}, tenant=tenant)
        assert answer.status == 200, answer.body
        cookie = SimpleCookie(answer.headers["Set-Cookie"])
        self.sessions[tenant] = cookie[COOKIE_NAME].value

    def upload(self, tenant: str, content: bytes, filename: str) -> dict[str, Any]:
        async def post() -> dict[str, Any]:
            headers = {TENANT_HEADER: tenant, "Cookie": f"{COOKIE_NAME}={self.sessions[tenant]}"}
            async with aiohttp.ClientSession() as client:
                url = f"http://127.0.0.1:{self.port}/api/media"
                async with client.post(url, data=file_form(content, filename), headers=headers) as response:
                    assert response.status == 201, await response.text()
                    return dict((await response.json())["media"])

        return self.run(post())


@contextmanager
def running_backend(settings: BackendSettings) -> Iterator[Served]:
    """The backend on ``settings``, served on 127.0.0.1 until the block ends; a MongoDB
    store's database is dropped afterwards."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    app = create_app(store_for_url(settings.store_url), settings=settings)
    # Short: a test that left a slow connection open must not hold the teardown for a minute.
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)

    async def start() -> int:
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        return int(runner.addresses[0][1])

    async def stop() -> None:
        await runner.cleanup()
        # A connection a test left lingering (aiohttp reads what is still sent for 10 s).
        lingering = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in lingering:
            task.cancel()
        await asyncio.gather(*lingering, return_exceptions=True)
        if settings.store_url.startswith("mongodb://"):
            client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.store_url)
            await client.drop_database(client.get_default_database())
            await client.close()

    try:
        port = asyncio.run_coroutine_threadsafe(start(), loop).result(TIMEOUT * 3)
        yield Served(port, loop, app)
    finally:
        asyncio.run_coroutine_threadsafe(stop(), loop).result(TIMEOUT * 3)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(TIMEOUT)
        loop.close()
