"""How log lines are written: ``text`` (the default) or ``json``, one object per line."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

TEXT_FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"


class JsonFormatter(logging.Formatter):
    """Every record as one JSON object; an access line's fields (``extra={"access": ...}``)
    become keys of their own, so a log shipper needs no parsing of the message."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        access = getattr(record, "access", None)
        if isinstance(access, dict):
            entry.update(access)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(log_format: str) -> None:
    """The root logger at INFO, its lines in ``log_format``: every logger of the process,
    the backend's included, writes the same kind of line."""
    logging.basicConfig(level=logging.INFO, format=TEXT_FORMAT)
    formatter = JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    for handler in logging.getLogger().handlers:
        handler.setFormatter(formatter)
    # watchfiles notes every change it sees at INFO; what sitegate does about one, it says itself.
    logging.getLogger("watchfiles.main").setLevel(logging.WARNING)
