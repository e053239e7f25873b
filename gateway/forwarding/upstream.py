"""HTTP/1.1 to an upstream over connections kept alive between requests: the request head, with
a body already in hand, in one write; a body still arriving written after it as it comes; the
answer read by aiohttp's own response parser. aiohttp's client does this with redirects,
cookies, tracing and a timeout object per request on top, none of which the gateway uses; they
were about half of what forwarding a small request cost it (benchmarks/forwarding_bench.py).

Errors are aiohttp's client errors, as ``proxy.forward`` already tells them apart: a connect
that fails or times out, an upstream that closes or stays silent past the read timeout (counted
between two reads, from the end of the request), a body that breaks off.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterable

import aiohttp
from aiohttp.http_parser import RawResponseMessage
from aiohttp.streams import StreamReader
from yarl import URL

from gateway.forwarding.connection import Connection, Origin

# As aiohttp's client: idle connections go after 15 s, well before an aiohttp server drops
# them (75 s), and a request on a kept connection that turns out closed is sent once more on a
# new one if sending it twice cannot matter and its body can be sent again.
IDLE_SECONDS = 15.0
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})
# Without a body these go without a Content-Length; every other method says "0", as aiohttp did.
_BODILESS_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

Body = bytes | AsyncIterable[bytes] | None


def origin_of(upstream: str) -> Origin:
    url = URL(upstream)
    if url.scheme not in ("http", "https") or not url.raw_host or url.port is None:
        raise ValueError(f"not an http(s) URL: {upstream!r}")
    host = url.raw_host
    authority = f"[{host}]" if ":" in host else host
    if url.explicit_port is not None and url.explicit_port != (443 if url.scheme == "https" else 80):
        authority += f":{url.port}"
    return Origin(host, url.port, url.scheme == "https", authority, url.raw_path.rstrip("/"))


def request_head(method: str, target: str, origin: Origin, headers: list[tuple[str, str]], length: int | None) -> bytes:
    """The request line and headers; a ``length`` of None frames the body in chunks."""
    text = "".join(name + value for name, value in headers)
    if "\n" in text or "\r" in text:
        raise ValueError("a line break inside a request header")
    lines = [f"{method} {origin.base_path}{target} HTTP/1.1\r\nHost: {origin.authority}\r\n"]
    lines += [f"{name}: {value}\r\n" for name, value in headers]
    if length is None:
        lines.append("Transfer-Encoding: chunked\r\n")
    elif length or method not in _BODILESS_METHODS:
        lines.append(f"Content-Length: {length}\r\n")
    lines.append("\r\n")
    return "".join(lines).encode("utf-8", "surrogateescape")


class UpstreamPool:
    """The kept-alive connections to each upstream; shared by every forwarded request."""

    def __init__(self, *, connect_timeout: float, read_timeout: float, idle_seconds: float = IDLE_SECONDS) -> None:
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.idle_seconds = idle_seconds
        self._idle: dict[Origin, list[Connection]] = {}
        self._origins: dict[str, Origin] = {}
        self._closed = False

    def origin(self, upstream: str) -> Origin:
        found = self._origins.get(upstream)
        if found is None:
            found = self._origins[upstream] = origin_of(upstream)
        return found

    async def send(
        self, upstream: str, method: str, target: str, headers: list[tuple[str, str]], body: Body, length: int | None
    ) -> Exchange:
        """Send a request to the upstream at base URL ``upstream`` and wait for the head of its
        answer. ``body`` is bytes in hand, chunks still to come (``length`` bytes of them, or
        chunked when None) or None."""
        origin = self.origin(upstream)
        chunked = length is None
        head = request_head(method, target, origin, headers, length)
        # A body still arriving cannot be sent twice, so it goes on a new connection, which the
        # upstream cannot have closed meanwhile as it may a kept one.
        streamed = isinstance(body, AsyncIterable)
        replayable = not streamed and method in _IDEMPOTENT
        while True:
            connection = None if streamed else self._take(origin)
            reused = connection is not None
            if connection is None:
                connection = await self._connect(origin)
            exchange = Exchange(self, connection, method)
            try:
                await exchange.start(head, body, chunked=chunked)
                return exchange
            except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError):
                exchange.close()
                if not (reused and replayable):
                    raise
                replayable = False  # once more, on a new connection
            except BaseException:
                exchange.close()
                raise

    def close(self) -> None:
        self._closed = True
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
        self._idle.clear()

    def _take(self, origin: Origin) -> Connection | None:
        idle = self._idle.get(origin)
        now = asyncio.get_running_loop().time()
        while idle:
            connection = idle.pop()
            if connection.open and now - connection.idle_since < self.idle_seconds:
                return connection
            connection.close()
        return None

    async def _connect(self, origin: Origin) -> Connection:
        loop = asyncio.get_running_loop()
        tls = ssl.create_default_context() if origin.tls else None
        try:
            async with asyncio.timeout(self.connect_timeout):
                _, connection = await loop.create_connection(
                    lambda: Connection(origin, loop, self.read_timeout, self._forget), origin.host, origin.port,
                    ssl=tls, server_hostname=origin.host if tls else None,
                )  # fmt: skip
        except TimeoutError:
            raise aiohttp.ConnectionTimeoutError(f"connecting to {origin.authority} timed out") from None
        except OSError as error:
            raise aiohttp.ClientOSError(error.errno, f"cannot connect to {origin.authority}: {error}") from error
        return connection

    def keep(self, connection: Connection) -> None:
        if self._closed:
            connection.close()
            return
        idle = self._idle.setdefault(connection.origin, [])
        connection.idle_since = now = asyncio.get_running_loop().time()
        # Oldest first: the ones a burst opened and nobody took again go once they are stale.
        while idle and now - idle[0].idle_since >= self.idle_seconds:
            idle.pop(0).close()
        idle.append(connection)

    def _forget(self, connection: Connection) -> None:
        idle = self._idle.get(connection.origin)
        if idle is not None and connection in idle:
            idle.remove(connection)


class Exchange:
    """One request and its answer on one connection; ``release`` gives the connection back if
    the answer was read to its end and nothing else is left on it, and closes it otherwise."""

    def __init__(self, pool: UpstreamPool, connection: Connection, method: str) -> None:
        self._pool = pool
        self._connection: Connection | None = connection
        self._method = method
        self._writer: asyncio.Task[None] | None = None
        self.message: RawResponseMessage | None = None
        self.payload: StreamReader | None = None

    async def start(self, head: bytes, body: Body, *, chunked: bool) -> None:
        connection = self._connection
        assert connection is not None
        answer = connection.expect(self._method)
        if isinstance(body, AsyncIterable):
            connection.write(head)
            self._writer = asyncio.create_task(connection.write_body(body, chunked=chunked))
            self._writer.add_done_callback(connection.body_written)
        else:
            connection.write(head + body if body else head)
            connection.start_read_timer()
        self.message, self.payload = await answer

    def release(self) -> None:
        connection, writer, payload = self._connection, self._writer, self.payload
        if connection is None:
            return
        complete = (
            payload is not None
            and payload.is_eof()
            and payload.exception() is None
            and (writer is None or (writer.done() and not writer.cancelled() and writer.exception() is None))
        )
        if complete and connection.reusable and self.message is not None and not self.message.should_close:
            self._connection = None
            connection.finish()
            self._pool.keep(connection)
        else:
            self.close()

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if self._writer is not None and not self._writer.done():
            self._writer.cancel()
        if connection is not None:
            connection.close()
