"""The registry in service, replaced by a fresh scan when the sites folder changes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

from gateway.sites.registry import Registry, scan_signature

log = logging.getLogger("sitegate.sites")


class SiteDirectory:
    def __init__(self, sites_dir: Path, known_builders: frozenset[str]) -> None:
        self._sites_dir = sites_dir
        self._known_builders = known_builders
        self.registry = Registry.scan(sites_dir, known_builders)
        self._lock = asyncio.Lock()
        self._on_removed: list[Callable[[str], None]] = []

    def on_removed(self, callback: Callable[[str], None]) -> None:
        self._on_removed.append(callback)

    async def reload(self, force: bool = False) -> bool:
        """Rescan when site folders or their site.toml changed; True when it did."""
        async with self._lock:
            signature = await asyncio.to_thread(scan_signature, self._sites_dir)
            if not force and signature == self.registry.signature:
                return False
            fresh = await asyncio.to_thread(Registry.scan, self._sites_dir, self._known_builders)
            removed = set(self.registry.sites) - set(fresh.sites)
            self.registry = fresh
        for warning in fresh.warnings:
            log.warning("%s", warning)
        for name in removed:
            for callback in self._on_removed:
                callback(name)
        log.info("sites: %s", ", ".join(sorted(fresh.sites)) or "none")
        return True

    async def watch(self, interval: float) -> None:
        """Poll for added, removed and reconfigured sites; cheap (one stat per site)."""
        while True:
            await asyncio.sleep(interval)
            try:
                await self.reload()
            except OSError as error:
                log.warning("cannot rescan %s: %s", self._sites_dir, error)
