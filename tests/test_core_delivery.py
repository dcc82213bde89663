"""The delivery worker over the persisted outbox: order, retries, dead letters, merging,
and a crash between "operator pressed send" and delivery."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from conftest import Collector, Customer, bot_answers_delivered, outbox_items

from core.desk.roles import Operator
from core.events import (
    Ack,
    ConflictMarked,
    CustomerMessage,
    CustomerReply,
    Delivered,
    Undelivered,
    encode,
)
from core.runtime.delivery import PermanentFailure, RetryLater, merge_customer_messages
from core.storage import OutboxItem
from core.storage.workers import LIVE_FOR
from core.types import OPERATORS, TELEGRAM, VK, Attachment, Reply

OLGA = Operator("op-olga", "Ольга")


async def open_ticket(core, user_id="1001", channel=TELEGRAM):
    customer = Customer(core, user_id=user_id, channel=channel)
    await customer.say("позовите оператора")
    ticket = await customer.open_ticket()
    assert ticket is not None
    await bot_answers_delivered(core)
    return customer, ticket


async def drain(core) -> int:
    total = 0
    while processed := await core.delivery.run_once():
        total += processed
    return total


async def test_items_in_order_per_recipient(core):
    _, first = await open_ticket(core, user_id="1")
    _, second = await open_ticket(core, user_id="2", channel=VK)
    for n in range(1, 4):
        await core.desk.reply(first.id, OLGA, f"первому {n}")
        await core.desk.reply(second.id, OLGA, f"второму {n}")
    telegram, vk = Collector(), Collector()
    core.delivery.register(TELEGRAM, telegram)
    core.delivery.register(VK, vk)
    assert await core.delivery.run_once() == 6
    assert telegram.texts() == ["первому 1", "первому 2", "первому 3"]
    assert vk.texts() == ["второму 1", "второму 2", "второму 3"]
    assert {item.recipient for item in telegram.items} == {"1"}
    assert await core.delivery.run_once() == 0
    assert await core.storage.outbox.counts() == {"pending": 2, "sent": 6}  # operators'


async def test_unregistered_channel_waits(core):
    _, ticket = await open_ticket(core)
    await core.desk.reply(ticket.id, OLGA, "ответ")
    assert await core.delivery.run_once() == 0
    telegram = Collector()
    core.delivery.register(TELEGRAM, telegram)
    assert await core.delivery.run_once() == 1
    assert telegram.texts() == ["ответ"]


async def test_retry_later_keeps_the_item_and_the_order(core, clock):
    _, ticket = await open_ticket(core)
    await core.desk.reply(ticket.id, OLGA, "первый")
    await core.desk.reply(ticket.id, OLGA, "второй")
    flood = {"on": True}
    telegram = Collector(fail=lambda item: RetryLater(30, "429") if flood["on"] else None)
    core.delivery.register(TELEGRAM, telegram)
    await core.delivery.run_once()
    assert telegram.items == []
    assert telegram.calls == 1  # the second waits behind the first
    pending = [o for o in await outbox_items(core, "pending") if o["kind"] == "reply"]
    assert [json.loads(o["payload"])["reply"]["text"] for o in pending] == ["первый", "второй"]
    assert pending[0]["next_attempt_at"] - clock.now() == pytest.approx(30)
    assert pending[0]["last_error"] == "429"
    flood["on"] = False
    # Not due yet: nothing is attempted, not even the second item.
    assert await core.delivery.run_once() == 0
    clock.advance(31)
    await core.delivery.run_once()
    assert telegram.texts() == ["первый", "второй"]
    assert await core.storage.outbox.counts() == {"pending": 1, "sent": 2}


async def test_retry_later_without_counting_an_attempt(core, clock):
    _, ticket = await open_ticket(core)
    await core.desk.reply(ticket.id, OLGA, "ответ")
    telegram = Collector(fail=lambda item: RetryLater(5, count_attempt=False))
    core.delivery.register(TELEGRAM, telegram)
    for _ in range(3):
        await core.delivery.run_once()
        clock.advance(6)
    (item,) = [o for o in await outbox_items(core) if o["kind"] == "reply"]
    assert item["attempts"] == 0 and item["status"] == "pending"
    assert telegram.calls == 3


async def test_permanent_failure_is_dead_noted_and_told(core):
    _, ticket = await open_ticket(core)
    await core.desk.reply(ticket.id, OLGA, "ответ")
    telegram = Collector(fail=lambda item: PermanentFailure("клиент заблокировал бота"))
    operators = Collector()
    core.delivery.register(TELEGRAM, telegram)
    core.delivery.register(OPERATORS, operators)
    await drain(core)
    (reply,) = [o for o in await outbox_items(core) if o["kind"] == "reply"]
    assert reply["status"] == "dead"
    assert reply["last_error"] == "клиент заблокировал бота"
    transcript = await core.storage.messages.for_ticket(ticket.id)
    notes = [m.text for m in transcript if m.direction == "note"]
    assert notes == ["Не доставлено клиенту: клиент заблокировал бота"]
    notices = [item for item in operators.items if item.kind == "notice"]
    assert len(notices) == 1
    assert notices[0].payload["event"] == "undelivered"
    assert notices[0].payload["reason"] == "клиент заблокировал бота"
    assert notices[0].payload["ticket_id"] == ticket.id


async def test_permanent_failure_does_not_block_later_items(core):
    _, ticket = await open_ticket(core)
    await core.desk.reply(ticket.id, OLGA, "первый")
    await core.desk.reply(ticket.id, OLGA, "второй")
    telegram = Collector(
        fail=lambda item: (
            PermanentFailure("нет") if item.payload["reply"]["text"] == "первый" else None
        )
    )
    core.delivery.register(TELEGRAM, telegram)
    await core.delivery.run_once()
    assert telegram.texts() == ["второй"]


@pytest.mark.parametrize("settings_overrides", [{"delivery_max_attempts": 3}])
async def test_generic_error_backs_off_then_dead(core, clock, settings_overrides):
    _, ticket = await open_ticket(core)
    await core.desk.reply(ticket.id, OLGA, "ответ")
    telegram = Collector(fail=lambda item: ConnectionResetError("connection reset"))
    core.delivery.register(TELEGRAM, telegram)

    async def reply_row():
        return next(o for o in await outbox_items(core) if o["kind"] == "reply")

    await core.delivery.run_once()
    row = await reply_row()
    assert row["status"] == "pending" and row["attempts"] == 1
    assert row["next_attempt_at"] - clock.now() == pytest.approx(2)
    clock.advance(1)
    assert await core.delivery.run_once() == 0  # still backing off
    clock.advance(1)
    await core.delivery.run_once()
    row = await reply_row()
    assert row["status"] == "pending" and row["attempts"] == 2
    assert row["next_attempt_at"] - clock.now() == pytest.approx(4)
    clock.advance(4)
    await core.delivery.run_once()
    row = await reply_row()
    assert row["status"] == "dead"
    assert "ConnectionResetError" in row["last_error"]
    assert telegram.calls == 3
    notes = [
        m.text for m in await core.storage.messages.for_ticket(ticket.id) if m.direction == "note"
    ]
    assert len(notes) == 1 and "connection reset" in notes[0]
    clock.advance(1000)
    await core.delivery.run_once()
    assert telegram.calls == 3


async def test_backoff_is_capped(core, clock):
    _, ticket = await open_ticket(core)
    await core.desk.reply(ticket.id, OLGA, "ответ")
    await core.storage.db.execute("UPDATE outbox SET attempts = 6 WHERE kind = 'reply'")
    core.delivery.register(TELEGRAM, Collector(fail=lambda item: OSError("down")))
    await core.delivery.run_once()
    row = next(o for o in await outbox_items(core) if o["kind"] == "reply")
    assert row["status"] == "pending" and row["attempts"] == 7
    assert row["next_attempt_at"] - clock.now() == pytest.approx(128)


async def test_customer_messages_merged_for_operators(core):
    customer, ticket = await open_ticket(core)
    operators = Collector()
    core.delivery.register(OPERATORS, operators)
    await drain(core)
    assert operators.kinds() == ["ticket_opened"]
    for text in ("первое", "второе", "третье"):
        await customer.say(text)
    await drain(core)
    assert operators.kinds() == ["ticket_opened", "customer_message"]
    merged = operators.items[-1]
    assert merged.payload["text"] == "первое\n\nвторое\n\nтретье"
    assert merged.payload["merged"] == 3
    assert merged.ticket_id == ticket.id
    counts = await core.storage.outbox.counts()
    assert counts == {"sent": 4}


async def test_messages_with_files_are_not_merged(core):
    customer, _ = await open_ticket(core)
    operators = Collector()
    core.delivery.register(OPERATORS, operators)
    await drain(core)
    await customer.say("первое")
    await customer.say("вот фото", attachments=(Attachment("photo", ref="p1", source=TELEGRAM),))
    await customer.say("второе")
    await customer.say("третье")
    await drain(core)
    assert [i.payload.get("text") for i in operators.items[1:]] == [
        "первое",
        "вот фото",
        "второе\n\nтретье",
    ]


async def test_merge_respects_the_size_limit(core):
    customer, _ = await open_ticket(core)
    operators = Collector()
    core.delivery.register(OPERATORS, operators)
    await drain(core)
    long = "а" * 2000
    for _ in range(3):
        await customer.say(long)
    await drain(core)
    sizes = [len(i.payload["text"]) for i in operators.items[1:]]
    assert sum(s // 2000 for s in sizes) == 3
    assert len(sizes) == 3  # 2000 + 2000 > 3500: each goes alone


def test_merge_function_keeps_other_kinds_apart():
    def item(n, event):
        kind, payload = encode(event)
        return OutboxItem(n, OPERATORS, "telegram:1", kind, payload, event.ticket_id, 0, 0.0)

    units = merge_customer_messages(
        [
            item(1, CustomerMessage(1, "a")),
            item(2, CustomerMessage(1, "b")),
            item(3, ConflictMarked(1)),
            item(4, CustomerMessage(1, "c")),
            item(5, CustomerMessage(2, "d")),
        ]
    )
    assert [ids for _, ids in units] == [[1, 2], [3], [4], [5]]
    assert units[0][0].payload["text"] == "a\n\nb"


async def test_retry_of_merged_messages_keeps_them_all(core, clock):
    customer, _ = await open_ticket(core)
    ok = Collector()
    core.delivery.register(OPERATORS, ok)
    await drain(core)
    for text in ("раз", "два"):
        await customer.say(text)
    busy = {"on": True}
    flaky = Collector(fail=lambda item: RetryLater(10) if busy["on"] else None)
    core.delivery.register(OPERATORS, flaky)
    await core.delivery.run_once()
    assert flaky.items == []
    busy["on"] = False
    clock.advance(11)
    await drain(core)
    assert [i.payload["text"] for i in flaky.items] == ["раз\n\nдва"]


async def test_delivery_acknowledged_to_operators(core):
    _, ticket = await open_ticket(core)
    await core.desk.reply(ticket.id, OLGA, "ответ", ack=Ack(-100, 7))
    telegram, operators = Collector(), Collector()
    core.delivery.register(TELEGRAM, telegram)
    core.delivery.register(OPERATORS, operators)
    await drain(core)
    delivered = [i for i in operators.items if i.kind == "notice"]
    assert delivered[0].payload["event"] == "delivered"
    assert delivered[0].event == Delivered(ticket.id, ack=Ack(-100, 7))


async def test_crash_before_delivery_loses_nothing(make_core):
    first = await make_core()
    _, ticket = await open_ticket(first)
    await first.desk.reply(ticket.id, OLGA, "Ваш заказ нашёлся, завтра привезут.")
    await first.close()  # the process dies: nothing was delivered

    second = await make_core()
    telegram = Collector()
    second.delivery.register(TELEGRAM, telegram)
    await drain(second)
    assert telegram.texts() == ["Ваш заказ нашёлся, завтра привезут."]
    await drain(second)
    assert len(telegram.items) == 1
    third = await make_core()
    again = Collector()
    third.delivery.register(TELEGRAM, again)
    await drain(third)
    assert again.items == []


async def test_crash_after_claim_delivers_once_the_owner_is_dead(make_core, clock):
    first = await make_core()
    _, ticket = await open_ticket(first)
    await first.desk.reply(ticket.id, OLGA, "ответ")
    async with first.storage.transaction() as tx:  # claimed, then the process was killed
        claimed = await tx.outbox.claim_recipient(
            TELEGRAM, "1001", first.worker_id, clock.now(), time.time(), 10
        )
    assert len(claimed) == 1

    second = await make_core()
    telegram = Collector()
    second.delivery.register(TELEGRAM, telegram)
    assert await second.delivery.run_once() == 0  # its owner still beats: hands off
    # The killed process's heartbeat goes stale (LIVE_FOR seconds without a beat).
    await second.storage.db.execute(
        "UPDATE workers SET heartbeat = ? WHERE id = ?",
        (time.time() - LIVE_FOR - 1, first.worker_id),
    )
    await drain(second)
    assert telegram.texts() == ["ответ"]


async def test_clean_stop_hands_claims_over_at_once(make_core, clock):
    first = await make_core()
    _, ticket = await open_ticket(first)
    await first.desk.reply(ticket.id, OLGA, "ответ")
    async with first.storage.transaction() as tx:
        await tx.outbox.claim_recipient(
            TELEGRAM, "1001", first.worker_id, clock.now(), time.time(), 10
        )
    await first.close()
    second = await make_core()
    telegram = Collector()
    second.delivery.register(TELEGRAM, telegram)
    await drain(second)
    assert telegram.texts() == ["ответ"]


async def test_run_forever_delivers_and_stops(core):
    _, ticket = await open_ticket(core)
    telegram = Collector()
    core.delivery.register(TELEGRAM, telegram)
    stop = asyncio.Event()
    worker = asyncio.create_task(core.delivery.run_forever(stop, idle=0.05))
    await core.desk.reply(ticket.id, OLGA, "ответ")
    for _ in range(200):
        if telegram.items:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(worker, 2)
    assert telegram.texts() == ["ответ"]


async def test_an_undelivered_reply_names_the_operators_message(core):
    """The notice of a reply that could not be delivered carries the operator's message
    (its ack), so the group marks that very message as not delivered."""
    _, ticket = await open_ticket(core)
    await core.desk.reply(ticket.id, OLGA, "ответ", ack=Ack(-100, 7))
    core.delivery.register(TELEGRAM, Collector(fail=lambda item: PermanentFailure("blocked")))
    operators = Collector()
    core.delivery.register(OPERATORS, operators)
    await drain(core)
    (notice,) = [i for i in operators.items if i.kind == "notice"]
    assert notice.event == Undelivered(ticket.id, reason="blocked", ack=Ack(-100, 7))


@pytest.mark.parametrize("settings_overrides", [{"delivery_max_attempts": 20}])
async def test_backoff_stops_growing_at_five_minutes(core, clock):
    _, ticket = await open_ticket(core)
    await core.desk.reply(ticket.id, OLGA, "ответ")
    await core.storage.db.execute("UPDATE outbox SET attempts = 9 WHERE kind = 'reply'")
    core.delivery.register(TELEGRAM, Collector(fail=lambda item: OSError("down")))
    await core.delivery.run_once()
    row = next(o for o in await outbox_items(core) if o["kind"] == "reply")
    assert row["status"] == "pending" and row["attempts"] == 10
    assert row["next_attempt_at"] - clock.now() == pytest.approx(300)  # not 2 ** 10


async def test_dispatch_sends_only_what_this_process_claimed(core, clock):
    """An item in another process's hands is never sent from here, even when handed to
    `dispatch`: the other process sends it (or it is claimed again once that one dies)."""
    telegram = Collector()
    core.delivery.register(TELEGRAM, telegram)
    outbox, me = core.storage.outbox, core.delivery.worker_id
    theirs = await outbox.add(
        TELEGRAM, "77", CustomerReply(Reply("чужое")), clock.now(), claimed_by="w-other"
    )
    mine = await outbox.add(
        TELEGRAM, "77", CustomerReply(Reply("своё")), clock.now(), claimed_by=me
    )
    core.delivery.dispatch([theirs, mine])  # one recipient: one queue, in this order
    deadline = asyncio.get_running_loop().time() + 60
    while "своё" not in telegram.texts():
        assert asyncio.get_running_loop().time() < deadline, "the own item was never sent"
        await asyncio.sleep(0.01)
    assert telegram.texts() == ["своё"]  # the other process's item, queued first, skipped
