"""Sites on disk and the Host header that picks one."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True)
class Site:
    """One folder of ``sites/``, as its ``site.toml`` describes it.

    ``options`` holds every other table and key of ``site.toml`` (``theme``, ``build``,
    ``output``, ``data`` …) for the builder. ``error`` is set when ``site.toml`` is broken;
    such a site answers 503 with that reason.
    """

    name: str
    root: Path
    builder: str = "static"
    aliases: tuple[str, ...] = ()
    options: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    backend_url: str | None = None
    env: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    error: str | None = None
