"""The outbox sender for the operators' groups: cards, customer messages, notices.

Each case is handled in the group of its department (`core.routing`); in a forum group
the customer has a topic there (reopened for their next case), in a plain group the card
and every post are remembered so that operators answer by replying to them.

Keeping up with a busy shop within Telegram's limit of about 20 posts a minute per bot
and group:

- one post per new case where possible: the card carries the dialog that led to the case
  and every customer message that came before the card could be posted; those are marked
  shown (`desk_shown`) and never posted again;
- later customer messages are posted from the message log, all that are not shown yet in
  one post — so while the budget is short they wait and are merged;
- every post is reserved before it is sent (`BotPool`), by the main bot or, when its
  share is spent, by a helper bot;
- every finished step (topic, card, each part, each file, each batch) is checkpointed,
  so a retry never posts anything twice.
"""

from __future__ import annotations

import logging
import time

from aiogram.exceptions import TelegramAPIError, TelegramBadRequest, TelegramNotFound
from aiogram.types import InlineKeyboardMarkup, ReactionTypeEmoji

from bots.telegram import cards
from bots.telegram.abuse import DeskAbuse
from bots.telegram.errors import for_delivery, is_not_modified, is_thread_missing
from bots.telegram.groups import Groups
from bots.telegram.operators.buttons import card_keyboard
from bots.telegram.operators.roles import TelegramRoles
from bots.telegram.posting import BotPool, Poster
from bots.telegram.render import escape, fit_caption, split_text
from bots.telegram.sending import send_file
from core.abuse.report import blocked_notice
from core.app import Core
from core.desk import sla
from core.desk.operators import TicketView
from core.events import (
    Ack,
    Assigned,
    CaseClosed,
    CaseOpened,
    ConflictMarked,
    CustomerBlocked,
    CustomerMessage,
    Delivered,
    DeskEvent,
    LowRating,
    NotShown,
    RatingComment,
    SlaAlert,
    Transferred,
    Undelivered,
    render_for_desk,
)
from core.runtime.delivery import RetryLater
from core.storage import LoggedMessage, OutboxItem, Ticket
from core.storage.messages import IN
from core.types import Attachment

log = logging.getLogger(__name__)
FORUM_CHECK_EVERY = 300.0  # seconds between getChat calls
MAX_FILES_WITH_CARD = 5
HISTORY_LIMIT = 200  # messages of a case a card (or a transferred case's history) reads


