"""Sites on disk and the Host header that picks one."""

from __future__ import annotations

import logging
import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from cachetools import LRUCache

from gateway.sites.auth_options import auth_problems
from gateway.sites.hosts import InvalidHost, normalize_host, normalize_name

log = logging.getLogger(__name__)

_EMPTY: Mapping[str, Any] = MappingProxyType({})

SITE_FILE = "site.toml"
HOST_CACHE_SIZE = 4096
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TOML_WHERE = re.compile(r"(?P<reason>.*) \(at (?:line (?P<line>\d+), column \d+|end of document)\)", re.DOTALL)
# Keys of site.toml the registry turns into Site fields; the rest are the builder's options.
_SITE_KEYS = frozenset({"aliases", "builder", "env"})

Signature = tuple[tuple[str, tuple[int, int, int] | None, bool], ...]


@dataclass(frozen=True)
class Site:
    """One folder of ``sites/``, as its ``site.toml`` describes it.

    ``options`` holds every other table and key of ``site.toml`` (``theme``, ``build``,
    ``output``, ``data`` …) for the builder, read-only (tables as mappings, arrays as tuples).
    ``error`` is set when ``site.toml`` is broken; such a site answers 503 with that reason.
    ``name`` and ``aliases`` are normalised hosts (lower case, punycode); ``*.x.com`` is a
    wildcard alias.
    """

    name: str
    root: Path
    builder: str = "static"
    aliases: tuple[str, ...] = ()
    options: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    backend_url: str | None = None
    env: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    error: str | None = None


def load_site(root: Path, known_builders: frozenset[str]) -> Site:
    """The site in the folder ``root`` (blocking: reads ``site.toml``).

    Raises ``InvalidHost`` when the folder name is no host name. A broken or invalid
    ``site.toml`` gives a Site whose ``error`` names the file and the line or key.
    """
    name = normalize_name(root.name)
    shown = f"{root.parent.name}/{root.name}/{SITE_FILE}"
    default_builder = "jinja" if (root / "pages").is_dir() else "static"
    try:
        text = (root / SITE_FILE).read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    except UnicodeDecodeError:
        return Site(name, root, default_builder, error=f"{shown}: not UTF-8 text")
    except OSError as error:
        return Site(name, root, default_builder, error=f"{shown}: cannot be read ({error.strerror})")
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        return Site(name, root, default_builder, error=f"{shown}{_toml_problem(str(error), text)}")
    fields, problems = _site_fields(table, name, default_builder, known_builders)
    if problems:
        # The valid aliases stay, so every name of the site shows the error, not "unknown site".
        error = f"{shown}: " + "; ".join(problems)
        return Site(name, root, default_builder, aliases=fields["aliases"], error=error)
    return Site(name=name, root=root, **fields)


def _toml_problem(message: str, text: str) -> str:
    where = _TOML_WHERE.fullmatch(message)
    if where is None:
        return f": {message}"
    # "At end of document" means the last line that has anything on it.
    line = where["line"] or text.rstrip("\n").count("\n") + 1
    return f", line {line}: {where['reason']}"


def _site_fields(
    table: dict[str, Any], name: str, default_builder: str, known_builders: frozenset[str]
) -> tuple[dict[str, Any], list[str]]:
    """Site fields from a parsed site.toml, and what is wrong with it, by key."""
    problems: list[str] = []
    builder = table.get("builder", default_builder)
    if not isinstance(builder, str) or builder not in known_builders:
        problems.append(f"builder must be one of {', '.join(sorted(known_builders))}, not {builder!r}")
    aliases = table.get("aliases", [])
    if not isinstance(aliases, list):
        problems.append("aliases must be a list of host names")
        aliases = []
    normal_aliases: dict[str, None] = {}
    for index, alias in enumerate(aliases):
        try:
            normal_aliases[_normalize_alias(alias)] = None
        except InvalidHost as error:
            problems.append(f"aliases[{index}] {alias!r}: {error.reason}")
    api = table.get("api", {})
    backend_url = api.get("backend") if isinstance(api, dict) else None
    if not isinstance(api, dict):
        problems.append("api must be a table")
    elif backend_url is not None and not _is_http_url(backend_url):
        problems.append(f"api.backend must be an http:// or https:// URL, not {backend_url!r}")
    env = table.get("env", {})
    if not isinstance(env, dict):
        problems.append("env must be a table of strings")
        env = {}
    for key, value in env.items():
        if not _ENV_NAME.fullmatch(key):
            problems.append(f"env.{key} is not a variable name")
        elif not isinstance(value, str) or "\0" in value:
            problems.append(f"env.{key} must be a string")
    if not isinstance(table.get("theme", {}), dict):
        problems.append("theme must be a table")
    problems += auth_problems(table.get("auth", {}))
    fields = {
        "builder": builder,
        "aliases": tuple(alias for alias in normal_aliases if alias != name),
        "backend_url": backend_url.rstrip("/") if isinstance(backend_url, str) else None,
        "env": MappingProxyType(dict(env)),
        "options": _read_only({key: value for key, value in table.items() if key not in _SITE_KEYS}),
    }
    return fields, problems


