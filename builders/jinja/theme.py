"""A site's ``[theme]`` table: checked once, turned into CSS custom properties for ``/theme.css``.

``primary = "#3B82F6"`` becomes ``--primary: #3B82F6;`` and a nested table
``[theme.font] body = "Inter"`` becomes ``--font-body: Inter;``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from builders.errors import BuildError

_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
# Anything that could end the declaration or the rule, or open markup, is refused rather
# than escaped: a theme value is a colour, a length or a font list.
_UNSAFE_VALUE = re.compile(r"[;{}<>\\\n\r]|/\*")


def validate_theme(theme: Any) -> Mapping[str, Any]:
    """The ``[theme]`` table, or ``BuildError`` naming ``site.toml`` and the bad key."""
    if theme is None:
        return {}
    if not isinstance(theme, Mapping):
        raise BuildError("`theme` must be a table of names and values", file="site.toml")
    for name, value in _flatten(theme, ""):
        if not _KEY.match(name):
            raise BuildError(f"theme key {name!r} must be letters, digits, '-' and '_'", file="site.toml")
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise BuildError(f"theme.{name} must be text or a number", file="site.toml")
        if _UNSAFE_VALUE.search(str(value)):
            raise BuildError(f"theme.{name} = {value!r} is not a CSS value", file="site.toml")
    return theme


def theme_css(theme: Mapping[str, Any]) -> str:
    """The stylesheet served as ``/theme.css``."""
    lines = [f"  --{name.replace('_', '-')}: {value};" for name, value in _flatten(theme, "")]
    return ":root {\n" + "\n".join(lines) + "\n}\n"


def _flatten(table: Mapping[str, Any], prefix: str) -> Iterator[tuple[str, Any]]:
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            yield from _flatten(value, f"{name}-")
        else:
            yield name, value
