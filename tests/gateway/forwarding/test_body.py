"""/api bodies are bounded (issue 11, load and limits): past SITEGATE_MAX_API_BODY_BYTES a body
gets 413, declared or counted as it streams, and one that stops arriving for
SITEGATE_BODY_TIMEOUT gets 408; neither reaches the backend whole. Sent raw to a real gateway."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.config import Settings
from tests.gateway.rawhttp import TIMEOUT, Gateway, body_of, running_gateway, status_of
from tests.gateway.sitefarm import settings_for, write_site

LIMIT = 1000
BODY_TIMEOUT = 1.0
HEAD = b"POST /api/upload HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    tmp_path: Path = tmp_path_factory.mktemp("bodies")
    write_site(tmp_path / "sites", "a.test", {"public/index.html": "home"})

    def with_backend(backend_url: str) -> Settings:
        return settings_for(tmp_path, backend_url=backend_url, max_api_body_bytes=LIMIT, body_timeout=BODY_TIMEOUT)

    with running_gateway(with_backend) as running:
        yield running


def error_code(answer: bytes) -> str:
    return str(json.loads(body_of(answer))["error"]["code"])


def chunked(body: bytes, size: int) -> bytes:
    pieces = [body[start : start + size] for start in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces) + b"0\r\n\r\n"


def test_bodies_up_to_the_limit_reach_the_backend_whole(gateway: Gateway) -> None:
    body = b"x" * LIMIT
    for framing in (b"Content-Length: %d\r\n\r\n" % LIMIT + body, b"Transfer-Encoding: chunked\r\n\r\n" + chunked(body, 300)):
        gateway.backend.seen.clear()
        assert status_of(gateway.send(HEAD + framing)) == 200
        assert [seen[3] for seen in gateway.backend.seen] == [body]


def test_a_declared_length_past_the_limit_is_refused_before_forwarding(gateway: Gateway) -> None:
    gateway.backend.seen.clear()
    answer = gateway.send(HEAD + b"Content-Length: %d\r\n\r\n" % (LIMIT + 1) + b"x" * (LIMIT + 1))
    assert status_of(answer) == 413 and error_code(answer) == "payload_too_large"
    assert gateway.backend.seen == []


def test_a_chunked_body_is_cut_off_when_it_passes_the_limit(gateway: Gateway) -> None:
    gateway.backend.seen.clear()
    answer = gateway.send(HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + chunked(b"x" * (LIMIT * 3), 300))
    assert status_of(answer) == 413 and error_code(answer) == "payload_too_large"
    assert all(len(seen[3]) <= LIMIT for seen in gateway.backend.seen)


def send_slowly(gateway: Gateway, head: bytes, pieces: list[bytes], pause: float) -> tuple[bytes, float]:
    """``head``, then ``pieces`` with ``pause`` seconds before each; the answer and its delay."""
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=TIMEOUT) as conn:
        started = time.monotonic()
        conn.sendall(head)
        try:
            for piece in pieces:
                time.sleep(pause)
                conn.sendall(piece)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the gateway gave up on the body; its answer is read below
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks), time.monotonic() - started


def test_a_body_that_stops_arriving_gets_408(gateway: Gateway) -> None:
    gateway.backend.seen.clear()
    answer, seconds = send_slowly(gateway, HEAD + b"Content-Length: 10\r\n\r\nabc", [], 0)
    assert status_of(answer) == 408 and error_code(answer) == "request_timeout"
    assert BODY_TIMEOUT <= seconds < BODY_TIMEOUT + 2.0
    assert gateway.backend.seen == []


def test_a_slow_body_that_keeps_arriving_is_forwarded(gateway: Gateway) -> None:
    # Five pieces 0.4 s apart take longer than the body timeout, which counts idle time only.
    gateway.backend.seen.clear()
    answer, _ = send_slowly(gateway, HEAD + b"Content-Length: 10\r\n\r\n", [b"ab"] * 5, BODY_TIMEOUT * 0.4)
    assert status_of(answer) == 200
    assert [seen[3] for seen in gateway.backend.seen] == [b"ab" * 5]
