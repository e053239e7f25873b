"""The MongoDB store, on PyMongo's own asyncio client.

Each record is one document whose ``_id`` is the record's id, and every filter names the
tenant. The database comes from the URL's path (``mongodb://host/sitegate``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, PyMongoError

from .store import (
    POST_CHANGE_FIELDS,
    Conflict,
    Invitation,
    MediaItem,
    NotFound,
    Post,
    PostPage,
    PostStatus,
    Role,
    Session,
    StoreUnavailable,
    User,
)

DEFAULT_DATABASE = "sitegate"
# While the server is away a request answers 503 within seconds rather than PyMongo's 30 s; a
# server that accepts but stops answering would hold a request forever without a socket timeout.
# The store URL's own options (?serverSelectionTimeoutMS=…) take precedence over these.
SERVER_TIMEOUT_MS = 5000
SOCKET_TIMEOUT_MS = 10000
# Missing publication times sort lowest, so drafts come after every published post.
NEWEST_FIRST = [("published_at", DESCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)]


@contextmanager
def _answering() -> Iterator[None]:
    """Turn a driver failure into ``StoreUnavailable``; a duplicate key is the caller's to name."""
    try:
        yield
    except DuplicateKeyError:
        raise
    except PyMongoError as error:
        raise StoreUnavailable(f"mongodb: {error}") from error


def _document(record: Post | User | Session | Invitation | MediaItem, id_field: str = "id") -> dict[str, Any]:
    fields = asdict(record)
    fields["_id"] = fields.pop(id_field)
    if isinstance(record, User | Invitation):
        fields["role"] = record.role.value
    if isinstance(record, Post):
        fields["tags"] = list(record.tags)
        fields["status"] = record.status.value
    return fields


def _post(document: Mapping[str, Any]) -> Post:
    fields = {key: value for key, value in document.items() if key != "_id"}
    return Post(
        **fields | {"id": document["_id"], "tags": tuple(document["tags"]), "status": PostStatus(document["status"])}
    )


def _user(document: Mapping[str, Any]) -> User:
    fields = {key: value for key, value in document.items() if key != "_id"}
    return User(**fields | {"id": document["_id"], "role": Role(document["role"])})


def _media(document: Mapping[str, Any]) -> MediaItem:
    fields = {key: value for key, value in document.items() if key != "_id"}
    return MediaItem(**fields | {"id": document["_id"]})


def _session(document: Mapping[str, Any]) -> Session:
    fields = {key: value for key, value in document.items() if key != "_id"}
    return Session(**fields | {"token_hash": document["_id"]})


def _invitation(document: Mapping[str, Any]) -> Invitation:
    fields = {key: value for key, value in document.items() if key != "_id"}
    return Invitation(**fields | {"token_hash": document["_id"], "role": Role(document["role"])})


