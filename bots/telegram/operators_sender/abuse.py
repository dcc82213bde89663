"""What the operators' sender does for `core.abuse`: a new customer's card takes its turn in
the group's post budget (verified customers first) and says why it waited; a case's
customer messages keep to the case's share of the budget; a message marked as spam is
posted on its own, collapsed under a ⚠️ mark; a blocked customer's topic hears why and is
closed."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from aiogram.utils.formatting import ExpandableBlockQuote, Text

from bots.telegram.groups import Groups
from bots.telegram.posting import BotPool
from core.abuse.lanes import WINDOW, CardOrder, CasePacing
from core.app import Core
from core.clock import Clock
from core.events import CaseOpened
from core.knowledge.texts import Texts
from core.storage import LoggedMessage, OutboxItem, Storage, Ticket
from core.storage.abuse import SPAM

Batcher = Callable[[list[LoggedMessage]], list[LoggedMessage]]


class DeskAbuse:
    def __init__(
        self,
        storage: Storage,
        clock: Clock,
        desk_texts: Texts,
        pool: BotPool,
        groups: Groups,
        posts_per_case: int,
    ) -> None:
        self.storage = storage
        self.clock = clock
        self.desk_texts = desk_texts
        self.pool = pool
        self.groups = groups
        self.order = CardOrder(storage, clock, desk_texts)
        self.pacing = CasePacing(storage, clock, posts_per_case)

    @classmethod
    def of(cls, core: Core, pool: BotPool, groups: Groups) -> DeskAbuse:
        per_case = core.settings.desk_posts_per_case_per_minute
        return cls(core.storage, core.clock, core.kb.desk, pool, groups, per_case)

    # ------------------------------------------------------------------ new cases' cards
    async def card_turn(self, item: OutboxItem, event: CaseOpened, chat: int) -> None:
        """Raise `RetryLater` while an unverified customer's card must let the posts that
        go first have the group's free posts."""
        if not await self.order.yields(item, event):
            return

        async def room(tx: Storage) -> tuple[int, float]:
            return await self._room(tx, chat)

        lock = self.pool.budget_key(self.pool.main, chat)
        await self.order.wait_turn(item, event, self._departments(chat), room, lock)

    async def card_line(self, ticket: Ticket) -> str | None:
        """The card's closing line: why it waited, or that the customer is verified."""
        return await self.order.waited_line(ticket)

    async def _room(self, tx: Storage, chat: int) -> tuple[int, float]:
        """The posts free in the group now (every bot's), and seconds until one frees up."""
        budget, now, limit = tx.budget, self.clock.now(), self.pool.per_minute
        keys = [self.pool.budget_key(poster, chat) for poster in self.pool.bots]
        free = [await budget.free(key, limit, WINDOW, now) for key in keys]
        waits = [await budget.wait(key, limit, WINDOW, now) for key in keys]
        return sum(free), min(waits, default=0.0)

    def _departments(self, chat: int) -> list[str]:
        known = set(self.groups.routing.titles) | set(self.groups.by_department)
        return sorted(d for d in known if self.groups.chat_for(d) == chat)

    # ------------------------------------------------------------------ customer messages
    async def pace(self, ticket_id: int) -> None:
        """Before a post of the case's messages: `RetryLater` while its share is spent."""
        await self.pacing.check(ticket_id)

    async def paced(self, ticket_id: int) -> None:
        """The post is reserved in the group: count it in the case's share."""
        await self.pacing.took(ticket_id)

    async def batch(
        self, pending: list[LoggedMessage], batcher: Batcher
    ) -> tuple[list[LoggedMessage], str | None]:
        """The next batch and, for a message marked as spam (always alone), its rule."""
        marks = await self.storage.abuse.marks([m.id for m in pending])
        spam = {i: rule for i, (kind, rule) in marks.items() if kind == SPAM}
        if pending and pending[0].id in spam:
            return pending[:1], spam[pending[0].id]
        clean = []
        for message in pending:
            if message.id in spam:
                break
            clean.append(message)
        return batcher(clean), None

    def spam_post(self, head: Text, messages: Sequence[LoggedMessage], rule: str) -> Text:
        """A spam-marked message collapsed under its mark."""
        why = self.desk_texts.get(f"abuse.spam_why.{rule}", fallback="abuse.spam_why.operator")
        mark = self.desk_texts.format("abuse.spam_post", why=why)
        text = "\n".join(m.text for m in messages if m.text)
        return Text(head, "\n", mark, "\n", ExpandableBlockQuote(text or "…"))
