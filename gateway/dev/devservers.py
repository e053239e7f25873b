"""Dev mode for framework sites: the site's own dev server (Vite, Astro, Next…) instead of builds.

It starts on a free port when the site is first requested (dependencies installed first when
they changed), takes the site's non-``/api`` traffic, its hot-reload WebSocket included, and
stops with the gateway. When it dies, the next request says so and the one after starts it again.
"""

from __future__ import annotations

import asyncio
import logging
import shlex
import signal
import socket
import threading
from dataclasses import dataclass

import aiohttp
from aiohttp import web

from builders.command import npm, shared_library
from builders.command.builder import resolve_program
from builders.command.environment import command_environment
from builders.command.presets import dev_command
from builders.command.process import (
    TERMINATE_GRACE_SECONDS,
    OutputLog,
    group_members,
    signal_group,
)
from builders.errors import BuildError
from gateway.config import Settings
from gateway.forwarding import proxy
from gateway.serving import pages
from gateway.sites.registry import Site

log = logging.getLogger("sitegate.devservers")

DEV_START_TIMEOUT = 60.0
PORT_PLACEHOLDER = "{port}"
_READ_SIZE = 64 * 1024
_EXIT_NOTICE_SECONDS = 2.0


class DevServerFailed(Exception):
    """A site's dev server could not be started, or has stopped."""

    def __init__(self, site_name: str, message: str, log: str = "") -> None:
        super().__init__(f"{site_name}: {message}")
        self.site_name = site_name
        self.message = message
        self.log = log


@dataclass(frozen=True)
class _DevServer:
    """One running dev server; ``command`` is its template, to notice when site.toml changes it."""

    command: tuple[str, ...]
    process: asyncio.subprocess.Process
    url: str
    output: OutputLog
    reader: asyncio.Task[None]


