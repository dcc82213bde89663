"""What every operators' handler shares: the groups, roles and posting bots, which case a
message is about, and answering an operator in the group (within the post budget)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aiogram.exceptions import TelegramAPIError, TelegramRetryAfter
from aiogram.types import CallbackQuery, Message

from bots.telegram.groups import Groups
from bots.telegram.operators.roles import TelegramRoles
from bots.telegram.posting import BotPool
from bots.telegram.render import split_text
from core.app import Core
from core.desk.operators import OperatorError
from core.storage import Ticket

log = logging.getLogger(__name__)


def update_id(message: Message) -> str:
    """The operator's message as an inbound update: applied once, however often it comes."""
    return f"tg:{message.chat.id}:{message.message_id}"


def press_id(query: CallbackQuery) -> str:
    return f"tgcb:{query.id}"


@dataclass
class TelegramDesk:
    core: Core
    groups: Groups
    roles: TelegramRoles
    pool: BotPool

    def department_of(self, message: Message) -> str:
        return self.groups.department_of(message.chat.id)

    async def ticket_of(self, message: Message, args: str | None = None) -> Ticket | None:
        """The case a message is about: an explicit number, the topic, the replied post.
        A case that lives in another group is refused with a clear note."""
        ticket = await self._find(message, args)
        if ticket is None:
            return None
        if self.groups.chat_for(ticket.department) != message.chat.id:
            title = self.groups.title(ticket.department)
            raise OperatorError(f"Обращение №{ticket.id} ведёт группа «{title}»: отвечайте там.")
        return ticket

    async def _find(self, message: Message, args: str | None) -> Ticket | None:
        storage = self.core.storage
        chat = str(message.chat.id)
        if args and args.split()[0].lstrip("№#").isdigit():
            return await storage.tickets.get(int(args.split()[0].lstrip("№#")))
        if message.is_topic_message and message.message_thread_id is not None:
            thread = await storage.threads.by_thread(chat, str(message.message_thread_id))
            if thread is not None:
                return await self.core.desk.ticket_for_conversation(thread.conversation_id)
        reply = message.reply_to_message
        if reply is not None and not reply.forum_topic_created:
            ticket_id = await storage.threads.ticket_of_post(chat, str(reply.message_id))
            if ticket_id is not None:
                return await storage.tickets.get(ticket_id)
        return None

    async def say(self, message: Message, text: str) -> None:
        """Answer an operator where they wrote (HTML), each part within the post budget —
        by a helper bot when the main bot's share is spent."""
        chat_id = message.chat.id
        thread = message.message_thread_id if message.is_topic_message else None
        for part in split_text(text, markup=True):
            poster = await self.pool.reserve_interactive(chat_id)
            try:
                await poster.bot.send_message(
                    chat_id,
                    part,
                    message_thread_id=thread,
                    parse_mode="HTML",
                    reply_to_message_id=message.message_id,
                    allow_sending_without_reply=True,
                )
            except TelegramRetryAfter as exc:
                log.warning("answer to an operator refused by Telegram: %s", exc)
            except TelegramAPIError as exc:
                log.warning("answer to an operator not sent: %s", exc)
