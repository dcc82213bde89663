"""Persistence: one `Storage` facade over repositories split by aggregate.

Only this package knows a database driver. `Storage.open(url)` connects (SQLite file by
default, PostgreSQL through the same SQL) and migrates; `storage.transaction()` gives a
`Storage` whose repositories all write in one transaction; `storage.reader()` one for
long reads.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cached_property

from core.storage.abuse import AbuseRepo
from core.storage.budget import BudgetRepo
from core.storage.claims import ClaimRepo
from core.storage.conversations import Conversation, ConversationRepo, TurnState
from core.storage.copies import ReplyCopyRepo
from core.storage.database import Database, Executor, open_database
from core.storage.desk import DeskRepo
from core.storage.errors import Conflict, DuplicateUpdate
from core.storage.inbox import InboxRepo
from core.storage.learning import LabelRepo
from core.storage.messages import LoggedMessage, MessageRepo
from core.storage.migrations import migrate
from core.storage.models import ModelRepo
from core.storage.outbox import OutboxItem, OutboxRepo
from core.storage.outcomes import OutcomeRepo
from core.storage.privacy import PrivacyRepo
from core.storage.promo import PromoRepo
from core.storage.threads import ThreadRef, ThreadRepo
from core.storage.ticket_events import TicketEventRepo
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
    """Repositories over one executor: the database itself, a transaction, or a reader.
    Each repository is made when first used (a turn's transaction touches a few)."""

    def __init__(self, db: Database, ex: Executor | None = None) -> None:
        self.db = db
        self._ex: Executor = ex if ex is not None else db
        self._in_transaction = ex is not None

    @cached_property
    def conversations(self) -> ConversationRepo:
        return ConversationRepo(self._ex)

    @cached_property
    def tickets(self) -> TicketRepo:
        return TicketRepo(self._ex)

    @cached_property
    def messages(self) -> MessageRepo:
        return MessageRepo(self._ex)

    @cached_property
    def outbox(self) -> OutboxRepo:
        return OutboxRepo(self._ex)

    @cached_property
    def threads(self) -> ThreadRepo:
        return ThreadRepo(self._ex)

    @cached_property
    def labels(self) -> LabelRepo:
        return LabelRepo(self._ex)

    @cached_property
    def promo(self) -> PromoRepo:
        return PromoRepo(self._ex)

    @cached_property
    def claims(self) -> ClaimRepo:
        return ClaimRepo(self._ex)

    @cached_property
    def inbox(self) -> InboxRepo:
        return InboxRepo(self._ex)

    @cached_property
    def workers(self) -> WorkerRepo:
        return WorkerRepo(self._ex)

    @cached_property
    def budget(self) -> BudgetRepo:
        return BudgetRepo(self._ex)

    @cached_property
    def models(self) -> ModelRepo:
        return ModelRepo(self._ex)

    @cached_property
    def outcomes(self) -> OutcomeRepo:
        """Bot outcomes, self-service actions."""
        return OutcomeRepo(self._ex)

    @cached_property
    def reply_copies(self) -> ReplyCopyRepo:
        """Where operators' replies landed, for edits."""
        return ReplyCopyRepo(self._ex)

    @cached_property
    def ticket_events(self) -> TicketEventRepo:
        """Reopenings."""
        return TicketEventRepo(self._ex)

    @cached_property
    def desk(self) -> DeskRepo:
        """Operators' roles, shifts, SLA alerts and what was shown to them."""
        return DeskRepo(self._ex)

    @cached_property
    def privacy(self) -> PrivacyRepo:
        """Erasing a customer's data, the acts of erasure, their hashes' secret."""
        return PrivacyRepo(self._ex)

    @cached_property
    def abuse(self) -> AbuseRepo:
        """Blocks, linked customers, limits, marks, spam examples (`core.abuse`)."""
        return AbuseRepo(self._ex)

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