class OperatorsSender:
    def __init__(
        self, pool: BotPool, core: Core, groups: Groups, roles: TelegramRoles | None = None
    ) -> None:
        self.pool = pool
        self.bot = pool.main.bot  # files, topics and reactions go through the main bot
        self.core = core
        self.groups = groups
        self.roles = roles
        self.abuse = DeskAbuse(core, pool, groups)  # verified customers first, spam marked
        self._forum: dict[int, tuple[bool, float]] = {}

    async def send(self, item: OutboxItem) -> None:
        try:
            await render_for_desk(self, item)
        except TelegramAPIError as exc:
            raise for_delivery(exc) from exc
        except _NoCase:
            log.warning("operators item #%s has no case", item.id)

    async def _case(self, event: DeskEvent) -> tuple[Ticket, int]:
        """The event's case and the group it is posted in."""
        ticket = await self.core.storage.tickets.get(event.ticket_id)
        if ticket is None:
            raise _NoCase
        return ticket, self.groups.chat_for(event.group or ticket.department)

    # ------------------------------------------------------------------ events
    async def case_opened(self, item: OutboxItem, event: CaseOpened) -> None:
        ticket, chat = await self._case(event)
        await self._ticket_opened(ticket, item, event, chat)

    async def customer_message(self, item: OutboxItem, event: CustomerMessage) -> None:
        ticket, chat = await self._case(event)
        await self._customer_messages(ticket, item, event, chat)

    async def case_closed(self, item: OutboxItem, event: CaseClosed) -> None:
        ticket, chat = await self._case(event)
        await self._ticket_closed(ticket, item, event, chat)

    async def delivered(self, item: OutboxItem, event: Delivered) -> None:
        if event.ack is not None:
            await self._react(event.ack, "👍")

    async def undelivered(self, item: OutboxItem, event: Undelivered) -> None:
        text = f"⚠️ Не доставлено клиенту: {escape(event.reason)}"
        await self._notice(item, event, text, reply_to=event.ack)

    async def not_shown(self, item: OutboxItem, event: NotShown) -> None:
        text = f"⚠️ Сообщение по обращению не удалось показать здесь ({escape(event.reason)})." + (
            f" Его текст: {escape(event.text)}" if event.text else ""
        )
        await self._notice(item, event, text)

    async def low_rating(self, item: OutboxItem, event: LowRating) -> None:
        text = (
            f"⭐ Клиент оценил помощь по обращению №{event.ticket_id} на {event.rating}"
            " из 5. Старшему оператору стоит связаться с ним."
        )
        await self._notice(item, event, text)

    async def rating_comment(self, item: OutboxItem, event: RatingComment) -> None:
        await self._notice(item, event, f"💬 Комментарий к оценке: {escape(event.text)}")

    async def conflict(self, item: OutboxItem, event: ConflictMarked) -> None:
        text = (
            "⚠️ Клиент перешёл на грубость: обращение отмечено как конфликтное. "
            "Бот ответил спокойно и обозначил границы."
        )
        await self._notice(item, event, text)

    async def assigned(self, item: OutboxItem, event: Assigned) -> None:
        who = cards.mention(event.to_id, event.to_name)
        text = f"👤 Обращение №{event.ticket_id} ведёт {who} (назначил(а) {escape(event.by)})."
        await self._notice(item, event, text)

    async def transferred(self, item: OutboxItem, event: Transferred) -> None:
        text = (
            f"➡️ Обращение №{event.ticket_id} передано в группу «{escape(event.to)}»"
            f" ({escape(event.by)}). Дальше его ведут там."
        )
        thread_id, chat = await self._notice(item, event, text)
        if thread_id is not None:
            await self._close_topic(chat, thread_id)

    async def customer_blocked(self, item: OutboxItem, event: CustomerBlocked) -> None:
        text = escape(blocked_notice(self.core.kb.desk, event))
        thread_id, chat = await self._notice(item, event, text)
        if thread_id is not None:
            await self._close_topic(chat, thread_id)

    async def sla_alert(self, item: OutboxItem, event: SlaAlert) -> None:
        ticket, chat = await self._case(event)
        view = await self.core.desk.view(ticket.id, transcript_limit=0)
        thread_id = await self._thread_for(view, chat)
        await self._sla_notice(ticket, item, event, chat, thread_id)

    @staticmethod
    def _to_do(item: OutboxItem, name: str) -> bool:
        """Whether step `name` of the item is still to do."""
        return name not in item.progress

    async def _done(self, item: OutboxItem, **progress: object) -> None:
        await self.core.delivery.checkpoint(item, **progress)

    # ------------------------------------------------------------------ a new case
    async def _ticket_opened(
        self, ticket: Ticket, item: OutboxItem, event: CaseOpened, chat: int
    ) -> None:
        view = await self.core.desk.view(ticket.id, transcript_limit=HISTORY_LIMIT)
        if self._to_do(item, "thread"):
            await self.abuse.card_turn(item, event, chat)
            await self._done(item, thread=await self._thread_for(view, chat, fresh_card=False))
        thread_id = item.progress["thread"]
        if self._to_do(item, "card"):
            if self._to_do(item, "card_text"):
                text, shown = await self._card_content(view, event)
                text += await self.abuse.card_line(ticket)
                await self._done(item, card_text=text, shown=shown)
            card_id = await self._post(
                str(item.progress["card_text"]),
                chat,
                thread_id,
                item=item,
                markup=card_keyboard(view.ticket),
                ticket_id=ticket.id,
            )
            shown_ids = item.progress.get("shown")
            async with self.core.storage.transaction() as tx:
                if isinstance(shown_ids, list):
                    await tx.desk.remember_card(ticket.id, str(chat), str(card_id), self._now())
                    await tx.desk.mark_shown(ticket.id, shown_ids, self._now())
            await self._done(item, card=card_id)
        # Files the customer sent before the case was opened follow the card.
        upto = event.context_upto
        files = [
            attachment
            for message in view.transcript
            if message.direction == IN and (upto is None or message.id <= upto)
            for attachment in message.attachments
        ][:MAX_FILES_WITH_CARD]
        for index in range(int(item.progress.get("files", 0)), len(files)):
            await self.pool.reserve(chat, main_only=True)
            await send_file(
                self.bot,
                chat,
                files[index],
                self.core.files,
                caption="📎 из переписки до обращения",
                thread_id=thread_id,
            )
            await self._done(item, files=index + 1)

    async def _card_content(
        self, view: TicketView, event: CaseOpened
    ) -> tuple[str, list[int] | None]:
        """The card's text and the customer messages it shows (None: an announcement from
        before cards tracked that, shown the old way)."""
        kb, now = self.core.kb, self._now()
        upto = event.context_upto
        if upto is None:
            return cards.card_text(kb, view, now), None
        transcript = view.transcript
        context = [m for m in transcript if m.id <= upto]
        already = await self.core.storage.desk.shown_ids(view.ticket.id)
        burst: list[LoggedMessage] = []
        for message in transcript:  # customer messages since, up to the first with files
            if message.id <= upto or message.direction != IN or message.id in already:
                continue
            if message.attachments:
                break
            burst.append(message)
        due = self._due(view.ticket)
        if event.transferred_from:
            text = cards.card_text(
                kb,
                view,
                now,
                context=[],
                burst=burst,
                transferred_from=event.transferred_from,
                by=event.by or "",
                due=due,
            )
            text += "\n\n" + cards.history_text(context)
        else:
            text = cards.card_text(kb, view, now, context=context, burst=burst, due=due)
        shown = [m.id for m in context if m.direction == IN] + [m.id for m in burst]
        return text, shown

    def _due(self, ticket: Ticket) -> str | None:
        team = self.core.team
        if team is None or ticket.first_response_at is not None:
            return None
        due = team.sla.policy.due(ticket, sla.FIRST_RESPONSE)
        return cards.clock_time(due, self.core.settings.timezone) if due else None

    # ------------------------------------------------------------------ customer messages
    async def _customer_messages(
        self, ticket: Ticket, item: OutboxItem, event: CustomerMessage, chat: int
    ) -> None:
        """Every customer message of the case not shown yet: text runs merged into one post,
        a message with files posted with them."""
        if not await self.core.storage.desk.has_card(ticket.id):
            await self._customer_message_as_queued(ticket, item, event, chat)
            return
        view = await self.core.desk.view(ticket.id, transcript_limit=0)
        thread_id = await self._thread_for(view, chat)
        name = view.conversation.name
        while True:
            reserved: Poster | None = None
            if self._to_do(item, "batch"):
                pending = await self.core.storage.desk.unshown(ticket.id)
                if not pending:
                    return
                batch, spam = await self.abuse.batch(pending, _next_batch)
                # Reserved before the batch is fixed: while the group's budget (or the
                # case's share of it) is short, the messages wait and the next try merges
                # more of them.
                await self.abuse.pace(ticket.id)
                reserved = await self.pool.reserve(chat, main_only=bool(batch[0].attachments))
                await self.abuse.paced(ticket.id)
                await self._done(item, batch=[m.id for m in batch], spam=spam)
            ids = [int(i) for i in item.progress["batch"]]
            messages = await self._messages(ticket.id, ids)
            spam = item.progress.get("spam")
            if spam:
                head = ("" if thread_id is not None else f"№{ticket.id} · ") + cards.customer_post(
                    name, "", 1
                )
                post = self.abuse.spam_post(head + ": ", messages, str(spam))
                await self._post(
                    post, chat, thread_id, item=item, ticket_id=ticket.id, reserved=reserved
                )
            else:
                await self._post_batch(messages, name, chat, thread_id, item, ticket.id, reserved)
            async with self.core.storage.transaction() as tx:
                await tx.desk.mark_shown(ticket.id, ids, self._now())
            item.progress.clear()
            await self._done(item)

    async def _post_batch(
        self,
        messages: list[LoggedMessage],
        name: str,
        chat: int,
        thread_id: int | None,
        item: OutboxItem,
        ticket_id: int,
        reserved: Poster | None,
    ) -> None:
        prefix = "" if thread_id is not None else f"№{ticket_id} · "
        text = "\n\n".join(m.text for m in messages if m.text)
        post = prefix + cards.customer_post(name, text, len(messages))
        attachments = [a for m in messages for a in m.attachments]
        await self._post_with_files(post, attachments, chat, thread_id, item, ticket_id, reserved)

    async def _post_with_files(
        self,
        post: str,
        attachments: list[Attachment],
        chat: int,
        thread_id: int | None,
        item: OutboxItem,
        ticket_id: int,
        reserved: Poster | None = None,
    ) -> None:
        """A customer's post: the text alone, or the files with the text as the first
        one's caption (and the whole text after them when the caption had to be cut).
        `reserved` is a post already taken from the budget for the first send."""
        if not attachments:
            await self._post(
                post, chat, thread_id, item=item, ticket_id=ticket_id, reserved=reserved
            )
            return
        caption, cut = fit_caption(post, markup=True)
        for index in range(int(item.progress.get("files", 0)), len(attachments)):
            if reserved is None:
                await self.pool.reserve(chat, main_only=True)
            reserved = None
            await send_file(
                self.bot,
                chat,
                attachments[index],
                self.core.files,
                caption=caption if index == 0 else None,
                thread_id=thread_id,
                parse_mode="HTML",
            )
            await self._done(item, files=index + 1)
        if cut:  # the caption was cut: the whole text follows
            await self._post(post, chat, thread_id, item=item, ticket_id=ticket_id)

    async def _customer_message_as_queued(
        self, ticket: Ticket, item: OutboxItem, event: CustomerMessage, chat: int
    ) -> None:
        """A case announced before cards tracked what they show: post the queued text."""
        view = await self.core.desk.view(ticket.id, transcript_limit=0)
        thread_id = await self._thread_for(view, chat)
        prefix = "" if thread_id is not None else f"№{ticket.id} · "
        post = prefix + cards.customer_post(view.conversation.name, event.text, event.merged)
        attachments = list(event.attachments)
        await self._post_with_files(post, attachments, chat, thread_id, item, ticket.id)

    async def _messages(self, ticket_id: int, ids: list[int]) -> list[LoggedMessage]:
        return await self.core.storage.desk.messages(ticket_id, ids)

    # ------------------------------------------------------------------ notices
    async def _notice(
        self, item: OutboxItem, event: DeskEvent, text: str, reply_to: Ack | None = None
    ) -> tuple[int | None, int]:
        """Post a notice in the case's topic (as a reply to `reply_to`, the operator's own
        message, where given); returns the topic and the group."""
        ticket, chat = await self._case(event)
        view = await self.core.desk.view(ticket.id, transcript_limit=0)
        thread_id = await self._thread_for(view, chat)
        answer = reply_to.message_id if reply_to is not None else None
        await self._post(text, chat, thread_id, item=item, ticket_id=ticket.id, reply_to=answer)
        return thread_id, chat

    async def _sla_notice(
        self, ticket: Ticket, item: OutboxItem, event: SlaAlert, chat: int, thread_id: int | None
    ) -> None:
        """A warning in the case's topic; a breach in the group's General topic, with a
        mention of the case's operator or, when nobody has it, of the senior operators."""
        what = sla.target_name(self.core.kb.desk, event.target)
        tier = sla.tier_name(self.core.kb.desk, event.tier)
        due = event.due
        when = cards.clock_time(due, self.core.settings.timezone) if due is not None else "—"
        if ticket.operator_id:
            mentions = cards.operator_mention(ticket)
        else:
            if self._to_do(item, "seniors"):
                seniors = await self.roles.seniors(chat) if self.roles is not None else []
                await self._done(item, seniors=seniors)
            people = [(str(p[0]), str(p[1])) for p in item.progress.get("seniors", [])]
            mentions = ", ".join(cards.mention(i, n) for i, n in people) or "старшие операторы"
        if event.level == sla.WARNING:
            text = (
                f"⏰ Обращение №{ticket.id} ({tier}): срок {what} — до {when}, осталось мало "
                f"времени. {mentions}"
            )
            await self._post(text, chat, thread_id, item=item, ticket_id=ticket.id)
            return
        link = _topic_link(chat, thread_id)
        case = f'<a href="{link}">№{ticket.id}</a>' if link else f"№{ticket.id}"
        text = (
            f"🚨 Нарушен срок {what}: обращение {case} ({tier}), срок был до {when}. "
            f"{mentions}, посмотрите, пожалуйста."
        )
        # In a forum, General is no case's place: a reply to the alert there must not
        # reach the customer (in a plain group, replying to posts is how operators answer).
        plain = not await self.is_forum(chat)
        await self._post(text, chat, None, item=item, ticket_id=ticket.id if plain else None)

    async def _ticket_closed(
        self, ticket: Ticket, item: OutboxItem, event: CaseClosed, chat: int
    ) -> None:
        by = event.by
        thread = await self.core.storage.threads.for_conversation(ticket.conversation_id, str(chat))
        thread_id = int(thread.thread_id) if thread and await self.is_forum(chat) else None
        await self._post(
            f"✅ Обращение №{ticket.id} закрыто ({escape(by)}). Клиента попросили оценить помощь.",
            chat,
            thread_id,
            item=item,
            ticket_id=ticket.id,
        )
        if thread_id is not None:
            await self._close_topic(chat, thread_id)

    async def _close_topic(self, chat: int, thread_id: int) -> None:
        try:
            await self.bot.close_forum_topic(chat, thread_id)
        except TelegramBadRequest as exc:
            log.info("topic %s not closed: %s", thread_id, exc.message)

    # ------------------------------------------------------------------ topics
    async def is_forum(self, chat: int) -> bool:
        now = time.monotonic()
        known = self._forum.get(chat)
        if known is not None and now - known[1] <= FORUM_CHECK_EVERY:
            return known[0]
        try:
            forum = bool((await self.bot.get_chat(chat)).is_forum)
        except (TelegramBadRequest, TelegramNotFound) as exc:
            # Cannot tell: try topics; createForumTopic says so if they are off.
            log.warning("getChat for operators' group %s failed: %s", chat, exc)
            forum = True
        self._forum[chat] = (forum, now)
        return forum

    async def _thread_for(self, view: TicketView, chat: int, fresh_card: bool = True) -> int | None:
        """The customer's topic in the group: reused (reopened and renamed for a new case),
        created when missing. None in a plain group."""
        if not await self.is_forum(chat):
            return None
        conversation_id = view.conversation.id
        thread = await self.core.storage.threads.for_conversation(conversation_id, str(chat))
        name = cards.topic_name(self.core.kb, view)
        if thread is None:
            return await self._new_topic(conversation_id, chat, name)
        thread_id = int(thread.thread_id)
        if fresh_card:
            return thread_id
        try:
            await self.bot.reopen_forum_topic(chat, thread_id)
        except TelegramBadRequest as exc:
            if is_thread_missing(exc):
                return await self._new_topic(conversation_id, chat, name)
            log.debug("reopen topic %s: %s", thread_id, exc.message)
        try:
            await self.bot.edit_forum_topic(chat, thread_id, name=name)
        except TelegramBadRequest as exc:
            if is_thread_missing(exc):
                return await self._new_topic(conversation_id, chat, name)
            if not is_not_modified(exc):
                log.debug("rename topic %s: %s", thread_id, exc.message)
        return thread_id

    async def _new_topic(self, conversation_id: int, chat: int, name: str) -> int:
        poster = await self.pool.reserve(chat)  # the topic's first service message is a post
        try:
            topic = await poster.bot.create_forum_topic(chat, name)
        except TelegramBadRequest as exc:
            text = str(exc).lower()
            if "forum" not in text and "rights" not in text:
                raise
            # Topics are off, or the bot may not manage them: post cards in the group
            # itself for now (checked again every few minutes).
            log.warning(
                "no topic for a case in operators' group %s (%s): posting in the group; "
                "enable topics and give the bot the right to manage them",
                chat,
                exc.message,
            )
            self._forum[chat] = (False, time.monotonic())
            raise RetryLater(
                0.0, "the operators' group has no topics", count_attempt=False
            ) from exc
        # Recorded at once: a crash from here on cannot make a second topic.
        await self.core.storage.threads.save(
            conversation_id, str(chat), str(topic.message_thread_id), self._now()
        )
        return topic.message_thread_id

    # ------------------------------------------------------------------ posting
    async def _post(
        self,
        text: str,
        chat: int,
        thread_id: int | None,
        *,
        item: OutboxItem,
        markup: InlineKeyboardMarkup | None = None,
        ticket_id: int | None = None,
        reply_to: int | None = None,
        reserved: Poster | None = None,
    ) -> int:
        """Post `text` (HTML) in parts, each reserved, sent and checkpointed (a retry skips
        the parts already posted); returns the last part's message id."""
        parts = split_text(text, markup=True) or ["…"]
        for index in range(int(item.progress.get("parts", 0)), len(parts)):
            last = index == len(parts) - 1
            poster = reserved or await self.pool.reserve(chat)
            reserved = None
            try:
                message = await poster.bot.send_message(
                    chat,
                    parts[index],
                    message_thread_id=thread_id,
                    parse_mode="HTML",
                    reply_markup=markup if last else None,
                    reply_to_message_id=reply_to if index == 0 else None,
                    allow_sending_without_reply=True,
                )
            except TelegramBadRequest as exc:
                if not is_thread_missing(exc) or ticket_id is None:
                    raise
                # The topic was deleted: forget it, so the next try makes a new one.
                view = await self.core.desk.view(ticket_id, transcript_limit=0)
                name = cards.topic_name(self.core.kb, view)
                await self._new_topic(view.conversation.id, chat, name)
                if item.progress.pop("thread", None) is not None:
                    await self._done(item)  # the retry looks the new topic up
                raise RetryLater(0.0, "topic was deleted", count_attempt=False) from exc
            await self._done(item, parts=index + 1, posted=message.message_id)
            if ticket_id is not None:
                await self.core.storage.threads.remember_post(
                    str(chat), str(message.message_id), ticket_id
                )
        return int(item.progress.get("posted", 0))

    async def _react(self, ack: Ack, emoji: str) -> None:
        try:
            await self.bot.set_message_reaction(
                ack.chat_id, ack.message_id, [ReactionTypeEmoji(emoji=emoji)]
            )
        except TelegramAPIError as exc:
            log.info("delivery mark not set: %s", exc)

    def _now(self) -> float:
        return self.core.clock.now()


class _NoCase(Exception):
    """The item's case is gone (nothing to post)."""


def _next_batch(pending: list[LoggedMessage]) -> list[LoggedMessage]:
    """A run of text-only messages (one post), or one message with files."""
    if pending[0].attachments:
        return pending[:1]
    batch = []
    for message in pending:
        if message.attachments:
            break
        batch.append(message)
    return batch


def _topic_link(chat: int, thread_id: int | None) -> str | None:
    """A link to a topic of a supergroup (operators tap it from General)."""
    text = str(chat)
    if thread_id is None or not text.startswith("-100"):
        return None
    return f"https://t.me/c/{text[4:]}/{thread_id}"
