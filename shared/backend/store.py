"""What the API keeps and the one interface every store implements.

Every method takes the tenant first and every query a store runs is scoped by it, so a
route cannot forget which site it serves. Values are frozen; a change is a new value.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol


class PostStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"


class Role(StrEnum):
    EDITOR = "editor"
    READER = "reader"


class StoreError(Exception):
    """Base of what a store raises on purpose."""


class NotFound(StoreError):
    """No such record for this tenant (whether or not another tenant has one)."""


class Conflict(StoreError):
    """A unique field (a post's slug, a user's email) is already taken in this tenant."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class StoreUnavailable(StoreError):
    """The store cannot answer right now (database down, closed, locked too long)."""


def new_id() -> str:
    """An unguessable id: 128 random bits, URL-safe."""
    return secrets.token_urlsafe(16)


def stored_time(value: datetime) -> datetime:
    """``value`` in UTC to the millisecond, as every store can keep it exactly."""
    # MongoDB keeps milliseconds; SQLite would keep more, and the two would then disagree.
    value = value.astimezone(UTC)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def utc_now() -> datetime:
    return stored_time(datetime.now(UTC))


@dataclass(frozen=True)
class Post:
    id: str
    tenant: str
    slug: str
    title: str
    body: str
    summary: str
    tags: tuple[str, ...]
    status: PostStatus
    author: str
    author_id: str | None
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None


@dataclass(frozen=True)
class PostPage:
    items: tuple[Post, ...]
    total: int


@dataclass(frozen=True)
class User:
    id: str
    tenant: str
    email: str
    name: str
    role: Role
    password_hash: str
    created_at: datetime


@dataclass(frozen=True)
class Session:
    token_hash: str
    tenant: str
    user_id: str
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class Invitation:
    """An editor's offer of an account with ``role``; only for ``email`` when that is set.
    The token itself goes to the invitee; the store keeps its SHA-256 alone."""

    token_hash: str
    tenant: str
    role: Role
    email: str | None
    invited_by: str
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class MediaItem:
    id: str
    tenant: str
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: str | None
    created_at: datetime


# The post fields a change may set; ``update_post`` takes a mapping of some of them.
POST_CHANGE_FIELDS = frozenset(
    {"slug", "title", "body", "summary", "tags", "status", "author", "published_at", "updated_at"}
)


class Store(Protocol):
    async def open(self) -> None:
        """Connect and create tables and indexes; safe to call again."""
        ...

    async def close(self) -> None:
        """Release connections; every later call raises ``StoreUnavailable``."""
        ...

    async def ping(self) -> None:
        """Return when the store answers; raise ``StoreUnavailable`` otherwise."""
        ...

    async def create_post(self, tenant: str, post: Post) -> Post:
        """Insert ``post``; ``Conflict`` when its slug is taken in ``tenant``."""
        ...

    async def get_post(self, tenant: str, slug: str) -> Post: ...

    async def list_posts(
        self, tenant: str, *, status: PostStatus | None, tag: str | None, offset: int, limit: int
    ) -> PostPage:
        """Newest first: by publication time, drafts after published posts, then creation time."""
        ...

    async def update_post(self, tenant: str, slug: str, changes: Mapping[str, Any]) -> Post:
        """Apply ``changes`` (keys from ``POST_CHANGE_FIELDS``); ``NotFound`` or ``Conflict``."""
        ...

    async def delete_post(self, tenant: str, slug: str) -> None: ...

    async def create_user(self, tenant: str, user: User) -> User:
        """Insert ``user`` with its role; ``Conflict`` when the email is taken in ``tenant``."""
        ...

    async def get_user(self, tenant: str, user_id: str) -> User: ...

    async def find_user_by_email(self, tenant: str, email: str) -> User: ...

    async def create_session(self, tenant: str, session: Session) -> None:
        """Keep ``session``; expired sessions of the tenant may be dropped on the way."""
        ...

    async def get_session(self, tenant: str, token_hash: str) -> Session:
        """The session, expired or not: the caller decides what expiry means."""
        ...

    async def delete_session(self, tenant: str, token_hash: str) -> None:
        """Forget a session; no error when there is none."""
        ...

    async def create_invitation(self, tenant: str, invitation: Invitation) -> None:
        """Keep ``invitation``; expired invitations of the tenant may be dropped on the way."""
        ...

    async def take_invitation(self, tenant: str, token_hash: str) -> Invitation:
        """Remove the invitation and return it, expired or not, in one atomic step, so of two
        uses at once only one gets it. ``NotFound`` when there is none (never made, already
        taken, or another tenant's)."""
        ...

    async def create_media(self, tenant: str, item: MediaItem) -> MediaItem: ...

    async def get_media(self, tenant: str, media_id: str) -> MediaItem: ...

    async def delete_media(self, tenant: str, media_id: str) -> MediaItem:
        """Remove the record and return it, so the caller can remove the file."""
        ...
