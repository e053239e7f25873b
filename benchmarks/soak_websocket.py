"""The soak's WebSocket: an echo upstream in the soak's own process, and one client that holds
a socket to it through the gateway for the whole run.

The shared backend has no WebSocket route, so the echo upstream is the ``[api] backend`` of a
site of its own (``benchmarks.soak_sites.ECHO_SITE``), and ``/api/echo`` on that site goes
through the gateway's relay (``gateway.forwarding.websocket_relay``). The client sends on a
fixed beat without waiting for echoes, so that a slow relay leaves several in flight rather
than slowing the beat, and each echo must be the oldest message still in flight.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import aiohttp
from aiohttp import WSMsgType, web

ECHO_PATH = "/api/echo"
INTERVAL = 0.25
ECHO_TIMEOUT = 5.0
# A run may lose the odd beat to a busy loop, but not a fifth of them.
MIN_ECHOED_SHARE = 0.8
# Bounds the echo upstream's shutdown should a relayed socket outlive the client's close.
_SHUTDOWN_SECONDS = 5.0


@dataclass
class SocketFigures:
    sent: int = 0
    echoed: int = 0
    errors: list[str] = field(default_factory=list)

    def failures(self, seconds: float) -> list[str]:
        failed = [f"{len(self.errors)} WebSocket errors"] if self.errors else []
        wanted = seconds / INTERVAL * MIN_ECHOED_SHARE
        if self.echoed < wanted:
            failed.append(f"{self.echoed} WebSocket echoes, fewer than {wanted:.0f}")
        return failed

    def summary(self) -> str:
        return f"WebSocket (one, held throughout): {self.sent} sent, {self.echoed} echoed in order, {len(self.errors)} errors"


@asynccontextmanager
async def echo_upstream() -> AsyncIterator[str]:
    """An app on a free loopback port whose ``/api/echo`` echoes text; yields its base URL."""
    app = web.Application()
    app.router.add_get(ECHO_PATH, _echo)
    runner = web.AppRunner(app, shutdown_timeout=_SHUTDOWN_SECONDS)
    await runner.setup()
    try:
        # Port 0 and the address read back: no window in which another process takes the port.
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        host, port = runner.addresses[0][:2]
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


async def _echo(request: web.Request) -> web.WebSocketResponse:
    socket = web.WebSocketResponse()
    await socket.prepare(request)
    async for message in socket:
        if message.type is WSMsgType.TEXT:
            await socket.send_str(message.data)
    return socket


async def hold_socket(url: str, host: str, figures: SocketFigures, stop: asyncio.Event) -> None:
    """One WebSocket to ``url`` (the gateway's ``/api/echo``) as ``host`` until ``stop``, then
    the last echoes awaited and the socket closed; any failure is counted in ``figures``."""
    # Its own session: the soak's shared one has a connection limit this socket would hold. The
    # total bounds the handshake; aiohttp applies no read timeout to the open socket.
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=ECHO_TIMEOUT)) as session:
        try:
            async with session.ws_connect(url, headers={"Host": host}) as socket:
                await _Exchange(socket, figures).run(stop)
        except (aiohttp.ClientError, ConnectionError, TimeoutError) as error:
            figures.errors.append(f"WebSocket: {error!r}")


class _Exchange:
    def __init__(self, socket: aiohttp.ClientWebSocketResponse, figures: SocketFigures) -> None:
        self.socket = socket
        self.figures = figures
        self.in_flight: deque[tuple[int, float]] = deque()  # number, when sent
        self.stopping = False
        self.late = False

    async def run(self, stop: asyncio.Event) -> None:
        receiving = asyncio.create_task(self.receive())
        stopped = asyncio.create_task(stop.wait())
        try:
            started, number = time.monotonic(), 0
            while not stop.is_set() and not receiving.done() and not self.overdue():
                number += 1
                # In flight before it is sent: its echo may be read before send_str returns.
                self.in_flight.append((number, time.monotonic()))
                await self.socket.send_str(str(number))
                self.figures.sent += 1
                beat = started + number * INTERVAL - time.monotonic()
                await asyncio.wait((receiving, stopped), timeout=max(0.0, beat), return_when=asyncio.FIRST_COMPLETED)
            self.stopping = True
            while self.in_flight and not receiving.done() and not self.overdue():
                await asyncio.wait((receiving,), timeout=self.in_flight[0][1] + ECHO_TIMEOUT - time.monotonic())
            await self.socket.close()
            await receiving
        finally:
            receiving.cancel()
            stopped.cancel()

    async def receive(self) -> None:
        """Each echo checked against the oldest message in flight, until the socket closes or,
        once stopping, nothing is left in flight."""
        while True:
            message = await self.socket.receive()
            if message.type is not WSMsgType.TEXT:
                # Ours only once stopping and every echo is in (or one was already counted late).
                if not self.stopping or (self.in_flight and not self.late):
                    self.figures.errors.append(f"closed: {message.type.name}, code {self.socket.close_code}")
                return
            due = self.in_flight[0][0] if self.in_flight else None
            if message.data != str(due):
                self.figures.errors.append(f"echo {message.data!r} when message {due} was due")
                return
            self.in_flight.popleft()
            self.figures.echoed += 1
            if self.stopping and not self.in_flight:
                return

    def overdue(self) -> bool:
        """Whether an echo is late; counted once, as the beat and the wait at the end both ask."""
        if not self.late and self.in_flight and time.monotonic() - self.in_flight[0][1] > ECHO_TIMEOUT:
            self.figures.errors.append(f"no echo of message {self.in_flight[0][0]} within {ECHO_TIMEOUT:g} s")
            self.late = True
        return self.late
