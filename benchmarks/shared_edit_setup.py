"""What benchmarks/shared_edit_bench.py measures on: a Vite site and a Jinja blog made from the
templates, a private copy of the shared components, the edits it saves into that copy, and a
real ``sitegate serve``/``sitegate dev`` process (loopback, stopped by its PID)."""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import os
import shutil
import signal
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Self

import aiohttp
from aiohttp import web

from benchmarks.projects import REPO, copy_shared_components
from builders.command import npm
from builders.command.process import OutputLog
from gateway.config import PACKAGED_TEMPLATES, Settings
from gateway.sites.create import create_site

VITE_SITE = "vite.test"
JINJA_SITE = "blog.test"
# The npm installs the tests keep (tests/builders/npm_cache.py), one per lockfile digest: the
# bench shares them, so `make bench` after `make test` installs nothing.
NPM_CACHE = Path.home() / ".cache" / "sitegate-tests" / "npm"
_INSTALL_TIMEOUT_SECONDS = 600.0
_START_TIMEOUT_SECONDS = 60.0
_STOP_TIMEOUT_SECONDS = 15.0


@dataclass(frozen=True)
class Layout:
    sites: Path
    shared: Path
    builds: Path
    log_file: Path


def prepare(work: Path) -> Layout:
    """A fresh ``work``: both sites, node_modules for the Vite one, a copy of shared/components."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    sites = work / "sites"
    vite = create_site(sites, PACKAGED_TEMPLATES, VITE_SITE, "vite")
    create_site(sites, PACKAGED_TEMPLATES, JINJA_SITE, "blog")
    install_node_modules(vite)
    return Layout(sites, copy_shared_components(work / "shared"), work / "builds", work / "gateway.log")


def install_node_modules(site: Path) -> None:
    """``npm ci`` once per lockfile into the shared cache, then a copy into the site. A copy, not
    the tests' symlink: the builder links ``@shared/components`` into ``node_modules``, and in a
    shared folder that link would point a concurrent test run at this bench's shared copy."""
    key = hashlib.blake2b((site / "package-lock.json").read_bytes(), digest_size=12).hexdigest()
    cached = NPM_CACHE / key
    cached.mkdir(parents=True, exist_ok=True)
    with open(cached.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for name in ("package.json", "package-lock.json"):
            shutil.copyfile(site / name, cached / name)
        install = npm.install_for(cached, None)
        assert install is not None
        env = dict(Settings().command_env)
        npm.ensure_installed(install, env=env, timeout=_INSTALL_TIMEOUT_SECONDS, output=OutputLog())
        shutil.copytree(cached / "node_modules", site / "node_modules", symlinks=True, ignore=shutil.ignore_patterns("@shared"))


class ComponentEdit:
    """One shared component and the class its edits add to its title: edit ``n`` writes the
    original with a new class ``token(n)``, so every save changes the file and the markup."""

    def __init__(self, path: Path, marker: str, prefix: str) -> None:
        self.path = path
        self.original = path.read_text(encoding="utf-8")
        if self.original.count(marker) != 1:
            raise RuntimeError(f"{path} no longer has {marker!r} once; the bench edits it")
        self.marker = marker
        self.prefix = prefix

    def token(self, number: int) -> str:
        return f"{self.prefix}-{number}"

    def save(self, number: int) -> float:
        """Write edit ``number`` in place, as an editor saves; the wall-clock time of the write."""
        text = self.original.replace(self.marker, self.marker.replace("sg-hero__title", f"sg-hero__title {self.token(number)}"))
        written = time.time()
        self.path.write_text(text, encoding="utf-8")
        return written


def hero_edits(shared: Path) -> tuple[ComponentEdit, ComponentEdit]:
    """The same edit on both sides: the shared Hero's title gets a class (React, then Jinja)."""
    react = ComponentEdit(shared / "react" / "ui" / "Hero.jsx", 'className="sg-hero__title"', "bench-react-edit")
    jinja = ComponentEdit(shared / "ui" / "hero.html", '<h1 class="sg-hero__title">', "bench-jinja-edit")
    return react, jinja


class Gateway:
    """``sitegate serve`` or ``sitegate dev`` (``python -m gateway.cli``) on a free loopback port."""

    def __init__(self, process: asyncio.subprocess.Process, port: int) -> None:
        self.process = process
        self.port = port

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    @classmethod
    async def start(cls, command: str, layout: Layout, backend_url: str) -> Gateway:
        port = _free_port()
        # Builds as the gateway's own user, as the tests' gateways run them: as root the default
        # build user (nobody) would first npm-install a workspace of its own.
        env = {**os.environ, "SITEGATE_SHARED_DIR": str(layout.shared), "SITEGATE_BUILD_USER": "root"}
        with layout.log_file.open("ab") as log:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "gateway.cli", command,
                "--host", "127.0.0.1", "--port", str(port),
                "--sites", str(layout.sites), "--build-dir", str(layout.builds), "--backend-url", backend_url,
                cwd=REPO, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=log,
                start_new_session=True,
            )  # fmt: skip
        gateway = cls(process, port)
        try:
            await asyncio.wait_for(gateway._listening(), _START_TIMEOUT_SECONDS)
        except BaseException:
            await gateway.stop()
            raise
        return gateway

    async def _listening(self) -> None:
        while True:
            if self.process.returncode is not None:
                raise RuntimeError(f"sitegate exited with {self.process.returncode}; see the gateway log")
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                return
            except OSError:
                await asyncio.sleep(0.05)

    async def stop(self) -> None:
        """SIGINT to the gateway's PID (it stops its Vite dev server); then its own process group,
        started for it alone, is killed if anything of it is left."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(self.process.wait(), _STOP_TIMEOUT_SECONDS)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    async def page(self, session: aiohttp.ClientSession, host: str, path: str) -> str:
        async with session.get(self.url(path), headers={"Host": host}) as response:
            body = await response.text()
            if response.status != 200:
                raise RuntimeError(f"GET {host}{path}: {response.status}: {body[:300]}")
            return body

    async def rebuild(self, session: aiohttp.ClientSession, site: str) -> None:
        async with session.post(self.url(f"/_sitegate/hooks/rebuild/{site}")) as response:
            if response.status != 202:
                raise RuntimeError(f"the rebuild hook of {site} answered {response.status}")

    async def until_idle(self, session: aiohttp.ClientSession, site: str) -> None:
        """Until no build of ``site`` runs, so an edit starts from a quiet gateway."""
        while True:
            async with session.get(self.url("/_sitegate/health")) as response:
                health = await response.json()
            if not health["sites"][site]["building"]:
                return
            await asyncio.sleep(0.05)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def start_backend() -> web.AppRunner:
    """The blog API with no posts, as a page calls it from the browser and a build's ``[data]``
    reads it. Loopback, in process, so no bench reaches whatever backend runs on :8000."""

    async def posts(_request: web.Request) -> web.Response:
        return web.json_response({"items": [], "pagination": {"page": 1, "pages": 1, "total": 0}})

    app = web.Application()
    app.router.add_get("/api/blog/posts", posts)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner


def backend_url(runner: web.AppRunner) -> str:
    return f"http://127.0.0.1:{runner.addresses[0][1]}"
