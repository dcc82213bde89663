"""A turn is one unit of work, on SQLite and on PostgreSQL: concurrency is tested, not
assumed. Two cores on one database stand for two processes (two connections, two
worker ids), as replicas would be."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from conftest import Customer, db_rows

from core.desk.roles import Operator
from core.orders import OrderService
from core.storage import Storage
from core.types import TELEGRAM, Inbound

OLGA = Operator("op-olga", "Ольга")
ORDER = "12345678-0001"


def message(user: str, text: str, number: int) -> Inbound:
    return Inbound(TELEGRAM, user, text=text, name="Анна", external_id=f"tg:{user}:{number}")


async def test_the_same_update_twice_at_once_is_applied_once(make_core, settings):
    first, second = await make_core(), await make_core()
    update = message("501", "где мой заказ", 1)
    answers = await asyncio.gather(first.engine.handle(update), second.engine.handle(update))
    assert sorted(len(a) for a in answers) == [0, 1]  # one answer, the repeat nothing
    rows = db_rows(settings, "SELECT text FROM messages WHERE direction = 'in'")
    assert [r["text"] for r in rows] == ["где мой заказ"]


async def test_two_updates_of_one_customer_at_once_keep_both_and_the_state(make_core, settings):
    first, second = await make_core(), await make_core()
    await first.engine.handle(message("502", "где мой заказ", 1))
    # The number and a new question arrive at two processes at the same moment.
    await asyncio.gather(
        first.engine.handle(message("502", ORDER, 2)),
        second.engine.handle(message("502", "спасибо", 3)),
    )
    rows = db_rows(settings, "SELECT text FROM messages WHERE direction = 'in' ORDER BY id")
    assert sorted(r["text"] for r in rows) == sorted(["где мой заказ", ORDER, "спасибо"])
    conv = await Customer(first, user_id="502").conversation()
    assert conv.slots.order == ORDER  # nobody's write was lost
    assert conv.version >= 3


async def test_asking_for_a_person_twice_at_once_opens_one_case_and_drops_nothing(
    make_core, settings
):
    first, second = await make_core(), await make_core()
    await asyncio.gather(
        first.engine.handle(message("503", "позовите оператора", 1)),
        second.engine.handle(message("503", "очень срочно, нужен человек", 2)),
    )
    tickets = db_rows(settings, "SELECT id FROM tickets")
    assert len(tickets) == 1
    logged = db_rows(settings, "SELECT text, ticket_id FROM messages WHERE direction = 'in'")
    assert sorted(r["text"] for r in logged) == [
        "очень срочно, нужен человек",
        "позовите оператора",
    ]
    assert all(r["ticket_id"] == tickets[0]["id"] for r in logged)


class SlowOrders:
    """An order service that answers when told to: a turn waits on it mid-decision."""

    def __init__(self, inner: OrderService) -> None:
        self.inner = inner
        self.asked = asyncio.Event()
        self.go = asyncio.Event()
        self.lookups = 0

    async def get(self, number: str) -> Any:
        self.lookups += 1
        self.asked.set()
        await self.go.wait()
        return await self.inner.get(number)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


async def test_an_operator_action_during_a_turn_is_never_overwritten(make_core, settings):
    core = await make_core()
    customer = Customer(core, user_id="504")
    await customer.say("позовите оператора")
    ticket = await customer.open_ticket()
    await core.desk.close(ticket.id, OLGA)  # the case is over; the customer asks again
    slow = SlowOrders(core.dialog.orders)
    core.dialog.orders = slow
    turn = asyncio.create_task(customer.say(f"где мой заказ {ORDER}"))
    await asyncio.wait_for(slow.asked.wait(), 10)
    await core.desk.mark_vip(ticket.id, OLGA)  # while the turn waits for the order API
    slow.go.set()
    replies = await asyncio.wait_for(turn, 10)
    assert ORDER in replies[-1].text
    conv = await customer.conversation()
    assert conv.vip is True  # the turn was decided again on the fresh conversation
    assert conv.slots.order == ORDER
    assert slow.lookups == 2 and core.engine.conflicts == 1


async def test_replicas_starting_together_on_an_empty_database_all_start(
    database_url: str, tmp_path: Path
):
    if database_url.startswith("postgresql"):
        # The shared test database is migrated already: use an empty one of its own.
        import uuid

        import asyncpg
        from conftest import pg_database_url

        server = database_url.rsplit("/", 1)[0] + "/postgres"
        name = f"empty_{uuid.uuid4().hex[:8]}"
        admin = await asyncpg.connect(server)
        await admin.execute(f"CREATE DATABASE {name}")
        await admin.close()
        database_url = pg_database_url(server, name)
    else:
        database_url = f"sqlite:///{tmp_path}/empty.db"
    opened = await asyncio.gather(*(Storage.open(database_url) for _ in range(3)))
    try:
        versions = await opened[0].db.fetchall("SELECT version FROM schema_version")
        assert len(versions) == len({row["version"] for row in versions}) >= 3
    finally:
        for storage in opened:
            await storage.close()


async def test_the_group_budget_holds_for_every_process_together(make_core, clock):
    first, second = await make_core(), await make_core()

    async def reserve(core) -> float:
        async with core.storage.transaction() as tx:
            return await tx.budget.reserve("telegram-group:-100", 1, 20, 60.0, clock.now())

    waits = await asyncio.gather(*(reserve(core) for core in [first, second] * 15))
    assert sum(1 for wait in waits if wait == 0) == 20  # 30 asked at once, 20 granted
    assert all(0 < wait <= 60 for wait in waits if wait)
    clock.advance(61)
    assert await reserve(first) == 0  # the window moved on


async def test_a_turn_keeps_what_a_nameless_update_does_not_say_and_marks_the_bots_replies(
    make_core, settings
):
    """A later update without the customer's name or profile (a button press, a channel
    that sends neither) keeps what was saved; every answer the engine queues is the
    bot's own (the console shows it so, and operators' replies are told apart by it)."""
    core = await make_core()
    first = Inbound(
        TELEGRAM, "509", text="привет", name="Анна", profile_url="https://t.me/anna_k",
        external_id="tg:509:1",
    )  # fmt: skip
    await core.engine.handle(first)
    await core.engine.handle(Inbound(TELEGRAM, "509", text="где мой заказ", external_id="tg:509:2"))
    conv = await Customer(core, user_id="509").conversation()
    assert (conv.name, conv.profile_url) == ("Анна", "https://t.me/anna_k")
    rows = db_rows(settings, "SELECT payload FROM outbox WHERE recipient = '509'")
    payloads = [
        json.loads(r["payload"]) if isinstance(r["payload"], str) else r["payload"] for r in rows
    ]
    assert len(payloads) >= 2
    assert all(payload.get("from") == "bot" for payload in payloads), payloads
