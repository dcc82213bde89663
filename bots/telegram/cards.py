"""Case cards and posts in the operators' groups, from `desk.yaml` (sections `card`,
`topics`, `commands`): formatting nodes (`bots.telegram.markup`), every customer text
escaped when rendered.

A card carries the dialog that led to the case and every customer message that came
before the card could be posted, so a busy group needs one post per new case; those
messages are not posted again on their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram.utils.formatting import Bold, Text

from bots.telegram.markup import fill, joined, lines, link, mention
from core.desk.operators import TicketView
from core.knowledge.base import KnowledgeBase
from core.knowledge.texts import Texts
from core.storage import Conversation, LoggedMessage, Ticket
from core.types import TELEGRAM

TOPIC_NAME_LIMIT = 128
TRANSCRIPT_LINES = 12
LINE_LIMIT = 300  # characters of a bot's or operator's line in a card (customers' are whole)
SUMMARY_LIMIT = 600
QUEUE_LINES = 30
ICONS = ("in", "out", "operator", "note")


def topic_title(kb: KnowledgeBase, intent: str) -> str:
    answer = kb.answers.get(intent)
    return answer.title if answer else intent


def channel_name(desk_texts: Texts, channel: str) -> str:
    key = f"card.channels.{channel}"
    return desk_texts.get(key) if desk_texts.has(key) else channel


def customer_name(desk_texts: Texts, conv: Conversation) -> str:
    return conv.name or desk_texts.format("card.unnamed", user_id=conv.user_id)


def topic_name(kb: KnowledgeBase, view: TicketView) -> str:
    """The case's forum topic name (plain text: topic names are not formatted)."""
    ticket, desk_texts = view.ticket, kb.desk
    name = desk_texts.format(
        "topics.vip_name" if ticket.vip else "topics.name",
        ticket=ticket.id,
        name=customer_name(desk_texts, view.conversation),
        channel=channel_name(desk_texts, ticket.channel),
        title=topic_title(kb, ticket.intent),
    )
    return name[:TOPIC_NAME_LIMIT]


def customer_link(desk_texts: Texts, conv: Conversation) -> Text:
    """The customer's name, linked to their profile where there is one."""
    name = customer_name(desk_texts, conv)
    if conv.channel == TELEGRAM and conv.user_id.isdigit():
        return mention(conv.user_id, name)
    if conv.profile_url.startswith("https://"):
        return link(name, conv.profile_url)
    return Text(name)


def card_text(
    kb: KnowledgeBase,
    view: TicketView,
    now: float,
    *,
    context: Sequence[LoggedMessage] | None = None,
    burst: Sequence[LoggedMessage] = (),
    transferred_from: str | None = None,
    by: str | None = None,
    due: str | None = None,
) -> Text:
    """The card: the case, the customer, and the dialog — `context` (what led to the
    case, the last lines of it) and `burst` (customer messages since, all of them)."""
    desk_texts = kb.desk
    parts: list[str | Text] = [_head(desk_texts, view.ticket)]
    if transferred_from:
        key = "card.transferred_by" if by else "card.transferred"
        parts.append(fill(desk_texts.get(key), group=transferred_from, by=by or ""))
    parts += _facts(kb, view, now, due)
    shown = list(view.transcript if context is None else context)[-TRANSCRIPT_LINES:]
    transcript = transcript_lines(desk_texts, shown) + transcript_lines(desk_texts, burst)
    if transcript:
        parts += ["", Bold(desk_texts.get("card.transcript")), *transcript]
    parts += ["", desk_texts.get("card.hint")]
    return lines(parts)


def _head(desk_texts: Texts, ticket: Ticket) -> Text:
    head: list[str | Text] = [Bold(desk_texts.format("card.title", ticket=ticket.id))]
    if ticket.vip:
        head.append(fill(desk_texts.get("card.vip"), vip=Bold(desk_texts.get("card.vip_word"))))
    if ticket.conflict:
        head.append(desk_texts.get("card.conflict"))
    if ticket.priority >= 10 and not ticket.vip:
        head.append(desk_texts.get("card.priority"))
    return joined(head, " · ")


def _facts(kb: KnowledgeBase, view: TicketView, now: float, due: str | None) -> list[Text]:
    """The card's lines about the case: channel and customer, order, topic, waiting."""
    ticket, conv, desk_texts = view.ticket, view.conversation, kb.desk
    status = conv.slots.order_status
    order = ticket.order_number or desk_texts.get("card.no_order")
    facts = [
        fill(
            desk_texts.get("card.channel"),
            channel=channel_name(desk_texts, ticket.channel),
            customer=customer_link(desk_texts, conv),
        ),
        fill(
            desk_texts.get(
                "card.order_with_status" if ticket.order_number and status else "card.order"
            ),
            order=order,
            status=str(status or ""),
        ),
        fill(
            desk_texts.get("card.topic"),
            title=topic_title(kb, ticket.intent),
            intent=ticket.intent,
            reason=_reason(desk_texts, ticket.reason),
        ),
        _waiting(desk_texts, view, now),
    ]
    if due:
        facts.append(fill(desk_texts.get("card.first_response_due"), due=due))
    if conv.manager:
        facts.append(fill(desk_texts.get("card.manager"), manager=manager_mention(conv.manager)))
    if ticket.summary:
        facts.append(fill(desk_texts.get("card.summary"), summary=ticket.summary[:SUMMARY_LIMIT]))
    return facts


