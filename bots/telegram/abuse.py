"""What the operators' sender does for `core.abuse`: a new customer's card takes its turn in
the group's post budget (verified customers first) and says why it waited; a case's
customer messages keep to the case's share of the budget; a message marked as spam is
posted on its own, collapsed under a ⚠️ mark."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bots.telegram.groups import Groups
from bots.telegram.posting import BotPool
from bots.telegram.render import escape
from core.abuse.lanes import WINDOW, CardOrder, CasePacing
from core.app import Core
from core.events import CaseOpened
from core.storage import LoggedMessage, OutboxItem, Ticket
from core.storage.abuse import SPAM

Batcher = Callable[[list[LoggedMessage]], list[LoggedMessage]]


class DeskAbuse:
    def __init__(self, core: Core, pool: BotPool, groups: Groups) -> None:
        self.core = core
        self.pool = pool
        self.groups = groups
        self.order = CardOrder(core.storage, core.clock, core.kb.desk)
        self.pacing = CasePacing(
            core.storage, core.clock, core.settings.desk_posts_per_case_per_minute
        )

    # ------------------------------------------------------------------ new cases' cards
    async def card_turn(self, item: OutboxItem, event: CaseOpened, chat: int) -> None:
        """Raise `RetryLater` while an unverified customer's card must let the posts that
        go first have the group's free posts."""
        if not await self.order.yields(item, event):
            return
        free, next_free = await self._room(chat)
        await self.order.wait_turn(item, event, self._departments(chat), free, next_free)

    async def card_line(self, ticket: Ticket) -> str:
        """The card's closing line (HTML): why it waited, or that the customer is verified."""
        line = await self.order.waited_line(ticket)
        return f"\n\n{escape(line)}" if line else ""

    async def _room(self, chat: int) -> tuple[int, float]:
        """The posts free in the group now (every bot's), and seconds until one frees up."""
        budget, now, limit = self.core.storage.budget, self.core.clock.now(), self.pool.per_minute
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
        marks = await self.core.storage.abuse.marks([m.id for m in pending])
        spam = {i: rule for i, (kind, rule) in marks.items() if kind == SPAM}
        if pending and pending[0].id in spam:
            return pending[:1], spam[pending[0].id]
        clean = []
        for message in pending:
            if message.id in spam:
                break
            clean.append(message)
        return batcher(clean), None

    def spam_post(self, head: str, messages: Sequence[LoggedMessage], rule: str) -> str:
        """A spam-marked message collapsed under its mark (HTML)."""
        desk = self.core.kb.desk
        why = desk.get(f"abuse.spam_why.{rule}", fallback="abuse.spam_why.operator")
        mark = escape(desk.format("abuse.spam_post", why=why))
        text = "\n".join(escape(m.text) for m in messages if m.text)
        return f"{head}{mark}\n<blockquote expandable>{text or '…'}</blockquote>"
