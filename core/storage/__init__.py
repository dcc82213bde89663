"""Persistence: one `Storage` facade over repositories split by aggregate.

Only this package knows a database driver. `Storage.open(url)` connects (SQLite file by
default, PostgreSQL through the same SQL) and migrates; `storage.transaction()` gives a
`Storage` whose repositories all write in one transaction; `storage.reader()` one for
long reads.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from core.storage.budget import BudgetRepo
from core.storage.claims import ClaimRepo
from core.storage.conversations import Conversation, ConversationRepo, TurnState
from core.storage.database import Database, Executor, open_database
from core.storage.desk import DeskRepo
from core.storage.errors import Conflict, DuplicateUpdate
from core.storage.inbox import InboxRepo
from core.storage.learning import LabelRepo
from core.storage.messages import LoggedMessage, MessageRepo
from core.storage.migrations import migrate
from core.storage.models import ModelRepo
from core.storage.outbox import OutboxItem, OutboxRepo
from core.storage.promo import PromoRepo
from core.storage.threads import ThreadRef, ThreadRepo
from core.storage.tickets import Ticket, TicketRepo
from core.storage.workers import WorkerRepo

__all__ = [
    "Conflict",
    "Conversation",
    "DuplicateUpdate",
    "LoggedMessage",
    "OutboxItem",
    "Storage",
    "ThreadRef",
    "Ticket",
    "TurnState",
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
        self.claims = ClaimRepo(self._ex)
        self.inbox = InboxRepo(self._ex)
        self.workers = WorkerRepo(self._ex)
        self.budget = BudgetRepo(self._ex)
        self.models = ModelRepo(self._ex)
        self.desk = DeskRepo(self._ex)

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

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[Storage]:
        """Repositories for long read-only work (reports, `/stats`), off the event loop."""
        async with self.db.reader() as ex:
            yield Storage(self.db, ex)

    async def close(self) -> None:
        await self.db.close()