def _normalize_alias(alias: Any) -> str:
    if not isinstance(alias, str):
        raise InvalidHost("not a string")
    return "*." + normalize_name(alias[2:]) if alias.startswith("*.") else normalize_name(alias)


def _is_http_url(value: Any) -> bool:
    if not isinstance(value, str) or any(char.isspace() for char in value):
        return False
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and port != 0


def _read_only(value: Any) -> Any:
    if isinstance(value, dict):
        return MappingProxyType({key: _read_only(item) for key, item in value.items()})
    if isinstance(value, list):
        return tuple(_read_only(item) for item in value)
    return value


@dataclass(frozen=True)
class _Rejected:
    reason: str


class Registry:
    """An immutable snapshot of the sites; a reload builds a new Registry and swaps it in.

    ``sites`` come in priority order: when two claim the same name or alias, the first keeps
    it and the conflict becomes one of ``warnings``. A site name always beats an alias.
    """

    def __init__(self, sites: Iterable[Site], *, signature: Signature = (), warnings: Iterable[str] = ()) -> None:
        conflicts: list[str] = []
        by_name: dict[str, Site] = {}
        for site in sites:
            if site.name in by_name:
                first = by_name[site.name].root.name
                conflicts.append(f"{site.root.name}: the name {site.name} is taken by {first}")
            else:
                by_name[site.name] = site
        owners = {name: name for name in by_name}
        for site in list(by_name.values()):
            kept = tuple(alias for alias in site.aliases if owners.setdefault(alias, site.name) == site.name)
            lost = [alias for alias in site.aliases if alias not in kept]
            conflicts += [f"{site.name}: alias {alias} is taken by {owners[alias]}" for alias in lost]
            if lost:
                by_name[site.name] = replace(site, aliases=kept)
        for conflict in conflicts:
            log.warning("%s", conflict)
        self._sites: Mapping[str, Site] = MappingProxyType(by_name)
        self._exact = {host: by_name[owner] for host, owner in owners.items() if not host.startswith("*.")}
        self._wildcards = {host[2:]: by_name[owner] for host, owner in owners.items() if host.startswith("*.")}
        self._signature = signature
        self._warnings = (*warnings, *conflicts)
        # Resolving runs on every request; hostile clients can only churn this bounded cache.
        self._resolved: LRUCache[str, Site | None | _Rejected] = LRUCache(maxsize=HOST_CACHE_SIZE)

    @classmethod
    def scan(cls, sites_dir: Path, known_builders: frozenset[str]) -> Registry:
        """Every site folder under ``sites_dir`` (blocking: lists folders, reads each site.toml)."""
        # Taken first, so a change made during the scan still shows up as a difference later.
        signature = scan_signature(sites_dir)
        warnings: list[str] = []
        sites: list[Site] = []
        try:
            folders = sorted(path for path in sites_dir.iterdir() if path.is_dir())
        except OSError as error:
            folders = []
            warnings.append(f"the sites folder {sites_dir} cannot be read ({error.strerror})")
            log.warning("%s", warnings[-1])
        for folder in folders:
            try:
                sites.append(load_site(folder, known_builders))
            except InvalidHost as error:
                warnings.append(f"{folder.name!r} is not a host name ({error.reason}); folder skipped")
                log.warning("%s", warnings[-1])
        return cls(sites, signature=signature, warnings=warnings)

    @property
    def sites(self) -> Mapping[str, Site]:
        return self._sites

    @property
    def warnings(self) -> tuple[str, ...]:
        return self._warnings

    @property
    def signature(self) -> Signature:
        return self._signature

    def resolve(self, host: str) -> Site | None:
        """The site a Host header names, or None; raises ``InvalidHost`` for a malformed host.

        Call it on the event loop only: its cache is not thread-safe.
        """
        try:
            found = self._resolved[host]
        except KeyError:
            try:
                found = self._lookup(normalize_host(host))
            except InvalidHost as error:
                found = _Rejected(error.reason)
            self._resolved[host] = found
        if isinstance(found, _Rejected):
            raise InvalidHost(found.reason)
        return found

    def _lookup(self, host: str) -> Site | None:
        site = self._exact.get(host)
        if site is not None:
            return site
        labels = host.split(".")
        # Longest parent first, so the most specific wildcard wins; the apex itself never matches.
        for start in range(1, len(labels)):
            site = self._wildcards.get(".".join(labels[start:]))
            if site is not None:
                return site
        return None


def scan_signature(sites_dir: Path) -> Signature:
    """Cheap (one listing, a stat or two per folder) and different whenever a rescan could
    give a different Registry: a folder added or removed, a site.toml added, removed or
    changed, or a ``pages/`` folder (which picks the default builder) coming or going."""
    try:
        with os.scandir(sites_dir) as entries:
            folders = sorted(entry.name for entry in entries if entry.is_dir())
    except OSError:
        return ()
    signature = []
    for name in folders:
        folder = sites_dir / name
        try:
            stat = (folder / SITE_FILE).stat()
            config: tuple[int, int, int] | None = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        except OSError:
            config = None
        signature.append((name, config, (folder / "pages").is_dir()))
    return tuple(signature)
