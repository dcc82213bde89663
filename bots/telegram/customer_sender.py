"""Sending to Telegram customers: the outbox sender of channel `telegram`."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest

from bots.telegram.errors import for_delivery, is_not_modified
from bots.telegram.render import SAFE_PART, utf16_len
from bots.telegram.sending import reply_steps, send_reply
from core.app import Core
from core.desk.edits import apply_reply_edit, remember_copy
from core.events import CustomerReply, ReplyEdited
from core.runtime.renderers import render_for_customer
from core.storage import OutboxItem
from core.types import Reply

log = logging.getLogger(__name__)


class CustomerSender:
    """The outbox sender for channel `telegram`: every answer a customer gets
    (`core.runtime.renderers.CustomerRenderer`).

    A reply can take several API calls (files, then the text in parts); each finished
    call is checkpointed, so a retry after a 429 or a crash goes on where it stopped
    instead of repeating what the customer already has.
    """

    def __init__(self, bot: Bot, core: Core) -> None:
        self.bot = bot
        self.core = core
        self.failed_file = core.kb.texts.get("telegram.file_failed")

    async def send(self, item: OutboxItem) -> None:
        try:
            await render_for_customer(self, item)
        except TelegramAPIError as exc:
            raise for_delivery(exc, self.core.kb.desk) from exc

    async def reply(self, item: OutboxItem, event: CustomerReply) -> None:
        chat_id = int(item.recipient)
        steps = reply_steps(self.bot, chat_id, event.reply, self.core.files, self.failed_file)
        done = int(item.progress.get("steps", 0))
        sent = [int(i) for i in item.progress.get("ids", [])]  # text messages delivered
        for index in range(done, len(steps)):
            if (message_id := await steps[index]()) is not None:
                sent.append(message_id)
            if index + 1 < len(steps):
                await self.core.delivery.checkpoint(item, steps=index + 1, ids=sent)
        # Where an operator's reply landed, so that an edit of it can follow.
        await remember_copy(self.core.storage, item, sent, self.core.clock.now())

    async def reply_edited(self, item: OutboxItem, event: ReplyEdited) -> None:
        """An operator corrected a reply the customer already has."""
        editor = _CopyEditor(self, int(item.recipient))
        await apply_reply_edit(self.core.storage, item, event, editor, self.core.clock.now())


class _CopyEditor:
    """Telegram's primitives for `core.desk.edits.apply_reply_edit`."""

    def __init__(self, sender: CustomerSender, chat_id: int) -> None:
        self.sender, self.bot, self.chat_id = sender, sender.bot, chat_id

    def fits(self, text: str) -> bool:
        return utf16_len(text) <= SAFE_PART

    async def edit_in_place(self, message_id: int, text: str) -> bool:
        try:
            await self.bot.edit_message_text(
                text, chat_id=self.chat_id, message_id=message_id, parse_mode=None
            )
        except TelegramBadRequest as exc:
            if is_not_modified(exc):
                return True
            log.info("customer's copy not edited (%s): sending a correction", exc.message)
            return False
        return True

    async def send(self, reply: Reply) -> list[int]:
        files, failed = self.sender.core.files, self.sender.failed_file
        return await send_reply(self.bot, self.chat_id, reply, files, failed)
