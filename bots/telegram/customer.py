"""Customers in private chats: every update becomes one `Inbound` for the engine.

Only private chats reach this router; the bot never answers customers in other groups.
Every button press is answered (answerCallbackQuery) before anything else. The engine's
answers go out through the outbox (`core.delivery`), not from here.
"""

from __future__ import annotations

import logging

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandStart
from aiogram.types import CallbackQuery, Message

from bots.telegram.attachments import attachments_of
from bots.telegram.edits import relay_customer_edit
from bots.telegram.filters import on_loop
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


def forwarded_from_channel(message: Message) -> bool:
    """A post forwarded from a channel (a spam rule, `core.abuse.spam`)."""
    origin = message.forward_origin
    return origin is not None and origin.type == "channel"


def build_router(core: Core) -> Router:
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
            external_id=f"tg:{message.chat.id}:{message.message_id}",
            forwarded_from_channel=forwarded_from_channel(message),
            **values,  # type: ignore[arg-type]
        )

    async def respond(
        bot: Bot, chat_id: int, update: Inbound, attempt: int, welcome: bool = False
    ) -> None:
        """Run the turn. If the engine fails, the customer hears an apology (once) and the
        update is tried again later (`core.intake`)."""
        try:
            await (core.engine.welcome(update) if welcome else core.engine.handle(update))
        except Exception:
            log.exception("the engine failed on Telegram update %s", update.external_id)
            if attempt == 0:
                try:
                    await bot.send_message(chat_id, core.kb.texts.get("internal_error"))
                except Exception as exc:
                    log.warning("apology to %s not sent: %r", chat_id, exc)
            raise

    @router.message(CommandStart())
    @router.message(Command("help", "menu"))
    async def on_start(message: Message, bot: Bot, attempt: int = 0) -> None:
        await respond(bot, message.chat.id, inbound(message), attempt, welcome=True)

    @router.message(on_loop(F.text))
    async def on_text(message: Message, bot: Bot, attempt: int = 0) -> None:
        await respond(bot, message.chat.id, inbound(message, text=message.text or ""), attempt)

    @router.message(on_loop(F.photo | F.document | F.voice | F.video | F.audio))
    async def on_file(message: Message, bot: Bot, attempt: int = 0) -> None:
        update = inbound(message, text=message.caption or "", attachments=attachments_of(message))
        await respond(bot, message.chat.id, update, attempt)

    @router.message()
    async def on_other(message: Message, bot: Bot, attempt: int = 0) -> None:
        kind = next(
            (label for field, label in UNSUPPORTED.items() if getattr(message, field, None)),
            "такие сообщения",
        )
        await respond(bot, message.chat.id, inbound(message, unsupported=kind), attempt)

    @router.callback_query()
    async def on_button(query: CallbackQuery, bot: Bot, attempt: int = 0) -> None:
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
            external_id=f"tgcb:{query.id}",
        )
        await respond(bot, message.chat.id, update, attempt)

    @router.edited_message(on_loop(F.text | F.caption))
    async def on_edited(message: Message) -> None:
        await relay_customer_edit(core, message)

    return router
