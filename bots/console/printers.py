"""The outbox rendered as lines: what the console's customer receives
(`core.runtime.renderers.CustomerRenderer`) and, when no Telegram group serves the desk, what the
operators' group would show (`core.runtime.renderers.DeskRenderer`), one method per event."""

from __future__ import annotations

from collections.abc import Mapping

from bots.console.customer import ConsoleCustomer
from bots.console.screen import Screen
from core.desk import sla
from core.desk.operators import OperatorDesk
from core.events import (
    Assigned,
    CaseClosed,
    CaseOpened,
    ConflictMarked,
    CustomerMessage,
    CustomerReply,
    Delivered,
    DeskEvent,
    LowRating,
    NotShown,
    RatingComment,
    ReplyEdited,
    SlaAlert,
    Transferred,
    Undelivered,
)
from core.knowledge.base import Answer
from core.knowledge.texts import Texts
from core.runtime.renderers import render_for_customer, render_for_desk
from core.storage import OutboxItem


def topic_title(answers: Mapping[str, Answer], intent: str) -> str:
    """A case's topic as operators read it: the intent's button title."""
    answer = answers.get(intent)
    return answer.title if answer is not None else intent


class CustomerPrinter:
    """The console customer's messages."""

    def __init__(self, customer: ConsoleCustomer) -> None:
        self.customer = customer

    async def send(self, item: OutboxItem) -> None:
        await render_for_customer(self, item)

    async def reply(self, item: OutboxItem, event: CustomerReply) -> None:
        self.customer.show(event.reply, from_bot=event.from_bot)

    async def reply_edited(self, item: OutboxItem, event: ReplyEdited) -> None:
        self.customer.show(event.correction, from_bot=False)


class DeskPrinter:
    """What the operators' group would show, as lines. A notice has the group's own
    wording (`notices.*` in desk.yaml) after the case's number."""

    def __init__(
        self, screen: Screen, texts: Texts, desk: OperatorDesk, answers: Mapping[str, Answer]
    ) -> None:
        self.screen = screen
        self.texts = texts
        self.desk = desk
        self.answers = answers

    async def send(self, item: OutboxItem) -> None:
        await render_for_desk(self, item)

    def _say(self, text: str) -> None:
        self.screen.print(self.texts.format("console.to_operators", text=text))

    def _notice(self, event: DeskEvent, name: str, **values: object) -> None:
        """The notice `name` in the operators' group's own words (desk.yaml `notices`)."""
        texts = self.texts
        ticket = event.ticket_id
        text = texts.format(f"notices.{name}", None, ticket=ticket, **values)
        self._say(texts.format("console.notice", ticket=ticket, text=text))

    async def case_opened(self, item: OutboxItem, event: CaseOpened) -> None:
        texts = self.texts
        t = (await self.desk.view(event.ticket_id, transcript_limit=0)).ticket
        opened = texts.format(
            "console.case_opened_vip" if t.vip else "console.case_opened",
            ticket=t.id,
            topic=topic_title(self.answers, t.intent),
            order=t.order_number or texts.get("console.no_order"),
            priority=t.priority,
        )
        self._say(opened)

    async def customer_message(self, item: OutboxItem, event: CustomerMessage) -> None:
        texts = self.texts
        self._say(texts.format("console.customer_message", ticket=event.ticket_id, text=event.text))

    async def case_closed(self, item: OutboxItem, event: CaseClosed) -> None:
        self._notice(event, "closed", by=event.by)

    async def delivered(self, item: OutboxItem, event: Delivered) -> None:
        self._notice(event, "delivered")

    async def undelivered(self, item: OutboxItem, event: Undelivered) -> None:
        self._notice(event, "undelivered", reason=event.reason)

    async def not_shown(self, item: OutboxItem, event: NotShown) -> None:
        name = "not_shown" if event.text else "not_shown_no_text"
        self._notice(event, name, reason=event.reason, text=event.text)

    async def low_rating(self, item: OutboxItem, event: LowRating) -> None:
        self._notice(event, "low_rating", rating=event.rating)

    async def rating_comment(self, item: OutboxItem, event: RatingComment) -> None:
        self._notice(event, "rating_comment", text=event.text)

    async def conflict(self, item: OutboxItem, event: ConflictMarked) -> None:
        self._notice(event, "conflict")

    async def assigned(self, item: OutboxItem, event: Assigned) -> None:
        self._notice(event, "assigned", who=event.to_name, by=event.by)

    async def transferred(self, item: OutboxItem, event: Transferred) -> None:
        self._notice(event, "transferred", to=event.to, by=event.by)

    async def sla_alert(self, item: OutboxItem, event: SlaAlert) -> None:
        texts = self.texts
        target = sla.target_name(texts, event.target)
        if event.level == sla.BREACH:
            text = texts.format("console.sla.breach", target=target)
        else:
            text = texts.format("console.sla.warning", target=target)
        self._say(texts.format("console.notice", ticket=event.ticket_id, text=text))
