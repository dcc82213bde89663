"""The same storage code on PostgreSQL: migrations, the engine's flows, concurrent claims.

Runs against the session's throw-away local server (`pg_server` in conftest.py): skipped,
with the reason shown, on a machine without PostgreSQL — and failed instead with
SUPPORTBOT_REQUIRE_POSTGRES=1 (CI).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from core.app import build_core
from core.desk.roles import Operator
from core.events import CustomerReply
from core.runtime.delivery import Delivery
from core.storage import Storage
from core.storage.migrations import migration_files
from core.types import TELEGRAM, Inbound, Reply
from tests.conftest import Collector, make_settings


@pytest.fixture
async def pg_url(pg_server: str) -> AsyncIterator[str]:
    """A fresh database on the server for each test."""
    import asyncpg

    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(pg_server)
    await admin.execute(f"CREATE DATABASE {name}")
    await admin.close()
    yield pg_server.rsplit("/", 1)[0] + f"/{name}"
    admin = await asyncpg.connect(pg_server)
    await admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
    await admin.close()


async def test_migrations_and_schema_version(pg_url):
    storage = await Storage.open(pg_url)
    try:
        assert storage.dialect == "postgresql"
        versions = await storage.db.fetchall("SELECT version FROM schema_version ORDER BY 1")
        assert [row["version"] for row in versions] == [v for v, _, _ in migration_files()]
    finally:
        await storage.close()
    again = await Storage.open(pg_url)  # a second start applies nothing twice
    await again.close()


async def test_engine_flow_on_postgres(pg_url, tmp_path, classifier, clock):
    settings = make_settings(tmp_path, database_url=pg_url)
    core = await build_core(settings, classifier=classifier, clock=clock)
    sent = Collector()
    core.delivery.register(TELEGRAM, sent)
    customer = Inbound(TELEGRAM, "42", text="где мой заказ", name="Олег", external_id="tg:42:1")
    try:
        asked = await core.engine.handle(customer)
        assert "номер" in asked[0].text
        # The same update again is refused by the unique key: no second answer.
        assert await core.engine.handle(customer) == []
        answer = await core.engine.handle(
            Inbound(TELEGRAM, "42", text="12345678-0001", name="Олег", external_id="tg:42:2")
        )
        assert "12345678-0001" in answer[0].text
        await core.engine.handle(Inbound(TELEGRAM, "42", text="позовите оператора"))
        ticket = await core.storage.tickets.open_for(
            (await core.storage.conversations.find(customer.customer)).id
        )
        assert ticket is not None and ticket.order_number == "12345678-0001"
        # The database itself refuses a second open ticket for the customer.
        with pytest.raises(Exception) as refused:
            await core.storage.tickets.create(
                conversation_id=ticket.conversation_id,
                customer=customer.customer,
                now=clock.now(),
                intent="operator",
                order_number=None,
                reason="asked",
                summary="",
                priority=0,
                vip=False,
            )
        assert type(refused.value).__name__ == "UniqueViolationError"
        await core.desk.reply(ticket.id, Operator("7", "Анна"), "Здравствуйте, проверяю")
        await core.delivery.run_once()
        assert sent.texts()[0] == asked[0].text  # the bot's answers, then the operator's
        assert sent.texts()[-1] == "Здравствуйте, проверяю"
        assert sent.texts().count("Здравствуйте, проверяю") == 1
    finally:
        await core.close()
    # A restart on the same database: the open ticket and the conversation are there.
    restarted = await build_core(settings, classifier=classifier, clock=clock)
    try:
        conv = await restarted.storage.conversations.find(customer.customer)
        assert conv.slots.order == "12345678-0001"
        assert (await restarted.storage.tickets.open_for(conv.id)).id == ticket.id
    finally:
        await restarted.close()


async def test_two_replicas_never_claim_the_same_item(pg_url, clock, kb):
    first, second = await Storage.open(pg_url), await Storage.open(pg_url)
    try:
        for n in range(40):
            await first.outbox.add(
                "telegram", str(n % 10), CustomerReply(Reply(str(n))), clock.now()
            )
        got: list[list[int]] = [[], []]

        async def worker(storage: Storage, into: list[int]) -> None:
            delivery = Delivery(storage, clock, kb.desk, batch=5)
            collector = Collector()
            delivery.register("telegram", collector)
            for _ in range(20):
                await delivery.run_once()
            into.extend(int(item.event.reply.text) for item in collector.items)

        await asyncio.gather(worker(first, got[0]), worker(second, got[1]))
        delivered = got[0] + got[1]
        assert sorted(delivered) == list(range(40))  # every item once, none twice
    finally:
        await first.close()
        await second.close()
