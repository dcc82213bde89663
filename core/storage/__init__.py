"""Persistence: one `Storage` facade over repositories split by aggregate.

Only this package knows a database driver. `Storage.open(url)` connects (SQLite file by
default, PostgreSQL through the same SQL) and migrates; `storage.transaction()` gives a
`Storage` whose repositories all write in one transaction.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from core.storage.conversations import Conversation, ConversationRepo
from core.storage.copies import ReplyCopyRepo
from core.storage.database import Database, Executor, open_database
from core.storage.learning import LabelRepo
from core.storage.messages import LoggedMessage, MessageRepo
from core.storage.migrations import migrate
from core.storage.outbox import OutboxItem, OutboxRepo
from core.storage.outcomes import OutcomeRepo
from core.storage.promo import PromoRepo
from core.storage.threads import ThreadRef, ThreadRepo
from core.storage.ticket_events import TicketEventRepo
from core.storage.tickets import Ticket, TicketRepo

__all__ = [
    "Conversation",
    "LoggedMessage",
    "OutboxItem",
    "Storage",
    "ThreadRef",
    "Ticket",
]


class Storage:
    def __init__(self, db: Database, ex: Executor | None = None) -> None:
        self.db = db
        self._ex: Executor = ex if ex is not None else db
        self._in_transaction = ex is not None
        self.conversations = ConversationRepo(self._ex)
        self.tickets = TicketRepo(self._ex)
        self.messages = MessageRepo(self._ex)
        self.outbox = OutboxRepo(self._ex)
        self.threads = ThreadRepo(self._ex)
        self.labels = LabelRepo(self._ex)
        self.promo = PromoRepo(self._ex)
        self.outcomes = OutcomeRepo(self._ex)  # bot outcomes, self-service actions
        self.reply_copies = ReplyCopyRepo(self._ex)  # relaying operators' edits
        self.ticket_events = TicketEventRepo(self._ex)  # reopenings

    @classmethod
    async def open(cls, url: str) -> Storage:
        db = await open_database(url)
        await migrate(db)
        return cls(db)

    @property
    def dialect(self) -> str:
        return self.db.dialect

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Storage]:
        if self._in_transaction:
            yield self
            return
        async with self.db.transaction() as tx:
            yield Storage(self.db, tx)

    async def close(self) -> None:
        await self.db.close()
