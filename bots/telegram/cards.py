"""Case cards and posts in the operators' groups (HTML, every customer text escaped).

A card carries the dialog that led to the case and every customer message that came
before the card could be posted, so a busy group needs one post per new case; those
messages are not posted again on their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from bots.telegram.render import escape
from core.desk.operators import TicketView
from core.knowledge.base import KnowledgeBase
from core.storage import LoggedMessage, Ticket
from core.types import TELEGRAM, VK

CHANNEL_NAMES = {TELEGRAM: "Telegram", VK: "VK", "console": "Консоль"}
REASONS = {
    "asked": "клиент попросил оператора",
    "misunderstood": "бот не понял вопрос дважды",
    "not_helped": "ответ бота не помог",
    "complaint": "жалоба",
}
TOPIC_NAME_LIMIT = 128
TRANSCRIPT_LINES = 12
LINE_LIMIT = 300  # characters of a bot's or operator's line in a card (customers' are whole)
ICONS = {"in": "👤", "out": "🤖", "operator": "🧑‍💼", "note": "📝"}


def topic_title(kb: KnowledgeBase, intent: str) -> str:
    answer = kb.answers.get(intent)
    return answer.title if answer else intent


def topic_name(kb: KnowledgeBase, view: TicketView) -> str:
    ticket, conv = view.ticket, view.conversation
    name = conv.name or f"id {conv.user_id}"
    channel = CHANNEL_NAMES.get(ticket.channel, ticket.channel)
    vip = "⭐ " if ticket.vip else ""
    text = f"{vip}№{ticket.id} · {name} · {channel} · {topic_title(kb, ticket.intent)}"
    return text[:TOPIC_NAME_LIMIT]


def customer_link(view: TicketView) -> str:
    conv = view.conversation
    name = escape(conv.name or f"id {conv.user_id}")
    if conv.channel == TELEGRAM and conv.user_id.isdigit():
        return f'<a href="tg://user?id={conv.user_id}">{name}</a>'
    if conv.profile_url.startswith("https://"):
        return f'<a href="{escape(conv.profile_url)}">{name}</a>'
    return name


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
) -> str:
    """The card: the case, the customer, and the dialog — `context` (what led to the
    case, the last lines of it) and `burst` (customer messages since, all of them)."""
    ticket, conv = view.ticket, view.conversation
    waited = _duration(now - ticket.created_at)
    head = f"<b>Обращение №{ticket.id}</b>"
    if ticket.vip:
        head += " · ⭐ <b>VIP</b>"
    if ticket.conflict:
        head += " · ⚠️ конфликт"
    if ticket.priority >= 10 and not ticket.vip:
        head += " · приоритет"
    order = escape(ticket.order_number or "—")
    status = conv.slots.order_status
    if ticket.order_number and status:
        order += f" — {escape(str(status))}"
    lines = [head]
    if transferred_from:
        lines.append(
            f"➡️ Передано из группы «{escape(transferred_from)}»"
            + (f" ({escape(by)})" if by else "")
        )
    lines += [
        f"Канал: {CHANNEL_NAMES.get(ticket.channel, ticket.channel)} · {customer_link(view)}",
        f"Заказ: {order}",
        f"Тема: {escape(topic_title(kb, ticket.intent))} ({ticket.intent})"
        f" · {REASONS.get(ticket.reason, ticket.reason)}",
        f"Ждёт: {waited}"
        + (f" · в очереди {view.position}-й" if view.position else "")
        + (f" · ведёт {operator_mention(ticket)}" if ticket.operator_name else ""),
    ]
    if due:
        lines.append(f"Первый ответ — до {due}")
    if conv.manager:
        lines.append(f"Персональный менеджер: {manager_mention(conv.manager)}")
    if ticket.summary:
        lines.append(f"Описание: {escape(ticket.summary[:600])}")
    shown = list(view.transcript if context is None else context)[-TRANSCRIPT_LINES:]
    transcript = transcript_lines(shown) + transcript_lines(burst)
    if transcript:
        lines += ["", "<b>Переписка:</b>", *transcript]
    lines += ["", "Ответ клиенту — сообщением в этой теме. # или /note — заметка для коллег."]
    return "\n".join(lines)


def history_text(messages: Sequence[LoggedMessage]) -> str:
    """The whole dialog of a case, for the group it is transferred to."""
    lines = ["<b>История обращения:</b>"]
    for message in messages:
        author = f"{escape(message.author)}: " if message.direction in ("operator", "note") else ""
        files = f" [{len(message.attachments)} влож.]" if message.attachments else ""
        icon = ICONS.get(message.direction, "•")
        lines.append(f"{icon} {author}{escape(message.text)}{files}")
    return "\n".join(lines)


def transcript_lines(messages: Sequence[LoggedMessage]) -> list[str]:
    lines = []
    for message in messages:
        text = message.text
        if message.direction != "in" and len(text) > LINE_LIMIT:
            text = text[:LINE_LIMIT] + "…"
        files = f" [{len(message.attachments)} влож.]" if message.attachments else ""
        lines.append(f"{ICONS.get(message.direction, '•')} {escape(text)}{files}")
    return lines


def mention(user_id: str, name: str) -> str:
    """A name that notifies the person in the group when it is a Telegram user id."""
    if user_id.isdigit():
        return f'<a href="tg://user?id={user_id}">{escape(name or user_id)}</a>'
    return escape(name or user_id)


def operator_mention(ticket: Ticket) -> str:
    return mention(ticket.operator_id or "", ticket.operator_name or "")


def manager_mention(manager: str) -> str:
    """`id|name` → a mention that notifies the manager in the group."""
    manager_id, _, name = manager.partition("|")
    return mention(manager_id, name)


def customer_post(name: str, text: str, merged: int = 1) -> str:
    head = f"👤 <b>{escape(name or 'Клиент')}</b>"
    if merged > 1:
        head += f" ({merged} сообщ.)"
    return f"{head}:\n{escape(text)}" if text else head


def queue_text(tickets: list[Ticket], kb: KnowledgeBase, now: float) -> str:
    if not tickets:
        return "Очередь пуста: все обращения разобраны. 🎉"
    lines = [f"<b>Ждут ответа: {len(tickets)}</b>"]
    for position, ticket in enumerate(tickets[:30], start=1):
        vip = "⭐ VIP · " if ticket.vip else ""
        channel = CHANNEL_NAMES.get(ticket.channel, ticket.channel)
        topic = escape(topic_title(kb, ticket.intent))
        waited = _duration(now - ticket.created_at)
        who = f" · → {escape(ticket.operator_name)}" if ticket.operator_name else ""
        lines.append(f"{position}. №{ticket.id} · {vip}{channel} · {topic} · ждёт {waited}{who}")
    if len(tickets) > 30:
        lines.append(f"… и ещё {len(tickets) - 30}")
    return "\n".join(lines)


def clock_time(timestamp: float, timezone: str) -> str:
    return datetime.fromtimestamp(timestamp, ZoneInfo(timezone)).strftime("%H:%M")


def _duration(seconds: float) -> str:
    minutes = max(0, int(seconds // 60))
    if minutes < 60:
        return f"{minutes} мин"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} ч {minutes} мин"
    return f"{hours // 24} дн"
