"""Sending core replies to Telegram customers: the outbox sender of channel `telegram`."""

from __future__ import annotations

import logging
import time

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import Message

from bots.telegram.edits import apply_edit
from bots.telegram.errors import for_delivery
from bots.telegram.sending import reply_steps
from core.app import Core
from core.desk.edits import EDIT, remember_copy
from core.storage import OutboxItem
from core.types import Reply

log = logging.getLogger(__name__)


class CustomerSender:
    """The outbox sender for channel `telegram`: every answer a customer gets.

    A reply can take several API calls (files, then the text in parts); each finished
    call is checkpointed, so a retry after a 429 or a crash goes on where it stopped
    instead of repeating what the customer already has.
    """

    def __init__(self, bot: Bot, core: Core) -> None:
        self.bot = bot
        self.core = core

    async def send(self, item: OutboxItem) -> None:
        if item.kind == EDIT:  # an operator corrected a reply the customer already has
            try:
                await apply_edit(self.bot, self.core.storage, self.core.files, item, time.time())
            except TelegramAPIError as exc:
                raise for_delivery(exc) from exc
            return
        if item.kind != "reply":
            log.warning("unknown outbox kind %s for Telegram customers", item.kind)
            return
        reply = Reply.from_dict(item.payload.get("reply", {}))
        chat_id = int(item.recipient)
        steps = reply_steps(self.bot, chat_id, reply, self.core.files)
        done = int(item.progress.get("steps", 0))
        sent = [int(i) for i in item.progress.get("ids", [])]  # text messages delivered
        for index in range(done, len(steps)):
            try:
                result = await steps[index]()
            except TelegramAPIError as exc:
                raise for_delivery(exc) from exc
            if isinstance(result, Message) and result.text is not None:
                sent.append(result.message_id)
            if index + 1 < len(steps):
                await self.core.delivery.checkpoint(item, steps=index + 1, ids=sent)
        # Where an operator's reply landed, so that an edit of it can follow.
        await remember_copy(self.core.storage, item, sent, time.time())
