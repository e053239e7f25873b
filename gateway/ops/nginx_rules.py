"""A build's ``_redirects`` and ``_headers`` as nginx can carry them, for ``nginx-config --direct``.

nginx serves a file itself only where it answers exactly as the gateway would:

- ``_redirects``: a rule applies where no file exists (unless forced with ``!``), and nginx
  hands every miss to the gateway, which applies it. A forced rule shadows files nginx would
  serve, so a site with one is left to the gateway.
- ``_headers``: every header name becomes one ``map`` from the request path to its value. The
  map tries the rules from last to first, because a later block's value replaces an earlier
  one's; no match gives the gateway's own value for that header, or none (nginx's
  ``add_header`` leaves out an empty value).

What nginx cannot say the same way raises ``Inexpressible`` with the reason, which the config
writes as a comment over a site left to the gateway.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from gateway.serving.rules import SiteRules

# Headers nginx writes from the file itself (or the gateway from its table): a rule changing
# them would need nginx to serve other bytes or validators than the gateway's.
_FROM_THE_FILE = frozenset(
    {"content-type", "content-length", "content-encoding", "etag", "last-modified", "vary", "accept-ranges",
     "content-range", "transfer-encoding", "connection"}
)  # fmt: skip


_PLAIN_NAME = re.compile(r"[A-Za-z0-9-]+")


class Inexpressible(ValueError):
    """Rules nginx cannot apply exactly as the gateway does."""


@dataclass(frozen=True)
class HeaderMap:
    """``map $<source> $<variable>``: the value of one header for a request path."""

    variable: str
    header: str
    # (regular expression on the path, value), both as nginx strings; the first match wins.
    entries: tuple[tuple[str, str], ...]
    default: str


def header_maps(rules: SiteRules, prefix: str, defaults: Mapping[str, str]) -> tuple[HeaderMap, ...]:
    """One map per header name the rules set. ``defaults`` maps header names (lower case) to
    what a file gets when no rule sets them: nginx variables (``$x``) or plain values."""
    if rules.shadows_files:
        raise Inexpressible("_redirects has forced (!) rules, which shadow files nginx would serve")
    names: dict[str, str] = {}
    for rule in rules.headers:
        for name, _ in rule.headers:
            if name.lower() in _FROM_THE_FILE:
                raise Inexpressible(f"_headers sets {name}, which nginx takes from the file")
            if not _PLAIN_NAME.fullmatch(name):
                # HTTP allows ' # $ in a name, where nginx's parser reads quotes, comments and
                # variables: one tenant's _headers must never break the config all sites share.
                raise Inexpressible(f"_headers names {name!r}; nginx takes letters, digits and - only")
            names.setdefault(name.lower(), name)
    maps = []
    for number, (lower, name) in enumerate(names.items()):
        entries = tuple(
            (quoted("~" + rule.pattern.pattern, variables=False), quoted(value))
            for rule in reversed(rules.headers)
            for rule_name, value in rule.headers
            if rule_name.lower() == lower
        )
        maps.append(HeaderMap(f"{prefix}_{number}", name, entries, defaults.get(lower, '""')))
    return tuple(maps)


def quoted(text: str, *, variables: bool = True) -> str:
    """``text`` as one nginx string. Where nginx reads variables (a map's values, not its
    regular expressions) it has no escape for ``$``."""
    if variables and "$" in text:
        raise Inexpressible(f"{text!r} holds a $, which nginx would read as a variable")
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in text):
        raise Inexpressible(f"{text!r} holds a control character")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
