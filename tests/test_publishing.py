"""The whole way a post travels: an editor signs in and publishes through the gateway's /api,
the backend stores it and calls the gateway's build hook, the site is rebuilt once, and the
post is on the site's blog page. Real gateway, real backend on a real SQLite file, real
sockets."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp

from gateway.app import create_app as create_gateway
from gateway.config import Mode
from shared.backend.app import create_app as create_backend
from shared.backend.auth import create_account
from shared.backend.keys import PASSWORDS, STORE
from shared.backend.settings import BackendSettings, HookPolicy, PasswordCost
from shared.backend.store import Role
from shared.backend.stores import store_for_url
from tests.gateway.sitefarm import settings_for, write_site
from tests.ports import free_port

SITE = "news.test"
BLOG_PAGE = """{% extends "layouts/base.html" %}
{% block content %}
<ul id="posts">{% for post in data.posts %}<li>{{ post.title }}</li>{% endfor %}</ul>
{% endblock %}
"""



async def wait_for(check: Any, seconds: float = 15.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


async def test_publishing_a_post_rebuilds_the_site_once_and_shows_the_post(aiohttp_server, tmp_path: Path) -> None:
    gateway_port, backend_port = free_port(), free_port()
    write_site(
        tmp_path / "sites",
        SITE,
        {"pages/news.html": BLOG_PAGE},
        'builder = "jinja"\ntitle = "News"\n[data]\nposts = "/api/blog/posts"\n',
    )
    backend_settings = BackendSettings(
        data_dir=tmp_path / "data",
        store_url=f"sqlite:///{tmp_path / 'data' / 'backend.sqlite3'}",
        gateway_url=f"http://127.0.0.1:{gateway_port}",
        password_cost=PasswordCost(time_cost=1, memory_kib=8 * 1024, parallelism=1),
        hooks=HookPolicy(coalesce_seconds=0.05, first_backoff_seconds=0.05),
    )
    backend = create_backend(store_for_url(backend_settings.store_url), settings=backend_settings)
    await aiohttp_server(backend, port=backend_port)
    # The site's editor is made by the operator: nobody becomes one by signing up.
    editor = {"email": "editor@news.test", "password": "correct horse battery staple"}
    await create_account(backend[STORE], backend[PASSWORDS], SITE, **editor, name="", role=Role.EDITOR)
    gateway_settings = settings_for(tmp_path, mode=Mode.PRODUCTION, backend_url=f"http://127.0.0.1:{backend_port}")
    await aiohttp_server(create_gateway(gateway_settings), port=gateway_port)
    site = f"http://127.0.0.1:{gateway_port}"
    host = {"Host": SITE}

    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:

        async def news_page() -> str:
            async with browser.get(f"{site}/news", headers=host) as response:
                assert response.status == 200, await response.text()
                return await response.text()

        async def builds_started() -> int:
            async with browser.get(f"{site}/_sitegate/health") as response:
                return (await response.json())["sites"][SITE]["builds_started"]

        assert "Launch day" not in await news_page()
        assert await builds_started() == 1

        # The site.toml has no [auth]: no sign-ups, whatever the client claims.
        sign_up = {"email": "someone@news.test", "password": "long enough"}
        claim = {**host, "X-Sitegate-Registration": "open"}
        async with browser.post(f"{site}/api/auth/register", json=sign_up, headers=claim) as response:
            assert response.status == 403, await response.text()
        async with browser.post(f"{site}/api/auth/login", json=editor, headers=host) as response:
            assert response.status == 200, await response.text()
        post = {"title": "Launch day", "body": "We are **live**.", "status": "published"}
        async with browser.post(f"{site}/api/blog/posts", json=post, headers=host) as response:
            assert response.status == 201, await response.text()

        async def shows_the_post() -> bool:
            return "<li>Launch day</li>" in await news_page()

        await wait_for(shows_the_post)
        await asyncio.sleep(0.5)  # a second hook would have arrived by now
        assert await builds_started() == 2
