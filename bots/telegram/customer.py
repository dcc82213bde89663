"""Customers in private chats: every update becomes one `Inbound` for the engine.

Only private chats reach this router; the bot never answers customers in other groups.
Every button press is answered (answerCallbackQuery) before anything else. The engine's
answers go out through the outbox (`core.delivery`), not from here. The router and its
handlers are module-level; the engine, the customers' texts and the edit relay come in as
handler parameters (`bots.telegram.dispatch.services`).
"""

from __future__ import annotations

import logging

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandStart
from aiogram.types import CallbackQuery, Message

from bots.telegram.attachments import attachments_of
from bots.telegram.filters import on_loop
from bots.telegram.ids import message_key, press_key
from core.customer_updates import CustomerUpdates
from core.knowledge.texts import Texts
from core.types import TELEGRAM, CustomerRef, Inbound, Reply

log = logging.getLogger(__name__)

# Content the bot cannot read, as texts.yaml `telegram.unsupported` names it.
UNSUPPORTED = ("sticker", "animation", "video_note", "location", "contact", "poll", "dice", "venue")

router = Router(name="customers")
router.message.filter(on_loop(F.chat.type == ChatType.PRIVATE))
router.callback_query.filter(on_loop(F.message.chat.type == ChatType.PRIVATE))
router.edited_message.filter(on_loop(F.chat.type == ChatType.PRIVATE))


def inbound(message: Message, **values: object) -> Inbound:
    user = message.from_user
    assert user is not None
    return Inbound(
        channel=TELEGRAM,
        user_id=str(message.chat.id),
        name=user.full_name,
        profile_url=f"https://t.me/{user.username}" if user.username else "",
        external_id=message_key(message.chat.id, message.message_id),
        **values,  # type: ignore[arg-type]
    )


async def respond(
    updates: CustomerUpdates,
    bot: Bot,
    chat_id: int,
    update: Inbound,
    attempt: int,
    welcome: bool = False,
) -> None:
    """Run the turn (`core.customer_updates`): if the engine fails, the customer hears an
    apology once and the update is tried again later (`core.runtime.intake`)."""

    async def apologise(reply: Reply) -> None:
        await bot.send_message(chat_id, reply.text)

    await updates.take_turn(update, apologise, welcome=welcome, attempt=attempt)


@router.message(CommandStart())
@router.message(Command("help", "menu"))
async def on_start(message: Message, bot: Bot, updates: CustomerUpdates, attempt: int = 0) -> None:
    await respond(updates, bot, message.chat.id, inbound(message), attempt, welcome=True)


@router.message(on_loop(F.text))
async def on_text(
    message: Message,
    bot: Bot,
    updates: CustomerUpdates,
    attempt: int = 0,
) -> None:
    update = inbound(message, text=message.text or "")
    await respond(updates, bot, message.chat.id, update, attempt)


@router.message(on_loop(F.photo | F.document | F.voice | F.video | F.audio))
async def on_file(
    message: Message,
    bot: Bot,
    updates: CustomerUpdates,
    attempt: int = 0,
) -> None:
    update = inbound(message, text=message.caption or "", attachments=attachments_of(message))
    await respond(updates, bot, message.chat.id, update, attempt)


@router.message()
async def on_other(
    message: Message,
    bot: Bot,
    updates: CustomerUpdates,
    customer_texts: Texts,
    attempt: int = 0,
) -> None:
    """A sticker, a location…: the customer is told in words what the bot cannot read."""
    kind = next((name for name in UNSUPPORTED if getattr(message, name, None)), "other")
    update = inbound(message, unsupported=customer_texts.get(f"telegram.unsupported.{kind}"))
    await respond(updates, bot, message.chat.id, update, attempt)


@router.callback_query()
async def on_button(
    query: CallbackQuery, bot: Bot, updates: CustomerUpdates, attempt: int = 0
) -> None:
    if attempt == 0:
        try:
            await query.answer()
        except TelegramAPIError as exc:  # expired (a retry, a restart): answer anyway
            log.info("button press %s not acknowledged: %s", query.id, exc)
    message = query.message
    if not isinstance(message, Message) or not query.data:
        return
    update = Inbound(
        channel=TELEGRAM,
        user_id=str(message.chat.id),
        name=query.from_user.full_name,
        payload=query.data,
        external_id=press_key(query.id),
    )
    await respond(updates, bot, message.chat.id, update, attempt)


@router.edited_message(on_loop(F.text | F.caption))
async def on_edited(message: Message, updates: CustomerUpdates) -> None:
    """A customer's edit of a private message: to the open case's topic, if any."""
    user = message.from_user
    customer = CustomerRef(TELEGRAM, str(message.chat.id))
    original = message_key(message.chat.id, message.message_id)
    text = message.text or message.caption or ""
    name = user.full_name if user else ""
    await updates.edited(customer, original, message.edit_date, text, name)
