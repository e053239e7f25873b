"""How the gateway listens: aiohttp's server with sitegate's limits on request heads and on
connections. ``serve`` runs a gateway until SIGINT or SIGTERM (``sitegate serve``, the
benchmarks); ``LimitedSite`` is the listener for anything that starts a runner itself;
``Gateway`` is the application, which may answer a request before aiohttp routes it."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
import warnings
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from gateway.config import Settings

log = logging.getLogger("sitegate")

_REFUSAL_BODY = b"503: the gateway has too many connections; try again shortly\n"
_REFUSAL = (
    b"HTTP/1.1 503 Service Unavailable\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Length: " + str(len(_REFUSAL_BODY)).encode() + b"\r\n"
    b"Retry-After: 1\r\n"
    b"Connection: close\r\n\r\n" + _REFUSAL_BODY
)
# A refused connection lives this long at most, so refusing a flood costs sockets for a moment.
_REFUSED_LINGER_SECONDS = 1.0
_WARNING_INTERVAL_SECONDS = 60.0


Shortcut = Callable[[web.Request], Awaitable[web.StreamResponse] | None]

with warnings.catch_warnings():
    # aiohttp discourages subclasses of Application. This one overrides only ``_handle``, what
    # aiohttp's server awaits for each request; tests/gateway/test_listen.py holds it to that.
    warnings.simplefilter("ignore", DeprecationWarning)

    class Gateway(web.Application):
        """An aiohttp application that offers each request to its ``shortcut`` first: the
        answer it returns is awaited as the response, and None sends the request on through
        the router and the middlewares as usual."""

        ATTRS = web.Application.ATTRS | {"shortcut"}
        shortcut: Shortcut | None = None

        async def _handle(self, request: web.Request) -> web.StreamResponse:
            if self.shortcut is not None and (answer := self.shortcut(request)) is not None:
                return await answer
            return await super()._handle(request)


def handler_args(settings: Settings) -> dict[str, Any]:
    """aiohttp's per-connection limits, from the settings.

    aiohttp's keep-alive timer starts when a connection opens and again after each response,
    and closes the connection if no complete request head has arrived when it fires; bytes
    trickling in do not reset it. So it is the header timeout too: a slowloris client is cut
    off after ``header_timeout`` however slowly it writes.
    """
    return {
        "keepalive_timeout": settings.header_timeout,
        "max_line_size": settings.max_header_bytes,
        "max_field_size": settings.max_header_bytes,
        "max_headers": settings.max_headers,
    }


class _Refused(asyncio.Protocol):
    """A connection past the limit: answered 503 at once and closed when the client's first
    bytes are read, or after a moment. Closing with its request still unread would reset the
    connection, and the client could lose the 503 it was sent."""

    def __init__(self) -> None:
        self._transport: asyncio.BaseTransport | None = None
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        transport.write(_REFUSAL)
        self._timer = asyncio.get_running_loop().call_later(_REFUSED_LINGER_SECONDS, transport.close)

    def data_received(self, data: bytes) -> None:
        if self._transport is not None:
            self._transport.close()

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()


class LimitedSite(web.TCPSite):
    """A TCP listener that serves at most ``max_connections`` connections at once.

    The count is aiohttp's own list of open connections, which a new one joins when the event
    loop first runs it; a burst accepted in one go (at most the listen backlog) can overshoot
    the limit by that much before the next connection sees it.
    """

    def __init__(
        self, runner: web.BaseRunner, host: str, port: int, *, max_connections: int, reuse_port: bool = False
    ) -> None:
        # reuse_port: each of ``--workers`` listens on the port itself, and the kernel spreads
        # new connections over them.
        super().__init__(runner, host, port, reuse_port=reuse_port or None)
        self._max_connections = max_connections
        self._last_warning = float("-inf")

    async def start(self) -> None:
        # TCPSite.start would listen with the runner's server as it is; skip to the base class
        # (which registers the site) and listen with the counting factory instead.
        await web.BaseSite.start(self)
        server = self._runner.server
        assert server is not None

        def protocol() -> asyncio.BaseProtocol:
            if len(server.connections) < self._max_connections:
                return server()
            self._warn()
            return _Refused()

        self._server = await asyncio.get_running_loop().create_server(
            protocol,
            self._host,
            self._port,
            backlog=self._backlog,
            reuse_address=self._reuse_address,
            reuse_port=self._reuse_port,
        )
        self._bound_port = self._server.sockets[0].getsockname()[1] if self._server.sockets else self._port

    def _warn(self) -> None:
        now = time.monotonic()
        if now - self._last_warning >= _WARNING_INTERVAL_SECONDS:
            self._last_warning = now
            log.warning("%d connections open (SITEGATE_MAX_CONNECTIONS): new ones get 503", self._max_connections)


async def serve(app: web.Application, settings: Settings, ready: Callable[[int], None] | None = None) -> None:
    """Serve ``app`` on ``settings.host:port`` until SIGINT or SIGTERM, then shut down cleanly;
    ``ready`` is told the port once connections are accepted."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=settings.shutdown_grace)
    await runner.setup()
    try:
        site = LimitedSite(
            runner, settings.host, settings.port, max_connections=settings.max_connections, reuse_port=settings.workers > 1
        )
        await site.start()
        if ready is not None:
            ready(site.port)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
    finally:
        await runner.cleanup()
