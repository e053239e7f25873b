"""The embedded store: one SQLite file in WAL mode, used from one dedicated thread.

SQLite calls block, so every call runs on the store's own single worker thread; that thread
owns the only connection, which also serialises writers inside this process. Other
processes (``sitegate backend create-user``) wait on ``busy_timeout`` rather than fail.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from . import store_sqlite_invitations as invitations
from .store import (
    POST_CHANGE_FIELDS,
    Conflict,
    Invitation,
    MediaItem,
    NotFound,
    Post,
    PostPage,
    PostStatus,
    Session,
    StoreUnavailable,
    User,
)
from .store_sqlite_rows import (
    MEDIA_COLUMNS,
    NEWEST_FIRST,
    POST_COLUMNS,
    SCHEMA,
    column_value,
    media_from_row,
    media_row,
    post_from_row,
    post_row,
    session_from_row,
    time_text,
    user_from_row,
    user_row,
)

T = TypeVar("T")

BUSY_TIMEOUT_MS = 5000
SELECT_POST = f"SELECT {', '.join(POST_COLUMNS)} FROM posts"


def _insert(table: str, values: Mapping[str, Any]) -> str:
    return f"INSERT INTO {table} ({', '.join(values)}) VALUES ({', '.join(':' + name for name in values)})"


def _is_unique_violation(error: sqlite3.IntegrityError) -> bool:
    return "UNIQUE constraint failed" in str(error)


class SqliteStore:
    """``Store`` on a SQLite file (or ``:memory:``)."""

    def __init__(self, path: Path | str) -> None:
        self._path = str(path)
        self._executor: ThreadPoolExecutor | None = None
        self._connection: sqlite3.Connection | None = None

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        executor = self._executor
        if executor is None:
            raise StoreUnavailable("the store is closed")
        try:
            return await asyncio.get_running_loop().run_in_executor(executor, self._call, work)
        except sqlite3.IntegrityError:
            raise
        except sqlite3.Error as error:
            raise StoreUnavailable(f"sqlite: {error}") from error

    def _call(self, work: Callable[[sqlite3.Connection], T]) -> T:
        if self._connection is None:
            raise StoreUnavailable("the store is closed")
        return work(self._connection)

    async def open(self) -> None:
        if self._executor is not None:
            return
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-store")
        try:
            await asyncio.get_running_loop().run_in_executor(self._executor, self._connect)
        except (sqlite3.Error, OSError) as error:
            await self.close()
            raise StoreUnavailable(f"sqlite: cannot open {self._path}: {error}") from error

    def _connect(self) -> None:
        if self._path != ":memory:":
            Path(self._path).parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self._path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            connection.row_factory = sqlite3.Row
            connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = NORMAL")
            connection.executescript(SCHEMA)
        except BaseException:
            connection.close()
            raise
        self._connection = connection

    async def close(self) -> None:
        executor, self._executor = self._executor, None
        if executor is None:
            return
        await asyncio.get_running_loop().run_in_executor(executor, self._disconnect)
        executor.shutdown(wait=True)

    def _disconnect(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()

    async def ping(self) -> None:
        await self._run(lambda db: db.execute("SELECT count(*) FROM sqlite_master").fetchone())

    async def create_post(self, tenant: str, post: Post) -> Post:
        values = post_row(post) | {"tenant": tenant}
        try:
            await self._run(lambda db: db.execute(_insert("posts", values), values))
        except sqlite3.IntegrityError as error:
            if _is_unique_violation(error):
                raise Conflict("slug", f"a post with slug {post.slug!r} exists") from None
            raise
        return await self.get_post(tenant, post.slug)

    async def get_post(self, tenant: str, slug: str) -> Post:
        row = await self._run(
            lambda db: db.execute(f"{SELECT_POST} WHERE tenant = ? AND slug = ?", (tenant, slug)).fetchone()
        )
        if row is None:
            raise NotFound(f"no post {slug!r}")
        return post_from_row(row)

    async def list_posts(
        self, tenant: str, *, status: PostStatus | None, tag: str | None, offset: int, limit: int
    ) -> PostPage:
        where = ["tenant = :tenant"]
        params: dict[str, Any] = {"tenant": tenant, "limit": limit, "offset": offset}
        if status is not None:
            where.append("status = :status")
            params["status"] = status.value
        if tag is not None:
            where.append("EXISTS (SELECT 1 FROM json_each(posts.tags) WHERE json_each.value = :tag)")
            params["tag"] = tag
        condition = " AND ".join(where)

        def query(db: sqlite3.Connection) -> tuple[list[sqlite3.Row], int]:
            rows = db.execute(
                f"{SELECT_POST} WHERE {condition} {NEWEST_FIRST} LIMIT :limit OFFSET :offset", params
            ).fetchall()
            total = db.execute(f"SELECT count(*) FROM posts WHERE {condition}", params).fetchone()[0]
            return rows, total

        rows, total = await self._run(query)
        return PostPage(items=tuple(post_from_row(row) for row in rows), total=total)

    async def update_post(self, tenant: str, slug: str, changes: Mapping[str, Any]) -> Post:
        unknown = set(changes) - POST_CHANGE_FIELDS
        if unknown:
            raise ValueError(f"not a changeable post field: {sorted(unknown)}")
        if not changes:
            return await self.get_post(tenant, slug)
        assignments = ", ".join(f"{name} = :{name}" for name in changes)
        params = {name: column_value(name, value) for name, value in changes.items()}
        params |= {"tenant": tenant, "old_slug": slug}
        statement = f"UPDATE posts SET {assignments} WHERE tenant = :tenant AND slug = :old_slug"
        try:
            changed = await self._run(lambda db: db.execute(statement, params).rowcount)
        except sqlite3.IntegrityError as error:
            if _is_unique_violation(error):
                raise Conflict("slug", f"a post with slug {changes.get('slug')!r} exists") from None
            raise
        if not changed:
            raise NotFound(f"no post {slug!r}")
        return await self.get_post(tenant, changes.get("slug", slug))

    async def delete_post(self, tenant: str, slug: str) -> None:
        deleted = await self._run(
            lambda db: db.execute("DELETE FROM posts WHERE tenant = ? AND slug = ?", (tenant, slug)).rowcount
        )
        if not deleted:
            raise NotFound(f"no post {slug!r}")

    async def create_user(self, tenant: str, user: User) -> User:
        values = user_row(user) | {"tenant": tenant}
        try:
            await self._run(lambda db: db.execute(_insert("users", values), values))
        except sqlite3.IntegrityError as error:
            if _is_unique_violation(error):
                raise Conflict("email", "a user with this email exists") from None
            raise
        return await self.get_user(tenant, user.id)

    async def get_user(self, tenant: str, user_id: str) -> User:
        return await self._one_user("id", tenant, user_id)

    async def find_user_by_email(self, tenant: str, email: str) -> User:
        return await self._one_user("email", tenant, email)

    async def _one_user(self, column: str, tenant: str, value: str) -> User:
        row = await self._run(
            lambda db: db.execute(f"SELECT * FROM users WHERE tenant = ? AND {column} = ?", (tenant, value)).fetchone()
        )
        if row is None:
            raise NotFound("no such user")
        return user_from_row(row)

    async def create_session(self, tenant: str, session: Session) -> None:
        values = {
            "token_hash": session.token_hash,
            "tenant": tenant,
            "user_id": session.user_id,
            "created_at": time_text(session.created_at),
            "expires_at": time_text(session.expires_at),
        }

        def insert(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM sessions WHERE tenant = ? AND expires_at < ?", (tenant, values["created_at"]))
            db.execute(_insert("sessions", values), values)

        await self._run(insert)

    async def get_session(self, tenant: str, token_hash: str) -> Session:
        row = await self._run(
            lambda db: db.execute(
                "SELECT * FROM sessions WHERE tenant = ? AND token_hash = ?", (tenant, token_hash)
            ).fetchone()
        )
        if row is None:
            raise NotFound("no such session")
        return session_from_row(row)

    async def delete_session(self, tenant: str, token_hash: str) -> None:
        await self._run(
            lambda db: db.execute("DELETE FROM sessions WHERE tenant = ? AND token_hash = ?", (tenant, token_hash))
        )

    async def create_invitation(self, tenant: str, invitation: Invitation) -> None:
        await self._run(lambda db: invitations.insert(db, tenant, invitation))

    async def take_invitation(self, tenant: str, token_hash: str) -> Invitation:
        invitation = await self._run(lambda db: invitations.take(db, tenant, token_hash))
        if invitation is None:
            raise NotFound("no such invitation")
        return invitation

    async def create_media(self, tenant: str, item: MediaItem) -> MediaItem:
        values = media_row(item) | {"tenant": tenant}
        await self._run(lambda db: db.execute(_insert("media", values), values))
        return await self.get_media(tenant, item.id)

    async def get_media(self, tenant: str, media_id: str) -> MediaItem:
        row = await self._run(
            lambda db: db.execute(
                f"SELECT {', '.join(MEDIA_COLUMNS)} FROM media WHERE tenant = ? AND id = ?", (tenant, media_id)
            ).fetchone()
        )
        if row is None:
            raise NotFound("no such media item")
        return media_from_row(row)

    async def delete_media(self, tenant: str, media_id: str) -> MediaItem:
        row = await self._run(
            lambda db: db.execute(
                f"DELETE FROM media WHERE tenant = ? AND id = ? RETURNING {', '.join(MEDIA_COLUMNS)}",
                (tenant, media_id),
            ).fetchone()
        )
        if row is None:
            raise NotFound("no such media item")
        return media_from_row(row)
