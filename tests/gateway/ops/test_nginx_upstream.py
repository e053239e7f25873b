"""What ``--upstream`` takes as a gateway's address, and the upstream block it makes."""

from __future__ import annotations

import re

import pytest

from gateway.ops.nginx_upstream import retry_settings, server_address, upstream_block


@pytest.mark.parametrize(
    ("text", "server"),
    [
        ("127.0.0.1:3000", "127.0.0.1:3000"),
        ("gateway-2.internal:3000", "gateway-2.internal:3000"),
        ("sitegate_gateway_1:3000", "sitegate_gateway_1:3000"),
        ("localhost:1", "localhost:1"),
        ("[::1]:65535", "[::1]:65535"),
        ("[2001:DB8:0:0::1]:80", "[2001:db8::1]:80"),
        ("10.0.0.7:0080", "10.0.0.7:80"),
    ],
)
def test_a_gateway_is_a_host_name_or_an_address_and_a_port(text: str, server: str) -> None:
    assert server_address(text) == server


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("127.0.0.1", "port is needed"),
        ("gateway", "port is needed"),
        (":3000", "port is needed"),
        ("http://gateway:3000", "without a scheme"),
        ("gateway:3000/x", "without a scheme"),
        ("gateway:0", "1 to 65535"),
        ("gateway:65536", "1 to 65535"),
        ("gateway:+80", "1 to 65535"),
        ("gateway:", "1 to 65535"),
        ("256.1.1.1:80", "no IPv4 address"),
        ("1.2.3:80", "no IPv4 address"),
        ("::1:80", "in brackets"),
        ("[::g]:80", "no IPv6 address"),
        ("[fe80::1%eth0]:80", "no IPv6 address"),
        ("-gateway:80", "no host name"),
        ("gate way:80", "no host name"),
        ("gateway;:80", "no host name"),
        ("a..b:80", "no host name"),
        ("gäteway:80", "no host name"),
        ("${host}:80", "no host name"),
    ],
)
def test_anything_else_is_refused_with_the_reason(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=re.escape(reason)):
        server_address(text)


def test_each_gateway_is_checked_passively_and_kept_alive() -> None:
    block = upstream_block(["10.0.0.1:3000", "10.0.0.2:3000"])
    assert "upstream sitegate_gateways {\n" in block
    assert "    server 10.0.0.1:3000 max_fails=2 fail_timeout=5s;\n    server 10.0.0.2:3000 max_fails=2 fail_timeout=5s;\n" in block
    assert "    keepalive 64;\n    keepalive_timeout 5s;\n}\n" in block
    # Every line before the block is a comment saying why.
    assert all(line.startswith("#") for line in block.split("upstream sitegate_gateways")[0].splitlines())


def test_retries_go_once_to_each_gateway_and_never_resend_a_post() -> None:
    settings = retry_settings(["a:1", "b:1", "c:1"])
    assert "proxy_next_upstream error timeout http_502 http_504;" in settings
    assert "proxy_next_upstream_tries 3;" in settings
    assert any(re.fullmatch(r"proxy_next_upstream_timeout \d+s;", line) for line in settings)
    assert not any("non_idempotent" in line or "http_503" in line for line in settings)
    assert retry_settings([]) == ()
