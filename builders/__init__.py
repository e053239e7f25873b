"""How a site's sources become a folder of files. No HTTP here."""

from __future__ import annotations

import importlib
from types import MappingProxyType

from builders.base import Builder

# Imported on first use, so a gateway that serves only static sites never loads Jinja or Markdown.
_BUILDER_CLASSES = MappingProxyType(
    {
        "static": "builders.static:StaticBuilder",
        "jinja": "builders.jinja.builder:JinjaBuilder",
        "command": "builders.command.builder:CommandBuilder",
        "vite": "builders.command.presets:ViteBuilder",
        "astro": "builders.command.presets:AstroBuilder",
        "next": "builders.command.presets:NextBuilder",
    }
)

KNOWN_BUILDERS = frozenset(_BUILDER_CLASSES)


def builder_for(name: str) -> Builder:
    """A fresh builder for a ``site.toml`` ``builder`` name; ``KeyError`` for an unknown one."""
    module_name, class_name = _BUILDER_CLASSES[name].split(":")
    builder_class = getattr(importlib.import_module(module_name), class_name)
    return builder_class()
