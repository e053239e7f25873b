"""Hostile Host headers against a real gateway: the right site, or a 400/404, and never a file
looked up with the client's text (issue 11); and a property over ``hosts.normalize_host``."""

from __future__ import annotations

import builtins
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.config import Settings
from gateway.sites.hosts import InvalidHost, normalize_host
from gateway.sites.registry import Registry
from tests.gateway.rawhttp import Gateway, body_of, running_gateway, status_of
from tests.gateway.sitefarm import settings_for, write_site

SITES = {"a.test": "site-a", "xn--bcher-kva.example": "site-buecher", "127.0.0.1": "site-by-ip"}


def make_sites(tmp_path: Path) -> Path:
    for name, text in SITES.items():
        write_site(tmp_path / "sites", name, {"public/index.html": text})
    (tmp_path / "sites" / "secret.txt").write_text("TOPSECRET")
    return tmp_path / "sites"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    tmp_path = tmp_path_factory.mktemp("hostile-hosts")
    make_sites(tmp_path)

    def untrusting(backend_url: str) -> Settings:
        # No trusted proxies: every loopback client of these tests is an untrusted stranger.
        return settings_for(tmp_path, backend_url=backend_url, trusted_proxies=())

    with running_gateway(untrusting) as running:
        yield running


OK = [
    (b"a.test", "site-a"),
    (b"A.TEST", "site-a"),
    (b"a.test.", "site-a"),
    (b"a.test:3000", "site-a"),
    (b"a.test:", "site-a"),
    (b"xn--bcher-kva.example", "site-buecher"),
    ("bücher.example".encode(), "site-buecher"),
    ("BÜCHER.EXAMPLE.".encode(), "site-buecher"),
    ("XN--BCHER-KVA.example:80".encode(), "site-buecher"),
    (b"127.0.0.1", "site-by-ip"),
    (b"127.0.0.1:8080", "site-by-ip"),
]


@pytest.mark.parametrize(("host", "text"), OK, ids=lambda value: str(value))
def test_every_spelling_of_a_site_name_reaches_that_site(gateway: Gateway, host: bytes, text: str) -> None:
    response = gateway.get(b"/", host=host)
    assert status_of(response) == 200 and body_of(response) == text.encode()


REFUSED = [
    b"",
    b"a" * 300,
    b"a" * 10 * 1024,
    (b"a" * 63 + b".") * 5,
    b"a.test:99999",
    b"a.test:abc",
    b"a.test:-1",
    b"::1",
    b"[::1",
    b"[::1]x",
    b"[fe80::1%25eth0]",
    b"[not-an-ip]",
    b"a.test/x",
    b"a.test/../b.test",
    b"../a.test",
    b"..",
    b".",
    b"a..test",
    b".a.test",
    b"user@a.test",
    b"a.test@evil.example",
    b"a.test b",
    b"a.test\\x",
    b"%61.test",
    b"a.test%00",
    b"-a.test",
    b"xn--a.test",
    b"xn--zz-.test",
    "b\u00fccher.example".encode("latin-1"),
    "\u00adxn--a".encode(),
    b"a.test?x",
    b"a.test#x",
    b"*",
]


@pytest.mark.parametrize("host", REFUSED, ids=lambda host: host[:40].decode("latin-1"))
def test_a_host_that_is_no_host_name_is_refused(gateway: Gateway, host: bytes) -> None:
    response = gateway.get(b"/", host=host)
    assert status_of(response) == 400 and b"TOPSECRET" not in response


UNKNOWN = [b"b.test", b"[::1]", b"[::ffff:127.0.0.1]", b"127.0.0.2", b"a.test.evil.example", b"test", b"localhost"]


@pytest.mark.parametrize("host", UNKNOWN, ids=lambda host: host.decode())
def test_a_well_formed_host_with_no_site_is_a_404(gateway: Gateway, host: bytes) -> None:
    assert status_of(gateway.get(b"/", host=host)) == 404


