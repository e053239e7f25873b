"""A forwarded request body, bounded: ``SITEGATE_MAX_API_BODY_BYTES`` in all and at most
``SITEGATE_BODY_TIMEOUT`` seconds between two of its chunks, however it is framed.

A Content-Length past the limit is refused before anything is forwarded; a chunked body is
counted as it streams, and cut off when it passes the limit or stops arriving. A body that came
whole with the request's head (``received_whole``, as a small one does) is sent on in one piece.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiohttp import StreamReader


@dataclass(frozen=True)
class Refusal:
    """Why the gateway stopped reading a body, as the client is told it."""

    status: int
    code: str
    message: str


class BodyRefused(Exception):
    """Raised into the upstream request so that it stops; ``BoundedBody.refusal`` says why."""


def declared_too_large(content_length: int | None, max_bytes: int) -> Refusal | None:
    if content_length is not None and content_length > max_bytes:
        return _too_large(max_bytes)
    return None


def received_whole(content: StreamReader) -> bytes | None:
    """The whole body if all of it has arrived already, else None (it streams)."""
    if not content.is_eof():
        return None
    return content.read_nowait()


class BoundedBody:
    """The client's body as the upstream request reads it."""

    def __init__(self, content: StreamReader, *, max_bytes: int, idle_timeout: float) -> None:
        self._content = content
        self._max_bytes = max_bytes
        self._idle_timeout = idle_timeout
        self.refusal: Refusal | None = None

    async def chunks(self) -> AsyncIterator[bytes]:
        received = 0
        while True:
            try:
                async with asyncio.timeout(self._idle_timeout):
                    chunk = await self._content.readany()
            except TimeoutError:
                # A client trickling its body would hold our connection and the backend's.
                raise self._refuse(
                    Refusal(408, "request_timeout", f"no part of the body arrived for {self._idle_timeout:g} s")
                ) from None
            if not chunk:
                return
            received += len(chunk)
            if received > self._max_bytes:
                raise self._refuse(_too_large(self._max_bytes))
            yield chunk

    def _refuse(self, refusal: Refusal) -> BodyRefused:
        self.refusal = refusal
        return BodyRefused(refusal.message)


def _too_large(max_bytes: int) -> Refusal:
    return Refusal(413, "payload_too_large", f"the body is larger than {max_bytes} bytes")
