"""The engine's commit (README, Reliability), on SQLite and on PostgreSQL: a reply it
could claim goes out at once from this process, without waiting for the delivery worker's
next scan; one queued behind another item wakes the worker; an engine without delivery
queues its replies for whoever sends them; a turn that opens a case writes the
conversation it leaves; what the bot answers itself stays out of an open case."""

from __future__ import annotations

import asyncio

import pytest
from conftest import Collector, Customer, db_rows

from core.buttons import OPERATOR
from core.conversation.engine import Engine
from core.conversation.state import Step
from core.events import CustomerReply
from core.types import TELEGRAM, Reply


async def until(check, what: str, limit: float = 60) -> None:
    deadline = asyncio.get_running_loop().time() + limit
    while not check():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


async def test_a_reply_the_process_could_claim_goes_out_at_once(core):
    telegram = Collector()
    core.delivery.register(TELEGRAM, telegram)
    replies = await Customer(core, user_id="601").say("где мой заказ")
    assert replies
    await core.delivery.idle()  # no worker runs: only what the commit handed over is sent
    assert telegram.texts() == [reply.text for reply in replies]
    rows = await core.storage.db.fetchall("SELECT status FROM outbox WHERE recipient = '601'")
    assert [row["status"] for row in rows] == ["sent"] * len(replies)


async def test_a_reply_queued_behind_another_item_wakes_the_worker(core):
    telegram = Collector()
    core.delivery.register(TELEGRAM, telegram)
    rounds: list[int] = []
    scan = core.delivery.claim_due

    async def counted() -> int:
        claimed = await scan()
        rounds.append(claimed)
        return claimed

    core.delivery.claim_due = counted  # type: ignore[method-assign]
    stop = asyncio.Event()
    # Its own next scan is an hour away: only a wake-up sends anything in this test.
    worker = asyncio.create_task(core.delivery.run_forever(stop, idle=3600))
    try:
        await until(lambda: rounds == [0], "the worker's first (empty) scan")
        # Something nobody has claimed waits for the customer already (written by
        # another process, which did not wake this one): the reply must queue behind it.
        await core.storage.outbox.add(
            TELEGRAM, "602", CustomerReply(Reply("раньше")), core.clock.now()
        )
        replies = await Customer(core, user_id="602").say("где мой заказ")
        await until(lambda: len(telegram.items) == 1 + len(replies), "the woken worker")
        assert telegram.texts() == ["раньше", *(reply.text for reply in replies)]
    finally:
        stop.set()
        await asyncio.wait_for(worker, 60)


async def test_an_engine_without_delivery_queues_its_replies(core):
    engine = Engine(core.storage, core.engine.dialog, core.engine.escalation, core.clock)
    replies = await engine.handle(Customer(core, user_id="603").inbound("где мой заказ"))
    assert replies
    rows = await core.storage.db.fetchall(
        "SELECT status, claimed_by FROM outbox WHERE recipient = '603'"
    )
    assert [(row["status"], row["claimed_by"]) for row in rows] == [("pending", None)] * len(
        replies
    )


async def test_a_turn_that_opens_a_case_saves_the_conversation_it_left(core):
    """Opening a case changes the conversation after it was claimed (what the dialog was
    waiting for is dropped): that state is written with the case."""
    customer = Customer(core, user_id="604")
    await customer.say("где мой заказ")
    assert (await customer.conversation()).step == Step.AWAIT_ORDER
    version = (await customer.conversation()).version
    await customer.say("позовите оператора")
    assert await customer.open_ticket() is not None
    conv = await customer.conversation()
    assert conv.step == Step.IDLE and conv.slots.pending_intent is None
    assert conv.version > version


async def test_a_press_answered_by_the_bot_stays_out_of_the_open_case(core, settings):
    """With a case open, a press of "operator" is answered with the case's status by the
    bot: neither the press nor the answer joins the case's transcript, while a message
    the customer writes does."""
    customer = Customer(core, user_id="605")
    await customer.say("позовите оператора")
    ticket = await customer.open_ticket()
    assert ticket is not None
    await customer.press(OPERATOR)
    await customer.say("я всё ещё жду")
    rows = db_rows(
        settings,
        "SELECT direction, text, ticket_id FROM messages WHERE conversation_id = ? ORDER BY id",
        ((await customer.conversation()).id,),
    )
    press, status, written = rows[-3:]
    assert (press["direction"], press["ticket_id"]) == ("in", None)
    assert (status["direction"], status["ticket_id"]) == ("out", None)
    assert (written["text"], written["ticket_id"]) == ("я всё ещё жду", ticket.id)


@pytest.mark.postgresql_only
async def test_a_case_opened_meanwhile_makes_the_turn_decide_again(make_core, settings):
    """PostgreSQL: another process opens the customer's case (not yet committed) while a
    turn opens one too; the turn's insert waits on the unique index of open cases and is
    refused once the other commits. The turn is decided again, on the case that is open
    now, instead of failing. (SQLite serialises writers: the turn would see the case.)"""
    import asyncpg

    core, other = await make_core(), await make_core()
    customer = Customer(core, user_id="606")
    await customer.say("здравствуйте")
    conv = await customer.conversation()
    watcher = await asyncpg.connect(settings.database_url)
    try:
        async with other.storage.transaction() as tx:
            opened = await tx.tickets.create(
                conversation_id=conv.id,
                customer=conv.customer,
                now=other.clock.now(),
                intent="human",
                order_number=None,
                reason="operator",
                summary="",
                priority=0,
                vip=False,
            )
            turn = asyncio.create_task(customer.say("позовите оператора"))
            deadline = asyncio.get_running_loop().time() + 60
            while not await watcher.fetchval(  # the turn's insert waits for this one
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO tickets%'"
            ):
                assert not turn.done(), turn
                assert asyncio.get_running_loop().time() < deadline, "the turn never waited"
                await asyncio.sleep(0.01)
        replies = await asyncio.wait_for(turn, 60)
    finally:
        await watcher.close()
    assert replies
    assert core.engine.conflicts == 1  # decided again, once
    tickets = db_rows(settings, "SELECT id FROM tickets")
    assert [row["id"] for row in tickets] == [opened.id]  # no second case
    logged = db_rows(
        settings,
        "SELECT ticket_id FROM messages WHERE direction = 'in' AND text = ?",
        ("позовите оператора",),
    )
    assert [row["ticket_id"] for row in logged] == [opened.id]  # the message joined it
