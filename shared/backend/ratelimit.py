"""Counting attempts per key in fixed windows, forgetting idle keys."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Hashable

from cachetools import TTLCache

MAX_TRACKED_KEYS = 100_000


class AttemptLimiter:
    """At most ``limit`` attempts per key in each ``window`` seconds from a key's first one."""

    def __init__(self, limit: int, window: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._limit = limit
        self._window = window
        self._clock = clock
        # A key idle for a whole window has nothing left to count, so the cache may drop it.
        self._windows: TTLCache[Hashable, tuple[float, int]] = TTLCache(
            maxsize=MAX_TRACKED_KEYS, ttl=window, timer=clock
        )

    def attempt(self, key: Hashable) -> int | None:
        """Count one attempt. None when it is allowed, else the seconds to wait (at least 1)."""
        now = self._clock()
        started, count = self._windows.get(key, (now, 0))
        if now - started >= self._window:
            started, count = now, 0
        if count >= self._limit:
            return max(1, math.ceil(started + self._window - now))
        self._windows[key] = (started, count + 1)
        return None
