"""Helpers for the operators' desk tests (tests/test_desk_*.py) and bench/operators_bench.py:
waiting until a running bot has applied every update and sent everything due, and driving
a hand-moved clock through Telegram's post limit (virtual time)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from core.app import Core
from core.clock import ManualClock
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.telegram_harness import OPS

# The first pending outbox item of its recipient: the items behind it wait for it.
HEAD = (
    "o.status = 'pending' AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.status = 'pending' "
    "AND e.channel = o.channel AND e.recipient = o.recipient AND e.id < o.id)"
)


def queued_updates(fake: FakeTelegramAPI) -> int:
    """Updates the fake holds that the bots have not confirmed yet."""
    return len(fake._updates) + sum(len(q) for q in fake._helper_updates.values())


async def settle(fake: FakeTelegramAPI, core: Core, limit: float = 20.0) -> None:
    """Wait until every queued update is applied and everything due now is sent: nothing
    queued at the fake, no update pending in the intake, no outbox item due."""
    deadline = time.monotonic() + limit
    while True:
        # Wait for what is being applied and sent now, never past the deadline (a handler
        # stuck in a loop of waits must fail the test here, not hang it), and never
        # cancelling it.
        busy_now = [*core.intake._active.values(), *core.delivery._tasks.values()]
        if busy_now:
            await asyncio.wait(busy_now, timeout=max(0.01, deadline - time.monotonic()))
        inbox = await core.storage.db.fetchone(
            "SELECT COUNT(*) AS n FROM inbox WHERE status = 'pending'"
        )
        due = await core.storage.db.fetchone(
            f"SELECT COUNT(*) AS n FROM outbox o WHERE {HEAD} AND o.next_attempt_at <= ?",
            (core.clock.now(),),
        )
        busy = int(inbox["n"]) if inbox else 0
        busy += int(due["n"]) if due else 0
        running = bool(core.intake._active or core.delivery._tasks)
        if not busy and not running and not queued_updates(fake):
            return
        if time.monotonic() > deadline:
            rows = await core.storage.db.fetchall(
                "SELECT id, kind, next_attempt_at, last_error FROM outbox WHERE status = 'pending'"
            )
            raise AssertionError(
                f"not settled after {limit:.0f} s: {busy} busy, {running=}, "
                f"{queued_updates(fake)} queued updates, outbox {rows[:5]}"
            )
        core.delivery.wake()
        await asyncio.sleep(0.02)


async def next_due(core: Core) -> float | None:
    """When the next item can go: the earliest retry among each recipient's first item."""
    row = await core.storage.db.fetchone(
        f"SELECT MIN(o.next_attempt_at) AS at FROM outbox o WHERE {HEAD}"
    )
    return float(row["at"]) if row and row["at"] is not None else None


async def run_in_virtual_time(
    fake: FakeTelegramAPI, core: Core, clock: ManualClock, limit: float = 120.0
) -> float:
    """Deliver everything, moving the hand clock to the next retry whenever the bot waits
    for the group's post budget. Returns the virtual seconds it took."""
    started = clock.now()
    deadline = time.monotonic() + limit
    while True:
        await settle(fake, core, limit=max(1.0, deadline - time.monotonic()))
        due = await next_due(core)
        if due is None:
            return clock.now() - started
        if time.monotonic() > deadline:
            raise AssertionError("outbox not delivered in virtual time")
        clock.set(max(clock.now(), due) + 0.001)
        core.delivery.wake()


def group_texts(fake: FakeTelegramAPI, chat_id: int = OPS) -> list[str]:
    """What operators see in a group: the text (or caption) of every message the bots sent."""
    return [str(m.get("text") or m.get("caption") or "") for m in fake.sent_messages(chat_id)]


def group_posts(fake: FakeTelegramAPI, chat_id: int = OPS) -> list[tuple[float, int, str, Any]]:
    """(virtual time, bot id, method, result) of every post into a group."""
    return [
        (at, bot, method, result) for at, bot, chat, method, result in fake.posts if chat == chat_id
    ]


def too_many_requests(fake: FakeTelegramAPI) -> list[tuple[str, int, str]]:
    return [error for error in fake.errors if error[1] == 429]
