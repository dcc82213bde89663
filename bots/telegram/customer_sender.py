"""Sending to Telegram customers: the outbox sender of channel `telegram`."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest

from bots.telegram import doubt
from bots.telegram.errors import for_delivery, is_not_modified
from bots.telegram.render import SAFE_PART, utf16_len
from bots.telegram.sending import is_text, reply_steps, send_reply
from core.app import Core
from core.desk.edits import apply_reply_edit, remember_copy
from core.events import CustomerReply, ReplyEdited
from core.runtime.renderers import render_for_customer
from core.storage import OutboxItem
from core.types import Reply

log = logging.getLogger(__name__)

Step = Callable[[], Awaitable[object]]


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
        last = item.progress.get("last_id")  # the last message of this item in the chat
        found = await self._delivered_in_doubt(item, steps[done] if done < len(steps) else None)
        if found is not None:  # the step in doubt reached the chat just before a crash
            sent.append(found)
            last, done = found, done + 1
            item.progress["found_in_chat"] = found
        for index in range(done, len(steps)):
            step = steps[index]
            last = await step()
            if is_text(step):
                sent.append(last)
            if index + 1 < len(steps):
                await self.core.delivery.checkpoint(item, steps=index + 1, ids=sent, last_id=last)
        # Recorded the moment the last answer is in; then where an operator's reply
        # landed, so that an edit of it can follow.
        await self.core.delivery.record_sent(item, steps=len(steps), ids=sent, last_id=last)
        await remember_copy(self.core.storage, item, sent, self.core.clock.now())

    async def _delivered_in_doubt(self, item: OutboxItem, step: Step | None) -> int | None:
        """For an item in doubt: the id of the text its next step sends, when that text is
        in the chat already after the bot's last recorded message there."""
        if not item.in_doubt or step is None:
            return None
        after = await self._last_known_id(item)
        if after is None:
            return None
        found = await doubt.delivered_before(self.bot, step, after)
        if found is not None:
            log.info("outbox #%s reached the chat before the restart: not sent again", item.id)
        return found

    async def _last_known_id(self, item: OutboxItem) -> int | None:
        """The last message id in the chat before this item's next step that is known to
        be the bot's or the customer's: every message of the bot after it belongs to the
        item. None when an earlier answer was sent without its ids recorded."""
        if "last_id" in item.progress:
            return int(item.progress["last_id"])
        outbox = self.core.storage.outbox
        before = await outbox.last_recorded(item.channel, item.recipient, item.id)
        if before and "last_id" not in before:
            return None  # sent by a version that did not record ids: cannot tell
        known = [int(before["last_id"])] if before.get("last_id") is not None else []
        prefix = f"tg:{item.recipient}:"  # the customer's messages (bots.telegram.customer)
        cause = await self.core.storage.messages.last_inbound_id(
            item.channel, item.recipient, item.created_at, prefix
        )
        if cause and cause.removeprefix(prefix).isdigit():
            known.append(int(cause.removeprefix(prefix)))
        return max(known) if known else None

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
