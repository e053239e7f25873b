"""Access lines, written in batches: one per request, but one write per turn of the event loop.

Going through ``logging`` for each request cost more than serving a small file does (a record,
a handler lock, a format, a write and a flush each time). Here a request appends its fields to
a list, and the first line of a turn schedules one flush at its end: at low load that is a
write per request as before, under load one write for every request the turn answered.

The lines are those ``logging`` would have written: the text format of the process
(``log_format.TEXT_FORMAT``) or one JSON object a line (``log_format.JsonFormatter``), to the
handlers the ``sitegate.access`` logger reaches. A plain stream or file handler gets the
batch in one write; any other handler (a test's capture, a syslog handler) gets its records
one by one, as ``logging`` would hand them over.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import UTC, datetime
from typing import NamedTuple

log = logging.getLogger("sitegate.access")

_BATCHED_HANDLERS = (logging.StreamHandler, logging.FileHandler)


class AccessFields(NamedTuple):
    """One request's line (a tuple: made for every request, so as cheap to make as can be)."""

    site: str
    method: str
    path: str
    status: int
    bytes: int
    duration_ms: float
    cache: str
    kind: str

    def message(self) -> str:
        return (
            f"{self.site} {self.method} {self.path} {self.status} {self.bytes}B {self.duration_ms:.2f}ms {self.cache}"
        )


class AccessLines:
    def __init__(self, json_lines: bool) -> None:
        self._json = json_lines
        self._pending: list[tuple[float, AccessFields]] = []
        self._second = -1
        self._stamp = ""

    def add(self, fields: AccessFields) -> None:
        if not self._pending:
            asyncio.get_running_loop().call_soon(self.flush)
        self._pending.append((time.time(), fields))

    def flush(self) -> None:
        pending, self._pending = self._pending, []
        if not pending or not log.isEnabledFor(logging.INFO):
            return
        handlers = _handlers(log)
        batched = [handler for handler in handlers if _takes_batches(handler)]
        if batched:
            text = "".join(self._line(created, fields) for created, fields in pending)
            for handler in batched:
                _write(handler, text)
        for handler in handlers:
            if not _takes_batches(handler):
                for created, fields in pending:
                    record = log.makeRecord(log.name, logging.INFO, __file__, 0, fields.message(), (), None,
                                            extra={"access": fields._asdict()})  # fmt: skip
                    record.created = created
                    if record.levelno >= handler.level:
                        handler.handle(record)

    def _line(self, created: float, fields: AccessFields) -> str:
        if self._json:
            moment = datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")
            entry = {"time": moment, "level": "INFO", "logger": log.name, "message": fields.message()}
            entry.update(fields._asdict())
            return json.dumps(entry, ensure_ascii=False) + "\n"
        second = int(created)
        if second != self._second:
            # logging's asctime, worked out once a second rather than once a line.
            self._second, self._stamp = second, time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))
        milliseconds = int((created - second) * 1000)
        return f"{self._stamp},{milliseconds:03d} {log.name} INFO {fields.message()}\n"


def _handlers(logger: logging.Logger) -> list[logging.Handler]:
    """The handlers a record of ``logger`` would reach, as ``Logger.callHandlers`` walks them."""
    found: list[logging.Handler] = []
    current: logging.Logger | None = logger
    while current is not None:
        found += [handler for handler in current.handlers if logging.INFO >= handler.level]
        current = current.parent if current.propagate else None
    return found


def _takes_batches(handler: logging.Handler) -> bool:
    # A FileHandler opened lazily has no stream until its first record.
    return type(handler) in _BATCHED_HANDLERS and getattr(handler, "stream", None) is not None


def _write(handler: logging.Handler, text: str) -> None:
    handler.acquire()
    try:
        handler.stream.write(text)  # type: ignore[attr-defined]
        handler.flush()
    except (OSError, ValueError):
        # A closed or full stream loses these lines, never the requests they describe.
        pass
    finally:
        handler.release()
