"""Storage on a real SQLite file: state survives a restart, duplicates are handled once,
the schema migrates once, transactions are all or nothing."""

from __future__ import annotations

import asyncio
import time

import pytest
from conftest import Customer, db_rows, outbox_items

from core.conversation.state import Slots
from core.desk.roles import Operator
from core.events import CustomerReply
from core.storage import Storage
from core.storage.database import is_unique_violation, open_database, to_numbered_placeholders
from core.storage.migrations import migrate, migration_files
from core.storage.outbox import OutboxItem
from core.types import TELEGRAM, VK, CustomerRef, Inbound, Reply

OLGA = Operator("op-olga", "Ольга")


# ---------------------------------------------------------------------------- restarts
async def test_mid_dialog_restart_continues_the_flow(make_core):
    first = await make_core()
    asked = await Customer(first).say("подскажите когда приедет моя посылка")
    assert asked[0].text == first.kb.texts.get("ask_order.order_status")
    await first.close()

    second = await make_core()
    customer = Customer(second)
    assert (await customer.conversation()).step == "await_order"
    replies = await customer.say("12345678-0001")
    assert "В пути: передан в службу доставки" in replies[0].text
    assert "3 января 2026" in replies[0].text


async def test_complaint_collection_survives_restart(make_core):
    first = await make_core()
    await Customer(first).say("курьер нахамил мне по телефону")
    await Customer(first).say("12345678-0001")
    await first.close()

    second = await make_core()
    customer = Customer(second)
    conv = await customer.conversation()
    assert conv.step == "await_description"
    assert conv.slots.complaint == "courier_complaint"
    await customer.say("опоздал на три часа и грубил")
    ticket = await customer.open_ticket()
    assert ticket.intent == "courier_complaint"
    assert ticket.order_number == "12345678-0001"


async def test_open_ticket_and_slots_persist(make_core):
    first = await make_core()
    customer = Customer(first)
    await customer.say("где мой заказ 12345678-0002")
    await customer.say("позовите оператора")
    ticket = await customer.open_ticket()
    await first.close()

    second = await make_core()
    customer = Customer(second)
    assert (await customer.open_ticket()).id == ticket.id
    assert (await customer.conversation()).slots.order == "12345678-0002"
    assert [t.id for t in await second.desk.queue()] == [ticket.id]
    # Still silent and forwarding after the restart.
    assert await customer.say("я ещё тут") == []
    assert (await outbox_items(second))[-1]["kind"] == "customer_message"
    await second.desk.reply(ticket.id, OLGA, "Здравствуйте!")
    assert (await second.storage.tickets.get(ticket.id)).first_response_at is not None


async def test_misunderstanding_count_persists(make_core):
    first = await make_core()
    await Customer(first).say("ываываыв")
    await first.close()
    second = await make_core()
    customer = Customer(second)
    assert (await customer.conversation()).misunderstandings == 1
    await customer.say("ккккк ааа")
    assert (await customer.open_ticket()).reason == "misunderstood"


# ---------------------------------------------------------------------------- idempotency
async def test_same_update_twice_is_handled_once(core, settings):
    inbound = Inbound(TELEGRAM, "1001", text="мне не пришли баллы за отзыв", external_id="tg:1:77")
    first = await core.engine.handle(inbound)
    assert first and first[0].text == core.kb.answer("bonuses").text
    assert await core.engine.handle(inbound) == []
    rows = db_rows(settings, "SELECT * FROM messages WHERE external_id = ?", ("tg:1:77",))
    assert len(rows) == 1
    incoming = db_rows(settings, "SELECT * FROM messages WHERE direction = 'in'")
    assert len(incoming) == 1


async def test_same_update_concurrently_is_handled_once(core, settings):
    inbound = Inbound(TELEGRAM, "1001", text="позовите оператора", external_id="tg:1:78")
    results = await asyncio.gather(*(core.engine.handle(inbound) for _ in range(5)))
    assert sorted(len(r) > 0 for r in results) == [False] * 4 + [True]
    assert len(db_rows(settings, "SELECT * FROM tickets")) == 1
    assert len(db_rows(settings, "SELECT * FROM messages WHERE direction = 'in'")) == 1


