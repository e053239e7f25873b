"""A build's Netlify-style ``_redirects`` and ``_headers`` files: parsed once per build, matched
per request. Pure functions and values; the serving code decides what to do with a match.

``_redirects``: one rule a line, ``from [key=value …] to [status[!]]``; the first rule that
matches wins. ``*`` at the end of ``from`` is the splat (``:splat`` in ``to``), ``:name``
segments are placeholders, ``key=:name`` binds a query parameter. The status defaults to 301;
200 is a rewrite, 404 serves ``to`` as the not-found page; ``!`` forces the rule even where a
file exists ("shadowing"). ``/about`` and ``/about/`` are the same path to a rule.

``_headers``: a path pattern on its own line, then indented ``Name: value`` lines. Every block
that matches adds its headers; a header repeated within a block is joined with ", ", a later
block's value replaces an earlier one's.

Lines that cannot be honoured are skipped and described in ``SiteRules.problems``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from urllib.parse import parse_qs, quote

REDIRECTS_FILE = "_redirects"
HEADERS_FILE = "_headers"
# The rule files configure the site; like Netlify, they are never served.
RULE_FILE_PATHS = frozenset({f"/{REDIRECTS_FILE}", f"/{HEADERS_FILE}"})
STATUSES = frozenset({200, 301, 302, 303, 307, 308, 404, 410, 451})
_PLACEHOLDER = re.compile(r":([A-Za-z_][A-Za-z0-9_]*)")
_STATUS = re.compile(r"^(\d{3})(!?)$")
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
# Netlify turns this "header" into password protection; sent as a header it would leak the password.
_NOT_HEADERS = frozenset({"basic-auth"})


@dataclass(frozen=True)
class RedirectMatch:
    """What a matching rule asks for. ``to`` has placeholders filled in (and the request's
    query appended when the rule does not match on the query itself)."""

    status: int
    to: str
    force: bool

    @property
    def is_redirect(self) -> bool:
        return 300 <= self.status < 400

    @property
    def is_external(self) -> bool:
        return _is_external(self.to)

    @property
    def path(self) -> str:
        """``to`` without its query: the file a rewrite serves."""
        return self.to.split("?", 1)[0]


@dataclass(frozen=True)
class RedirectRule:
    pattern: re.Pattern[str]
    query: tuple[tuple[str, str], ...]
    to: str
    status: int
    force: bool
    line: int

    def match(self, path: str, query: str) -> RedirectMatch | None:
        found = self.pattern.match(_normal(path))
        if found is None:
            return None
        values = {name: value or "" for name, value in found.groupdict().items()}
        if self.query:
            given = parse_qs(query, keep_blank_values=True)
            for key, wanted in self.query:
                if key not in given:
                    return None
                if wanted.startswith(":"):
                    values[wanted[1:]] = given[key][0]
                elif given[key][0] != wanted:
                    return None
        to = _PLACEHOLDER.sub(lambda m: _quoted(values[m.group(1)]) if m.group(1) in values else m.group(0), self.to)
        if not _is_external(self.to):
            # "/:splat" filled with "/evil.example" would be a link to another host.
            to = "/" + to.lstrip("/")
        if query and not self.query and "?" not in to:
            to = f"{to}?{query}"
        return RedirectMatch(status=self.status, to=to, force=self.force)


@dataclass(frozen=True)
class HeaderRule:
    pattern: re.Pattern[str]
    headers: tuple[tuple[str, str], ...]
    line: int


@dataclass(frozen=True)
class SiteRules:
    redirects: tuple[RedirectRule, ...] = ()
    headers: tuple[HeaderRule, ...] = ()
    problems: tuple[str, ...] = ()

    @cached_property
    def shadows_files(self) -> bool:
        """Whether a forced (``!``) rule may answer where a file exists."""
        return any(rule.force for rule in self.redirects)

    def match_redirect(self, path: str, query: str = "", *, forced_only: bool = False) -> RedirectMatch | None:
        """The first rule matching ``path`` (decoded) and ``query`` (as sent, percent-encoded).
        Pass ``forced_only=True`` when a file exists at ``path``: only forced (``!``) rules
        shadow an existing file."""
        for rule in self.redirects:
            if forced_only and not rule.force:
                continue
            found = rule.match(path, query)
            if found is not None:
                return found
        return None

    def headers_for(self, path: str) -> list[tuple[str, str]]:
        merged: dict[str, tuple[str, str]] = {}
        normal = _normal(path)
        for rule in self.headers:
            if rule.pattern.match(normal):
                for name, value in rule.headers:
                    merged[name.lower()] = (name, value)
        return list(merged.values())


def load_rules(build_dir: Path) -> SiteRules:
    """The rules of one build folder (no files, no rules)."""
    problems: list[str] = []
    redirects = parse_redirects(_read(build_dir / REDIRECTS_FILE, problems), problems)
    headers = parse_headers(_read(build_dir / HEADERS_FILE, problems), problems)
    return SiteRules(redirects=tuple(redirects), headers=tuple(headers), problems=tuple(problems))


def parse_redirects(text: str, problems: list[str]) -> list[RedirectRule]:
    rules: list[RedirectRule] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            rules.append(_redirect_rule(line, number))
        except ValueError as error:
            problems.append(f"{REDIRECTS_FILE} line {number}: {error}")
    return rules


def _redirect_rule(line: str, number: int) -> RedirectRule:
    tokens = line.split()
    source, rest = tokens[0], tokens[1:]
    if not source.startswith("/"):
        raise ValueError(f"{source!r}: only paths starting with / are supported, not domain rules")
    query: list[tuple[str, str]] = []
    while rest and "=" in rest[0] and not rest[0].startswith("/") and "://" not in rest[0]:
        key, _, value = rest.pop(0).partition("=")
        query.append((key, value))
    if not rest:
        raise ValueError("a rule needs a target after the path")
    to, options = rest[0], rest[1:]
    if not (to.startswith("/") or to.startswith(("http://", "https://"))):
        raise ValueError(f"target {to!r} must be a path or an http(s) URL")
    status, force = 301, False
    if options and (found := _STATUS.match(options[0])):
        status, force = int(found.group(1)), bool(found.group(2))
        options = options[1:]
        if status not in STATUSES:
            raise ValueError(f"status {status} is not one of {sorted(STATUSES)}")
    if options:
        raise ValueError(f"conditions ({' '.join(options)}) are not supported")
    return RedirectRule(_path_pattern(source, splat_anywhere=False), tuple(query), to, status, force, number)


def parse_headers(text: str, problems: list[str]) -> list[HeaderRule]:
    rules: list[HeaderRule] = []
    pattern: re.Pattern[str] | None = None
    start = 0
    headers: dict[str, tuple[str, str]] = {}

    def close() -> None:
        if pattern is not None and headers:
            rules.append(HeaderRule(pattern, tuple(headers.values()), start))

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if not raw[0].isspace():
            close()
            headers, start = {}, number
            try:
                pattern = _path_pattern(line, splat_anywhere=True)
            except ValueError as error:
                pattern = None
                problems.append(f"{HEADERS_FILE} line {number}: {error}")
            continue
        name, colon, value = line.partition(":")
        name, value = name.strip(), value.strip()
        if pattern is None:
            if start == 0:
                problems.append(f"{HEADERS_FILE} line {number}: a header before any path")
            continue
        if not colon or not _HEADER_NAME.match(name):
            problems.append(f"{HEADERS_FILE} line {number}: expected `Name: value`")
            continue
        if name.lower() in _NOT_HEADERS:
            problems.append(f"{HEADERS_FILE} line {number}: {name} is not supported and is not sent")
            continue
        known = headers.get(name.lower())
        headers[name.lower()] = (known[0], f"{known[1]}, {value}") if known else (name, value)
    close()
    return rules


def _path_pattern(source: str, *, splat_anywhere: bool) -> re.Pattern[str]:
    """``/blog/:year/*`` → a regex with named groups ``year`` and ``splat``."""
    if not source.startswith("/"):
        raise ValueError(f"{source!r}: a path pattern starts with /")
    source = _normal(source)
    if source.endswith("/*"):
        head, tail = source[:-2], r"(?:/(?P<splat>.*))?"
    elif source.endswith("*"):
        head, tail = source[:-1], r"(?P<splat>.*)"
    else:
        head, tail = source, ""
    if "*" in head and not splat_anywhere:
        raise ValueError(f"{source!r}: * may only end the path")
    parts: list[str] = []
    seen: set[str] = set()
    for segment in head.split("/")[1:]:
        if _PLACEHOLDER.fullmatch(segment):
            name = segment[1:]
            if name in seen or name == "splat":
                raise ValueError(f"{source!r}: placeholder :{name} is used twice")
            seen.add(name)
            parts.append(f"/(?P<{name}>[^/]+)")
        else:
            parts.append("/" + ".*".join(re.escape(piece) for piece in segment.split("*")))
    body = "".join(parts) if head != "/" else ("/" if not tail else "")
    return re.compile(f"^{body}{tail}$" if body or tail else "^/$")


def _is_external(to: str) -> bool:
    return to.startswith(("http://", "https://"))


def _quoted(value: str) -> str:
    # A placeholder's value is the client's decoded text. Quoted again, a CR cannot split the
    # Location header, a "?" or "#" cannot start a query, and a rewrite's target, which serving
    # decodes, is decoded once in all.
    return quote(value, safe="/")


def _normal(path: str) -> str:
    """Rules see ``/about/`` as ``/about``."""
    return path.rstrip("/") or "/"


def _read(path: Path, problems: list[str]) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""
    except (OSError, UnicodeDecodeError) as error:
        problems.append(f"{path.name}: cannot be read ({error})")
        return ""
