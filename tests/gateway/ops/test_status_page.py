"""/_sitegate/status: the sites, their builds and a failed build's log tail, escaped."""

from __future__ import annotations

from html import escape
from pathlib import Path

from builders.base import BuildContext, BuildResult
from builders.errors import BuildError
from builders.static import StaticBuilder
from gateway.app import create_app
from gateway.ops.status_page import TAIL_LINES, Disk, render
from tests.gateway.sitefarm import settings_for, write_site


class FailingForBadTest(StaticBuilder):
    """The static builder, failing bad.test's build with a long log that quotes markup (a test double)."""

    def build(self, ctx: BuildContext) -> BuildResult:
        if ctx.site_name != "bad.test":
            return super().build(ctx)
        log = "\n".join(f"step {number}" for number in range(40)) + "\n<script>alert('log')</script>"
        raise BuildError("<script>alert('error')</script> is no page", log=log)


async def test_the_status_page_lists_sites_and_an_escaped_log_tail(aiohttp_client, tmp_path: Path) -> None:
    write_site(tmp_path / "sites", "ok.test", {"public/index.html": "fine"})
    write_site(tmp_path / "sites", "bad.test", {"public/index.html": "bad"})
    client = await aiohttp_client(create_app(settings_for(tmp_path), builder_lookup=lambda name: FailingForBadTest()))
    assert (await client.get("/", headers={"Host": "ok.test"})).status == 200
    assert (await client.get("/", headers={"Host": "bad.test"})).status == 503
    response = await client.get("/_sitegate/status")
    assert response.status == 200 and response.content_type == "text/html"
    page = await response.text()
    assert "<td>ok.test</td>" in page and "<td>bad.test</td>" in page
    assert "<td>ready</td>" in page and "<td>failed</td>" in page
    assert "<script>" not in page
    assert escape("<script>alert('error')</script> is no page") in page
    log = next((tmp_path / "builds" / "bad.test").glob("*.log"))
    assert f"the last {TAIL_LINES} lines of {log.name}" in page
    assert escape("<script>alert('log')</script>") in page
    assert "step 21" in page and "step 20\n" not in page


def test_a_cluster_member_says_which_part_is_out_of_reach_escaped() -> None:
    part = {"reachable": True, "error": None, "checked_at": None}
    cluster = {
        "holder": "web-1:42:abcd",
        "build_store": {"reachable": False, "error": "<timeout> at http://minio:9000", "checked_at": 1.0},
        "database": part,
    }
    page = render("production", [], Disk({}, {}), cluster)
    assert "cluster member web-1:42:abcd" in page
    assert "build store <strong>out of reach</strong>: &lt;timeout&gt; at http://minio:9000" in page
    assert "cluster database reachable" in page
