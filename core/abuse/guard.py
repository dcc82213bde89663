"""The engine's hook: a customer's turn screened for blocks, limits and spam.

`Engine.handle` hands its decision to `Guard.decide`, which reads the customer's figures
(`core.storage.abuse`), and then:

- a **blocked** customer's message is stored and marked, nothing is decided, answered
  or posted; they hear one notice, ever;
- a customer **over the message limit** (`core.abuse.limits`) is muted for a minute:
  stored and marked, not answered; told once when they can write again; in an open case
  their messages are held and reach the operators as one merged post when the minute is
  over;
- a message that breaks a **spam rule** (`core.abuse.spam`) is marked; without an open
  case the dialog does not see it and no case opens (the customer is asked to write
  their question in their own words); in an open case it is forwarded as usual, and
  shown collapsed under a ⚠️ mark;
- otherwise the dialog decides;
- a turn that would open a case past the **case limit** opens none; the customer is
  told once when they can;
- a turn that opens a case has its customer **verified** (a valid order looked up in
  the shop, VIP, earlier resolved cases) or not: the case's lane (`core.abuse.lanes`).

`Guard.commit` writes all of it in the turn's own transaction; the conversation's version,
claimed by that transaction, makes a turn counted on stale figures decide again.
"""

from __future__ import annotations

import math
import typing
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from core.abuse import limits
from core.abuse.limits import LimitPolicy
from core.abuse.screening import Screening
from core.abuse.spam import SpamRules, Suspect, words_of
from core.knowledge.texts import Texts
from core.orders import OrderNotFound, OrderService, OrderServiceUnavailable
from core.runtime import metrics
from core.storage import Storage
from core.storage.abuse import BLOCKED, LIMITED, SPAM, CustomerState, Lane
from core.types import Reply

if typing.TYPE_CHECKING:
    from core.conversation.turn import Turn

Decide = Callable[["Turn"], Awaitable[None]]
HISTORY = 20  # a customer's latest messages the repeat rule compares with


