"""What the customer writes while their case is open, posted in the case's topic.

Every customer message of the case not shown yet is posted from the message log: a run of
text-only messages merged into one post — never more than one post can hold — or one
message with its files. While the group's post budget is short the messages wait, and
the next try merges more of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiogram.utils.formatting import Text

from bots.telegram import cards
from bots.telegram.markup import fill, html
from bots.telegram.posting import Poster
from bots.telegram.render import SAFE_PART
from core.desk.posting import next_batch
from core.events import CustomerMessage
from core.storage import LoggedMessage, OutboxItem, Ticket

if TYPE_CHECKING:
    from bots.telegram.operators_sender.outlet import Outlet


async def post_messages(out: Outlet, item: OutboxItem, event: CustomerMessage) -> None:
    """Every customer message of the case not shown yet, batch by batch."""
    ticket, chat = await out.case(event)
    if not await out.posting.has_card(ticket.id):
        await _post_queued(out, ticket, item, event, chat)
        return
    view = await out.cases.view(ticket.id, transcript_limit=0)
    thread_id = await out.topics.thread_for(view, chat)
    name = view.conversation.name
    while True:
        reserved: Poster | None = None
        if out.to_do(item, "batch"):
            pending = await out.posting.unshown(ticket.id)
            if not pending:
                return
            batch = next_batch(pending, lambda ms: _fits(out, ticket, thread_id, name, ms))
            # Reserved before the batch is fixed: while the group's budget is short,
            # the messages keep waiting and the next try merges more of them.
            reserved = await out.pool.reserve(chat, main_only=bool(batch[0].attachments))
            await out.done(item, batch=[m.id for m in batch])
        ids = [int(i) for i in item.progress["batch"]]
        messages = await out.posting.messages(ticket.id, ids)
        post = _post(out, ticket, thread_id, name, messages)
        attachments = [a for m in messages for a in m.attachments]
        await out.parts.with_files(
            html(post),
            attachments,
            chat,
            thread_id,
            item=item,
            ticket_id=ticket.id,
            reserved=reserved,
        )
        await out.posting.shown(ticket.id, ids)
        item.progress.clear()
        await out.done(item)


def _post(
    out: Outlet, ticket: Ticket, thread_id: int | None, name: str, messages: list[LoggedMessage]
) -> Text:
    """The post of a batch: the customer's name, then their messages."""
    text = "\n\n".join(m.text for m in messages if m.text)
    post = cards.customer_post(out.desk_texts, name, text, len(messages))
    return _in_case(out, ticket, thread_id, post)


def _fits(
    out: Outlet, ticket: Ticket, thread_id: int | None, name: str, messages: list[LoggedMessage]
) -> bool:
    """Whether the messages merged still make one post, counted as Telegram counts it:
    the visible text (a `Text`'s length), in UTF-16 units."""
    return len(_post(out, ticket, thread_id, name, messages)) <= SAFE_PART


def _in_case(out: Outlet, ticket: Ticket, thread_id: int | None, post: Text) -> Text:
    """In a group without topics a post names its case first."""
    if thread_id is not None:
        return post
    return Text(fill(out.desk_texts.get("card.case_prefix"), ticket=ticket.id), post)


async def _post_queued(
    out: Outlet, ticket: Ticket, item: OutboxItem, event: CustomerMessage, chat: int
) -> None:
    """A case announced before cards tracked what they show: post the queued text."""
    view = await out.cases.view(ticket.id, transcript_limit=0)
    thread_id = await out.topics.thread_for(view, chat)
    post = cards.customer_post(out.desk_texts, view.conversation.name, event.text, event.merged)
    await out.parts.with_files(
        html(_in_case(out, ticket, thread_id, post)),
        list(event.attachments),
        chat,
        thread_id,
        item=item,
        ticket_id=ticket.id,
    )
