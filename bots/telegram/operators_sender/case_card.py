"""A new case in the operators' group: its topic, its card — the dialog that led to it and
the customer messages written before the card could be posted — and the files the
customer sent before the case, each step checkpointed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiogram.utils.formatting import Text

from bots.telegram import cards
from bots.telegram.markup import html, lines
from bots.telegram.operators.buttons import card_keyboard
from bots.telegram.sending import send_file
from core.desk import sla
from core.desk.operators import TicketView
from core.desk.posting import files_before
from core.events import CaseOpened
from core.storage import OutboxItem, Ticket

if TYPE_CHECKING:
    from bots.telegram.operators_sender.outlet import Outlet

MAX_FILES_WITH_CARD = 5
HISTORY_LIMIT = 200  # messages of a case a card (or a transferred case's history) reads


async def post_case(out: Outlet, item: OutboxItem, event: CaseOpened) -> None:
    """Topic, card, files: each done once, whatever the retries."""
    ticket, chat = await out.case(event)
    view = await out.cases.view(ticket.id, transcript_limit=HISTORY_LIMIT)
    if out.to_do(item, "thread"):
        await out.done(item, thread=await out.topics.thread_for(view, chat, fresh_card=False))
    thread_id = item.progress["thread"]
    if out.to_do(item, "card"):
        if out.to_do(item, "card_text"):
            text, shown = await _card(out, view, event)
            await out.done(item, card_text=html(text), shown=shown)
        card_id = await out.parts.post(
            str(item.progress["card_text"]),
            chat,
            thread_id,
            item=item,
            markup=card_keyboard(out.desk_texts, view.ticket),
            ticket_id=ticket.id,
        )
        shown_ids = item.progress.get("shown")
        shown = [int(i) for i in shown_ids] if isinstance(shown_ids, list) else None
        await out.posting.card_posted(ticket.id, str(chat), str(card_id), shown)
        await out.done(item, card=card_id)
    await _files_before_case(out, item, view, event, chat, thread_id)


async def _files_before_case(
    out: Outlet,
    item: OutboxItem,
    view: TicketView,
    event: CaseOpened,
    chat: int,
    thread_id: int | None,
) -> None:
    """Files the customer sent before the case was opened follow the card."""
    files = files_before(view.transcript, event.context_upto, MAX_FILES_WITH_CARD)
    caption = out.desk_texts.get("card.files_before_case")
    failed = out.desk_texts.get("card.file_failed")
    for index in range(int(item.progress.get("files", 0)), len(files)):
        await out.pool.reserve(chat, main_only=True)
        await send_file(
            out.bot,
            chat,
            files[index],
            out.files,
            failed=failed,
            caption=caption,
            thread_id=thread_id,
        )
        await out.done(item, files=index + 1)


async def _card(out: Outlet, view: TicketView, event: CaseOpened) -> tuple[Text, list[int] | None]:
    """The card and the customer messages it shows (None: an announcement from before
    cards tracked that, shown the old way)."""
    now = out.clock.now()
    upto = event.context_upto
    if upto is None:
        return cards.card_text(out.kb, view, now), None
    content = await out.posting.card_content(view.ticket.id, view.transcript, upto)
    due = _first_response_due(out, view.ticket)
    if not event.transferred_from:
        text = cards.card_text(
            out.kb, view, now, context=content.context, burst=content.burst, due=due
        )
        return text, content.shown
    card = cards.card_text(
        out.kb,
        view,
        now,
        context=[],
        burst=content.burst,
        transferred_from=event.transferred_from,
        by=event.by or "",
        due=due,
    )
    return lines([card, "", cards.history_text(out.desk_texts, content.context)]), content.shown


def _first_response_due(out: Outlet, ticket: Ticket) -> str | None:
    """When the first answer is due, while the case has none."""
    if out.team is None or ticket.first_response_at is not None:
        return None
    due = out.team.sla.policy.due(ticket, sla.FIRST_RESPONSE)
    return cards.clock_time(due, out.timezone) if due else None
