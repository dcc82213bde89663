"""The outbox's claims, straight through its repository, on SQLite and on PostgreSQL: an
item in a live worker's hands is neither due nor claimable by another worker until that
worker's heartbeat is `LIVE_FOR` seconds old; a recipient's later items wait behind an
earlier one; what a send recorded is found again by the next item (README, Reliability).

Delivery alone cannot tell the two halves of a claim apart (`recipients_due` picks the
recipients, `claim_recipient` takes the items, and either one refusing is enough), so
each half is asked directly here."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from core.events import CustomerReply
from core.storage import Storage
from core.storage.workers import LIVE_FOR
from core.types import TELEGRAM, Reply

NOW = 5_000.0  # the outbox's clock (next attempts), controlled
WALL = 1_800_000_000.0  # real time of heartbeats, controlled
ME, OTHER = "w-me", "w-other"
CUSTOMER = "4242"


@pytest.fixture
async def storage(database_url: str) -> AsyncIterator[Storage]:
    opened = await Storage.open(database_url)
    yield opened
    await opened.close()


def reply(text: str) -> CustomerReply:
    return CustomerReply(Reply(text))


async def due(storage: Storage, wall: float, worker: str = ME) -> list[tuple[str, str]]:
    return await storage.outbox.recipients_due(NOW, wall, worker, 10, (TELEGRAM,))


async def claim(storage: Storage, wall: float, worker: str = ME) -> list[int]:
    async with storage.transaction() as tx:
        items = await tx.outbox.claim_recipient(TELEGRAM, CUSTOMER, worker, NOW, wall, 10)
    return [item.id for item in items]


async def test_an_item_held_by_a_live_worker_is_left_alone_until_it_dies(storage):
    await storage.workers.register(OTHER, WALL)
    held = await storage.outbox.add(TELEGRAM, CUSTOMER, reply("a"), NOW, claimed_by=OTHER)
    for wall in (WALL, WALL + LIVE_FOR):  # its heartbeat is fresh: it is sending it
        assert await due(storage, wall) == []
        assert await claim(storage, wall) == []
    stale = WALL + LIVE_FOR + 1  # no beat for longer than LIVE_FOR: the claim lapses
    assert await due(storage, stale) == [(TELEGRAM, CUSTOMER)]
    assert await claim(storage, stale) == [held.id]
    assert await claim(storage, stale) == []  # mine now: not claimed twice


async def test_a_later_item_waits_behind_one_a_live_worker_holds(storage):
    await storage.workers.register(OTHER, WALL)
    first = await storage.outbox.add(TELEGRAM, CUSTOMER, reply("1"), NOW, claimed_by=OTHER)
    second = await storage.outbox.add(TELEGRAM, CUSTOMER, reply("2"), NOW)
    assert await due(storage, WALL) == []
    assert await claim(storage, WALL) == []
    stale = WALL + LIVE_FOR + 1
    assert await due(storage, stale) == [(TELEGRAM, CUSTOMER)]
    assert await claim(storage, stale) == [first.id, second.id]  # in order


async def test_a_later_item_waits_behind_one_waiting_for_a_retry(storage):
    first = await storage.outbox.add(TELEGRAM, CUSTOMER, reply("1"), NOW)
    second = await storage.outbox.add(TELEGRAM, CUSTOMER, reply("2"), NOW)
    await storage.outbox.retry_later(first.id, NOW + 60, "down")
    assert await due(storage, WALL) == []
    assert await claim(storage, WALL) == []
    rows = await storage.db.fetchall("SELECT id, attempts FROM outbox ORDER BY id")
    assert [(row["id"], row["attempts"]) for row in rows] == [(first.id, 1), (second.id, 0)]
    await storage.outbox.retry_later(first.id, NOW, "429", count=False)  # due again
    assert await claim(storage, WALL) == [first.id, second.id]
    row = await storage.db.fetchone("SELECT attempts FROM outbox WHERE id = ?", (first.id,))
    assert row is not None and row["attempts"] == 1  # the uncounted retry added nothing


async def test_a_new_item_is_claimed_at_once_only_when_nothing_else_waits(storage):
    alone = await storage.outbox.add(TELEGRAM, CUSTOMER, reply("1"), NOW, claim_if_free=ME)
    assert alone.claimed_by == ME
    behind_mine = await storage.outbox.add(TELEGRAM, CUSTOMER, reply("2"), NOW, claim_if_free=ME)
    assert behind_mine.claimed_by == ME  # only my own items wait: it follows them
    await storage.outbox.release([alone.id])
    behind_free = await storage.outbox.add(TELEGRAM, CUSTOMER, reply("3"), NOW, claim_if_free=ME)
    assert behind_free.claimed_by is None  # queued behind an item nobody holds
    other = await storage.outbox.add(TELEGRAM, "other", reply("x"), NOW, claimed_by=OTHER)
    assert other.claimed_by == OTHER
    unowned = await storage.outbox.add(TELEGRAM, "third", reply("y"), NOW)
    assert unowned.claimed_by is None


async def test_the_last_recorded_send_is_found_for_the_next_item(storage):
    first = await storage.outbox.add(TELEGRAM, CUSTOMER, reply("1"), NOW)
    second = await storage.outbox.add(TELEGRAM, CUSTOMER, reply("2"), NOW)
    third = await storage.outbox.add(TELEGRAM, CUSTOMER, reply("3"), NOW)
    assert await storage.outbox.last_recorded(TELEGRAM, CUSTOMER, second.id) == {}
    await storage.outbox.mark_sent([first.id], NOW, {"message_id": 71})
    assert await storage.outbox.last_recorded(TELEGRAM, CUSTOMER, second.id) == {"message_id": 71}
    assert await storage.outbox.last_recorded(TELEGRAM, CUSTOMER, first.id) == {}
    await storage.outbox.save_progress(second.id, {"message_id": 72, "парт": 1})
    await storage.outbox.mark_sent([second.id], NOW)  # no progress given: the saved one stays
    assert await storage.outbox.last_recorded(TELEGRAM, CUSTOMER, third.id) == {
        "message_id": 72,
        "парт": 1,
    }
    assert await storage.outbox.last_recorded(TELEGRAM, "nobody", third.id) == {}
    rows = await storage.db.fetchall("SELECT status, attempts FROM outbox ORDER BY id")
    assert [(row["status"], row["attempts"]) for row in rows] == [
        ("sent", 1),
        ("sent", 1),
        ("pending", 0),
    ]


async def test_a_recipient_being_claimed_elsewhere_is_not_locked_twice(storage, database_url):
    """PostgreSQL: two replicas never claim one recipient's items at once (an advisory
    lock held to the end of the claiming transaction). SQLite serialises writers anyway."""
    other = await Storage.open(database_url)
    try:
        async with storage.transaction() as tx:
            assert await tx.outbox.lock_recipient(TELEGRAM, CUSTOMER) is True
            if storage.dialect == "postgresql":
                async with other.transaction() as elsewhere:
                    assert await elsewhere.outbox.lock_recipient(TELEGRAM, CUSTOMER) is False
                    assert await elsewhere.outbox.lock_recipient(TELEGRAM, "other") is True
        async with other.transaction() as elsewhere:  # released with the transaction
            assert await elsewhere.outbox.lock_recipient(TELEGRAM, CUSTOMER) is True
    finally:
        await other.close()


@pytest.mark.parametrize("died", [True, False])
async def test_an_item_of_a_dead_sender_is_claimed_again_marked_in_doubt(storage, died):
    await storage.workers.register(OTHER, WALL)
    held = await storage.outbox.add(TELEGRAM, CUSTOMER, reply("a"), NOW, claimed_by=OTHER)
    assert held.in_doubt is False
    await storage.workers.retire(OTHER, died=died)  # found dead, or stopped cleanly
    async with storage.transaction() as tx:
        (item,) = await tx.outbox.claim_recipient(TELEGRAM, CUSTOMER, ME, NOW, WALL, 10)
    assert item.id == held.id and item.claimed_by == ME
    assert item.in_doubt is died  # it may have reached the messenger already
