"""Every failure leaves the backend as ``{"error": {"code", "message"}}`` with its status.

Routes raise ``ApiError``; the middleware also turns store errors, aiohttp's own HTTP
errors (404 route, 405, 413 body) and anything unexpected into that shape, so no client ever
sees a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus

from aiohttp import web
from aiohttp.typedefs import Handler

from .store import Conflict, NotFound, StoreUnavailable

log = logging.getLogger(__name__)

# Headers of aiohttp's HTTP errors that describe its plain-text body, not the error.
_BODY_HEADERS = frozenset({"content-type", "content-length"})


class ApiError(Exception):
    """A refusal with its status, a stable machine-readable ``code`` and a human message."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        field: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = dict(headers or {})

    def response(self) -> web.Response:
        return error_response(self.status, self.code, self.message, field=self.field, headers=self.headers)


def invalid(field: str, message: str) -> ApiError:
    """422 naming the request field (body key or query parameter) that is wrong."""
    return ApiError(422, "invalid", f"{field}: {message}", field=field)


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    field: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    error: dict[str, str] = {"code": code, "message": message}
    if field is not None:
        error["field"] = field
    return web.json_response({"error": error}, status=status, headers=headers)


def _code_for(status: int) -> str:
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        return "error"


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as error:
        return error.response()
    except web.HTTPException as error:
        if error.status < 400:
            raise
        headers = {name: value for name, value in error.headers.items() if name.lower() not in _BODY_HEADERS}
        message = error.text if error.text and error.text != f"{error.status}: {error.reason}" else error.reason
        return error_response(error.status, _code_for(error.status), message, headers=headers)
    except NotFound as error:
        return error_response(404, "not_found", str(error))
    except Conflict as error:
        return error_response(409, "conflict", str(error), field=error.field)
    except StoreUnavailable as error:
        log.warning("store unavailable on %s %s: %s", request.method, request.path, error)
        return error_response(503, "store_unavailable", "the data store is not answering; try again soon")
    except Exception:
        log.exception("unexpected error on %s %s", request.method, request.path)
        return error_response(500, "internal", "internal error")
