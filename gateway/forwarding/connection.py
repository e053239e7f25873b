"""One kept-alive connection to an upstream (``gateway.forwarding.upstream`` pools them): it
writes a request, hands over the head of the answer and streams its body through aiohttp's
StreamReader, and notices an upstream that closes, breaks off or stays silent too long."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, Callable
from dataclasses import dataclass

import aiohttp
from aiohttp.http_parser import HttpResponseParser, RawResponseMessage
from aiohttp.streams import StreamReader

_READ_LIMIT = 2**16  # the answer's body buffered before reading pauses, as aiohttp's read_bufsize


@dataclass(frozen=True)
class Origin:
    """Where an upstream base URL points: what to connect to, its Host, the path it is under."""

    host: str
    port: int
    tls: bool
    authority: str
    base_path: str


class Connection(asyncio.Protocol):
    """One connection to an upstream, one exchange on it at a time. Also the protocol aiohttp's
    StreamReader pauses and resumes when the answer's body comes faster than it is sent on."""

    def __init__(
        self, origin: Origin, loop: asyncio.AbstractEventLoop, read_timeout: float, on_lost: Callable[[Connection], None]
    ) -> None:
        self.origin = origin
        self.idle_since = 0.0
        self.reusable = True
        self.transport: asyncio.Transport | None = None
        self._loop = loop
        self._read_timeout = read_timeout
        self._on_lost = on_lost
        self._parser: HttpResponseParser | None = None
        self._answer: asyncio.Future[tuple[RawResponseMessage, StreamReader]] | None = None
        self._payload: StreamReader | None = None
        self._reading_paused = False  # read by StreamReader
        self._drain: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._awaiting = False
        self._last_read = 0.0

    @property
    def open(self) -> bool:
        return self.transport is not None and not self.transport.is_closing()

    connected = open  # StreamReader's name for it

    def expect(self, method: str) -> asyncio.Future[tuple[RawResponseMessage, StreamReader]]:
        self._parser = HttpResponseParser(
            self, self._loop, _READ_LIMIT, timer=None, payload_exception=aiohttp.ClientPayloadError,
            response_with_body=method != "HEAD", read_until_eof=True, auto_decompress=False,
        )  # fmt: skip
        self._payload = None
        self._answer = self._loop.create_future()
        self._awaiting = False  # until the request is all sent
        return self._answer

    def write(self, data: bytes) -> None:
        if not self.open:
            raise aiohttp.ServerDisconnectedError()
        assert self.transport is not None
        self.transport.write(data)

    async def write_body(self, chunks: AsyncIterable[bytes], *, chunked: bool) -> None:
        async for chunk in chunks:
            if not chunk:
                continue
            if chunked:
                self.write(b"%x\r\n%b\r\n" % (len(chunk), chunk))
            else:
                self.write(chunk)
            if self._drain is not None:
                await self._drain
        if chunked:
            self.write(b"0\r\n\r\n")

    def body_written(self, writer: asyncio.Task[None]) -> None:
        if writer.cancelled():
            return
        error = writer.exception()
        if error is None:
            self.start_read_timer()
            return
        # The client's body broke off or was refused: the upstream got a request it cannot
        # finish, so the connection goes, and the wait for its answer ends with the reason.
        self.reusable = False
        self._fail(aiohttp.ClientOSError(f"the request body could not be sent: {error!r}"))
        self.close()

    def start_read_timer(self) -> None:
        """Count the read timeout from now: the request is all sent. One timer serves the
        exchanges that follow on the connection while it is busy, re-armed when it fires."""
        self._last_read = self._loop.time()
        self._awaiting = True
        if self._timer is None and self.open:
            self._timer = self._loop.call_at(self._last_read + self._read_timeout, self._check_read_timeout)

    def finish(self) -> None:
        self._awaiting = False
        self._parser = self._payload = self._answer = None

    def close(self) -> None:
        self.reusable = False
        if self.transport is not None:
            self.transport.close()

    def _check_read_timeout(self) -> None:
        self._timer = None
        if not self._awaiting or (self._payload is not None and self._payload.is_eof()):
            return
        now = self._loop.time()
        if self._reading_paused:
            self._last_read = now  # the wait is ours: the client takes the body slowly
        due = self._last_read + self._read_timeout
        if now < due:
            self._timer = self._loop.call_at(due, self._check_read_timeout)
            return
        self._fail(aiohttp.ServerTimeoutError(f"no answer from {self.origin.authority} for {self._read_timeout:g} s"))
        self.close()

    def _fail(self, error: Exception) -> None:
        """End the wait for the answer, or for the rest of its body, with ``error``."""
        self.reusable = False
        payload = self._payload
        if self._answer is not None and not self._answer.done():
            self._answer.set_exception(error)
        elif payload is not None and not payload.is_eof() and payload.exception() is None:
            payload.set_exception(error)

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self._last_read = self._loop.time()
        if self._parser is None:
            self.close()  # bytes nobody asked for
            return
        try:
            messages, upgraded, tail = self._parser.feed_data(data)
        except Exception as error:
            self._fail(aiohttp.ClientPayloadError(f"no valid answer from {self.origin.authority}: {error!r}"))
            self.close()
            return
        for message, payload in messages:
            if 100 <= message.code < 200 and message.code != 101:
                continue  # an interim answer (103 Early Hints); the final one follows
            if self._answer is not None and not self._answer.done():
                self._payload = payload
                self._answer.set_result((message, payload))
            else:
                self.reusable = False  # a second answer to one request
        if upgraded or tail:
            self.reusable = False

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.reusable = False
        self._on_lost(self)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._parser is not None:
            try:
                self._parser.feed_eof()
            except Exception as error:
                if self._payload is not None and not self._payload.is_eof():
                    self._payload.set_exception(aiohttp.ClientPayloadError(f"the answer broke off: {error!r}"))
        lost: Exception = aiohttp.ClientOSError(*exc.args) if isinstance(exc, OSError) else aiohttp.ServerDisconnectedError()
        self._fail(lost)
        if self._drain is not None:
            self._drain.cancel()  # a body writer waiting on it stops; the failure is told above

    def pause_writing(self) -> None:
        self._drain = self._loop.create_future()

    def resume_writing(self) -> None:
        drain, self._drain = self._drain, None
        if drain is not None and not drain.done():
            drain.set_result(None)

    def pause_reading(self) -> None:
        if self.transport is not None and not self._reading_paused:
            self._reading_paused = True
            self.transport.pause_reading()

    def resume_reading(self, resume_parser: bool = True) -> None:
        if self.transport is not None and self._reading_paused:
            self._reading_paused = False
            self.transport.resume_reading()
