"""The outbox sender for the operators' group: cards, customer messages, notices.

In a forum group each customer has one topic (reopened for their next ticket); in a plain
group the card and every post are remembered, so operators answer by replying to them.
Posts stay under the group's limit of about 20 a minute for all replicas together: each
post is reserved in the database's shared budget before it is sent; when the budget is
spent the worker comes back later, and the waiting customer messages are merged into
fewer posts. Every finished step of an item (topic, card, each file, each part) is
checkpointed, so a retry never posts anything twice.
"""

from __future__ import annotations

import logging
import time

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest, TelegramNotFound
from aiogram.types import ReactionTypeEmoji

from bots.telegram import cards
from bots.telegram.errors import for_delivery, is_not_modified, is_thread_missing
from bots.telegram.render import split_text
from bots.telegram.sending import send_file
from core.app import Core
from core.delivery import RetryLater
from core.storage import OutboxItem
from core.types import Attachment

log = logging.getLogger(__name__)
FORUM_CHECK_EVERY = 300.0  # seconds between getChat calls
MAX_FILES_WITH_CARD = 5
BUDGET_WINDOW = 60.0


class OperatorsSender:
    def __init__(self, bot: Bot, core: Core, chat_id: int, per_minute: int = 18) -> None:
        self.bot = bot
        self.core = core
        self.chat_id = chat_id
        self.per_minute = per_minute
        self.budget_key = f"telegram-group:{chat_id}"
        self._forum: bool | None = None
        self._forum_checked = 0.0

    async def send(self, item: OutboxItem) -> None:
        ticket_id = item.payload.get("ticket_id")
        if not isinstance(ticket_id, int):
            log.warning("operators item #%s has no ticket", item.id)
            return
        try:
            if item.kind == "ticket_opened":
                await self._ticket_opened(ticket_id, item)
            elif item.kind == "customer_message":
                await self._customer_message(ticket_id, item)
            elif item.kind == "notice":
                await self._notice(ticket_id, item)
            elif item.kind == "ticket_closed":
                await self._ticket_closed(ticket_id, item)
            else:
                log.warning("unknown operators item kind %s", item.kind)
        except TelegramAPIError as exc:
            raise for_delivery(exc) from exc

    @staticmethod
    def _to_do(item: OutboxItem, name: str) -> bool:
        """Whether step `name` of the item is still to do."""
        return name not in item.progress

    async def _done(self, item: OutboxItem, name: str, value: object = True) -> None:
        await self.core.delivery.checkpoint(item, **{name: value})

    # ------------------------------------------------------------------ kinds
    async def _ticket_opened(self, ticket_id: int, item: OutboxItem) -> None:
        view = await self.core.desk.view(ticket_id)
        if self._to_do(item, "thread"):
            thread = await self._thread_for(view.conversation.id, ticket_id, fresh_card=False)
            await self._done(item, "thread", thread)
        thread_id = item.progress["thread"]
        if self._to_do(item, "card"):
            text = cards.card_text(self.core.kb, view, self.core.clock.now())
            card_id = await self._post(
                text, thread_id, item=item, markup=cards.card_keyboard(view.ticket)
            )
            await self.core.storage.threads.remember_post(
                str(self.chat_id), str(card_id), ticket_id
            )
            await self._done(item, "card", card_id)
        # Files the customer sent before the case was opened follow the card.
        files = [a for m in view.transcript if m.direction == "in" for a in m.attachments]
        for index in range(int(item.progress.get("files", 0)), len(files[:MAX_FILES_WITH_CARD])):
            await self._reserve(1)
            await send_file(
                self.bot,
                self.chat_id,
                files[index],
                self.core.files,
                caption="📎 из переписки до обращения",
                thread_id=thread_id,
            )
            await self._done(item, "files", index + 1)

    async def _customer_message(self, ticket_id: int, item: OutboxItem) -> None:
        attachments = [Attachment.from_dict(a) for a in item.payload.get("attachments", [])]
        view = await self.core.desk.view(ticket_id, transcript_limit=0)
        thread_id = await self._thread_for(view.conversation.id, ticket_id)
        name = view.conversation.name
        text = str(item.payload.get("text", ""))
        merged = int(item.payload.get("merged", 1))
        prefix = "" if thread_id is not None else f"№{ticket_id} · "
        post = prefix + cards.customer_post(name, text, merged)
        if not attachments:
            await self._post(post, thread_id, item=item, ticket_id=ticket_id)
            return
        for index in range(int(item.progress.get("files", 0)), len(attachments)):
            await self._reserve(1)
            await send_file(
                self.bot,
                self.chat_id,
                attachments[index],
                self.core.files,
                caption=post if index == 0 else None,
                thread_id=thread_id,
                parse_mode="HTML",
            )
            await self._done(item, "files", index + 1)
        if len(post) > 1000:  # the caption was cut: the whole text follows
            await self._post(post, thread_id, item=item, ticket_id=ticket_id)

    async def _notice(self, ticket_id: int, item: OutboxItem) -> None:
        payload = item.payload
        event = payload.get("event")
        ack = payload.get("ack") if isinstance(payload.get("ack"), dict) else None
        if event == "delivered" and isinstance(ack, dict):
            await self._react(ack, "👍")
            return
        view = await self.core.desk.view(ticket_id, transcript_limit=0)
        thread_id = await self._thread_for(view.conversation.id, ticket_id)
        if event == "undelivered":
            text = f"⚠️ Не доставлено клиенту: {cards.escape(str(payload.get('reason', '')))}"
        elif event == "low_rating":
            text = (
                f"⭐ Клиент оценил помощь по обращению №{ticket_id} на {payload.get('rating')}"
                " из 5. Старшему оператору стоит связаться с ним."
            )
        elif event == "conflict":
            text = (
                "⚠️ Клиент перешёл на грубость: обращение отмечено как конфликтное. "
                "Бот ответил спокойно и обозначил границы."
            )
        elif event == "not_shown":
            shown = str(payload.get("text", ""))
            text = (
                "⚠️ Сообщение по обращению не удалось показать здесь "
                f"({cards.escape(str(payload.get('reason', '')))})."
                + (f" Его текст: {cards.escape(shown)}" if shown else "")
            )
        elif event == "rating_comment":
            text = f"💬 Комментарий к оценке: {cards.escape(str(payload.get('text', '')))}"
        else:
            text = cards.escape(str(payload.get("text", event)))
        reply_to = int(ack["message_id"]) if isinstance(ack, dict) and "message_id" in ack else None
        await self._post(text, thread_id, item=item, ticket_id=ticket_id, reply_to=reply_to)

    async def _ticket_closed(self, ticket_id: int, item: OutboxItem) -> None:
        by = str(item.payload.get("by", ""))
        view = await self.core.desk.view(ticket_id, transcript_limit=0)
        thread = await self.core.storage.threads.for_conversation(view.conversation.id)
        thread_id = int(thread.thread_id) if thread and await self.is_forum() else None
        await self._post(
            f"✅ Обращение №{ticket_id} закрыто ({cards.escape(by)})."
            " Клиента попросили оценить помощь.",
            thread_id,
            item=item,
            ticket_id=ticket_id,
        )
        if thread_id is not None:
            try:
                await self.bot.close_forum_topic(self.chat_id, thread_id)
            except TelegramBadRequest as exc:
                log.info("topic %s not closed: %s", thread_id, exc.message)

    # ------------------------------------------------------------------ helpers
    async def is_forum(self) -> bool:
        now = time.monotonic()
        if self._forum is None or now - self._forum_checked > FORUM_CHECK_EVERY:
            try:
                chat = await self.bot.get_chat(self.chat_id)
                self._forum = bool(chat.is_forum)
            except (TelegramBadRequest, TelegramNotFound) as exc:
                # Cannot tell: try topics; createForumTopic says so if they are off.
                log.warning("getChat for the operators' group failed: %s", exc)
                self._forum = True
            self._forum_checked = now
        return self._forum

    async def _thread_for(
        self, conversation_id: int, ticket_id: int, fresh_card: bool = True
    ) -> int | None:
        """The customer's topic: reused (reopened and renamed for a new ticket), created
        when missing. None in a plain group."""
        if not await self.is_forum():
            return None
        threads = self.core.storage.threads
        thread = await threads.for_conversation(conversation_id)
        view = await self.core.desk.view(ticket_id, transcript_limit=0)
        name = cards.topic_name(self.core.kb, view)
        if thread is not None and thread.chat_id == str(self.chat_id):
            thread_id = int(thread.thread_id)
            if fresh_card:
                return thread_id
            try:
                await self.bot.reopen_forum_topic(self.chat_id, thread_id)
            except TelegramBadRequest as exc:
                if is_thread_missing(exc):
                    return await self._new_topic(conversation_id, name)
                log.debug("reopen topic %s: %s", thread_id, exc.message)
            try:
                await self.bot.edit_forum_topic(self.chat_id, thread_id, name=name)
            except TelegramBadRequest as exc:
                if is_thread_missing(exc):
                    return await self._new_topic(conversation_id, name)
                if not is_not_modified(exc):
                    log.debug("rename topic %s: %s", thread_id, exc.message)
            return thread_id
        return await self._new_topic(conversation_id, name)

    async def _new_topic(self, conversation_id: int, name: str) -> int:
        await self._reserve(1)  # the topic's first service message is a post too
        try:
            topic = await self.bot.create_forum_topic(self.chat_id, name)
        except TelegramBadRequest as exc:
            text = str(exc).lower()
            if "forum" not in text and "rights" not in text:
                raise
            # Topics are off, or the bot may not manage them: post cards in the group
            # itself for now (checked again every few minutes).
            log.warning(
                "no topic for a case in the operators' group (%s): posting in the group; "
                "enable topics and give the bot the right to manage them",
                exc.message,
            )
            self._forum, self._forum_checked = False, time.monotonic()
            raise RetryLater(
                0.0, "the operators' group has no topics", count_attempt=False
            ) from exc
        # Recorded at once: a crash from here on cannot make a second topic.
        await self.core.storage.threads.save(
            conversation_id,
            str(self.chat_id),
            str(topic.message_thread_id),
            self.core.clock.now(),
        )
        return topic.message_thread_id

    async def _post(
        self,
        text: str,
        thread_id: int | None,
        *,
        item: OutboxItem,
        markup: object = None,
        ticket_id: int | None = None,
        reply_to: int | None = None,
    ) -> int:
        """Post `text` in parts, each reserved, sent and checkpointed (a retry skips the
        parts already posted); returns the last part's message id."""
        parts = split_text(text) or ["…"]
        for index in range(int(item.progress.get("parts", 0)), len(parts)):
            last = index == len(parts) - 1
            await self._reserve(1)
            try:
                message = await self.bot.send_message(
                    self.chat_id,
                    parts[index],
                    message_thread_id=thread_id,
                    parse_mode="HTML",
                    reply_markup=markup if last else None,  # type: ignore[arg-type]
                    reply_to_message_id=reply_to if index == 0 else None,
                    allow_sending_without_reply=True,
                )
            except TelegramBadRequest as exc:
                if not is_thread_missing(exc) or ticket_id is None:
                    raise
                # The topic was deleted: forget it, so the next try makes a new one.
                view = await self.core.desk.view(ticket_id, transcript_limit=0)
                await self._new_topic(view.conversation.id, cards.topic_name(self.core.kb, view))
                raise RetryLater(0.0, "topic was deleted", count_attempt=False) from exc
            await self.core.delivery.checkpoint(item, parts=index + 1, posted=message.message_id)
            if ticket_id is not None:
                await self.core.storage.threads.remember_post(
                    str(self.chat_id), str(message.message_id), ticket_id
                )
        return int(item.progress.get("posted", 0))

    async def _react(self, ack: dict[str, object], emoji: str) -> None:
        try:
            await self.bot.set_message_reaction(
                int(str(ack["chat_id"])),
                int(str(ack["message_id"])),
                [ReactionTypeEmoji(emoji=emoji)],
            )
        except (TelegramAPIError, KeyError, ValueError) as exc:
            log.info("delivery mark not set: %s", exc)

    async def _reserve(self, posts: int) -> None:
        """Reserve posts in the group's budget, shared by every replica, before sending."""
        async with self.core.storage.transaction() as tx:
            wait = await tx.budget.reserve(
                self.budget_key, posts, self.per_minute, BUDGET_WINDOW, self.core.clock.now()
            )
        if wait > 0:
            raise RetryLater(wait, "operators' group limit", count_attempt=False)
