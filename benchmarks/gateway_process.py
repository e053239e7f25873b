"""A real gateway (``create_app``) in a process of its own, as ``sitegate serve``/``dev`` runs
it, so the benchmark's client never shares its event loop or its cores' time slices with it.

``python -m benchmarks.gateway_process --mode development --sites S --shared C --builds B``
listens on a free port of 127.0.0.1 and prints ``listening <port>`` once it accepts requests.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Self

import aiohttp

from gateway.app import create_app
from gateway.config import Mode, Settings
from gateway.listen import serve

REPO = Path(__file__).resolve().parent.parent
_READY = re.compile(r"^listening (\d+)$")
_START_TIMEOUT_SECONDS = 60.0
_STOP_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class GatewayOptions:
    mode: Mode
    sites_dir: Path
    shared_dir: Path
    build_dir: Path
    log_file: Path
    backend_url: str = Settings.backend_url


class RunningGateway:
    """A gateway process started by ``start``; ``stop`` ends it (and only it)."""

    def __init__(self, process: asyncio.subprocess.Process, port: int, log_file: Path) -> None:
        self.process = process
        self.port = port
        self.log_file = log_file

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def page(self, session: aiohttp.ClientSession, host: str, path: str) -> str:
        """The body of ``path`` on the site ``host``; any status but 200 is an error."""
        async with session.get(self.url(path), headers={"Host": host}) as response:
            body = await response.text()
            if response.status != 200:
                raise RuntimeError(f"GET {host}{path}: {response.status}: {body[:500]}")
            return body

    @classmethod
    async def start(cls, options: GatewayOptions) -> RunningGateway:
        log = options.log_file.open("ab")
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "benchmarks.gateway_process",
            "--mode", options.mode.value,
            "--sites", str(options.sites_dir),
            "--shared", str(options.shared_dir),
            "--builds", str(options.build_dir),
            "--backend-url", options.backend_url,
            stdout=asyncio.subprocess.PIPE,
            stderr=log,
            cwd=REPO,
        )  # fmt: skip
        log.close()
        try:
            port = await asyncio.wait_for(_port_announced(process), _START_TIMEOUT_SECONDS)
        except TimeoutError:
            port = None
        if port is None:
            await stop_process(process)
            raise RuntimeError(f"the gateway did not start; see {options.log_file}")
        return cls(process, port, options.log_file)

    async def stop(self) -> None:
        await stop_process(self.process)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()


async def _port_announced(process: asyncio.subprocess.Process) -> int | None:
    """The port from the ``listening`` line (anything printed before it is passed over)."""
    assert process.stdout is not None
    while line := await process.stdout.readline():
        ready = _READY.match(line.decode(errors="replace").strip())
        if ready is not None:
            return int(ready.group(1))
    return None


async def stop_process(process: asyncio.subprocess.Process) -> None:
    """SIGINT first, so the gateway stops cleanly; killed only if it does not stop in time."""
    if process.returncode is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        await asyncio.wait_for(process.wait(), _STOP_TIMEOUT_SECONDS)
    except TimeoutError:
        process.kill()
        await process.wait()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="a sitegate gateway for the benchmarks")
    parser.add_argument("--mode", choices=[mode.value for mode in Mode], required=True)
    parser.add_argument("--sites", type=Path, required=True)
    parser.add_argument("--shared", type=Path, required=True)
    parser.add_argument("--builds", type=Path, required=True)
    parser.add_argument("--backend-url", default=Settings.backend_url)
    args = parser.parse_args(argv)
    # The dev reloader's one line per rebuild (site, pages, ms) lands in the log file.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = Settings(
        sites_dir=args.sites,
        shared_dir=args.shared,
        build_dir=args.builds,
        mode=Mode(args.mode),
        backend_url=args.backend_url,
        host="127.0.0.1",
        port=0,
    )
    asyncio.run(serve(create_app(settings), settings, ready=lambda port: print(f"listening {port}", flush=True)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
