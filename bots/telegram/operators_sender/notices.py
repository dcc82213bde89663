"""Notices in a case's topic (desk.yaml `notices`): a reply that could not be delivered,
a post the group refused, a low rating and its comment, a rude customer, a case assigned,
transferred or closed; and the 👍 under an operator's reply once it is delivered."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from aiogram.exceptions import TelegramAPIError
from aiogram.types import ReactionTypeEmoji
from aiogram.utils.formatting import Text

from bots.telegram.markup import fill, html, mention
from core.abuse.report import blocked_notice
from core.events import (
    Ack,
    Assigned,
    CaseClosed,
    ConflictMarked,
    CustomerBlocked,
    Delivered,
    DeskEvent,
    LowRating,
    NotShown,
    RatingComment,
    Transferred,
    Undelivered,
)
from core.storage import OutboxItem

if TYPE_CHECKING:
    from bots.telegram.operators_sender.outlet import Outlet

log = logging.getLogger(__name__)
DELIVERED_REACTION = "👍"  # one of the reactions Telegram allows


async def notice(
    out: Outlet, item: OutboxItem, event: DeskEvent, text: Text, reply_to: Ack | None = None
) -> tuple[int | None, int]:
    """Post a notice in the case's topic (as a reply to `reply_to`, the operator's own
    message, where given); returns the topic and the group."""
    ticket, chat = await out.case(event)
    view = await out.cases.view(ticket.id, transcript_limit=0)
    thread_id = await out.topics.thread_for(view, chat)
    answer = reply_to.message_id if reply_to is not None else None
    await out.parts.post(
        html(text), chat, thread_id, item=item, ticket_id=ticket.id, reply_to=answer
    )
    return thread_id, chat


async def undelivered(out: Outlet, item: OutboxItem, event: Undelivered) -> None:
    text = fill(out.desk_texts.get("notices.undelivered"), reason=event.reason)
    await notice(out, item, event, text, reply_to=event.ack)


async def not_shown(out: Outlet, item: OutboxItem, event: NotShown) -> None:
    desk_texts = out.desk_texts
    if event.text:
        text = fill(desk_texts.get("notices.not_shown"), reason=event.reason, text=event.text)
    else:
        text = fill(desk_texts.get("notices.not_shown_no_text"), reason=event.reason)
    await notice(out, item, event, text)


async def low_rating(out: Outlet, item: OutboxItem, event: LowRating) -> None:
    template = out.desk_texts.get("notices.low_rating")
    await notice(out, item, event, fill(template, ticket=event.ticket_id, rating=event.rating))


async def rating_comment(out: Outlet, item: OutboxItem, event: RatingComment) -> None:
    text = fill(out.desk_texts.get("notices.rating_comment"), text=event.text)
    await notice(out, item, event, text)


async def conflict(out: Outlet, item: OutboxItem, event: ConflictMarked) -> None:
    await notice(out, item, event, Text(out.desk_texts.get("notices.conflict")))


async def assigned(out: Outlet, item: OutboxItem, event: Assigned) -> None:
    text = fill(
        out.desk_texts.get("notices.assigned"),
        ticket=event.ticket_id,
        who=mention(event.to_id, event.to_name),
        by=event.by,
    )
    await notice(out, item, event, text)


async def transferred(out: Outlet, item: OutboxItem, event: Transferred) -> None:
    """Told in the group the case left; its topic there is closed."""
    template = out.desk_texts.get("notices.transferred")
    text = fill(template, ticket=event.ticket_id, to=event.to, by=event.by)
    thread_id, chat = await notice(out, item, event, text)
    if thread_id is not None:
        await out.topics.close(chat, thread_id)


async def closed(out: Outlet, item: OutboxItem, event: CaseClosed) -> None:
    """Told in the case's topic, which is closed (a topic is never created for this)."""
    ticket, chat = await out.case(event)
    thread_id = await out.topics.of_customer(ticket.conversation_id, chat)
    text = fill(out.desk_texts.get("notices.closed"), ticket=ticket.id, by=event.by)
    await out.parts.post(html(text), chat, thread_id, item=item, ticket_id=ticket.id)
    if thread_id is not None:
        await out.topics.close(chat, thread_id)


async def delivered(out: Outlet, item: OutboxItem, event: Delivered) -> None:
    """The operator's reply reached the customer: a reaction on it."""
    if event.ack is None:
        return
    try:
        await out.bot.set_message_reaction(
            event.ack.chat_id,
            event.ack.message_id,
            [ReactionTypeEmoji(emoji=DELIVERED_REACTION)],
        )
    except TelegramAPIError as exc:
        log.info("delivery mark not set: %s", exc)


async def blocked(out: Outlet, item: OutboxItem, event: CustomerBlocked) -> None:
    """The case's topic hears that its customer is blocked, and is closed."""
    text = Text(blocked_notice(out.desk_texts, event))
    thread_id, chat = await notice(out, item, event, text)
    if thread_id is not None:
        await out.topics.close(chat, thread_id)
