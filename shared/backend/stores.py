"""Picking the store a URL names."""

from __future__ import annotations

from .store import Store
from .store_mongo import MongoStore
from .store_sqlite import SqliteStore

SQLITE_PREFIX = "sqlite:///"
MONGO_SCHEMES = ("mongodb://", "mongodb+srv://")


class StoreUrlError(ValueError):
    """A store URL this backend cannot use."""


def store_for_url(url: str) -> Store:
    """``sqlite:///relative/path``, ``sqlite:////absolute/path``, ``sqlite:///:memory:`` or a
    MongoDB URL whose path names the database. The store is returned closed."""
    if url.startswith(SQLITE_PREFIX):
        path = url.removeprefix(SQLITE_PREFIX)
        if not path:
            raise StoreUrlError(f"{url!r}: a sqlite URL needs a file path after 'sqlite:///'")
        return SqliteStore(path)
    if url.startswith(MONGO_SCHEMES):
        return MongoStore(url)
    raise StoreUrlError(f"{url!r}: a store URL starts with 'sqlite:///' or 'mongodb://'")
