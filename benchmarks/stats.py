"""Summaries of repeated timings."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass


@dataclass(frozen=True)
class Samples:
    """Repeated timings of one thing, in seconds."""

    seconds: tuple[float, ...]

    @property
    def count(self) -> int:
        return len(self.seconds)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def p90(self) -> float:
        """Nearest-rank 90th percentile: a value that was actually measured."""
        ordered = sorted(self.seconds)
        return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]

    @property
    def low(self) -> float:
        return min(self.seconds)

    @property
    def high(self) -> float:
        return max(self.seconds)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms" if seconds < 10 else f"{seconds:,.1f} s"


def secs(seconds: float) -> str:
    return f"{seconds:,.2f} s"


def ratio(slower: float, faster: float) -> str:
    """How many times ``faster`` fits in ``slower``, e.g. ``5.3x``."""
    return f"{slower / faster:,.1f}x" if faster > 0 else "n/a"
