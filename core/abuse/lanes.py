"""Real customers first: the order in which an operators' group's post budget is spent
when it is short, and each case's fair share of it.

A group takes about 20 posts a minute from a bot. When more wait than that:

1. posts of cases already open (customer messages, notices) and the cards of customers
   we could verify (`Lane.verified`: a valid order looked up in the shop, VIP, earlier
   resolved cases) go first;
2. then the cards of unverified new customers, oldest first. Such a card yields
   (`CardOrder.wait_turn`) only while the budget's free posts are needed by the posts of
   step 1 waiting in the same group, and only for `AGING` seconds — after that it is
   one of them; a card that has started (its topic made) finishes.

So a verified customer's card waits behind at most the posts already reserved in the
budget's window — one budget-minute of unverified cards — plus the verified posts
before it. The card says why it waited (`waited_line`).

`CasePacing` gives each case at most `per_minute` posts of its customer's messages a
minute, spread out: at most `BURST` posts in any 60·BURST/per_minute seconds (with 6 a
minute: three in any 30 s). One customer pasting hundreds of messages
gets them merged into a few posts instead of filling everyone's budget, however quickly
or slowly their messages come in.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Sequence

from core.clock import Clock
from core.events import CaseOpened
from core.knowledge.texts import Texts
from core.runtime.delivery import RetryLater
from core.storage import OutboxItem, Storage, Ticket

WINDOW = 60.0  # seconds of a group's post budget

# The group's free posts now and the seconds until one more frees up, read in a transaction.
Room = Callable[[Storage], Awaitable[tuple[int, float]]]
AGING = 600.0  # an unverified card yields at most this long after its case opened
YIELD_PAUSE = 2.0  # a yielding card looks again after this long when posts are free
WAITED = 30.0  # a card posted this long after its case opened says why it waited
BURST = 3  # posts of one case's customer messages that may go at once


class CardOrder:
    """Which new cases' cards yield the group's budget; `desk_texts` word the card's line."""

    def __init__(self, storage: Storage, clock: Clock, desk_texts: Texts) -> None:
        self.storage = storage
        self.clock = clock
        self.desk_texts = desk_texts

    async def yields(self, item: OutboxItem, event: CaseOpened) -> bool:
        """Whether this card gives way to the posts that go first: an unverified
        customer's first card, not started, younger than `AGING`."""
        if event.transferred_from or item.progress:
            return False
        if self.clock.now() - item.created_at >= AGING:
            return False
        lane = await self.storage.abuse.lane(event.ticket_id)
        return lane is not None and not lane.verified

    async def wait_turn(
        self,
        item: OutboxItem,
        event: CaseOpened,
        departments: Sequence[str],
        room: Room,
        lock: str,
    ) -> None:
        """Raise `RetryLater` while the card must let the posts that go first use the
        group's free posts (`room`: how many are free now, and seconds until one more
        frees up). Cards decide one at a time (under the group's budget `lock`, the one
        its reservations take), so cards deciding together never take more than the
        posts left after those that go first."""
        if not await self.yields(item, event):
            return
        async with self.storage.transaction() as tx:
            await tx.budget.lock(lock)
            free, next_free = await room(tx)
            now = self.clock.now()
            waiting = await tx.abuse.waiting_first(departments, now + WINDOW, now - AGING)
            if free > waiting:
                # Started: from now on the card counts among the posts that go first, so
                # cards deciding after it leave room for it too.
                item.progress["started"] = True
                await tx.outbox.save_progress(item.id, item.progress)
                return
        after = next_free if free == 0 else YIELD_PAUSE
        raise RetryLater(
            max(after, 0.5), "an unverified customer's card yields", count_attempt=False
        )

    async def waited_line(self, ticket: Ticket) -> str | None:
        """The card's line on why it is posted late, or on who the customer is; None when
        there is nothing to say."""
        lane = await self.storage.abuse.lane(ticket.id)
        waited = self.clock.now() - ticket.created_at
        minutes = max(1, math.ceil(waited / 60.0))
        if waited >= WAITED:
            key = "abuse.card.waited" if lane is None or lane.verified else "abuse.card.waited_new"
            line = self.desk_texts.format(key, minutes=minutes)
            if lane is not None and lane.verified:
                line += " " + self.desk_texts.get(f"abuse.card.verified.{lane.reason}")
            return line
        if lane is not None and lane.verified:
            return self.desk_texts.get(f"abuse.card.verified.{lane.reason}")
        return None


class CasePacing:
    """At most `per_minute` posts a minute for one case's customer messages, at most
    `BURST` of them within `window` seconds."""

    def __init__(self, storage: Storage, clock: Clock, per_minute: int) -> None:
        self.storage = storage
        self.clock = clock
        self.window = WINDOW * BURST / per_minute

    @staticmethod
    def key(ticket_id: int) -> str:
        return f"desk-case:{ticket_id}"

    async def check(self, ticket_id: int) -> None:
        """Raise `RetryLater` while the case has had its posts this minute (its customer's
        messages wait and are merged)."""
        wait = await self.storage.budget.wait(
            self.key(ticket_id), BURST, self.window, self.clock.now()
        )
        if wait > 0:
            raise RetryLater(wait, "the case's share of the group's posts", count_attempt=False)

    async def took(self, ticket_id: int) -> None:
        """A post of the case's customer messages is reserved in the group: count it."""
        async with self.storage.transaction() as tx:
            await tx.budget.reserve(self.key(ticket_id), 1, BURST, self.window, self.clock.now())
