"""Request bodies: reading a JSON one, with a clear refusal for each way it can be wrong, the
time limit every body read runs under, and writing times the way every response shows them."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable
from datetime import datetime
from typing import Any, TypeVar

from aiohttp import web

from .errors import ApiError
from .keys import SETTINGS

T = TypeVar("T")

# A lone surrogate (from a "\ud800" escape) is a str no UTF-8 store can keep.
_SURROGATE = re.compile("[\ud800-\udfff]")


def json_time(value: datetime) -> str:
    """UTC, to the millisecond, with a ``Z``: ``2024-05-01T09:30:00.000Z``."""
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def too_large(limit: int) -> ApiError:
    return ApiError(413, "payload_too_large", f"the request body is larger than the {limit} byte limit")


async def read_by(deadline: float, read: Awaitable[T]) -> T:
    """``read``'s result, or 408 when the body is not in by ``deadline`` (loop time): a client
    sending a byte at a time would otherwise hold its handler for as long as it likes."""
    try:
        async with asyncio.timeout_at(deadline):
            return await read
    except TimeoutError:
        raise ApiError(408, "request_timeout", "the request body did not arrive in time") from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Parsers disagree on which of two equal keys wins (the gateway, a site's own code and we
    # could each read another value), so a body with both means nothing we can act on.
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise ValueError(f"the key {key!r} appears twice")
        seen.add(key)
    return dict(pairs)


def _has_lone_surrogate(value: Any) -> bool:
    # Walked with a stack: the parser allows nesting deeper than a recursive walk would.
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


async def read_json_object(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object: 415 unless it is declared JSON, 413 past the app's
    ``client_max_size`` (before reading, when the declared length says so), 408 when it is not
    in within the body time limit, 400 unless it is UTF-8 JSON text of an object with no key
    twice and no lone surrogate."""
    content_type = request.content_type
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise ApiError(415, "unsupported_media_type", "send the body as application/json")
    limit = request.client_max_size
    if request.content_length is not None and request.content_length > limit:
        raise too_large(limit)
    deadline = asyncio.get_running_loop().time() + request.app[SETTINGS].body_timeout_seconds
    try:
        raw = await read_by(deadline, request.read())
    except web.HTTPRequestEntityTooLarge:
        raise too_large(limit) from None
    if not raw.strip():
        raise ApiError(400, "malformed_body", "the request body is empty; send a JSON object")
    try:
        value = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant, object_pairs_hook=_unique_keys)
    except UnicodeDecodeError:
        raise ApiError(400, "malformed_body", "the request body is not UTF-8") from None
    except ValueError as error:
        raise ApiError(400, "malformed_body", f"the request body is not valid JSON: {error}") from None
    except RecursionError:
        raise ApiError(400, "malformed_body", "the request body nests too deeply") from None
    if not isinstance(value, dict):
        raise ApiError(400, "malformed_body", "the request body must be a JSON object")
    if _has_lone_surrogate(value):
        raise ApiError(400, "malformed_body", "the request body escapes half a character (a lone surrogate)")
    return value