def _reason(desk_texts: Texts, reason: str) -> str:
    key = f"card.reasons.{reason}"
    return desk_texts.get(key) if desk_texts.has(key) else reason


def _waiting(desk_texts: Texts, view: TicketView, now: float) -> Text:
    ticket = view.ticket
    parts: list[str | Text] = [
        fill(desk_texts.get("card.waiting"), waited=duration(desk_texts, now - ticket.created_at))
    ]
    if view.position:
        parts.append(fill(desk_texts.get("card.position"), position=view.position))
    if ticket.operator_name:
        parts.append(fill(desk_texts.get("card.operator"), operator=operator_mention(ticket)))
    return joined(parts, " · ")


def history_text(desk_texts: Texts, messages: Sequence[LoggedMessage]) -> Text:
    """The whole dialog of a case, for the group it is transferred to."""
    rows: list[str | Text] = [Bold(desk_texts.get("card.history"))]
    for message in messages:
        author = f"{message.author}: " if message.direction in ("operator", "note") else ""
        rows.append(_line(desk_texts, message, author + message.text))
    return lines(rows)


def transcript_lines(desk_texts: Texts, messages: Sequence[LoggedMessage]) -> list[Text]:
    """One line per message; a bot's or operator's line cut to `LINE_LIMIT` characters."""
    rows = []
    for message in messages:
        text = message.text
        if message.direction != "in" and len(text) > LINE_LIMIT:
            text = text[:LINE_LIMIT] + "…"
        rows.append(_line(desk_texts, message, text))
    return rows


def _line(desk_texts: Texts, message: LoggedMessage, text: str) -> Text:
    direction = message.direction if message.direction in ICONS else "other"
    parts = [desk_texts.get(f"card.icons.{direction}"), text]
    if message.attachments:
        files = desk_texts.plural("card.attachments", len(message.attachments))
        parts.append(desk_texts.format("card.files", files=files))
    return Text(" ".join(part for part in parts if part))


def operator_mention(ticket: Ticket) -> Text:
    return mention(ticket.operator_id or "", ticket.operator_name or "")


def manager_mention(manager: str) -> Text:
    """`id|name` → a mention that notifies the manager in the group."""
    manager_id, _, name = manager.partition("|")
    return mention(manager_id, name)


def customer_post(desk_texts: Texts, name: str, text: str, merged: int = 1) -> Text:
    """What the customer wrote, under their name (and how many messages, when merged)."""
    who = Bold(name or desk_texts.get("card.customer"))
    if merged > 1:
        messages = desk_texts.plural("card.messages", merged)
        head = fill(desk_texts.get("card.customer_post_merged"), name=who, messages=messages)
    else:
        head = fill(desk_texts.get("card.customer_post"), name=who)
    return Text(head, ":\n", text) if text else head


def queue_text(tickets: list[Ticket], kb: KnowledgeBase, now: float) -> Text:
    """`/queue`: the waiting cases, first to be answered first."""
    desk_texts = kb.desk
    if not tickets:
        return Text(desk_texts.get("commands.queue_empty"))
    rows: list[str | Text] = [Bold(desk_texts.format("commands.queue_head", count=len(tickets)))]
    for position, ticket in enumerate(tickets[:QUEUE_LINES], start=1):
        line = fill(
            desk_texts.get("commands.queue_line_vip" if ticket.vip else "commands.queue_line"),
            position=position,
            ticket=ticket.id,
            channel=channel_name(desk_texts, ticket.channel),
            topic=topic_title(kb, ticket.intent),
            waited=duration(desk_texts, now - ticket.created_at),
        )
        if ticket.operator_name:
            who = desk_texts.format("commands.queue_operator", operator=ticket.operator_name)
            line = joined([line, who], " · ")
        rows.append(line)
    if len(tickets) > QUEUE_LINES:
        rows.append(desk_texts.format("commands.queue_more", count=len(tickets) - QUEUE_LINES))
    return lines(rows)


def clock_time(timestamp: float, timezone: str) -> str:
    return datetime.fromtimestamp(timestamp, ZoneInfo(timezone)).strftime("%H:%M")


def duration(desk_texts: Texts, seconds: float) -> str:
    """How long someone waited: minutes, then hours and minutes, then days."""
    minutes = max(0, int(seconds // 60))
    if minutes < 60:
        return desk_texts.format("card.minutes", minutes=minutes)
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return desk_texts.format("card.hours", hours=hours, minutes=minutes)
    return desk_texts.plural("card.days", hours // 24)