def test_two_host_headers_are_refused_even_when_equal(gateway: Gateway) -> None:
    for second in (b"b.test", b"a.test"):
        response = gateway.send(b"GET / HTTP/1.1\r\nHost: a.test\r\nHost: " + second + b"\r\nConnection: close\r\n\r\n")
        assert status_of(response) == 400


def test_http_1_1_without_a_host_is_refused(gateway: Gateway) -> None:
    assert status_of(gateway.send(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n")) == 400


def test_an_untrusted_clients_forwarded_host_picks_no_site(gateway: Gateway) -> None:
    for header in (b"X-Forwarded-Host: a.test\r\n", b"Forwarded: host=a.test\r\n", b"X-Host: a.test\r\n"):
        assert status_of(gateway.get(b"/", host=b"b.test", headers=header)) == 404
        response = gateway.get(b"/", host=b"xn--bcher-kva.example", headers=header)
        assert body_of(response) == b"site-buecher"


def test_the_backend_hears_the_host_that_picked_the_site(gateway: Gateway) -> None:
    gateway.backend.seen.clear()
    response = gateway.get(b"/api/whoami", host=b"A.test:3000", headers=b"X-Forwarded-Host: evil.example\r\n")
    assert status_of(response) == 200
    [(_, _, headers, _)] = gateway.backend.seen
    assert headers["X-Tenant-Domain"] == "a.test" and "evil" not in headers["X-Forwarded-Host"]


def test_resolving_a_host_never_touches_the_file_system(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    registry = Registry.scan(make_sites(tmp_path), frozenset({"static"}))
    touched: list[tuple[str, Any]] = []

    def recorder(name: str) -> Any:
        def record(*args: Any, **kwargs: Any) -> Any:
            touched.append((name, args[0] if args else None))
            raise AssertionError(f"{name} called while resolving a host")

        return record

    for name in ("stat", "lstat", "scandir", "listdir", "open", "access"):
        monkeypatch.setattr(os, name, recorder(f"os.{name}"))
    monkeypatch.setattr(builtins, "open", recorder("open"))
    for host, _ in OK:
        registry.resolve(host.decode())
    for host in [*REFUSED, *UNKNOWN, b"../secret.txt", b"secret.txt", b"sites"]:
        try:
            registry.resolve(host.decode("utf-8", "replace"))
        except InvalidHost:
            pass
    monkeypatch.undo()
    assert touched == []


CANONICAL = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*|\[[0-9a-f:.]+\]")
HOST_PIECES = st.sampled_from(
    [
        "a", "test", "xn--", "xn--bcher-kva", "bücher", "BÜCHER", "ß", "İ", "ﬁ", "Ⅸ", "K",
        "ｅｘａｍｐｌｅ",
        "。", "．", ".", "..", ":", ":80", ":99999", "[", "]", "::1", "[::1]", "127.0.0.1", "-", "_", "@",
        "/", "\\", "%", "%2e", "\x00", " ", "\t", "\u00ad", "\u200d", "\U0001f600", "xn--a", "xn--zz",
    ]
)  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(st.lists(st.one_of(HOST_PIECES, st.text(max_size=4)), max_size=12).map("".join))
def test_normalize_host_gives_a_canonical_name_or_invalid_host(raw: str) -> None:
    try:
        host = normalize_host(raw)
    except InvalidHost:
        return
    # Lower-case ASCII, no port, no trailing dot, and canonical: normalising again changes nothing.
    assert CANONICAL.fullmatch(host), host
    assert normalize_host(host) == host


def test_a_mapping_that_makes_bad_punycode_is_refused() -> None:
    # The soft hyphen maps to nothing, leaving "xn--a", which is no punycode: it was returned
    # as the canonical name although normalising it again raised.
    with pytest.raises(InvalidHost):
        normalize_host("\u00adxn--a")
