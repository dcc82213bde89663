"""Posting into an operators' group in parts, each reserved in the post budget, sent and
checkpointed, so a retry never posts anything twice.

A post is built whole (Telegram HTML), then cut by the entity-safe splitter
(`render.split_text`), which counts what Telegram counts — the text after its HTML is
parsed, in UTF-16 units — so every part fits however the post was built (card, batch,
notice, a transferred case's history).
"""

from __future__ import annotations

from typing import Protocol

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import InlineKeyboardMarkup, Message

from bots.telegram import cards
from bots.telegram.errors import is_thread_missing
from bots.telegram.operators_sender.topics import Topics
from bots.telegram.posting import BotPool, Poster
from bots.telegram.render import fit_caption, split_text
from bots.telegram.sending import send_file
from core.desk.operators import OperatorDesk
from core.desk.posting import DeskPosting
from core.knowledge.base import KnowledgeBase
from core.knowledge.texts import Texts
from core.runtime.delivery import RetryLater
from core.runtime.files import FileFetchers
from core.storage import OutboxItem
from core.types import Attachment

EMPTY_POST = "…"  # what a post with no visible text is sent as


class PartsNeed(Protocol):
    """What posting in parts takes from the sender's shared parts (`outlet.Outlet`)."""

    pool: BotPool
    posting: DeskPosting
    cases: OperatorDesk
    kb: KnowledgeBase
    files: FileFetchers
    topics: Topics

    @property
    def bot(self) -> Bot: ...

    @property
    def desk_texts(self) -> Texts: ...

    async def done(self, item: OutboxItem, **progress: object) -> None: ...


class Parts:
    def __init__(self, out: PartsNeed) -> None:
        self.out = out

    async def post(
        self,
        html: str,
        chat: int,
        thread_id: int | None,
        *,
        item: OutboxItem,
        markup: InlineKeyboardMarkup | None = None,
        ticket_id: int | None = None,
        reply_to: int | None = None,
        reserved: Poster | None = None,
    ) -> int:
        """Post `html` in parts (the keyboard under the last one, the first one replying
        to `reply_to`); a retry skips the parts already posted. `reserved` is a post
        already taken from the budget for the first part. Each part is remembered with
        case `ticket_id`. Returns the last part's message id."""
        parts = split_text(html, markup=True) or [EMPTY_POST]
        for index in range(int(item.progress.get("parts", 0)), len(parts)):
            last = index == len(parts) - 1
            poster = reserved or await self.out.pool.reserve(chat)
            reserved = None
            message = await self._send(
                poster,
                chat,
                thread_id,
                parts[index],
                markup=markup if last else None,
                reply_to=reply_to if index == 0 else None,
                item=item,
                ticket_id=ticket_id,
            )
            await self.out.done(item, parts=index + 1, posted=message.message_id)
            if ticket_id is not None:
                await self.out.posting.post_sent(str(chat), str(message.message_id), ticket_id)
        return int(item.progress.get("posted", 0))

    async def _send(
        self,
        poster: Poster,
        chat: int,
        thread_id: int | None,
        part: str,
        *,
        markup: InlineKeyboardMarkup | None,
        reply_to: int | None,
        item: OutboxItem,
        ticket_id: int | None,
    ) -> Message:
        try:
            return await poster.bot.send_message(
                chat,
                part,
                message_thread_id=thread_id,
                parse_mode="HTML",
                reply_markup=markup,
                reply_to_message_id=reply_to,
                allow_sending_without_reply=True,
            )
        except TelegramBadRequest as exc:
            if not is_thread_missing(exc) or ticket_id is None:
                raise
            await self._replace_topic(chat, item, ticket_id)
            raise RetryLater(0.0, "topic was deleted", count_attempt=False) from exc

    async def _replace_topic(self, chat: int, item: OutboxItem, ticket_id: int) -> None:
        """The case's topic was deleted: make a new one, and let the retry look it up."""
        view = await self.out.cases.view(ticket_id, transcript_limit=0)
        name = cards.topic_name(self.out.kb, view)
        await self.out.topics.create(view.conversation.id, chat, name)
        if item.progress.pop("thread", None) is not None:
            await self.out.done(item)

    async def with_files(
        self,
        html: str,
        attachments: list[Attachment],
        chat: int,
        thread_id: int | None,
        *,
        item: OutboxItem,
        ticket_id: int,
        reserved: Poster | None = None,
    ) -> None:
        """A customer's post: the text alone, or the files with the text as the first
        one's caption (and the whole text after them when the caption had to be cut).
        `reserved` is a post already taken from the budget for the first send."""
        if not attachments:
            await self.post(
                html, chat, thread_id, item=item, ticket_id=ticket_id, reserved=reserved
            )
            return
        caption, cut = fit_caption(html, markup=True)
        failed = self.out.desk_texts.get("card.file_failed")
        for index in range(int(item.progress.get("files", 0)), len(attachments)):
            if reserved is None:
                await self.out.pool.reserve(chat, main_only=True)
            reserved = None
            await send_file(
                self.out.bot,
                chat,
                attachments[index],
                self.out.files,
                failed=failed,
                caption=caption if index == 0 else None,
                thread_id=thread_id,
                html=True,
            )
            await self.out.done(item, files=index + 1)
        if cut:  # the caption was cut: the whole text follows
            await self.post(html, chat, thread_id, item=item, ticket_id=ticket_id)
