"""Rebuilds follow the imports of the shared React library: an edit of a shared component rebuilds
the framework sites that import it and no other site; a broken one fails those builds with the
file and line, while their last good builds keep serving. Counted from the build records."""

from __future__ import annotations

import asyncio
import re
import shutil
from pathlib import Path

from gateway.app import create_app
from gateway.config import PACKAGED_COMPONENTS, PACKAGED_TEMPLATES
from gateway.sites.create import create_site
from tests.builders.npm_cache import link_dependencies
from tests.gateway.sitefarm import settings_for, write_site

EXAMPLE_VITE = Path(__file__).resolve().parents[3] / "sites" / "vite.clientsite.com"
SITES = ("uses.test", "plain.test", "jinja.test")


def records(builds: Path, site: str) -> int:
    return len(list((builds / site).glob("*.json")))


async def bundle(client, host: str) -> str:  # type: ignore[no-untyped-def]
    home = await client.get("/", headers={"Host": host})
    script = re.search(r'src="(/assets/index-[\w-]+\.js)"', await home.text())
    assert home.status == 200 and script is not None
    return await (await client.get(script[1], headers={"Host": host})).text()


async def rebuild_all_and_settle(client) -> dict:  # type: ignore[no-untyped-def]
    """Every site's rebuild hook, as `sitegate build --all` or a deploy asks; then wait for quiet."""
    for site in SITES:
        assert (await client.post(f"/_sitegate/hooks/rebuild/{site}")).status == 202
    for _ in range(600):
        health = await (await client.get("/_sitegate/health")).json()
        if not any(health["sites"][site]["building"] for site in SITES):
            return health
        await asyncio.sleep(0.1)
    raise AssertionError("the rebuilds did not finish")


async def test_a_shared_component_edit_rebuilds_exactly_its_importers(aiohttp_client, tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shutil.copytree(PACKAGED_COMPONENTS, shared)
    sites = tmp_path / "sites"
    uses = create_site(sites, PACKAGED_TEMPLATES, "uses.test", "vite")
    plain = sites / "plain.test"
    shutil.copytree(EXAMPLE_VITE, plain, ignore=shutil.ignore_patterns("node_modules", "dist"))
    for site in (uses, plain):
        link_dependencies(site)
    write_site(sites, "jinja.test", {"pages/index.html": '{% from "blog/tag_list.html" import tag_list %}{{ tag_list([]) }}ok'}, 'builder = "jinja"\n')
    builds = tmp_path / "builds"
    client = await aiohttp_client(create_app(settings_for(tmp_path, shared_dir=shared)))
    for site in SITES:
        assert (await client.get("/", headers={"Host": site})).status == 200
    assert "sg-post-card__date" in await bundle(client, "uses.test")

    card = shared / "react" / "blog" / "PostCard.jsx"
    card.write_text(card.read_text().replace("sg-post-card__date", "sg-post-card__published"))
    await rebuild_all_and_settle(client)
    assert [records(builds, site) for site in SITES] == [2, 1, 1]
    assert "sg-post-card__published" in await bundle(client, "uses.test")

    # A syntax error on line 3: the importing site's build fails naming the file and line.
    served = await client.get("/", headers={"Host": "uses.test"})
    lines = card.read_text().splitlines()
    lines[2] = "export const broken = ;"
    card.write_text("\n".join(lines) + "\n")
    health = await rebuild_all_and_settle(client)
    assert health["sites"]["uses.test"]["builds_failed"] == 1 and health["sites"]["uses.test"]["stale"]
    assert [records(builds, site) for site in SITES] == [2, 1, 1]
    # The failed build's log is the one without a build folder.
    (log_path,) = [path for path in (builds / "uses.test").glob("*.log") if not path.with_suffix("").is_dir()]
    log = log_path.read_text()
    assert re.search(r"PostCard\.jsx:3:\d+", log), log[-3000:]
    again = await client.get("/", headers={"Host": "uses.test"})
    assert again.status == 200 and again.headers["ETag"] == served.headers["ETag"]
