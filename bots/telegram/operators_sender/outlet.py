"""What every part of the operators' sender shares: the bots and their post budget, the
groups, the desk's services, and the item's checkpoints."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiogram import Bot

from bots.telegram.groups import Groups
from bots.telegram.operators.roles import TelegramRoles
from bots.telegram.operators_sender.parts import Parts
from bots.telegram.operators_sender.topics import Topics
from bots.telegram.posting import BotPool
from core.app import Core
from core.clock import Clock
from core.desk.operators import OperatorDesk
from core.desk.posting import DeskPosting
from core.desk.team import Team
from core.events import DeskEvent
from core.knowledge.base import KnowledgeBase
from core.knowledge.texts import Texts
from core.runtime.delivery import Delivery
from core.runtime.files import FileFetchers
from core.storage import OutboxItem, Ticket


class NoCase(Exception):
    """The item's case is gone (nothing to post)."""


@dataclass
class Outlet:
    pool: BotPool
    groups: Groups
    roles: TelegramRoles | None
    posting: DeskPosting
    cases: OperatorDesk
    kb: KnowledgeBase
    files: FileFetchers
    delivery: Delivery
    clock: Clock
    timezone: str
    team: Team | None
    topics: Topics = field(init=False)
    parts: Parts = field(init=False)

    def __post_init__(self) -> None:
        self.topics = Topics(self)
        self.parts = Parts(self)

    @classmethod
    def of(cls, core: Core, pool: BotPool, groups: Groups, roles: TelegramRoles | None) -> Outlet:
        return cls(
            pool=pool,
            groups=groups,
            roles=roles,
            posting=DeskPosting(core.storage, core.clock),
            cases=core.desk,
            kb=core.kb,
            files=core.files,
            delivery=core.delivery,
            clock=core.clock,
            timezone=core.settings.timezone,
            team=core.team,
        )

    @property
    def bot(self) -> Bot:
        """Files, topics and reactions go through the main bot."""
        return self.pool.main.bot

    @property
    def desk_texts(self) -> Texts:
        return self.kb.desk

    async def case(self, event: DeskEvent) -> tuple[Ticket, int]:
        """The event's case and the group it is posted in."""
        ticket = await self.posting.case(event.ticket_id)
        if ticket is None:
            raise NoCase
        return ticket, self.groups.chat_for(event.group or ticket.department)

    @staticmethod
    def to_do(item: OutboxItem, step: str) -> bool:
        """Whether step `step` of the item is still to do."""
        return step not in item.progress

    async def done(self, item: OutboxItem, **progress: object) -> None:
        """Checkpoint finished steps: a retry of the item skips them."""
        await self.delivery.checkpoint(item, **progress)
