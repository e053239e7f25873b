"""What the gateways of a cluster agree on, in MongoDB: which build of each site is in service
(its pointer) and which host builds a site now (its lease).

```
pointers   {_id: site, build_id, generation, seq, published_at, host, held_from, history}
leases     {_id: site, holder, expires_at}
counters   {_id: "pointer_seq", value}     the last seq handed to a move
```

Times come from the server's clock, so hosts whose clocks disagree still agree on who holds a
lease. Site names are validated domain names and build ids hex: they go into queries as they are.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ASCENDING, AsyncMongoClient, ReturnDocument
from pymongo.errors import DuplicateKeyError, PyMongoError

log = logging.getLogger("sitegate.cluster")

DEFAULT_DATABASE = "sitegate"
HISTORY_LENGTH = 20
_SEQ_COUNTER = "pointer_seq"


@dataclass(frozen=True)
class Pointer:
    """The build of a site in service across the cluster."""

    site: str
    build_id: str
    generation: int  # +1 per move of this site
    seq: int  # cluster-wide number of the move: "what changed since seq N"
    published_at: datetime
    host: str
    # Set by a rollback to the build rolled back from: a rebuild that fingerprints to it again
    # must leave the pointer where the rollback put it. A normal move clears it.
    held_from: str | None
    history: tuple[str, ...]  # earlier build ids, newest last


@dataclass(frozen=True)
class Lease:
    site: str
    holder: str
    expires_at: datetime


class ClusterUnreachable(Exception):
    """MongoDB did not answer (or refused): the message is one line naming the operation."""


@contextmanager
def _reaching(operation: str) -> Iterator[None]:
    try:
        yield
    except PyMongoError as error:
        raise ClusterUnreachable(f"mongodb: cannot {operation}: {_one_line(error)}") from error


def _one_line(error: PyMongoError) -> str:
    # A server selection error appends the whole topology description: the first part says why.
    text = str(error).split(", Topology Description:")[0]
    return (text.splitlines() or [type(error).__name__])[0]


class ClusterDB:
    """The coordination collections of one MongoDB database (the URL's, else "sitegate")."""

    def __init__(self, url: str, *, timeout_seconds: float = 5.0) -> None:
        # PyMongo's 30 s defaults would hold a build or a request that long while MongoDB is down.
        milliseconds = int(timeout_seconds * 1000)
        with _reaching("open the connection"):
            self._client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
                url,
                tz_aware=True,
                serverSelectionTimeoutMS=milliseconds,
                connectTimeoutMS=milliseconds,
                socketTimeoutMS=milliseconds,
            )
        self._db = self._client.get_default_database(DEFAULT_DATABASE)
        self._pointers = self._db.pointers
        self._leases = self._db.leases
        self._counters = self._db.counters

    async def ensure_indexes(self) -> None:
        with _reaching("create indexes"):
            await self._pointers.create_index([("seq", ASCENDING)], name="seq")

    async def ping(self) -> None:
        with _reaching("ping"):
            await self._client.admin.command("ping")

    async def close(self) -> None:
        await self._client.close()

    async def pointer(self, site: str) -> Pointer | None:
        with _reaching(f"read the pointer of {site}"):
            document = await self._pointers.find_one({"_id": site})
        return _pointer(document) if document else None

    async def changed_since(self, seq: int) -> list[Pointer]:
        """The pointers moved after move number ``seq``, in order. A seq is taken from the
        counter just before its move is written, so a move can become visible just after one
        with a higher seq: a follower that remembers only the highest seq it saw can miss it,
        unless it asks again from somewhat below that."""
        with _reaching(f"read the pointers moved since {seq}"):
            documents = await self._pointers.find({"seq": {"$gt": seq}}).sort("seq", ASCENDING).to_list()
        return [_pointer(document) for document in documents]

    async def move_pointer(self, site: str, build_id: str, host: str, *, held_from: str | None = None) -> Pointer:
        """Put ``build_id`` into service for the whole cluster. Two hosts moving the same site
        at once both succeed, one after the other: each move replaces the generation it read."""
        with _reaching(f"move the pointer of {site}"):
            while True:
                previous = await self._pointers.find_one({"_id": site})
                seq = await self._next_seq()
                moved = _moved(previous, site, build_id, host, held_from, seq, await self._server_now())
                if await self._replace(previous, moved):
                    return _pointer(moved)

    async def _next_seq(self) -> int:
        # The first moves of a new cluster race to make the counter: the losers' upsert fails
        # (MongoDB: a duplicate key; SecantusDB: no document) and increments the winner's.
        while True:
            try:
                counter = await self._counters.find_one_and_update(
                    {"_id": _SEQ_COUNTER}, {"$inc": {"value": 1}}, upsert=True, return_document=ReturnDocument.AFTER
                )
            except DuplicateKeyError:
                continue
            if counter is not None:
                return int(counter["value"])

    async def _replace(self, previous: Mapping[str, Any] | None, moved: dict[str, Any]) -> bool:
        """Write ``moved`` unless another move came in since ``previous`` was read."""
        if previous is None:
            try:
                await self._pointers.insert_one(moved)
            except DuplicateKeyError:
                return False
            return True
        result = await self._pointers.replace_one({"_id": moved["_id"], "generation": previous["generation"]}, moved)
        return result.matched_count == 1

    async def acquire_lease(self, site: str, holder: str, seconds: float) -> bool:
        """True when ``holder`` holds the site's lease for ``seconds`` from now: it was free,
        expired or already ``holder``'s. False while another holds it."""
        with _reaching(f"acquire the lease of {site}"):
            now = await self._server_now()
            try:
                # A lease another holds matches neither branch, so the upsert inserts a second
                # document with the same _id, which the server refuses.
                document = await self._leases.find_one_and_update(
                    {"_id": site, "$or": [{"expires_at": {"$lt": now}}, {"holder": holder}]},
                    {"$set": {"holder": holder, "expires_at": now + timedelta(seconds=seconds)}},
                    upsert=True,
                    return_document=ReturnDocument.AFTER,
                )
                if document is None:
                    # A lost upsert race some servers answer with nothing rather than an error:
                    # the stored lease says who won.
                    document = await self._leases.find_one({"_id": site})
            except DuplicateKeyError:
                return False
        return document is not None and document.get("holder") == holder

    async def renew_lease(self, site: str, holder: str, seconds: float) -> bool:
        """Push the lease out; False when it was lost (it expired and another took it)."""
        with _reaching(f"renew the lease of {site}"):
            now = await self._server_now()
            result = await self._leases.update_one(
                {"_id": site, "holder": holder}, {"$set": {"expires_at": now + timedelta(seconds=seconds)}}
            )
        return result.matched_count == 1

    async def release_lease(self, site: str, holder: str) -> None:
        with _reaching(f"release the lease of {site}"):
            await self._leases.delete_one({"_id": site, "holder": holder})

    async def lease(self, site: str) -> Lease | None:
        """The site's lease as stored, expired or not."""
        with _reaching(f"read the lease of {site}"):
            document = await self._leases.find_one({"_id": site})
        if document is None:
            return None
        return Lease(site, document["holder"], _utc(document["expires_at"]))

    async def _server_now(self) -> datetime:
        reply = await self._db.command("hello")
        local_time = reply.get("localTime")
        now = _utc(local_time) if isinstance(local_time, datetime) else datetime.now(UTC)
        # MongoDB keeps milliseconds: a pointer returned by a move then equals the one read back.
        return now.replace(microsecond=now.microsecond // 1000 * 1000)


@asynccontextmanager
async def holding_lease(db: ClusterDB, site: str, holder: str, seconds: float) -> AsyncIterator[None]:
    """Keep a lease already acquired while the body runs (renewed every third of its time),
    and release it at the end."""
    renewing = asyncio.create_task(_keep_renewing(db, site, holder, seconds))
    try:
        yield
    finally:
        renewing.cancel()
        await asyncio.wait([renewing])
        try:
            await db.release_lease(site, holder)
        except ClusterUnreachable as error:
            # It expires on its own; the next host waits at most ``seconds`` for it.
            log.warning("%s: build lease not released: %s", site, error)


async def _keep_renewing(db: ClusterDB, site: str, holder: str, seconds: float) -> None:
    while True:
        await asyncio.sleep(seconds / 3)
        try:
            held = await db.renew_lease(site, holder, seconds)
        except ClusterUnreachable as error:
            log.warning("%s: build lease not renewed: %s", site, error)
            continue
        if not held:
            # The body goes on: what it uploads is keyed by build id, so a second build of the
            # same inputs writes the same thing.
            log.warning("%s: build lease lost to another host; this build continues", site)
            return


def _moved(
    previous: Mapping[str, Any] | None,
    site: str,
    build_id: str,
    host: str,
    held_from: str | None,
    seq: int,
    now: datetime,
) -> dict[str, Any]:
    history = list(previous["history"]) if previous else []
    if previous and previous["build_id"] != build_id:
        history.append(previous["build_id"])
    return {
        "_id": site,
        "build_id": build_id,
        "generation": previous["generation"] + 1 if previous else 1,
        "seq": seq,
        "published_at": now,
        "host": host,
        "held_from": held_from,
        "history": history[-HISTORY_LENGTH:],
    }


def _pointer(document: Mapping[str, Any]) -> Pointer:
    return Pointer(
        site=document["_id"],
        build_id=document["build_id"],
        generation=int(document["generation"]),
        seq=int(document["seq"]),
        published_at=_utc(document["published_at"]),
        host=document["host"],
        held_from=document.get("held_from"),
        history=tuple(document["history"]),
    )


def _utc(moment: datetime) -> datetime:
    """PyMongo decodes a command's reply (hello's localTime) without the client's tz_aware, and
    some servers (SecantusDB) store naive datetimes: all of them are UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
