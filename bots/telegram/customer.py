"""Customers in private chats: every update becomes one `Inbound` for the engine.

Only private chats reach this router; the bot never answers customers in other groups.
Every button press is answered (answerCallbackQuery) before anything else.
"""

from __future__ import annotations

import logging

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command, CommandStart
from aiogram.types import CallbackQuery, Message

from bots.telegram.customer_sender import send_now
from bots.telegram.operator import attachments_of
from core.app import Core
from core.types import TELEGRAM, Inbound

log = logging.getLogger(__name__)

UNSUPPORTED = {
    "sticker": "стикеры",
    "animation": "GIF-анимации",
    "video_note": "видеокружки",
    "location": "геопозицию",
    "contact": "контакты",
    "poll": "опросы",
    "dice": "кубики",
    "venue": "места на карте",
}


def build_router(core: Core) -> Router:
    router = Router(name="customers")
    router.message.filter(F.chat.type == ChatType.PRIVATE)
    router.callback_query.filter(F.message.chat.type == ChatType.PRIVATE)

    def inbound(message: Message, **values: object) -> Inbound:
        user = message.from_user
        assert user is not None
        return Inbound(
            channel=TELEGRAM,
            user_id=str(message.chat.id),
            name=user.full_name,
            profile_url=f"https://t.me/{user.username}" if user.username else "",
            external_id=f"tg:{message.chat.id}:{message.message_id}",
            **values,  # type: ignore[arg-type]
        )

    @router.message(CommandStart())
    @router.message(Command("help", "menu"))
    async def on_start(message: Message, bot: Bot) -> None:
        replies = await core.engine.welcome(inbound(message))
        await send_now(bot, message.chat.id, replies, core.files)

    @router.message(F.text)
    async def on_text(message: Message, bot: Bot) -> None:
        replies = await core.engine.handle(inbound(message, text=message.text or ""))
        await send_now(bot, message.chat.id, replies, core.files)

    @router.message(F.photo | F.document | F.voice | F.video | F.audio)
    async def on_file(message: Message, bot: Bot) -> None:
        replies = await core.engine.handle(
            inbound(message, text=message.caption or "", attachments=attachments_of(message))
        )
        await send_now(bot, message.chat.id, replies, core.files)

    @router.message()
    async def on_other(message: Message, bot: Bot) -> None:
        kind = next(
            (label for field, label in UNSUPPORTED.items() if getattr(message, field, None)),
            "такие сообщения",
        )
        replies = await core.engine.handle(inbound(message, unsupported=kind))
        await send_now(bot, message.chat.id, replies, core.files)

    @router.callback_query()
    async def on_button(query: CallbackQuery, bot: Bot) -> None:
        await query.answer()
        message = query.message
        if not isinstance(message, Message) or not query.data:
            return
        replies = await core.engine.handle(
            Inbound(
                channel=TELEGRAM,
                user_id=str(message.chat.id),
                name=query.from_user.full_name,
                payload=query.data,
                external_id=f"tgcb:{query.id}",
            )
        )
        await send_now(bot, message.chat.id, replies, core.files)

    return router
