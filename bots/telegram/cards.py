"""Ticket cards and posts in the operators' group (HTML, every customer text escaped)."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bots.telegram.render import escape
from core.knowledge import KnowledgeBase
from core.operators import TicketView
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


def card_text(kb: KnowledgeBase, view: TicketView, now: float) -> str:
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
    status = conv.slots.get("order_status")
    if ticket.order_number and status:
        order += f" — {escape(str(status))}"
    lines = [
        head,
        f"Канал: {CHANNEL_NAMES.get(ticket.channel, ticket.channel)} · {customer_link(view)}",
        f"Заказ: {order}",
        f"Тема: {escape(topic_title(kb, ticket.intent))} ({ticket.intent})"
        f" · {REASONS.get(ticket.reason, ticket.reason)}",
        f"Ждёт: {waited}"
        + (f" · в очереди {view.position}-й" if view.position else "")
        + (f" · ведёт {escape(ticket.operator_name)}" if ticket.operator_name else ""),
    ]
    if conv.manager:
        lines.append(f"Персональный менеджер: {manager_mention(conv.manager)}")
    if ticket.summary:
        lines.append(f"Описание: {escape(ticket.summary[:600])}")
    transcript = transcript_lines(view.transcript[-TRANSCRIPT_LINES:])
    if transcript:
        lines += ["", "<b>Переписка:</b>", *transcript]
    lines += ["", "Ответ клиенту — сообщением в этой теме. # или /note — заметка для коллег."]
    return "\n".join(lines)


def transcript_lines(messages: list[LoggedMessage]) -> list[str]:
    lines = []
    for message in messages:
        text = message.text if len(message.text) <= 300 else message.text[:300] + "…"
        files = f" [{len(message.attachments)} влож.]" if message.attachments else ""
        lines.append(f"{ICONS.get(message.direction, '•')} {escape(text)}{files}")
    return lines


def manager_mention(manager: str) -> str:
    """`id|name` → a mention that notifies the manager in the group."""
    manager_id, _, name = manager.partition("|")
    if manager_id.isdigit():
        return f'<a href="tg://user?id={manager_id}">{escape(name or manager_id)}</a>'
    return escape(name or manager_id)


def card_keyboard(ticket: Ticket) -> InlineKeyboardMarkup:
    row = []
    if ticket.operator_id is None:
        row.append(InlineKeyboardButton(text="Взять", callback_data=f"op:take:{ticket.id}"))
    row.append(InlineKeyboardButton(text="Закрыть", callback_data=f"op:close:{ticket.id}"))
    return InlineKeyboardMarkup(inline_keyboard=[row])


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
        lines.append(f"{position}. №{ticket.id} · {vip}{channel} · {topic} · ждёт {waited}")
    if len(tickets) > 30:
        lines.append(f"… и ещё {len(tickets) - 30}")
    return "\n".join(lines)


def _duration(seconds: float) -> str:
    minutes = max(0, int(seconds // 60))
    if minutes < 60:
        return f"{minutes} мин"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} ч {minutes} мин"
    return f"{hours // 24} дн"
