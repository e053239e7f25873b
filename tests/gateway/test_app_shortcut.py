"""The app's shortcut (``gateway.app._site_shortcut``): a plain production request for a site is
answered before the router and the middlewares, and nothing those did is lost. Each test sends
the same requests with the shortcut on and off and finds the same outcome."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, make_mocked_request

from gateway.app import create_app
from gateway.config import Mode
from gateway.keys import SITES
from tests.gateway.ops.test_metrics import samples
from tests.gateway.rawhttp import body_of, running_gateway, status_of
from tests.gateway.sitefarm import settings_for, write_site

HOST = {"Host": "a.test"}
COUNTED = ("sitegate_requests_total", "sitegate_response_bytes_total", "sitegate_request_duration_seconds_count")


def watch(app: web.Application) -> list[bool]:
    """Whether the shortcut answered each request offered to it, in order."""
    shortcut, taken = app.shortcut, []

    def watched(request: web.Request) -> object:
        answer = shortcut(request)
        taken.append(answer is not None)
        return answer

    app.shortcut = watched
    return taken


@pytest.fixture
async def client(aiohttp_client: Callable[..., object], tmp_path: Path) -> TestClient:
    write_site(tmp_path / "sites", "a.test", {"public/index.html": "home", "public/app.js": "x" * 300})
    client = await aiohttp_client(create_app(settings_for(tmp_path)))
    assert (await client.get("/", headers=HOST)).status == 200  # built, so later requests are hits
    return client


async def test_only_plain_site_requests_take_it(client: TestClient) -> None:
    app = client.server.app
    plain = [("GET", "/", HOST), ("HEAD", "/app.js", HOST), ("GET", "/missing?q=1", HOST)]
    plain += [("GET", "/", {"Host": "A.TEST:80"})]
    other = [
        ("POST", "/", HOST),  # another method: the router's 405 or the site's, not ours to tell
        ("GET", "/%61pp.js", HOST),  # the router decodes it
        ("GET", "/x#y", HOST),  # the router drops the fragment
        ("GET", "http://a.test/_sitegate/health", HOST),  # the router reads the path of the URL
        ("GET", "/api/x", HOST),  # forwarded
        ("GET", "/_sitegate/health", HOST),  # another route
        ("GET", "/_sitegate/health/", HOST),  # under its prefix: the router's to judge
        ("GET", "/", {"Host": "a..test"}),  # a hostile host: the 400 is site_for's
        ("GET", "/", {"Host": "nobody.test"}),
        ("GET", "/", {**HOST, "Expect": "100-continue"}),
        ("GET", "/", {**HOST, "Content-Length": "0"}),
        ("GET", "/", {**HOST, "Transfer-Encoding": "chunked"}),
    ]
    taken = []
    for method, path, headers in plain + other:
        answer = app.shortcut(make_mocked_request(method, path, headers=headers, app=app))
        taken.append(answer is not None)
        if answer is not None:
            answer.close()  # a coroutine not awaited here
    assert taken == [True] * len(plain) + [False] * len(other)


async def test_development_never_takes_it(aiohttp_client: Callable[..., object], tmp_path: Path) -> None:
    write_site(tmp_path / "sites", "a.test", {"public/index.html": "<p>home</p>"})
    client = await aiohttp_client(create_app(settings_for(tmp_path, mode=Mode.DEVELOPMENT)))
    assert client.server.app.shortcut is None
    # The live reload script is still injected: the request went the whole way.
    assert "livereload" in await (await client.get("/", headers=HOST)).text()


async def test_access_lines_and_metrics_are_those_of_the_full_path(client: TestClient, caplog) -> None:
    app = client.server.app
    shortcut = app.shortcut
    requests = [("GET", "/", HOST), ("HEAD", "/app.js", HOST), ("GET", "/missing", HOST)]
    requests += [("GET", "/", {"Host": "a..test"})]
    seen = []
    for app.shortcut in (shortcut, None):
        with caplog.at_level(logging.INFO, logger="sitegate.access"):
            caplog.clear()
            before = samples(await (await client.get("/_sitegate/metrics")).text())
            for method, path, headers in requests:
                await (await client.request(method, path, headers=headers)).read()
            await asyncio.sleep(0)  # the lines of this turn are written at its end
            after = samples(await (await client.get("/_sitegate/metrics")).text())
        lines = [{**record.access, "duration_ms": 0} for record in caplog.records if record.name == "sitegate.access"]
        # The scrapes count themselves (as admin).
        counted = {
            key: after[key] - before.get(key, 0)
            for key in after
            if key[0] in COUNTED and ("kind", "admin") not in key[1]
        }
        seen.append(([line for line in lines if line["kind"] != "admin"], {k: v for k, v in counted.items() if v}))
    app.shortcut = shortcut
    assert seen[0] == seen[1]
    lines, counted = seen[0]
    assert [(line["status"], line["cache"], line["bytes"]) for line in lines] == [
        (200, "hit", 4), (200, "hit", 0), (404, "hit", 14), (400, "-", 446)
    ]  # fmt: skip
    site_2xx = frozenset({("site", "a.test"), ("kind", "static"), ("status_class", "2xx")})
    assert counted[("sitegate_requests_total", site_2xx)] == 2


FRAMINGS = {
    # What refuse_ambiguous_framing refuses, on a GET of a file the shortcut would answer.
    "a coding we cannot undo": (b"GET /index.html HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n", 501),
    "Transfer-Encoding in HTTP/1.0": (b"GET /index.html HTTP/1.0\r\nTransfer-Encoding: chunked\r\n", 400),
    "a length past a file offset": (b"GET /index.html HTTP/1.1\r\nContent-Length: 9223372036854775808\r\n", 400),
}


@pytest.mark.parametrize("shape", sorted(FRAMINGS))
def test_a_framing_refused_on_the_full_path_is_refused_all_the_same(tmp_path: Path, shape: str) -> None:
    write_site(tmp_path / "sites", "a.test", {"public/index.html": "home"})
    head, status = FRAMINGS[shape]
    with running_gateway(lambda backend: settings_for(tmp_path, backend_url=backend)) as gateway:
        assert body_of(gateway.get(b"/index.html")) == b"home"
        answer = gateway.send(head + b"Host: a.test\r\nConnection: close\r\n\r\n0\r\n\r\n")
        assert status_of(answer) == status, answer[:200]


async def test_a_hostile_host_gets_the_same_400(client: TestClient) -> None:
    app = client.server.app
    shortcut, answers = app.shortcut, []
    for app.shortcut in (shortcut, None):
        for host in ("a..test", "a.test:99999", "[::1", "-a.test", "a.test/x"):
            response = await client.get("/", headers={"Host": host})
            answers.append((host, response.status, await response.text()))
    app.shortcut = shortcut
    assert answers[:5] == answers[5:]
    assert {status for _, status, _ in answers} == {400}


async def test_a_changed_site_toml_is_seen_at_once_and_the_site_rebuilt(client: TestClient, tmp_path: Path) -> None:
    """The shortcut resolves the Host anew each time and asks the build manager, as the full
    path does: a new site.toml's options apply at the next request (spa), and the build it
    starts serves the files as they are now."""
    app = client.server.app
    taken = watch(app)
    root = tmp_path / "sites" / "a.test"
    assert (await client.get("/some/route", headers=HOST)).status == 404
    (root / "public" / "index.html").write_text("home, again")
    (root / "site.toml").write_text('builder = "static"\nspa = true\n')
    await app[SITES].reload(force=True)
    spa = await client.get("/some/route", headers=HOST)
    assert spa.status == 200 and await spa.text() in ("home", "home, again")
    for _ in range(200):
        if await (await client.get("/", headers=HOST)).text() == "home, again":
            break
        await asyncio.sleep(0.025)
    else:
        raise AssertionError("the site was never rebuilt after its site.toml changed")
    assert taken and all(taken)


async def test_a_site_broken_by_its_site_toml_gets_its_503(client: TestClient, tmp_path: Path) -> None:
    (tmp_path / "sites" / "a.test" / "site.toml").write_text('builder = "static"\naliases = [\n')
    os.kill(os.getpid(), signal.SIGHUP)
    for _ in range(100):
        response = await client.get("/", headers=HOST)
        if response.status == 503:
            break
        await asyncio.sleep(0.025)
    assert response.status == 503 and "site.toml, line" in await response.text()
