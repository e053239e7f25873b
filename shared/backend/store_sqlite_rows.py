"""How the SQLite store's records look as rows: the schema and the conversions both ways.

Times are stored as fixed-width UTC ISO text, so comparing text compares time.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from typing import Any

from .store import MediaItem, Post, PostStatus, Role, Session, User

SCHEMA = """
CREATE TABLE IF NOT EXISTS posts (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    slug TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    summary TEXT NOT NULL,
    tags TEXT NOT NULL,
    status TEXT NOT NULL,
    author TEXT NOT NULL,
    author_id TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    published_at TEXT,
    UNIQUE (tenant, slug)
);
CREATE INDEX IF NOT EXISTS posts_newest ON posts (tenant, status, published_at DESC, created_at DESC);
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    email TEXT NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (tenant, email)
);
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    user_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_expiry ON sessions (tenant, expires_at);
CREATE TABLE IF NOT EXISTS invitations (
    token_hash TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    role TEXT NOT NULL,
    email TEXT,
    invited_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS invitations_expiry ON invitations (tenant, expires_at);
CREATE TABLE IF NOT EXISTS media (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    uploaded_by TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS media_tenant ON media (tenant, id);
"""

POST_COLUMNS = (
    "id", "tenant", "slug", "title", "body", "summary", "tags", "status", "author", "author_id",
    "created_at", "updated_at", "published_at",
)
MEDIA_COLUMNS = ("id", "tenant", "filename", "content_type", "size", "sha256", "uploaded_by", "created_at")

# Drafts have no publication time; they come after every published post.
NEWEST_FIRST = "ORDER BY published_at IS NULL, published_at DESC, created_at DESC, id DESC"


def time_text(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def post_from_row(row: sqlite3.Row) -> Post:
    return Post(
        id=row["id"],
        tenant=row["tenant"],
        slug=row["slug"],
        title=row["title"],
        body=row["body"],
        summary=row["summary"],
        tags=tuple(json.loads(row["tags"])),
        status=PostStatus(row["status"]),
        author=row["author"],
        author_id=row["author_id"],
        created_at=parse_time(row["created_at"]),
        updated_at=parse_time(row["updated_at"]),
        published_at=None if row["published_at"] is None else parse_time(row["published_at"]),
    )


def post_row(post: Post) -> dict[str, Any]:
    return {name: column_value(name, getattr(post, name)) for name in POST_COLUMNS}


def column_value(name: str, value: Any) -> Any:
    """A post field's value as its column holds it."""
    if name == "tags":
        return json.dumps(list(value))
    if name == "status":
        return PostStatus(value).value
    if isinstance(value, datetime):
        return time_text(value)
    return value


def user_from_row(row: sqlite3.Row) -> User:
    return User(
        id=row["id"],
        tenant=row["tenant"],
        email=row["email"],
        name=row["name"],
        role=Role(row["role"]),
        password_hash=row["password_hash"],
        created_at=parse_time(row["created_at"]),
    )


def user_row(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "tenant": user.tenant,
        "email": user.email,
        "name": user.name,
        "role": user.role.value,
        "password_hash": user.password_hash,
        "created_at": time_text(user.created_at),
    }


def session_from_row(row: sqlite3.Row) -> Session:
    return Session(
        token_hash=row["token_hash"],
        tenant=row["tenant"],
        user_id=row["user_id"],
        created_at=parse_time(row["created_at"]),
        expires_at=parse_time(row["expires_at"]),
    )


def media_from_row(row: sqlite3.Row) -> MediaItem:
    return MediaItem(
        id=row["id"],
        tenant=row["tenant"],
        filename=row["filename"],
        content_type=row["content_type"],
        size=row["size"],
        sha256=row["sha256"],
        uploaded_by=row["uploaded_by"],
        created_at=parse_time(row["created_at"]),
    )


def media_row(item: MediaItem) -> dict[str, Any]:
    return {name: column_value(name, getattr(item, name)) for name in MEDIA_COLUMNS}
