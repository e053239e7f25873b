"""Telling the gateway a tenant's content changed, so it rebuilds that site.

Calls go out in the background: an API request never waits for the gateway or fails
because of it. Changes within ``coalesce_seconds`` of each other make one call; a change
made while a call is under way makes one more after it, since that build may have read
the content before the change. A gateway that is down is retried with backoff, then the
failure is logged.
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import quote

import aiohttp

from .settings import HookPolicy

log = logging.getLogger(__name__)

TOKEN_HEADER = "X-Sitegate-Token"
HOOK_PATH = "/_sitegate/hooks/rebuild/"


class RebuildHooks:
    def __init__(self, gateway_url: str | None, *, token: str | None, policy: HookPolicy) -> None:
        self._gateway_url = gateway_url.rstrip("/") if gateway_url else None
        self._token = token
        self._policy = policy
        self._session: aiohttp.ClientSession | None = None
        self._pending: dict[str, asyncio.Task[None]] = {}
        self._changed_again: set[str] = set()
        self._closed = False

    def request_rebuild(self, tenant: str) -> None:
        """Ask for a rebuild of ``tenant``'s site soon; returns at once."""
        if self._gateway_url is None or self._closed:
            return
        if tenant in self._pending:
            self._changed_again.add(tenant)
            return
        self._pending[tenant] = asyncio.get_running_loop().create_task(
            self._run(tenant), name=f"rebuild-hook:{tenant}"
        )

    async def _run(self, tenant: str) -> None:
        try:
            while True:
                await asyncio.sleep(self._policy.coalesce_seconds)
                self._changed_again.discard(tenant)
                await self._deliver(tenant)
                if tenant not in self._changed_again:
                    return
        except Exception:
            log.exception("rebuild hook for %s failed unexpectedly", tenant)
        finally:
            # Same step as the check above, so no request can slip in between and be lost.
            self._pending.pop(tenant, None)
            self._changed_again.discard(tenant)

    async def _deliver(self, tenant: str) -> None:
        assert self._gateway_url is not None
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self._policy.timeout_seconds))
        url = f"{self._gateway_url}{HOOK_PATH}{quote(tenant, safe='')}"
        headers = {TOKEN_HEADER: self._token} if self._token else {}
        delay = self._policy.first_backoff_seconds
        problem = ""
        for attempt in range(1, self._policy.attempts + 1):
            try:
                async with self._session.post(url, headers=headers) as response:
                    if response.status < 400:
                        return
                    problem = f"HTTP {response.status}"
                    if response.status < 500 and response.status != 429:
                        log.error("gateway refused the rebuild of %s: %s", tenant, problem)
                        return
            except (aiohttp.ClientError, asyncio.TimeoutError) as error:
                problem = str(error) or type(error).__name__
            if attempt < self._policy.attempts:
                log.warning("rebuild hook for %s failed (%s); retrying in %.2f s", tenant, problem, delay)
                await asyncio.sleep(delay)
                delay *= 2
        log.error("rebuild hook for %s gave up after %d attempts: %s", tenant, self._policy.attempts, problem)

    async def wait_idle(self) -> None:
        """Return once every requested rebuild has been delivered or given up on."""
        while self._pending:
            await asyncio.gather(*self._pending.values(), return_exceptions=True)

    async def close(self) -> None:
        """Let calls under way finish for up to ``close_grace_seconds``, then drop the rest."""
        self._closed = True
        pending = list(self._pending.values())
        if pending:
            _, unfinished = await asyncio.wait(pending, timeout=self._policy.close_grace_seconds)
            for task in unfinished:
                task.cancel()
            await asyncio.gather(*unfinished, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None
