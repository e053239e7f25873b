"""HTTP rules for one file: which encoding a client accepts, whether its copy is still
current, which bytes it asked for. Pure functions of header values."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import mktime_tz, parsedate_tz

from multidict import CIMultiDictProxy

from gateway.serving.files import FileEntry, Precompressed

_ETAG_IN_LIST = re.compile(r'(?:W/)?"[^"]*"')
_Q_PARAM = re.compile(r"(?:^|;)\s*q\s*=\s*([^;\s]*)", re.IGNORECASE)
_SINGLE_RANGE = re.compile(r"bytes=(\d*)-(\d*)", re.IGNORECASE)
# Longer numbers than this are beyond any file; capping them avoids int() on huge digit strings.
_MAX_RANGE_DIGITS = 18


class RangeNotSatisfiable(ValueError):
    """A byte range that starts beyond the end of the file."""


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # inclusive, as in Content-Range

    @property
    def length(self) -> int:
        return self.end - self.start + 1


def accepted_codings(accept_encoding: str) -> dict[str, float]:
    """Content codings with their q values; a malformed q makes that coding unacceptable."""
    weights: dict[str, float] = {}
    for item in accept_encoding.split(","):
        coding, _, params = item.partition(";")
        if coding := coding.strip().lower():
            q_value = _Q_PARAM.search(params)
            weights[coding] = _float_or_zero(q_value.group(1)) if q_value else 1.0
    return weights


def _float_or_zero(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 0.0


def choose_variant(entry: FileEntry, accept_encoding: str) -> Precompressed | None:
    """The best acceptable precompressed sibling (highest q, then br before gzip), if any."""
    weights = accepted_codings(accept_encoding)
    best: Precompressed | None = None
    best_weight = 0.0
    for variant in entry.encodings:
        weight = weights.get(variant.coding, weights.get("*", 0.0))
        if weight > best_weight:
            best, best_weight = variant, weight
    return best


def etag_matches(header: str, etag: str) -> bool:
    """Weak comparison of ``etag`` against an If-None-Match list (or ``*``)."""
    if header.strip() == "*":
        return True
    opaque = etag.removeprefix("W/")
    return any(tag.removeprefix("W/") == opaque for tag in _ETAG_IN_LIST.findall(header))


def parse_http_date(value: str) -> int | None:
    try:
        parsed = parsedate_tz(value)
        return None if parsed is None else mktime_tz(parsed)
    except (ValueError, OverflowError, IndexError, TypeError):
        # The stdlib parser raises on some malformed dates (a year past datetime's range).
        return None


def is_not_modified(headers: Mapping[str, str], etag: str, mtime: int) -> bool:
    if_none_match = headers.get("If-None-Match")
    if if_none_match is not None:
        return etag_matches(if_none_match, etag)
    since = parse_http_date(headers.get("If-Modified-Since", ""))
    return since is not None and mtime <= since


def range_still_valid(if_range: str | None, entry: FileEntry) -> bool:
    """If-Range: the range is wanted only if the client's copy is still this file (strong match)."""
    if if_range is None:
        return True
    value = if_range.strip()
    if value.startswith(('"', "W/")):
        return value == entry.etag
    return parse_http_date(value) == entry.mtime


def parse_range(header: str, size: int) -> ByteRange | None:
    """One byte range of a file of ``size`` bytes; None when the header is to be ignored
    (malformed, or several ranges: RFC 9110 lets a server send the whole file instead)."""
    match = _SINGLE_RANGE.fullmatch(header.strip())
    if match is None or match.group(1) == match.group(2) == "":
        return None
    first, last = (_range_number(group) for group in match.groups())
    if first is None:
        assert last is not None
        if last == 0 or size == 0:
            raise RangeNotSatisfiable
        return ByteRange(max(size - last, 0), size - 1)
    if last is not None and last < first:
        return None
    if first >= size:
        raise RangeNotSatisfiable
    return ByteRange(first, size - 1 if last is None else min(last, size - 1))


def _range_number(digits: str) -> int | None:
    if not digits:
        return None
    return int(digits) if len(digits) <= _MAX_RANGE_DIGITS else 10**_MAX_RANGE_DIGITS


def comma_list(headers: CIMultiDictProxy[str], name: str) -> list[str]:
    """The items of a comma-separated header, across all its lines."""
    return [item.strip() for value in headers.getall(name, ()) for item in value.split(",") if item.strip()]
