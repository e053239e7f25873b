"""The backend's test bench: the same API tests run on SQLite and on a real MongoDB wire
protocol server (SecantusDB, a test-only tool started once per session)."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse, DummyCookieJar, FormData, web
from aiohttp.test_utils import TestClient
from pymongo import AsyncMongoClient

from shared.backend.app import create_app
from shared.backend.auth import create_account
from shared.backend.keys import PASSWORDS, STORE
from shared.backend.sessions import COOKIE_NAME
from shared.backend.settings import BackendSettings, HookPolicy, PasswordCost
from shared.backend.store import Role, Store
from shared.backend.stores import store_for_url
from shared.backend.tenancy import REGISTRATION_HEADER
from tests.ports import free_port, wait_for_port

SECANTUS = Path(sys.executable).parent / "secantusd-py"

# Real argon2id, with work factors small enough for a test suite that hashes hundreds of times.
FAST_PASSWORDS = PasswordCost(time_cost=1, memory_kib=8 * 1024, parallelism=1)
QUICK_HOOKS = HookPolicy(coalesce_seconds=0.05, attempts=3, first_backoff_seconds=0.05, timeout_seconds=5.0)
PASSWORD = "correct horse battery"
# What the gateway adds for a site whose site.toml says [auth] registration = "open".
OPEN_REGISTRATION = {REGISTRATION_HEADER: "open"}


def file_form(content: bytes, filename: str = "upload.png", content_type: str | None = None) -> FormData:
    """A multipart form with ``content`` as its ``file`` field, as a browser would send it."""
    form = FormData()
    form.add_field("file", content, filename=filename, content_type=content_type)
    return form



def start_secantus(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    """A fresh in-memory SecantusDB server; the caller stops it."""
    port = free_port()
    process = subprocess.Popen(
        [str(SECANTUS), "--host", "127.0.0.1", "--port", str(port), "--storage-path", ":memory:"],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, process, "secantusd-py")
    except BaseException:
        stop(process)
        raise
    return process, f"mongodb://127.0.0.1:{port}"


def stop(process: subprocess.Popen[bytes]) -> None:
    # SecantusDB ignores SIGTERM: an in-memory server has nothing to save, so it is killed soon.
    process.terminate()
    try:
        process.wait(timeout=1)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def mongo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    process, url = start_secantus(tmp_path_factory.mktemp("secantus"))
    yield url
    stop(process)


@pytest.fixture(params=["sqlite", "mongo"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'backend.sqlite3'}"
    server = request.getfixturevalue("mongo_server")
    return f"{server}/test_{uuid.uuid4().hex}"


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    yield store_for_url(store_url)
    if store_url.startswith("mongodb://"):
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(store_url)
        await client.drop_database(client.get_default_database())
        await client.close()


@pytest.fixture
def settings(tmp_path: Path, store_url: str) -> BackendSettings:
    return BackendSettings(
        data_dir=tmp_path / "data", store_url=store_url, password_cost=FAST_PASSWORDS, hooks=QUICK_HOOKS
    )


@dataclass
class Visitor:
    """Someone using one site (tenant) through the backend, with their own session cookie."""

    client: TestClient[web.Request, web.Application]
    tenant: str | None
    headers: dict[str, str] = field(default_factory=dict)
    session: str | None = None

    def as_tenant(self, tenant: str | None) -> Visitor:
        """The same person (same cookie) speaking for another site."""
        return replace(self, tenant=tenant, headers=dict(self.headers))

    def stranger(self) -> Visitor:
        """Someone else on the same site, signed out."""
        return Visitor(self.client, self.tenant, dict(self.headers))

    async def request(self, method: str, path: str, *, headers: dict[str, str] | None = None, **kwargs: Any) -> ClientResponse:
        sent = dict(self.headers)
        if self.tenant is not None:
            sent["X-Tenant-Domain"] = self.tenant
        if self.session is not None:
            sent["Cookie"] = f"{COOKIE_NAME}={self.session}"
        sent.update(headers or {})
        response = await self.client.request(method, path, headers=sent, **kwargs)
        await response.read()
        cookie = response.cookies.get(COOKIE_NAME)
        if cookie is not None:
            self.session = cookie.value or None
        return response

    async def get(self, path: str, **kwargs: Any) -> ClientResponse:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> ClientResponse:
        return await self.request("POST", path, **kwargs)

    async def put(self, path: str, **kwargs: Any) -> ClientResponse:
        return await self.request("PUT", path, **kwargs)

    async def patch(self, path: str, **kwargs: Any) -> ClientResponse:
        return await self.request("PATCH", path, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> ClientResponse:
        return await self.request("DELETE", path, **kwargs)

    async def register(self, email: str, password: str = PASSWORD, **extra: Any) -> dict[str, Any]:
        response = await self.post("/api/auth/register", json={"email": email, "password": password, **extra})
        assert response.status == 201, await response.text()
        return dict((await response.json())["user"])

    async def become_editor(self, email: str, password: str = PASSWORD) -> dict[str, Any]:
        """An editor made the operator's way (what ``sitegate backend create-user --role editor``
        runs, on the backend's own store), then signed in as this visitor."""
        assert self.tenant is not None
        app = self.client.app
        await create_account(
            app[STORE], app[PASSWORDS], self.tenant, email=email, password=password, name="", role=Role.EDITOR
        )
        response = await self.login(email, password)
        assert response.status == 200, await response.text()
        return dict((await response.json())["user"])

    async def login(self, email: str, password: str = PASSWORD) -> ClientResponse:
        return await self.post("/api/auth/login", json={"email": email, "password": password})

    async def publish(self, title: str, **fields: Any) -> dict[str, Any]:
        response = await self.post("/api/blog/posts", json={"title": title, "status": "published", **fields})
        assert response.status == 201, await response.text()
        return dict((await response.json())["post"])


BackendFactory = Callable[..., Awaitable[TestClient[web.Request, web.Application]]]


@pytest.fixture
def start_backend(
    aiohttp_client: Callable[..., Awaitable[TestClient[web.Request, web.Application]]],
    store: Store,
    settings: BackendSettings,
) -> BackendFactory:
    """Start the backend on the test's store; keyword arguments replace settings fields."""

    async def start(app_hook: Callable[[web.Application], None] | None = None, **changes: Any):
        app = create_app(store, settings=replace(settings, **changes))
        if app_hook is not None:
            app_hook(app)
        return await aiohttp_client(app, cookie_jar=DummyCookieJar())

    return start


@pytest.fixture
async def backend(start_backend: BackendFactory) -> TestClient[web.Request, web.Application]:
    return await start_backend()


@pytest.fixture
def site_a(backend: TestClient[web.Request, web.Application]) -> Visitor:
    """A visitor of site A, which takes sign-ups."""
    return Visitor(backend, "a.example", dict(OPEN_REGISTRATION))


@pytest.fixture
def site_b(backend: TestClient[web.Request, web.Application]) -> Visitor:
    """A visitor of site B, which takes sign-ups."""
    return Visitor(backend, "b.example", dict(OPEN_REGISTRATION))


@pytest.fixture
async def editor_a(site_a: Visitor) -> Visitor:
    """An editor of site A, made by the operator, signed in."""
    await site_a.become_editor("editor@a.example")
    return site_a
