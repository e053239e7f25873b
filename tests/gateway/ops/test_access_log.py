"""One access log line per request, in production."""

from __future__ import annotations

import logging
from pathlib import Path

from gateway.app import create_app
from gateway.config import Mode
from tests.gateway.sitefarm import settings_for, write_site


async def test_each_request_writes_one_line_with_its_fields(aiohttp_client, tmp_path: Path, caplog) -> None:
    write_site(tmp_path / "sites", "a.test", {"public/index.html": "x" * 100})
    client = await aiohttp_client(create_app(settings_for(tmp_path)))
    with caplog.at_level(logging.INFO, logger="sitegate.access"):
        first = await client.get("/", headers={"Host": "a.test"})
        await client.get("/", headers={"Host": "a.test"})
        await client.get("/", headers={"Host": "a.test", "If-None-Match": first.headers["ETag"]})
        await client.get("/missing?q=1", headers={"Host": "a.test"})
    lines = [record for record in caplog.records if record.name == "sitegate.access"]
    assert [record.access["cache"] for record in lines] == ["miss", "hit", "304", "hit"]
    assert [record.access["status"] for record in lines] == [200, 200, 304, 404]
    first_line = lines[0].access
    assert first_line["site"] == "a.test" and first_line["method"] == "GET" and first_line["path"] == "/"
    assert first_line["bytes"] == 100 and first_line["duration_ms"] >= 0 and first_line["kind"] == "static"
    assert lines[3].access["path"] == "/missing"
    assert lines[0].getMessage().startswith("a.test GET / 200 100B ")


async def test_development_writes_no_access_log(aiohttp_client, tmp_path: Path, caplog) -> None:
    write_site(tmp_path / "sites", "a.test", {"public/index.html": "a"})
    client = await aiohttp_client(create_app(settings_for(tmp_path, mode=Mode.DEVELOPMENT)))
    with caplog.at_level(logging.INFO, logger="sitegate.access"):
        assert (await client.get("/", headers={"Host": "a.test"})).status == 200
    assert not [record for record in caplog.records if record.name == "sitegate.access"]


async def test_an_operator_can_turn_the_access_log_off(aiohttp_client, tmp_path: Path, caplog) -> None:
    write_site(tmp_path / "sites", "a.test", {"public/index.html": "a"})
    client = await aiohttp_client(create_app(settings_for(tmp_path, access_log=False)))
    with caplog.at_level(logging.INFO, logger="sitegate.access"):
        assert (await client.get("/", headers={"Host": "a.test"})).status == 200
    assert not [record for record in caplog.records if record.name == "sitegate.access"]
