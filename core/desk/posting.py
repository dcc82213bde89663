"""What the operators' side remembers about a case's posts: a small service the operators'
senders call instead of writing to the database themselves.

- a card: posted once per case; it shows the dialog that led to the case and the customer
  messages written before it could be posted; remembering the card and marking those
  messages shown is one transaction, so they are never posted again on their own;
- later customer messages are posted from the message log in batches — a run of text-only
  messages as one post, or one message with its files — each batch marked shown once
  posted;
- every post is remembered with its case (operators answer by replying to it in a group
  without topics), and a forum topic is saved the moment it is created.

Nothing here knows a messenger: chats, topics and posts are the messenger's ids as text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from core.clock import Clock
from core.storage import LoggedMessage, Storage, Ticket
from core.storage.messages import IN
from core.types import Attachment


@dataclass(frozen=True)
class CardContent:
    """What a case's card shows: `context` (the dialog that led to the case), `burst`
    (customer messages since, up to the first with files) and `shown`, the customer
    messages among them, marked shown once the card is posted."""

    context: list[LoggedMessage]
    burst: list[LoggedMessage]
    shown: list[int]


class DeskPosting:
    def __init__(self, storage: Storage, clock: Clock) -> None:
        self.storage = storage
        self.clock = clock

    async def case(self, ticket_id: int) -> Ticket | None:
        return await self.storage.tickets.get(ticket_id)

    # ------------------------------------------------------------------ cards
    async def card_content(
        self, ticket_id: int, transcript: Sequence[LoggedMessage], upto: int
    ) -> CardContent:
        """The card of a case whose announcement showed the dialog up to message `upto`."""
        context = [m for m in transcript if m.id <= upto]
        already = await self.storage.desk.shown_ids(ticket_id)
        burst: list[LoggedMessage] = []
        for message in transcript:
            if message.id <= upto or message.direction != IN or message.id in already:
                continue
            if message.attachments:
                break
            burst.append(message)
        shown = [m.id for m in context if m.direction == IN] + [m.id for m in burst]
        return CardContent(context, burst, shown)

    async def card_posted(
        self, ticket_id: int, chat: str, message_id: str, shown: list[int] | None
    ) -> None:
        """The card is in the group: remember it and mark what it shows, in one
        transaction. `shown` is None for an announcement from before cards tracked what
        they show (its customer messages are posted the old way)."""
        if shown is None:
            return
        now = self.clock.now()
        async with self.storage.transaction() as tx:
            await tx.desk.remember_card(ticket_id, chat, message_id, now)
            await tx.desk.mark_shown(ticket_id, shown, now)

    async def has_card(self, ticket_id: int) -> bool:
        return await self.storage.desk.has_card(ticket_id)

    # ------------------------------------------------------------------ customer messages
    async def unshown(self, ticket_id: int) -> list[LoggedMessage]:
        """The case's customer messages not shown to operators yet, oldest first."""
        return await self.storage.desk.unshown(ticket_id)

    async def messages(self, ticket_id: int, ids: Sequence[int]) -> list[LoggedMessage]:
        """Messages of the case by id, oldest first."""
        return await self.storage.desk.messages(ticket_id, list(ids))

    async def shown(self, ticket_id: int, ids: list[int]) -> None:
        """A batch of customer messages is posted."""
        async with self.storage.transaction() as tx:
            await tx.desk.mark_shown(ticket_id, ids, self.clock.now())

    # ------------------------------------------------------------------ topics and posts
    async def topic(self, conversation_id: int, chat: str) -> str | None:
        """The customer's topic in group `chat`, if they have one."""
        thread = await self.storage.threads.for_conversation(conversation_id, chat)
        return thread.thread_id if thread is not None else None

    async def topic_created(self, conversation_id: int, chat: str, thread_id: str) -> None:
        """Recorded at once: a crash after this cannot make a second topic."""
        await self.storage.threads.save(conversation_id, chat, thread_id, self.clock.now())

    async def conversation_in_topic(self, chat: str, thread_id: str) -> int | None:
        """Whose topic this is: the customer's conversation."""
        thread = await self.storage.threads.by_thread(chat, thread_id)
        return thread.conversation_id if thread is not None else None

    async def case_of_post(self, chat: str, message_id: str) -> int | None:
        """The case a post of the group belongs to (a card, a customer's message…)."""
        return await self.storage.threads.ticket_of_post(chat, message_id)

    async def post_sent(self, chat: str, message_id: str, ticket_id: int) -> None:
        """A post of the case: a reply to it in the group is about this case."""
        await self.storage.threads.remember_post(chat, message_id, ticket_id)


def files_before(
    transcript: Sequence[LoggedMessage], upto: int | None, limit: int
) -> list[Attachment]:
    """The files the customer sent up to message `upto` (all, when None): they follow the
    card."""
    return [
        attachment
        for message in transcript
        if message.direction == IN and (upto is None or message.id <= upto)
        for attachment in message.attachments
    ][:limit]


def next_batch(
    pending: Sequence[LoggedMessage], fits: Callable[[list[LoggedMessage]], bool]
) -> list[LoggedMessage]:
    """The next batch to post: one message with files; else the run of text-only messages
    that still `fits` in one post (at least one message, however long: it is posted in
    parts)."""
    if not pending:
        return []
    batch = [pending[0]]
    if pending[0].attachments:
        return batch
    for message in pending[1:]:
        if message.attachments or not fits([*batch, message]):
            break
        batch.append(message)
    return batch
