"""The config nginx-config writes, read as text (tests/deploy runs it in a real nginx)."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from gateway.ops.nginx_config import HASHED_NAME, NginxOptions, plan, render
from gateway.serving.files import has_content_hash
from gateway.sites.registry import Registry
from tests.gateway.sitefarm import write_site

NAME_CHARACTERS = st.sampled_from("abcXYZ019_-.")


@given(st.text(NAME_CHARACTERS, min_size=1, max_size=30), st.sampled_from(["js", "css", "woff2", "png"]))
def test_nginx_finds_a_content_hash_exactly_where_the_gateway_does(stem: str, extension: str) -> None:
    name = f"{stem}.{extension}"
    assert (re.search(HASHED_NAME, name) is not None) == has_content_hash(name), name


def registry_of(tmp_path: Path) -> Registry:
    write_site(tmp_path / "sites", "shop.test", {"public/index.html": "hi"}, 'aliases = ["www.shop.test", "*.shop.test"]\n')
    write_site(tmp_path / "sites", "broken.test", {"public/index.html": "hi"}, "builder = [\n")
    return Registry.scan(tmp_path / "sites", frozenset({"static"}))


def test_every_site_has_its_names_and_the_gateway_behind(tmp_path: Path) -> None:
    options = NginxOptions(gateway="127.0.0.1:3000", listen="8080")
    text = render(plan(registry_of(tmp_path), options), options, "sitegate nginx-config")
    assert "server_name shop.test www.shop.test *.shop.test;" in text
    assert "listen 8080 default_server;" in text and "server 127.0.0.1:3000;" in text
    assert text.count("location ^~ /_sitegate/ { return 404; }") == 3
    assert "root " not in text


def test_direct_serves_only_sites_nginx_can_serve_as_the_gateway_does(tmp_path: Path) -> None:
    options = NginxOptions(gateway="127.0.0.1:3000", direct=True, build_dir=tmp_path / "builds")
    text = render(plan(registry_of(tmp_path), options), options, "sitegate nginx-config --direct")
    assert f"root {tmp_path / 'builds' / 'shop.test' / '.rules-'}" in text
    assert "# broken.test: site.toml is broken" in text
    assert "broken.test/.rules-" not in text


def test_with_a_backend_nginx_writes_every_tenant_header_itself(tmp_path: Path) -> None:
    options = NginxOptions(gateway="127.0.0.1:3000", backend="127.0.0.1:8000", backend_token="s3cret")
    text = render(plan(registry_of(tmp_path), options), options, "sitegate nginx-config --backend …")
    shop = text[text.index("# shop.test") :]
    for header in ('X-Tenant-Domain "shop.test"', 'X-Site-Name "shop.test"', 'X-Sitegate-Token "s3cret"',
                   "X-Sitegate-Registration closed", "X-Forwarded-For $remote_addr"):  # fmt: skip
        assert f"proxy_set_header {header};" in shop
    assert "keep it as private" in text


GATEWAYS = ("10.0.0.1:3000", "10.0.0.2:3000")


def test_several_gateways_are_one_upstream_that_every_proxied_location_uses(tmp_path: Path) -> None:
    options = NginxOptions(gateway="", direct=True, build_dir=tmp_path / "builds", upstreams=GATEWAYS)
    text = render(plan(registry_of(tmp_path), options), options, "sitegate nginx-config --upstream …")
    assert "upstream sitegate_gateways {" in text and "upstream sitegate_gateway " not in text
    assert set(re.findall(r"proxy_pass http://(\w+);", text)) == {"sitegate_gateways"}
    assert "location @sitegate { proxy_pass http://sitegate_gateways; }" in text
    servers = text.count("server {")
    for setting in ("proxy_next_upstream error timeout http_502 http_504;", "proxy_next_upstream_tries 2;",
                    "proxy_http_version 1.1;", "proxy_set_header Connection $sitegate_connection;"):  # fmt: skip
        assert text.count(f"    {setting}\n") == servers, setting
    # /api through the gateways, retried only when no gateway could answer.
    api = "location ^~ /api/ { proxy_pass http://sitegate_gateways; proxy_next_upstream error timeout; }"
    assert text.count(api) == servers
    assert [line for line in text.splitlines() if "non_idempotent" in line and not line.startswith("#")] == []


def test_with_a_backend_and_several_gateways_api_goes_to_the_backend(tmp_path: Path) -> None:
    options = NginxOptions(gateway="", backend="127.0.0.1:8000", backend_token="s3cret", upstreams=GATEWAYS)
    text = render(plan(registry_of(tmp_path), options), options, "sitegate nginx-config --upstream … --backend …")
    shop = text[text.index("# shop.test") :]
    assert "location ^~ /api/ { proxy_pass http://sitegate_backend;" in shop
    assert "location / { proxy_pass http://sitegate_gateways; }" in shop


def test_one_gateway_is_not_retried(tmp_path: Path) -> None:
    options = NginxOptions(gateway="127.0.0.1:3000")
    text = render(plan(registry_of(tmp_path), options), options, "sitegate nginx-config")
    assert "proxy_next_upstream" not in text and "max_fails" not in text
    assert "location / { proxy_pass http://sitegate_gateway; }" in text
