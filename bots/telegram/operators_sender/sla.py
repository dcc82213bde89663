"""SLA alerts (desk.yaml `sla`): a warning in the case's topic; a breach in the group's
General topic with a link to the case, each mentioning the case's operator or, when
nobody has it, the senior operators (a senior the bot never saw by name is mentioned
under a neutral label, never by a bare id)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiogram.utils.formatting import Text

from bots.telegram import cards
from bots.telegram.markup import fill, html, joined, link, mention
from core.desk import sla
from core.events import SlaAlert
from core.storage import OutboxItem, Ticket

if TYPE_CHECKING:
    from bots.telegram.operators_sender.outlet import Outlet


async def alert(out: Outlet, item: OutboxItem, event: SlaAlert) -> None:
    ticket, chat = await out.case(event)
    view = await out.cases.view(ticket.id, transcript_limit=0)
    thread_id = await out.topics.thread_for(view, chat)
    mentions = await _who_looks(out, item, ticket, chat)
    desk_texts = out.desk_texts
    values = {
        "ticket": ticket.id,
        "target": _name(out, "sla.targets", event.target),
        "tier": _name(out, "sla.tiers", event.tier),
        "due": cards.clock_time(event.due, out.timezone) if event.due is not None else "—",
        "mentions": mentions,
    }
    if event.level == sla.WARNING:
        text = fill(desk_texts.get("sla.alerts.warning"), **values)
        await out.parts.post(html(text), chat, thread_id, item=item, ticket_id=ticket.id)
        return
    number = f"№{ticket.id}"
    url = _topic_link(chat, thread_id)
    text = fill(
        desk_texts.get("sla.alerts.breach"), case=link(number, url) if url else number, **values
    )
    # In a forum, General is no case's place: a reply to the alert there must not
    # reach the customer (in a plain group, replying to posts is how operators answer).
    plain = not await out.topics.is_forum(chat)
    await out.parts.post(html(text), chat, None, item=item, ticket_id=ticket.id if plain else None)


async def _who_looks(out: Outlet, item: OutboxItem, ticket: Ticket, chat: int) -> Text:
    """The case's operator; else the group's senior operators (asked once per alert)."""
    if ticket.operator_id:
        return cards.operator_mention(ticket)
    if out.to_do(item, "seniors"):
        seniors = await out.roles.seniors(chat) if out.roles is not None else []
        await out.done(item, seniors=seniors)
    people = [(str(p[0]), str(p[1])) for p in item.progress.get("seniors", [])]
    if not people:
        return Text(out.desk_texts.get("sla.alerts.seniors"))
    unnamed = out.desk_texts.get("notices.senior_unnamed")
    return joined([mention(i, name if name and name != i else unnamed) for i, name in people], ", ")


def _name(out: Outlet, section: str, key: str) -> str:
    """A target's or tier's name as operators read it (the key itself when unknown)."""
    path = f"{section}.{key}"
    return out.desk_texts.get(path) if key and out.desk_texts.has(path) else key


def _topic_link(chat: int, thread_id: int | None) -> str | None:
    """A link to a topic of a supergroup (operators tap it from General)."""
    text = str(chat)
    if thread_id is None or not text.startswith("-100"):
        return None
    return f"https://t.me/c/{text[4:]}/{thread_id}"
