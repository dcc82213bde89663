"""The outbox sender for the operators' groups (`core.runtime.renderers.DeskRenderer`): one method
per event of the desk, each handed to the module that knows that kind of post.

Each case is handled in the group of its department (`core.desk.routing`); in a forum
group the customer has a topic there (reopened for their next case), in a plain group the
card and every post are remembered so that operators answer by replying to them.

    outlet.py     what the parts share: bots, budget, groups, the desk's services
    topics.py     a forum topic per customer: found, created, reopened, closed
    parts.py      a post in parts, each reserved, sent and checkpointed; files
    case_card.py  a new case: topic, card, the files sent before it
    batches.py    the customer's messages while the case is open, merged up to one post
    notices.py    notices in the topic; the 👍 under a delivered reply
    sla.py        SLA warnings and breaches
    erasure.py    an erased customer: their topics and the bot's posts deleted, groups told
    abuse.py      real customers' cards first, spam collapsed

Keeping up with a busy shop within Telegram's limit of about 20 posts a minute per bot
and group: one post per new case where possible (the card carries what the customer
wrote before it could be posted); later messages merged while the budget is short; every
post reserved before it is sent (`BotPool`), by the main bot or a helper; every finished
step checkpointed, so a retry never posts anything twice. What is remembered in the
database goes through `core.desk.posting.DeskPosting`.
"""

from __future__ import annotations

import logging

from aiogram.exceptions import TelegramAPIError

from bots.telegram.errors import for_delivery
from bots.telegram.groups import Groups
from bots.telegram.operators.roles import TelegramRoles
from bots.telegram.operators_sender import batches, case_card, erasure, notices, sla
from bots.telegram.operators_sender.outlet import NoCase, Outlet
from bots.telegram.posting import BotPool
from core.app import Core
from core.events import (
    Assigned,
    CaseClosed,
    CaseOpened,
    ConflictMarked,
    CustomerBlocked,
    CustomerErased,
    CustomerMessage,
    Delivered,
    LowRating,
    NotShown,
    RatingComment,
    SlaAlert,
    Transferred,
    Undelivered,
)
from core.runtime.renderers import render_for_desk
from core.storage import OutboxItem

log = logging.getLogger(__name__)

__all__ = ["OperatorsSender"]


class OperatorsSender:
    def __init__(
        self, pool: BotPool, core: Core, groups: Groups, roles: TelegramRoles | None = None
    ) -> None:
        self.out = Outlet.of(core, pool, groups, roles)

    async def send(self, item: OutboxItem) -> None:
        try:
            await render_for_desk(self, item)
        except TelegramAPIError as exc:
            raise for_delivery(exc, self.out.desk_texts) from exc
        except NoCase:
            log.warning("operators item #%s has no case", item.id)

    async def case_opened(self, item: OutboxItem, event: CaseOpened) -> None:
        await case_card.post_case(self.out, item, event)

    async def customer_message(self, item: OutboxItem, event: CustomerMessage) -> None:
        await batches.post_messages(self.out, item, event)

    async def case_closed(self, item: OutboxItem, event: CaseClosed) -> None:
        await notices.closed(self.out, item, event)

    async def delivered(self, item: OutboxItem, event: Delivered) -> None:
        await notices.delivered(self.out, item, event)

    async def undelivered(self, item: OutboxItem, event: Undelivered) -> None:
        await notices.undelivered(self.out, item, event)

    async def not_shown(self, item: OutboxItem, event: NotShown) -> None:
        await notices.not_shown(self.out, item, event)

    async def low_rating(self, item: OutboxItem, event: LowRating) -> None:
        await notices.low_rating(self.out, item, event)

    async def rating_comment(self, item: OutboxItem, event: RatingComment) -> None:
        await notices.rating_comment(self.out, item, event)

    async def conflict(self, item: OutboxItem, event: ConflictMarked) -> None:
        await notices.conflict(self.out, item, event)

    async def assigned(self, item: OutboxItem, event: Assigned) -> None:
        await notices.assigned(self.out, item, event)

    async def transferred(self, item: OutboxItem, event: Transferred) -> None:
        await notices.transferred(self.out, item, event)

    async def sla_alert(self, item: OutboxItem, event: SlaAlert) -> None:
        await sla.alert(self.out, item, event)

    async def customer_erased(self, item: OutboxItem, event: CustomerErased) -> None:
        await erasure.delete_customer(self.out, item, event)

    async def customer_blocked(self, item: OutboxItem, event: CustomerBlocked) -> None:
        await notices.blocked(self.out, item, event)
