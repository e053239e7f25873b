"""Pointers and leases on a real MongoDB wire-protocol server (SecantusDB), a database per test."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from gateway.cluster.coordination import HISTORY_LENGTH, ClusterDB, ClusterUnreachable, holding_lease
from tests.backend.conftest import start_secantus, stop

SITE = "a.example"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    process, url = start_secantus(tmp_path_factory.mktemp("secantus"))
    yield url
    stop(process)


@pytest.fixture
async def db(server: str) -> AsyncIterator[ClusterDB]:
    cluster = ClusterDB(f"{server}/cluster_{uuid.uuid4().hex}", timeout_seconds=2)
    await cluster.ensure_indexes()
    yield cluster
    await cluster.close()


async def test_a_first_move_makes_the_pointer(db: ClusterDB) -> None:
    assert await db.pointer(SITE) is None
    moved = await db.move_pointer(SITE, "aa01", "host-1")
    assert (moved.site, moved.build_id, moved.generation, moved.host, moved.history) == (SITE, "aa01", 1, "host-1", ())
    assert moved.published_at.tzinfo is not None and moved.published_at.utcoffset() == timedelta(0)
    assert await db.pointer(SITE) == moved


async def test_each_move_bumps_the_generation_and_the_seq(db: ClusterDB) -> None:
    first = await db.move_pointer(SITE, "aa01", "host-1")
    second = await db.move_pointer(SITE, "bb02", "host-2")
    other = await db.move_pointer("b.example", "cc03", "host-1")
    assert second.generation == first.generation + 1 and other.generation == 1
    assert first.seq < second.seq < other.seq
    assert second.published_at >= first.published_at
    assert (second.host, second.history) == ("host-2", ("aa01",))


async def test_changed_since_gives_only_newer_moves_in_order(db: ClusterDB) -> None:
    early = await db.move_pointer(SITE, "aa01", "host-1")
    await db.move_pointer("b.example", "bb01", "host-1")
    await db.move_pointer("c.example", "cc01", "host-1")
    await db.move_pointer(SITE, "aa02", "host-1")
    changed = await db.changed_since(early.seq)
    assert [(pointer.site, pointer.build_id) for pointer in changed] == [
        ("b.example", "bb01"), ("c.example", "cc01"), (SITE, "aa02"),
    ]  # fmt: skip
    assert [pointer.seq for pointer in changed] == sorted(pointer.seq for pointer in changed)
    assert await db.changed_since(changed[-1].seq) == []


async def test_history_keeps_the_last_twenty_earlier_builds(db: ClusterDB) -> None:
    for number in range(HISTORY_LENGTH + 5):
        await db.move_pointer(SITE, f"{number:04x}", "host-1")
    # The same build again (a restart publishing it anew) adds nothing to the history.
    pointer = await db.move_pointer(SITE, f"{HISTORY_LENGTH + 4:04x}", "host-1")
    assert pointer.generation == HISTORY_LENGTH + 6
    assert pointer.history == tuple(f"{number:04x}" for number in range(4, HISTORY_LENGTH + 4))


async def test_a_rollback_holds_and_a_normal_move_clears(db: ClusterDB) -> None:
    await db.move_pointer(SITE, "aa01", "host-1")
    await db.move_pointer(SITE, "bb02", "host-1")
    rolled_back = await db.move_pointer(SITE, "aa01", "host-2", held_from="bb02")
    assert rolled_back.held_from == "bb02"
    assert (await db.pointer(SITE)) == rolled_back
    moved_on = await db.move_pointer(SITE, "cc03", "host-1")
    assert moved_on.held_from is None and moved_on.history == ("aa01", "bb02", "aa01")


async def test_moves_of_one_site_at_once_all_land_one_after_another(db: ClusterDB) -> None:
    moves = await asyncio.gather(*(db.move_pointer(SITE, f"{n:04x}", f"host-{n}") for n in range(5)))
    assert sorted(move.generation for move in moves) == [1, 2, 3, 4, 5]
    final = await db.pointer(SITE)
    assert final is not None and final.generation == 5 and len(final.history) == 4


async def test_one_of_two_holders_gets_the_lease(db: ClusterDB) -> None:
    assert await db.acquire_lease(SITE, "host-1", 30)
    assert not await db.acquire_lease(SITE, "host-2", 30)
    lease = await db.lease(SITE)
    assert lease is not None and lease.holder == "host-1" and lease.expires_at.tzinfo is not None
    # Another site's lease is another matter.
    assert await db.acquire_lease("b.example", "host-2", 30)


async def test_acquiring_again_pushes_the_expiry_out(db: ClusterDB) -> None:
    assert await db.acquire_lease(SITE, "host-1", 5)
    first = await db.lease(SITE)
    assert await db.acquire_lease(SITE, "host-1", 60)
    again = await db.lease(SITE)
    assert first is not None and again is not None
    assert again.expires_at - first.expires_at > timedelta(seconds=50)


async def test_five_hosts_at_once_one_wins(db: ClusterDB) -> None:
    won = await asyncio.gather(*(db.acquire_lease(SITE, f"host-{n}", 30) for n in range(5)))
    assert won.count(True) == 1
    lease = await db.lease(SITE)
    assert lease is not None and lease.holder == f"host-{won.index(True)}"


async def test_an_expired_lease_goes_to_another_and_the_loser_cannot_renew(db: ClusterDB) -> None:
    assert await db.acquire_lease(SITE, "host-1", 0.5)
    await asyncio.sleep(0.7)
    assert await db.acquire_lease(SITE, "host-2", 30)
    assert not await db.renew_lease(SITE, "host-1", 30)
    assert await db.renew_lease(SITE, "host-2", 30)
    lease = await db.lease(SITE)
    assert lease is not None and lease.holder == "host-2"


async def test_only_the_holder_releases(db: ClusterDB) -> None:
    assert await db.acquire_lease(SITE, "host-1", 30)
    await db.release_lease(SITE, "host-2")
    assert not await db.acquire_lease(SITE, "host-2", 30)
    await db.release_lease(SITE, "host-1")
    assert await db.lease(SITE) is None
    assert await db.acquire_lease(SITE, "host-2", 30)


async def test_holding_a_lease_renews_it_past_its_time_and_releases_it(db: ClusterDB) -> None:
    seconds = 0.6
    assert await db.acquire_lease(SITE, "host-1", seconds)
    async with holding_lease(db, SITE, "host-1", seconds):
        for _ in range(6):
            await asyncio.sleep(seconds / 2)
            assert not await db.acquire_lease(SITE, "host-2", seconds)
    assert await db.lease(SITE) is None
    assert await db.acquire_lease(SITE, "host-2", seconds)


async def test_a_lost_lease_is_logged_and_the_body_goes_on(db: ClusterDB, caplog: pytest.LogCaptureFixture) -> None:
    seconds = 0.6
    assert await db.acquire_lease(SITE, "host-1", seconds)
    finished = False
    with caplog.at_level(logging.WARNING, logger="sitegate.cluster"):
        async with holding_lease(db, SITE, "host-1", seconds):
            # As if it had expired while this host was stalled, and another took it.
            await db.release_lease(SITE, "host-1")
            assert await db.acquire_lease(SITE, "host-2", 30)
            await asyncio.sleep(seconds / 2)
            finished = True
    assert finished and "lost to another host" in caplog.text
    # Leaving does not take the other holder's lease away.
    lease = await db.lease(SITE)
    assert lease is not None and lease.holder == "host-2"


async def test_an_unreachable_server_fails_fast_in_one_line(tmp_path: Path) -> None:
    process, url = start_secantus(tmp_path)
    # SecantusDB ignores SIGTERM: ``stop`` would wait its 10 s before killing it anyway.
    process.kill()
    process.wait()
    db = ClusterDB(f"{url}/cluster", timeout_seconds=0.5)
    try:
        started = asyncio.get_running_loop().time()
        with pytest.raises(ClusterUnreachable) as raised:
            await db.acquire_lease(SITE, "host-1", 30)
        assert asyncio.get_running_loop().time() - started < 3
        message = str(raised.value)
        assert "acquire the lease of a.example" in message and "\n" not in message
        assert "Topology Description" not in message
        with pytest.raises(ClusterUnreachable, match="move the pointer"):
            await db.move_pointer(SITE, "aa01", "host-1")
    finally:
        await db.close()