class DevServers:
    """The dev servers of one gateway, at most one per site."""

    def __init__(self, settings: Settings, start_timeout: float = DEV_START_TIMEOUT) -> None:
        self._settings = settings
        self._start_timeout = start_timeout
        self._servers: dict[str, _DevServer] = {}
        self._starting: dict[str, asyncio.Task[_DevServer]] = {}
        self._stopping_tasks: set[asyncio.Task[None]] = set()
        # Tells an install running in a worker thread to kill its process group.
        self._closing = threading.Event()

    def serves(self, site: Site) -> bool:
        """Whether the site runs a dev server (a broken ``dev`` option counts, so it is reported)."""
        try:
            return dev_command(site.builder, site.options) is not None
        except BuildError:
            return True

    async def upstream(self, site: Site) -> str:
        """The base URL of the site's running dev server, starting it first when needed.
        Raises ``DevServerFailed`` when it cannot start, or died since the last request."""
        if self._closing.is_set():
            raise DevServerFailed(site.name, "the gateway is shutting down")
        try:
            command = dev_command(site.builder, site.options)
        except BuildError as error:
            raise DevServerFailed(site.name, str(error)) from None
        if command is None:
            raise DevServerFailed(site.name, "the site has no dev command")
        server = self._servers.get(site.name)
        if server is not None:
            if server.process.returncode is None and server.command == command:
                return server.url
            self._servers.pop(site.name, None)
            await self._stop(server)
            if server.command == command:
                raise _stopped(site.name, server)
        task = self._starting.get(site.name)
        if task is None:
            task = asyncio.create_task(self._start(site, command))
            self._starting[site.name] = task
            task.add_done_callback(lambda done: self._forget_start(site.name, done))
        server = await asyncio.shield(task)
        return server.url

    async def died(self, site: Site) -> DevServerFailed | None:
        """After the dev server could not be reached: why, when it died (it is forgotten then,
        so the next request starts a new one); None when it still runs."""
        server = self._servers.get(site.name)
        if server is None:
            return None
        # Its exit may not have been noticed yet; a live server is not waited for long.
        if not await _exited(server.process, _EXIT_NOTICE_SECONDS):
            return None
        if self._servers.get(site.name) is server:
            del self._servers[site.name]
            await self._stop(server)
        return _stopped(site.name, server)

    def forget(self, site_name: str) -> None:
        """The site is gone from the registry: its dev server goes too."""
        server = self._servers.pop(site_name, None)
        if server is not None:
            stopping = asyncio.create_task(self._stop(server))
            self._stopping_tasks.add(stopping)
            stopping.add_done_callback(self._stopping_tasks.discard)

    async def close(self) -> None:
        """Stop every dev server and every start in progress, their children included."""
        self._closing.set()
        starts = list(self._starting.values())
        for task in starts:
            task.cancel()
        await asyncio.gather(*starts, return_exceptions=True)
        servers = list(self._servers.values())
        self._servers.clear()
        await asyncio.gather(*(self._stop(server) for server in servers), *self._stopping_tasks)

    def _forget_start(self, site_name: str, task: asyncio.Task[_DevServer]) -> None:
        if self._starting.get(site_name) is task:
            del self._starting[site_name]
        if not task.cancelled():
            task.exception()

    async def _start(self, site: Site, command: tuple[str, ...]) -> _DevServer:
        output = OutputLog(on_line=lambda line: log.info("%s dev | %s", site.name, line))
        await self._install(site, output)
        port = _free_port()
        argv = resolve_program(tuple(arg.replace(PORT_PLACEHOLDER, str(port)) for arg in command), site.root)
        env = self._environment(site, node_env="development", extra={"PORT": str(port), "HOST": "127.0.0.1"})
        output.note(f"$ {shlex.join(argv)}")
        try:
            process = await asyncio.create_subprocess_exec(
                *argv,
                cwd=site.root,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as error:
            raise DevServerFailed(site.name, f"cannot run `{shlex.join(argv)}`: {error.strerror}", output.tail()) from None
        assert process.stdout is not None
        reader = asyncio.create_task(_copy_output(process.stdout, output))
        server = _DevServer(command, process, f"http://127.0.0.1:{port}", output, reader)
        try:
            await self._wait_until_listening(site, server, port)
        except BaseException:
            await asyncio.shield(self._stop(server))
            raise
        log.info("%s: dev server listening on %s", site.name, server.url)
        self._servers[site.name] = server
        return server

    async def _install(self, site: Site, output: OutputLog) -> None:
        try:
            install = npm.install_for(site.root, site.options.get("install"))
            if install is None:
                return
            await asyncio.to_thread(
                shared_library.install_and_link,
                install,
                self._settings.shared_dir,
                env=self._environment(site, node_env=None),
                timeout=self._settings.build_timeout,
                output=output,
                stopping=self._closing,
            )
        except BuildError as error:
            raise DevServerFailed(site.name, str(error), error.log or output.tail()) from None

    def _environment(self, site: Site, *, node_env: str | None, extra: dict[str, str] | None = None) -> dict[str, str]:
        return command_environment(
            inherited=dict(self._settings.command_env),
            site_name=site.name,
            api_url=site.backend_url or self._settings.backend_url,
            site_env=site.env,
            node_env=node_env,
            extra=extra or {},
        )

    async def _wait_until_listening(self, site: Site, server: _DevServer, port: int) -> None:
        """Health check: the dev server is up once it accepts connections on its port."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._start_timeout
        while True:
            if server.process.returncode is not None:
                raise DevServerFailed(
                    site.name,
                    f"its dev server exited with status {server.process.returncode} before it answered",
                    server.output.tail(),
                )
            try:
                _, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 1.0)
            except (OSError, TimeoutError):
                if loop.time() > deadline:
                    raise DevServerFailed(
                        site.name,
                        f"its dev server did not listen on port {port} within {self._start_timeout:g} s",
                        server.output.tail(),
                    ) from None
                await asyncio.sleep(0.1)
                continue
            writer.close()
            return

    async def _stop(self, server: _DevServer) -> None:
        """SIGTERM to the server's whole process group, SIGKILL to what is left after the grace."""
        group = server.process.pid
        loop = asyncio.get_running_loop()
        signal_group(group, signal.SIGTERM)
        deadline = loop.time() + TERMINATE_GRACE_SECONDS
        while loop.time() < deadline and await asyncio.to_thread(group_members, group):
            await asyncio.sleep(0.05)
        signal_group(group, signal.SIGKILL)
        await _exited(server.process, TERMINATE_GRACE_SECONDS)
        server.reader.cancel()
        await asyncio.gather(server.reader, return_exceptions=True)


def _stopped(site_name: str, server: _DevServer) -> DevServerFailed:
    return DevServerFailed(
        site_name,
        f"its dev server stopped (exit status {server.process.returncode}); reload the page to start it again",
        server.output.tail(),
    )


async def _exited(process: asyncio.subprocess.Process, timeout: float) -> bool:
    """Whether the process has exited, waiting up to ``timeout`` seconds. Unlike ``wait()``,
    this does not also wait for its output pipe, which a surviving child may hold open."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while process.returncode is None and loop.time() < deadline:
        await asyncio.sleep(0.05)
    return process.returncode is not None


async def _copy_output(stream: asyncio.StreamReader, output: OutputLog) -> None:
    while chunk := await stream.read(_READ_SIZE):
        output.feed(chunk)
    output.flush()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def forward(
    request: web.Request,
    site: Site,
    *,
    servers: DevServers,
    session: aiohttp.ClientSession,
    settings: Settings,
) -> web.StreamResponse:
    """The site's answer from its dev server, or a page saying why there is none."""
    try:
        upstream = await servers.upstream(site)
    except DevServerFailed as failure:
        return _failure_page(failure)
    response = await proxy.forward(request, site=site, upstream=upstream, session=session, settings=settings)
    # The proxy's own 502 ("could not connect") may mean the server died; its own answers,
    # 502s included, are sent as they are.
    if request.get(proxy.UPSTREAM_FAILED) and (failure := await servers.died(site)) is not None:
        return _failure_page(failure)
    return response


def _failure_page(failure: DevServerFailed) -> web.Response:
    return pages.page(503, "Dev server not running", f"{failure.site_name}: {failure.message}", failure.log or None)
