"""What every operators' handler shares (injected as `desk`): the groups, roles and
posting bots, which case a message is about, and answering an operator in the group
(within the post budget)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aiogram.exceptions import TelegramAPIError, TelegramRetryAfter
from aiogram.types import Message
from aiogram.utils.formatting import Text

from bots.telegram.groups import Groups
from bots.telegram.markup import html
from bots.telegram.operators.roles import TelegramRoles
from bots.telegram.posting import BotPool
from bots.telegram.render import split_text
from core.desk.operators import OperatorDesk, OperatorError
from core.desk.posting import DeskPosting
from core.knowledge.texts import Texts
from core.storage import Ticket

log = logging.getLogger(__name__)


@dataclass
class TelegramDesk:
    groups: Groups
    roles: TelegramRoles
    pool: BotPool
    cases: OperatorDesk
    posting: DeskPosting
    desk_texts: Texts

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
            raise OperatorError(
                self.desk_texts.format("commands.other_group", ticket=ticket.id, group=title)
            )
        return ticket

    async def case_of(self, message: Message, args: str | None = None) -> Ticket:
        """Like `ticket_of`, but a message about no case is refused (`OperatorError`)."""
        ticket = await self.ticket_of(message, args)
        if ticket is None:
            raise OperatorError(self.desk_texts.get("commands.which_case"))
        return ticket

    async def _find(self, message: Message, args: str | None) -> Ticket | None:
        chat = str(message.chat.id)
        number = case_number(args)
        if number is not None:
            return await self.posting.case(number)
        if message.is_topic_message and message.message_thread_id is not None:
            conversation = await self.posting.conversation_in_topic(
                chat, str(message.message_thread_id)
            )
            if conversation is not None:
                return await self.cases.ticket_for_conversation(conversation)
        reply = message.reply_to_message
        if reply is not None and not reply.forum_topic_created:
            ticket_id = await self.posting.case_of_post(chat, str(reply.message_id))
            if ticket_id is not None:
                return await self.posting.case(ticket_id)
        return None

    async def say(self, message: Message, text: str | Text) -> None:
        """Answer an operator where they wrote, each part within the post budget — by a
        helper bot when the main bot's share is spent. A `str` is plain text."""
        chat_id = message.chat.id
        thread = message.message_thread_id if message.is_topic_message else None
        for part in split_text(html(text), markup=True):
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


def case_number(args: str | None) -> int | None:
    """The case's number when a command's arguments start with one (`12`, `№12`, `#12`)."""
    words = (args or "").split()
    if words and words[0].lstrip("№#").isdigit():
        return int(words[0].lstrip("№#"))
    return None