class Guard:
    """Screens customers' turns; `texts` are the customers' (texts.yaml `abuse`)."""

    def __init__(
        self,
        policy: LimitPolicy,
        rules: SpamRules,
        texts: Texts,
        orders: OrderService | None = None,
        timezone: str = "Europe/Moscow",
    ) -> None:
        self.policy = policy
        self.rules = rules
        self.texts = texts
        self.orders = orders
        self.zone = ZoneInfo(timezone)
        self._examples: list[frozenset[str]] = []
        self._examples_upto = 0

    # ------------------------------------------------------------------ deciding
    async def decide(self, storage: Storage, turn: Turn, decide: Decide) -> None:
        """Screen the turn, letting the dialog decide (`decide`) where it may."""
        now = turn.now
        state = await storage.abuse.customer_state(
            turn.conversation.id,
            now - limits.MINUTE,
            now - limits.DAY,
            self.policy.messages_per_minute + 1,
        )
        screening = Screening(
            state,
            muted_until=state.muted_until,
            held_until=state.held_until,
            cases_told_until=state.cases_told_until,
        )
        turn.abuse = screening
        if state.ban is not None:
            self._blocked(turn, screening)
            return
        if self._limited(turn, screening):
            return
        rule = await self._spam_rule(storage, turn, state)
        if rule is not None:
            screening.kind, screening.rule = SPAM, rule
            if turn.open_ticket is None:  # never a case: asked to write it in their words
                why = self.texts.get(f"abuse.spam_why.{rule}")
                turn.say(Reply(self.texts.format("abuse.spam_hint", why=why)))
                return
        await decide(turn)  # an open case: forwarded, shown collapsed with a mark
        if turn.escalation is not None and rule is None:
            await self._case_limit(storage, turn, screening)
        if turn.escalation is not None:
            screening.order_verified = await self._order_found(turn)

    def _blocked(self, turn: Turn, screening: Screening) -> None:
        """Stored and marked; nothing answered or posted; one notice, ever."""
        ban = screening.state.ban
        screening.kind, screening.rule = BLOCKED, "spam" if ban and ban.spam else "operator"
        if ban is not None and not ban.noticed:
            screening.ban_noticed = True
            turn.say(Reply(self.texts.get("abuse.blocked")))

    def _limited(self, turn: Turn, screening: Screening) -> bool:
        """Past the message limit: muted for a minute (told once when it ends); in an
        open case the messages are held for one merged post. False: within the limit."""
        now, state = turn.now, screening.state
        if not limits.muted(state, now):
            if not limits.over_message_limit(state, self.policy):
                return False
            screening.muted_until = now + limits.MINUTE
            key = "abuse.too_fast_case" if turn.open_ticket is not None else "abuse.too_fast"
            turn.say(Reply(self.texts.format(key, time=self._clock_time(screening.muted_until))))
        screening.kind, screening.rule = LIMITED, limits.MESSAGES_PER_MINUTE
        if turn.open_ticket is not None:
            turn.forward_to_operators = True
            screening.held_until = screening.muted_until
        return True

    async def _spam_rule(self, storage: Storage, turn: Turn, state: CustomerState) -> str | None:
        inbound = turn.inbound
        if inbound.payload or not (inbound.text.strip() or inbound.forwarded_from_channel):
            return None
        if state.spam_examples > self._examples_upto:
            for example_id, text in await storage.abuse.spam_examples(self._examples_upto):
                self._examples.append(words_of(text))
                self._examples_upto = max(self._examples_upto, example_id)
        age = None
        if inbound.account_created_at is not None:
            age = turn.now - inbound.account_created_at
        earlier: list[tuple[float, str]] = []
        if self.rules.looks_at_history(inbound.text):
            since = turn.now - self.rules.repeat_window
            earlier = await storage.abuse.recent_texts(turn.conversation.id, since, HISTORY)
        suspect = Suspect(
            inbound.text,
            first=not state.wrote_before,
            earlier=earlier,
            now=turn.now,
            forwarded_from_channel=inbound.forwarded_from_channel,
            account_age=age,
        )
        return self.rules.match(suspect, self._examples)

    async def _case_limit(self, storage: Storage, turn: Turn, screening: Screening) -> None:
        """No case past the day's limit; told once when a case can be opened again."""
        state = screening.state
        if not limits.case_limit_reached(state, self.policy):
            return
        turn.escalation = None
        turn.replies = []
        screening.kind, screening.rule = LIMITED, limits.CASES_PER_DAY
        if turn.now < state.cases_told_until:
            return
        opened = await storage.abuse.case_times(turn.conversation.id, turn.now - limits.DAY)
        free_at = limits.cases_free_at(opened, self.policy)
        screening.cases_told_until = free_at
        when = self._when(free_at, turn.now)
        count = self.texts.plural("abuse.times", self.policy.cases_per_day)
        turn.say(Reply(self.texts.format("abuse.cases_limit", count=count, when=when)))

    async def _order_found(self, turn: Turn) -> bool | None:
        """A new case's order looked up in the shop: found, not found (False), or no
        order / the shop not answering (None)."""
        number = turn.conversation.slots.order
        if not number or self.orders is None:
            return None
        try:
            await self.orders.get(number)
        except OrderNotFound:
            return False
        except OrderServiceUnavailable:
            return None
        return True

    # ------------------------------------------------------------------ writing
    async def commit(self, tx: Storage, turn: Turn, now: float) -> None:
        """Write what the screening found, in the turn's transaction (after the message is
        logged and the case, if the turn opened one)."""
        screening = turn.abuse
        if not isinstance(screening, Screening):
            return
        conversation = turn.conversation
        if screening.kind is not None and turn.message_id is not None:
            await tx.abuse.mark(
                turn.message_id, conversation.id, screening.kind, screening.rule, now
            )
        if screening.ban_noticed:
            await tx.abuse.ban_noticed(conversation.id)
        state = screening.state
        limits_now = (screening.muted_until, screening.held_until, screening.cases_told_until)
        if limits_now != (state.muted_until, state.held_until, state.cases_told_until):
            await tx.abuse.save_limits(conversation.id, *limits_now)
        if turn.open_ticket is not None and screening.held_until > now:
            await tx.abuse.hold_case_posts(conversation.customer.key, screening.held_until)
        if turn.escalation is not None and turn.case is not None:
            await tx.abuse.set_lane(turn.case, await self._lane(tx, turn, screening), now)

    async def _lane(self, tx: Storage, turn: Turn, screening: Screening) -> Lane:
        ticket = await tx.tickets.get(turn.case) if turn.case is not None else None
        if ticket is not None and ticket.vip:
            return Lane(True, "vip")
        if screening.order_verified:
            return Lane(True, "order")
        people = await tx.abuse.linked(turn.conversation.id)
        if ticket is not None and await tx.abuse.resolved_before(people, ticket.id):
            return Lane(True, "returning")
        return Lane(False, "order_not_found" if screening.order_verified is False else "new")

    def counted(self, turn: Turn) -> None:
        """After the turn committed: the marked message counted in the metrics."""
        screening = turn.abuse
        if isinstance(screening, Screening) and screening.kind is not None:
            metrics.abuse_marked(screening.kind)

    # ------------------------------------------------------------------ wording
    def _clock_time(self, at: float) -> str:
        """HH:MM of the minute that has begun by `at` ends (when one may write again)."""
        moment = datetime.fromtimestamp(math.ceil(at / 60.0) * 60.0, self.zone)
        return f"{moment:%H:%M}"

    def _when(self, at: float, now: float) -> str:
        """'сегодня после 14:05', 'завтра после 09:30' or '03.02 после 09:30'."""
        moment = datetime.fromtimestamp(math.ceil(at / 60.0) * 60.0, self.zone)
        today = datetime.fromtimestamp(now, self.zone).date()
        time_of_day = f"{moment:%H:%M}"
        if moment.date() == today:
            return self.texts.format("abuse.when.today", time=time_of_day)
        if moment.date() == today + timedelta(days=1):
            return self.texts.format("abuse.when.tomorrow", time=time_of_day)
        return self.texts.format("abuse.when.later", date=f"{moment:%d.%m}", time=time_of_day)


class NoGuard(Guard):
    """Screens nothing: the engine built without limits or rules (benchmarks, old tests)."""

    def __init__(self) -> None:
        super().__init__(LimitPolicy(), SpamRules(), Texts({}))

    async def decide(self, storage: Storage, turn: Turn, decide: Decide) -> None:
        await decide(turn)

    async def commit(self, tx: Storage, turn: Turn, now: float) -> None:
        return None