async def test_same_external_id_different_text_still_once(core):
    await core.engine.handle(Inbound(VK, "5", text="привет", external_id="vk:5:1"))
    again = await core.engine.handle(Inbound(VK, "5", text="другое", external_id="vk:5:1"))
    assert again == []


async def test_updates_without_external_id_are_all_handled(core, settings):
    for _ in range(2):
        assert await core.engine.handle(Inbound(TELEGRAM, "1", text="мне не пришли баллы"))
    assert len(db_rows(settings, "SELECT * FROM messages WHERE direction = 'in'")) == 2


async def test_concurrent_customers_do_not_mix(core):
    async def dialog(n: int) -> str:
        customer = Customer(core, user_id=str(n))
        await customer.say("где мой заказ")
        replies = await customer.say("12345678-0001" if n % 2 else "87654321-0010")
        return replies[0].text

    texts = await asyncio.gather(*(dialog(n) for n in range(20)))
    for n, text in enumerate(texts):
        assert ("В пути" in text) == bool(n % 2)
        assert ("Ожидает оплаты" in text) == (not n % 2)


# ---------------------------------------------------------------------------- schema
async def test_migrations_apply_once(tmp_path):
    url = f"sqlite:///{tmp_path}/m.db"
    storage = await Storage.open(url)
    await storage.close()
    db = await open_database(url)
    try:
        version = await migrate(db)
        assert version == max(v for v, _, _ in migration_files())
        rows = await db.fetchall("SELECT version FROM schema_version")
        assert len(rows) == len(migration_files())
    finally:
        await db.close()


async def test_unsupported_database_url(tmp_path):
    with pytest.raises(ValueError, match="unsupported"):
        await open_database("mysql://localhost/db")


def test_numbered_placeholders():
    assert to_numbered_placeholders("a = ? AND b IN (?, ?)") == "a = $1 AND b IN ($2, $3)"


async def test_transaction_rolls_back_on_error(core):
    conv = await core.storage.conversations.get_or_create(CustomerRef(TELEGRAM, "9"), 1.0)
    with pytest.raises(RuntimeError):
        async with core.storage.transaction() as tx:
            await tx.outbox.add("telegram", "9", CustomerReply(Reply("x")), 1.0)
            conv.step = "await_order"
            await tx.conversations.save(conv, 2.0)
            raise RuntimeError("boom")
    assert await outbox_items(core) == []
    assert (await core.storage.conversations.get(conv.id)).step == "idle"


async def test_nested_transaction_is_the_same(core):
    async with core.storage.transaction() as tx:
        async with tx.transaction() as inner:
            assert inner is tx


async def test_unique_violation_detected(core):
    customer = CustomerRef(TELEGRAM, "1")
    conv = await core.storage.conversations.get_or_create(customer, 1.0)
    await core.storage.messages.add(conv.id, "in", "a", 1.0, external_id="x")
    with pytest.raises(Exception) as error:
        await core.storage.messages.add(conv.id, "in", "b", 1.0, external_id="x")
    assert is_unique_violation(error.value)
    assert not is_unique_violation(ValueError("UNIQUE"))


async def test_conversation_repo(core):
    ref = CustomerRef(VK, "77")
    conv = await core.storage.conversations.get_or_create(ref, 10.0, "Пётр", "https://vk.com/id77")
    same = await core.storage.conversations.get_or_create(ref, 20.0)
    assert same.id == conv.id and same.name == "Пётр"
    # A conversation's version guards it: a stale copy cannot be written over a newer one.
    assert await core.storage.conversations.claim_version(same)
    assert not await core.storage.conversations.claim_version(conv)
    conv = await core.storage.conversations.find(ref)
    conv.slots = Slots.from_json(
        {"order": "12345678-0001", "files": [{"kind": "photo"}], "текст": "ёж"}
    )
    conv.vip = True
    await core.storage.conversations.save(conv, 40.0)
    loaded = await core.storage.conversations.find(ref)
    assert loaded.slots == conv.slots and loaded.vip is True and loaded.updated_at == 40.0
    other = await core.storage.conversations.get_or_create(CustomerRef(TELEGRAM, "77"), 1.0)
    assert other.id != conv.id
    assert await core.storage.conversations.count() == 2


