"""The operators' groups' post budget in the database (README, Reliability 4): at most
`limit` posts under one key in any `window` seconds, reserved before each post by every
replica together, so the bot never draws a 429 from its own pace. On SQLite and on
PostgreSQL, with several connections as several replicas."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from core.storage import Storage

KEY = "telegram-group:-100777"
WINDOW = 60.0
T0 = 1_800_000_000.0


@pytest.fixture
async def replicas(database_url: str) -> AsyncIterator[list[Storage]]:
    opened = [await Storage.open(database_url) for _ in range(3)]
    yield opened
    for storage in opened:
        await storage.close()


async def reserve(
    storage: Storage, now: float, posts: int = 1, limit: int = 5, key: str = KEY
) -> float:
    async with storage.transaction() as tx:
        return await tx.budget.reserve(key, posts, limit, WINDOW, now)


async def test_the_limit_holds_within_the_window_and_frees_the_oldest_first(replicas):
    storage = replicas[0]
    for second in range(5):  # five posts, one a second
        assert await reserve(storage, T0 + second) == 0.0
    # The sixth must wait until the first post leaves the window: 60 s after it.
    assert await reserve(storage, T0 + 10) == pytest.approx(50.0)
    assert await reserve(storage, T0 + 59.5) == pytest.approx(0.5)
    assert await reserve(storage, T0 + 60) == 0.0  # the first left exactly now
    # Two at once need the two oldest gone (the 2nd and 3rd posts: 61 and 62 s).
    assert await reserve(storage, T0 + 60.5, posts=2) == pytest.approx(1.5)
    assert await reserve(storage, T0 + 62, posts=2) == 0.0


async def test_a_refused_reservation_takes_nothing(replicas):
    storage = replicas[0]
    for _ in range(4):
        assert await reserve(storage, T0) == 0.0
    assert await reserve(storage, T0, posts=2) > 0  # two do not fit: none is taken
    assert await reserve(storage, T0) == 0.0  # the one that fits is still there
    assert await reserve(storage, T0) > 0


async def test_more_posts_than_the_limit_are_clipped_to_it(replicas):
    assert await reserve(replicas[0], T0, posts=9, limit=3) == 0.0
    assert await reserve(replicas[0], T0 + 1, limit=3) == pytest.approx(59.0)


async def test_keys_are_independent(replicas):
    storage = replicas[0]
    for _ in range(5):
        assert await reserve(storage, T0) == 0.0
    assert await reserve(storage, T0) > 0
    assert await reserve(storage, T0, key=f"{KEY}:bot42") == 0.0  # a helper bot's own budget


async def test_replicas_together_never_exceed_the_limit(replicas):
    asked = [reserve(replicas[n % 3], T0, limit=7) for n in range(30)]
    waits = await asyncio.gather(*asked)
    assert sum(1 for wait in waits if wait == 0.0) == 7
    assert all(0 < wait <= WINDOW for wait in waits if wait)
    rows = await replicas[1].db.fetchall(
        "SELECT COUNT(*) AS n FROM post_budget WHERE budget_key = ?", (KEY,)
    )
    assert int(rows[0]["n"]) == 7


async def test_a_refusal_of_several_posts_waits_for_as_many_as_are_missing(replicas):
    storage = replicas[0]
    for second in range(4):  # four of five used: one free
        assert await reserve(storage, T0 + second) == 0.0
    # Two asked, one free: one more must leave — the oldest, 60 s after T0.
    assert await reserve(storage, T0 + 10, posts=2) == pytest.approx(50.0)
    # Three asked: two must leave, the second-oldest at T0 + 61.
    assert await reserve(storage, T0 + 10, posts=3) == pytest.approx(51.0)


async def test_a_refusal_never_says_to_wait_less_than_a_moment(replicas):
    storage = replicas[0]
    for _ in range(5):
        assert await reserve(storage, T0) == 0.0
    # The first post leaves the window in 5 ms: the caller is told 10 ms, never ~0.
    assert await reserve(storage, T0 + WINDOW - 0.005) == pytest.approx(0.01)
