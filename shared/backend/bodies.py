"""JSON bodies: reading a request's, with a clear refusal for each way it can be wrong, and
writing times the way every response shows them."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from aiohttp import web

from .errors import ApiError


def json_time(value: datetime) -> str:
    """UTC, to the millisecond, with a ``Z``: ``2024-05-01T09:30:00.000Z``."""
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


async def read_json_object(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object: 415 unless it is declared JSON, 400 unless it parses to an
    object, 413 past the app's ``client_max_size`` (raised by aiohttp while reading)."""
    content_type = request.content_type
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise ApiError(415, "unsupported_media_type", "send the body as application/json")
    raw = await request.read()
    if not raw.strip():
        raise ApiError(400, "malformed_body", "the request body is empty; send a JSON object")
    try:
        value = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except UnicodeDecodeError:
        raise ApiError(400, "malformed_body", "the request body is not UTF-8") from None
    except ValueError as error:
        raise ApiError(400, "malformed_body", f"the request body is not valid JSON: {error}") from None
    except RecursionError:
        raise ApiError(400, "malformed_body", "the request body nests too deeply") from None
    if not isinstance(value, dict):
        raise ApiError(400, "malformed_body", "the request body must be a JSON object")
    return value