class MongoStore:
    """``Store`` on a MongoDB server (or anything speaking its wire protocol)."""

    def __init__(
        self, url: str, *, server_timeout_ms: int = SERVER_TIMEOUT_MS, socket_timeout_ms: int = SOCKET_TIMEOUT_MS
    ) -> None:
        self._url = url
        self._timeouts = _unless_in_url(
            url,
            serverSelectionTimeoutMS=server_timeout_ms,
            connectTimeoutMS=server_timeout_ms,
            socketTimeoutMS=socket_timeout_ms,
        )
        self._client: AsyncMongoClient[dict[str, Any]] | None = None
        self._database: AsyncDatabase[dict[str, Any]] | None = None

    @property
    def _db(self) -> AsyncDatabase[dict[str, Any]]:
        if self._database is None:
            raise StoreUnavailable("the store is closed")
        return self._database

    async def open(self) -> None:
        if self._client is not None:
            return
        with _answering():
            client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(self._url, tz_aware=True, **self._timeouts)
        self._client = client
        self._database = client.get_default_database(default=DEFAULT_DATABASE)
        try:
            await self._create_indexes()
        except PyMongoError as error:
            await self.close()
            raise StoreUnavailable(f"mongodb: cannot create indexes: {error}") from error

    async def _create_indexes(self) -> None:
        db = self._db
        await db.posts.create_index([("tenant", ASCENDING), ("slug", ASCENDING)], unique=True, name="tenant_slug")
        await db.posts.create_index(
            [("tenant", ASCENDING), ("status", ASCENDING), *NEWEST_FIRST[:2]], name="tenant_newest"
        )
        await db.posts.create_index([("tenant", ASCENDING), ("tags", ASCENDING)], name="tenant_tags")
        await db.users.create_index([("tenant", ASCENDING), ("email", ASCENDING)], unique=True, name="tenant_email")
        await db.sessions.create_index("expires_at", expireAfterSeconds=0, name="expiry")
        await db.invitations.create_index("expires_at", expireAfterSeconds=0, name="expiry")
        await db.media.create_index([("tenant", ASCENDING), ("_id", ASCENDING)], name="tenant_id")

    async def close(self) -> None:
        client, self._client, self._database = self._client, None, None
        if client is not None:
            await client.close()

    async def ping(self) -> None:
        with _answering():
            await self._db.command("ping")

    async def create_post(self, tenant: str, post: Post) -> Post:
        document = _document(post) | {"tenant": tenant}
        try:
            with _answering():
                await self._db.posts.insert_one(document)
        except DuplicateKeyError:
            raise Conflict("slug", f"a post with slug {post.slug!r} exists") from None
        return _post(document)

    async def get_post(self, tenant: str, slug: str) -> Post:
        document = await self._find_one("posts", {"tenant": tenant, "slug": slug})
        if document is None:
            raise NotFound(f"no post {slug!r}")
        return _post(document)

    async def list_posts(
        self, tenant: str, *, status: PostStatus | None, tag: str | None, offset: int, limit: int
    ) -> PostPage:
        query: dict[str, Any] = {"tenant": tenant}
        if status is not None:
            query["status"] = status.value
        if tag is not None:
            query["tags"] = tag
        with _answering():
            documents = await self._db.posts.find(query).sort(NEWEST_FIRST).skip(offset).limit(limit).to_list()
            total = await self._db.posts.count_documents(query)
        return PostPage(items=tuple(_post(document) for document in documents), total=total)

    async def update_post(self, tenant: str, slug: str, changes: Mapping[str, Any]) -> Post:
        unknown = set(changes) - POST_CHANGE_FIELDS
        if unknown:
            raise ValueError(f"not a changeable post field: {sorted(unknown)}")
        if not changes:
            return await self.get_post(tenant, slug)
        values = {name: _field_value(name, value) for name, value in changes.items()}
        try:
            with _answering():
                document = await self._db.posts.find_one_and_update(
                    {"tenant": tenant, "slug": slug}, {"$set": values}, return_document=ReturnDocument.AFTER
                )
        except DuplicateKeyError:
            raise Conflict("slug", f"a post with slug {changes.get('slug')!r} exists") from None
        if document is None:
            raise NotFound(f"no post {slug!r}")
        return _post(document)

    async def delete_post(self, tenant: str, slug: str) -> None:
        if not await self._delete_one("posts", {"tenant": tenant, "slug": slug}):
            raise NotFound(f"no post {slug!r}")

    async def create_user(self, tenant: str, user: User) -> User:
        document = _document(user) | {"tenant": tenant}
        try:
            with _answering():
                await self._db.users.insert_one(document)
        except DuplicateKeyError:
            raise Conflict("email", "a user with this email exists") from None
        return _user(document)

    async def get_user(self, tenant: str, user_id: str) -> User:
        document = await self._find_one("users", {"tenant": tenant, "_id": user_id})
        if document is None:
            raise NotFound("no such user")
        return _user(document)

    async def find_user_by_email(self, tenant: str, email: str) -> User:
        document = await self._find_one("users", {"tenant": tenant, "email": email})
        if document is None:
            raise NotFound("no such user")
        return _user(document)

    async def create_session(self, tenant: str, session: Session) -> None:
        document = _document(session, "token_hash") | {"tenant": tenant}
        with _answering():
            await self._db.sessions.insert_one(document)

    async def get_session(self, tenant: str, token_hash: str) -> Session:
        document = await self._find_one("sessions", {"tenant": tenant, "_id": token_hash})
        if document is None:
            raise NotFound("no such session")
        return _session(document)

    async def delete_session(self, tenant: str, token_hash: str) -> None:
        await self._delete_one("sessions", {"tenant": tenant, "_id": token_hash})

    async def create_invitation(self, tenant: str, invitation: Invitation) -> None:
        document = _document(invitation, "token_hash") | {"tenant": tenant}
        with _answering():
            await self._db.invitations.insert_one(document)

    async def take_invitation(self, tenant: str, token_hash: str) -> Invitation:
        with _answering():
            document = await self._db.invitations.find_one_and_delete({"tenant": tenant, "_id": token_hash})
        if document is None:
            raise NotFound("no such invitation")
        return _invitation(document)

    async def create_media(self, tenant: str, item: MediaItem) -> MediaItem:
        document = _document(item) | {"tenant": tenant}
        with _answering():
            await self._db.media.insert_one(document)
        return _media(document)

    async def get_media(self, tenant: str, media_id: str) -> MediaItem:
        document = await self._find_one("media", {"tenant": tenant, "_id": media_id})
        if document is None:
            raise NotFound("no such media item")
        return _media(document)

    async def delete_media(self, tenant: str, media_id: str) -> MediaItem:
        with _answering():
            document = await self._db.media.find_one_and_delete({"tenant": tenant, "_id": media_id})
        if document is None:
            raise NotFound("no such media item")
        return _media(document)

    async def _find_one(self, collection: str, query: Mapping[str, Any]) -> dict[str, Any] | None:
        with _answering():
            return await self._db[collection].find_one(query)

    async def _delete_one(self, collection: str, query: Mapping[str, Any]) -> bool:
        with _answering():
            result = await self._db[collection].delete_one(query)
        return result.deleted_count > 0


def _unless_in_url(url: str, **options: int) -> dict[str, int]:
    """The options the URL does not set itself (PyMongo lets keywords override the URL's)."""
    given = {name.lower() for name in parse_qs(urlsplit(url).query)}
    return {name: value for name, value in options.items() if name.lower() not in given}


def _field_value(name: str, value: Any) -> Any:
    if name == "tags":
        return list(value)
    if name == "status":
        return PostStatus(value).value
    return value
