"""The parsers of setting values: text from the environment or a flag → a typed value, or a
ValueError that says what the value must be (``config`` adds which setting it was)."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

SIZE_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def path(value: str) -> Path:
    if not value.strip():
        raise ValueError("must not be empty")
    return Path(value).expanduser()


def url(value: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL with a host")
    return value.strip().rstrip("/")


def whole_number(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ValueError("must be a whole number") from None


def number(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise ValueError("must be a number") from None


def port(value: str) -> int:
    port = whole_number(value)
    if not 0 <= port <= 65535:
        raise ValueError("must be between 0 and 65535")
    return port


def positive_float(value: str) -> float:
    given = number(value)
    if given <= 0:
        raise ValueError("must be greater than 0")
    return given


def positive_int(value: str) -> int:
    given = whole_number(value)
    if given < 1:
        raise ValueError("must be 1 or more")
    return given


def workers(value: str) -> int:
    if value == "auto":
        return os.cpu_count() or 1
    given = positive_int(value)
    if given > 64:
        raise ValueError("must be auto or a whole number from 1 to 64")
    return given


def log_format(value: str) -> str:
    value = value.strip().lower()
    if value not in ("text", "json"):
        raise ValueError("must be 'text' or 'json'")
    return value


def switch(value: str) -> bool:
    value = value.strip().lower()
    if value not in ("on", "off"):
        raise ValueError("must be 'on' or 'off'")
    return value == "on"


def text(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value.strip()


def store_url(value: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme != "s3" or not parts.hostname or parts.query or parts.fragment:
        raise ValueError("must be s3://bucket or s3://bucket/prefix")
    return value.strip().rstrip("/")


def mongo_url(value: str) -> str:
    if urlsplit(value.strip()).scheme not in ("mongodb", "mongodb+srv"):
        raise ValueError("must be a mongodb:// or mongodb+srv:// URL")
    return value.strip()


def size(value: str) -> int:
    """Bytes, or a number with K, M, G or T (binary: 1K = 1,024 bytes)."""
    text = value.strip().upper().removesuffix("B").removesuffix("I")
    unit = text[-1:] if text[-1:] in SIZE_UNITS else ""
    try:
        amount = float(text[: len(text) - len(unit)])
    except ValueError:
        raise ValueError("must be a size in bytes, or with K, M, G or T (e.g. 20G)") from None
    if amount <= 0:
        raise ValueError("must be greater than 0")
    return int(amount * SIZE_UNITS[unit])
