"""Request smuggling shapes, sent raw to a real gateway whose /api backend records what reaches
it: each is refused with a 4xx (501 for a transfer coding we cannot undo), never forwarded, and
never left hanging (issue 11). Most are refused by aiohttp's own parser, in C and in Python
(used where the C extension is missing); these tests prove it for both."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from aiohttp import http_parser, web_protocol

from gateway.config import Settings
from tests.gateway.rawhttp import Gateway, body_of, running_gateway, status_of
from tests.gateway.sitefarm import settings_for, write_site

HEAD = b"POST /api/echo HTTP/1.1\r\nHost: a.test\r\n"
END = b"Connection: close\r\n\r\n"
# The request a front proxy that framed the body differently would see next on its connection.
SMUGGLED = b"GET /api/smuggled HTTP/1.1\r\nHost: a.test\r\n\r\n"
PARSERS = {"c": http_parser.HttpRequestParserC, "python": http_parser.HttpRequestParserPy}


@pytest.fixture(scope="module", params=sorted(PARSERS))
def parser_name(request: pytest.FixtureRequest) -> str:
    # aiohttp's wheels carry the C parser; one without it proves less, so it fails, never skips.
    assert PARSERS[request.param] is not None, "aiohttp's C parser is not built here"
    return str(request.param)


@pytest.fixture(scope="module")
def gateway(parser_name: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    tmp_path = tmp_path_factory.mktemp(f"smuggling-{parser_name}")
    write_site(tmp_path / "sites", "a.test", {"public/index.html": "home"})

    def with_backend(backend_url: str) -> Settings:
        return settings_for(tmp_path, backend_url=backend_url)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(web_protocol, "HttpRequestParser", PARSERS[parser_name])
        with running_gateway(with_backend) as running:
            yield running


def test_well_framed_bodies_are_forwarded_intact(gateway: Gateway) -> None:
    for framing in (
        b"Content-Length: 5\r\n" + END + b"hello",
        b"Transfer-Encoding: chunked\r\n" + END + b"5\r\nhello\r\n0\r\n\r\n",
        b"Transfer-Encoding: Chunked\r\n" + END + b"2;ext=1\r\nhe\r\n3\r\nllo\r\n0\r\n\r\n",
    ):
        gateway.backend.seen.clear()
        assert status_of(gateway.send(HEAD + framing)) == 200
        forwarded = [(method, path, body) for method, path, _, body in gateway.backend.seen]
        assert forwarded == [("POST", "/api/echo", b"hello")]


REFUSED = {
    "length, then coding": b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n" + END + b"0\r\n\r\n",
    "coding, then length": b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n" + END + b"0\r\n\r\n",
    "identity coding beside content-length": b"Transfer-Encoding: identity\r\nContent-Length: 5\r\n" + END + b"hello",
    "two different content-lengths": b"Content-Length: 5\r\nContent-Length: 44\r\n" + END + b"hello" + SMUGGLED,
    "two equal content-lengths": b"Content-Length: 5\r\nContent-Length: 5\r\n" + END + b"hello",
    "a list of content-lengths": b"Content-Length: 5, 5\r\n" + END + b"hello",
    "a signed content-length": b"Content-Length: +5\r\n" + END + b"hello",
    "a hexadecimal content-length": b"Content-Length: 0x5\r\n" + END + b"hello",
    "a negative content-length": b"Content-Length: -1\r\n" + END + b"hello",
    "an overflowing content-length": b"Content-Length: 99999999999999999999999\r\n" + END + b"hello",
    "chunked on a folded line": b"Transfer-Encoding:\r\n chunked\r\n" + END + b"0\r\n\r\n",
    "chunked and a folded continuation": b"Transfer-Encoding: chunked\r\n , identity\r\n" + END + b"0\r\n\r\n",
    "chunked behind a tab fold": b"Transfer-Encoding: x\r\n\tchunked\r\n" + END + b"0\r\n\r\n",
    "a folded ordinary header": b"X-Note: a\r\n b\r\n" + END,
    "a fold right after the request line": b" Host: b.test\r\n" + END,
    "a space before the colon": b"Transfer-Encoding : chunked\r\n" + END + b"0\r\n\r\n",
    "a vertical tab before chunked": b"Transfer-Encoding: \x0bchunked\r\n" + END + b"0\r\n\r\n",
    "chunked twice": b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n" + END + b"0\r\n\r\n",
    "chunked, then identity": b"Transfer-Encoding: chunked, identity\r\n" + END + b"0\r\n\r\n",
    "an unknown coding only": b"Transfer-Encoding: xchunked\r\n" + END + b"5\r\nhello\r\n0\r\n\r\n",
    "a bare LF in a header": b"X-Note: a\nTransfer-Encoding: chunked\r\n" + END + b"0\r\n\r\n",
    "a bare CR in a header": b"X-Note: a\rTransfer-Encoding: chunked\r\n" + END + b"0\r\n\r\n",
    "a NUL in a header": b"X-Note: a\x00b\r\n" + END,
    "a chunk size in hex notation": b"Transfer-Encoding: chunked\r\n" + END + b"0x5\r\nhello\r\n0\r\n\r\n",
    "chunk lines ended by LF only": b"Transfer-Encoding: chunked\r\n" + END + b"5\nhello\n0\n\n",
    "an overflowing chunk size": b"Transfer-Encoding: chunked\r\n" + END + b"ffffffffffffffffffff\r\nhello\r\n",
    "a 64 KB header": b"X-Big: " + b"a" * 64 * 1024 + b"\r\n" + END,
    "200 headers": b"".join(b"X-H%d: v\r\n" % number for number in range(200)) + END,
}


# Python's parser takes any chunk size and waits for that many bytes, as it would for a large
# body sent slowly: no framing two hops could read differently, only a client that holds a
# connection, so it is the C parser's refusal alone that is checked.
C_PARSER_ONLY = {"an overflowing chunk size"}


@pytest.mark.parametrize("shape", sorted(set(REFUSED) - C_PARSER_ONLY))
def test_a_smuggling_shape_is_refused_and_never_forwarded(gateway: Gateway, shape: str) -> None:
    assert_refused(gateway, REFUSED[shape])


@pytest.mark.parametrize("parser_name", ["c"], indirect=True)
@pytest.mark.parametrize("shape", sorted(C_PARSER_ONLY))
def test_the_c_parser_refuses_what_only_it_can(gateway: Gateway, shape: str) -> None:
    assert_refused(gateway, REFUSED[shape])


def assert_refused(gateway: Gateway, framing: bytes) -> None:
    gateway.backend.seen.clear()
    response = gateway.send(HEAD + framing)
    assert status_of(response) in (400, 431), body_of(response)[:200]
    assert gateway.backend.seen == []


def test_transfer_encoding_in_http_1_0_is_refused(gateway: Gateway) -> None:
    # HTTP/1.0 has no chunked coding, so a 1.0 proxy in front may have framed this body by its
    # own lights (RFC 9112 §6.1). Before the fix it was forwarded as "hello".
    gateway.backend.seen.clear()
    request = b"POST /api/echo HTTP/1.0\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
    for data in (request, request + SMUGGLED):
        assert status_of(gateway.send(data)) == 400
    assert gateway.backend.seen == []


def test_a_content_length_beyond_64_bits_is_refused(gateway: Gateway) -> None:
    # The C parser took it (and Python's even 10**23): forwarded, both sides waited for the body.
    gateway.backend.seen.clear()
    request = HEAD + b"Content-Length: %d\r\n" % 2**63 + END + b"hello"
    assert status_of(gateway.send(request)) == 400
    assert gateway.backend.seen == []


def test_a_transfer_coding_we_cannot_undo_is_refused(gateway: Gateway) -> None:
    # aiohttp reads "gzip, chunked" as chunked; the gzip bytes were forwarded as if plain.
    gateway.backend.seen.clear()
    request = HEAD + b"Transfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
    # No "Connection: close": the gateway must close by itself, since the body was not read.
    response = gateway.send(request + SMUGGLED)
    assert status_of(response) == 501 and response.count(b"HTTP/1.1 ") == 1
    assert gateway.backend.seen == []


def test_a_body_is_only_a_body(gateway: Gateway) -> None:
    # A request inside a well-framed body reaches the backend as bytes, never as a request.
    gateway.backend.seen.clear()
    body = SMUGGLED
    response = gateway.send(HEAD + b"Content-Length: %d\r\n" % len(body) + END + body)
    assert status_of(response) == 200
    assert [(path, sent) for _, path, _, sent in gateway.backend.seen] == [("/api/echo", body)]


def test_hop_by_hop_tricks_do_not_unset_the_tenant(gateway: Gateway) -> None:
    gateway.backend.seen.clear()
    request = (
        b"GET /api/echo HTTP/1.1\r\nHost: a.test\r\nX-Tenant-Domain: evil.example\r\n"
        b"Connection: close, X-Tenant-Domain, X-Forwarded-For, Host\r\n\r\n"
    )
    assert status_of(gateway.send(request)) == 200
    [(_, _, headers, _)] = gateway.backend.seen
    assert headers["X-Tenant-Domain"] == "a.test" and headers["Host"] != "a.test"