def numbered(n: int) -> CustomerReply:
    return CustomerReply(Reply(str(n)))


def number(item: OutboxItem) -> int:
    event = item.event
    assert isinstance(event, CustomerReply)
    return int(event.reply.text)


async def test_outbox_claims_keep_each_recipients_order(core):
    outbox, me, wall = core.storage.outbox, core.worker_id, time.time()
    await outbox.add("telegram", "a", numbered(1), 100.0)
    await outbox.add("telegram", "a", numbered(2), 100.0)
    await outbox.add("telegram", "b", numbered(3), 100.0)
    due = await outbox.recipients_due(100.0, wall, me, 10, ("telegram",))
    assert due == [("telegram", "a"), ("telegram", "b")]
    first = await outbox.claim_recipient("telegram", "a", me, 100.0, wall, 10)
    assert [number(i) for i in first] == [1, 2]
    assert await outbox.recipients_due(100.0, wall, me, 10, ("telegram",)) == [("telegram", "b")]
    # Another live worker cannot take a's items, nor a later item of a.
    await core.storage.workers.register("other", wall)
    await outbox.add("telegram", "a", numbered(4), 100.0)
    assert await outbox.claim_recipient("telegram", "a", "other", 100.0, wall, 10) == []
    # The first waits for a retry: nothing after it goes, not even another worker's.
    await outbox.retry_later(first[0].id, 200.0, "wait")
    await outbox.release([first[1].id])
    assert await outbox.claim_recipient("telegram", "a", "other", 110.0, wall, 10) == []
    again = await outbox.claim_recipient("telegram", "a", "other", 200.0, wall, 10)
    assert [number(i) for i in again] == [1, 2, 4]
    assert await outbox.recipients_due(110.0, wall, me, 10, ("vk",)) == []
    assert await outbox.recipients_due(110.0, wall, me, 10, ()) == []


async def test_ticket_update_refuses_unknown_fields(core):
    customer = Customer(core)
    await customer.say("позовите оператора")
    ticket = await customer.open_ticket()
    with pytest.raises(ValueError, match="unknown ticket fields"):
        await core.storage.tickets.update(ticket.id, status="closed", evil="1; DROP TABLE")
    assert (await core.storage.tickets.get(ticket.id)).status == "waiting"


async def test_awaiting_customer(core, clock):
    customer = Customer(core)
    await customer.say("позовите оператора")
    ticket = await customer.open_ticket()
    clock.advance(60)
    await core.desk.reply(ticket.id, OLGA, "Вы тут?")
    assert await core.storage.tickets.awaiting_customer(clock.now()) == []
    clock.advance(3600)
    waiting = await core.storage.tickets.awaiting_customer(clock.now() - 1800)
    assert [t.id for t in waiting] == [ticket.id]
    await customer.say("да, тут")
    assert await core.storage.tickets.awaiting_customer(clock.now()) == []


async def test_threads_repo(core):
    conv = await core.storage.conversations.get_or_create(CustomerRef(TELEGRAM, "3"), 1.0)
    threads = core.storage.threads
    assert await threads.for_conversation(conv.id) is None
    await threads.save(conv.id, "-100", "11", 1.0)
    await threads.save(conv.id, "-100", "12", 2.0)
    ref = await threads.for_conversation(conv.id)
    assert (ref.chat_id, ref.thread_id) == ("-100", "12")
    assert (await threads.by_thread("-100", "12")).conversation_id == conv.id
    assert await threads.by_thread("-100", "11") is None


@pytest.mark.sqlite_only
async def test_database_file_is_where_settings_say(core, settings, tmp_path):
    await Customer(core).say("привет")
    assert (tmp_path / "support.db").exists()
    assert db_rows(settings, "SELECT COUNT(*) AS n FROM conversations")[0]["n"] == 1
