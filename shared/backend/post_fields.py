"""What a client may send as a post, checked field by field.

Each rule names the field it refuses, so a form can point at the right input. Fields the
API itself writes (``id``, timestamps other than ``published_at``) are accepted and ignored,
so a client can send back what it read.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from .errors import invalid
from .store import PostStatus, stored_time

# Used with fullmatch: a "$" would also match before a final newline.
SLUG_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
MAX_TITLE = 200
MAX_SLUG = 100
MAX_SUMMARY = 500
MAX_BODY = 200_000
MAX_AUTHOR = 100
MAX_TAGS = 20
MAX_TAG = 40

READ_ONLY_FIELDS = frozenset({"id", "created_at", "updated_at", "author_id"})


def slugify(title: str) -> str:
    """The slug a title suggests: accents dropped, lower case, words joined by hyphens."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    words = re.findall(r"[a-z0-9]+", ascii_title.lower())
    slug = "-".join(words)[:MAX_SLUG]
    return slug.rstrip("-")


def _text(field: str, value: Any, *, max_length: int, required: bool) -> str:
    if not isinstance(value, str):
        raise invalid(field, "must be a string")
    text = value.strip()
    if required and not text:
        raise invalid(field, "must not be empty")
    if len(text) > max_length:
        raise invalid(field, f"must be at most {max_length} characters")
    return text


def _title(value: Any) -> str:
    return _text("title", value, max_length=MAX_TITLE, required=True)


def _slug(value: Any) -> str:
    if not isinstance(value, str):
        raise invalid("slug", "must be a string")
    if len(value) > MAX_SLUG:
        raise invalid("slug", f"must be at most {MAX_SLUG} characters")
    if not SLUG_PATTERN.fullmatch(value):
        raise invalid("slug", "must be lower-case letters and digits in words joined by single hyphens")
    return value


def _body(value: Any) -> str:
    if not isinstance(value, str):
        raise invalid("body", "must be a string of Markdown")
    if len(value) > MAX_BODY:
        raise invalid("body", f"must be at most {MAX_BODY} characters")
    return value


def _summary(value: Any) -> str:
    return _text("summary", value, max_length=MAX_SUMMARY, required=False)


def _author(value: Any) -> str:
    return _text("author", value, max_length=MAX_AUTHOR, required=False)


def _tags(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise invalid("tags", "must be a list of strings")
    tags: list[str] = []
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise invalid("tags", "every tag must be a non-empty string")
        tag = item.strip()
        if len(tag) > MAX_TAG:
            raise invalid("tags", f"every tag must be at most {MAX_TAG} characters")
        if tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise invalid("tags", f"at most {MAX_TAGS} tags")
    return tuple(tags)


def _status(value: Any) -> PostStatus:
    try:
        return PostStatus(value)
    except ValueError:
        raise invalid("status", "must be 'draft' or 'published'") from None


def _published_at(value: Any) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid("published_at", "must be an ISO 8601 date-time string or null")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise invalid("published_at", "must be an ISO 8601 date-time such as 2024-05-01T09:30:00Z") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return stored_time(moment)
    except OverflowError:
        # Year 1 at +14:00 is still year 0 in UTC, which datetime cannot hold.
        raise invalid("published_at", "must be a time between the years 1 and 9999 in UTC") from None


FIELD_RULES: Mapping[str, Callable[[Any], Any]] = {
    "title": _title,
    "slug": _slug,
    "body": _body,
    "summary": _summary,
    "tags": _tags,
    "status": _status,
    "author": _author,
    "published_at": _published_at,
}


def parse_post_fields(payload: Mapping[str, Any], *, require_title: bool) -> dict[str, Any]:
    """The editable fields present in ``payload``, each validated and normalised."""
    unknown = sorted(set(payload) - set(FIELD_RULES) - READ_ONLY_FIELDS)
    if unknown:
        raise invalid(unknown[0], "is not a post field")
    if require_title and "title" not in payload:
        raise invalid("title", "is required")
    return {name: rule(payload[name]) for name, rule in FIELD_RULES.items() if name in payload}
