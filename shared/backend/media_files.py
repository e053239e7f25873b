"""Media bytes on disk: ``<media dir>/<tenant>/<id>``, written, read and removed off the loop.

An upload is written to a hidden temporary name and renamed into place only when complete,
so a reader never sees half a file.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path
from typing import BinaryIO

from aiohttp import web

READ_CHUNK = 256 * 1024


def media_path(media_dir: Path, tenant: str, media_id: str) -> Path:
    return media_dir / tenant / media_id


class IncomingFile:
    """One upload being received: each chunk written and hashed on a worker thread."""

    def __init__(self, final_path: Path) -> None:
        self._final = final_path
        self._temp = final_path.with_name(f".{final_path.name}.part")
        self._file: BinaryIO | None = None
        self._digest = hashlib.sha256()
        self.size = 0

    async def open(self) -> None:
        self._file = await asyncio.to_thread(self._open)

    def _open(self) -> BinaryIO:
        self._temp.parent.mkdir(parents=True, exist_ok=True)
        return self._temp.open("wb")

    async def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        await asyncio.to_thread(self._write, chunk)

    def _write(self, chunk: bytes) -> None:
        assert self._file is not None
        self._file.write(chunk)
        self._digest.update(chunk)

    async def publish(self) -> str:
        """Put the file in place; returns its SHA-256 (hex)."""
        await asyncio.to_thread(self._publish)
        return self._digest.hexdigest()

    def _publish(self) -> None:
        assert self._file is not None
        self._file.close()
        os.replace(self._temp, self._final)

    async def discard(self) -> None:
        await asyncio.to_thread(self._discard)

    def _discard(self) -> None:
        if self._file is not None:
            self._file.close()
        self._temp.unlink(missing_ok=True)


async def open_stored(path: Path) -> BinaryIO | None:
    """The stored file opened for reading, or None when it is gone."""
    try:
        return await asyncio.to_thread(path.open, "rb")
    except FileNotFoundError:
        return None


async def send(handle: BinaryIO, response: web.StreamResponse, *, body: bool) -> None:
    """Write the whole file (unless ``body`` is false: HEAD) to a prepared ``response``, then
    close it."""
    try:
        while body and (chunk := await asyncio.to_thread(handle.read, READ_CHUNK)):
            await response.write(chunk)
    finally:
        await asyncio.to_thread(handle.close)


async def remove(path: Path) -> None:
    await asyncio.to_thread(path.unlink, missing_ok=True)
