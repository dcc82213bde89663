"""Per-customer limits (issue 17) through the engine, on SQLite and PostgreSQL: past the
message limit a customer is told once when they can write again, everything is stored
and marked, and in an open case it waits for one merged post; past the case limit no
case opens. Counted in the database, so two cores on one database (replicas) share them."""

from __future__ import annotations

import json

import pytest
from conftest import Customer, all_text, bot_answers_delivered, db_rows, outbox_items

from core.runtime import metrics
from core.types import OPERATORS

LIMIT = 5


@pytest.fixture
def settings_overrides():
    return {"customer_messages_per_minute": LIMIT, "customer_cases_per_day": 2}


def marks(settings, kind=None):
    rows = db_rows(settings, "SELECT kind, rule FROM message_marks ORDER BY message_id")
    return [r for r in rows if kind is None or r["kind"] == kind]


async def test_past_the_message_limit_one_notice_and_nothing_lost(core, clock, settings):
    customer = Customer(core, "2001")
    answered = []
    for n in range(LIMIT):
        answered.append(await customer.say(f"вопрос номер {n}: как оплатить заказ?"))
    assert all(answered)  # within the limit every message is answered
    limited = [await customer.say(f"ещё вопрос {n}") for n in range(30)]
    notices = [replies for replies in limited if replies]
    assert len(notices) == 1  # told once
    assert "после" in all_text(notices[0]) and "сохранено" in all_text(notices[0])
    assert "12:01" in all_text(notices[0])  # when: the next minute in the shop's time zone
    log = [m for m in await customer.log() if m.direction == "in"]
    assert len(log) == LIMIT + 30  # everything stored
    assert len(marks(settings, "limited")) == 30
    # A minute later the customer is answered again.
    clock.advance(61)
    assert await customer.say("как оплатить заказ?")


async def test_a_limited_customer_in_an_open_case_reaches_operators_in_one_post(
    core, clock, settings
):
    customer = Customer(core, "2002")
    await customer.say("позовите оператора")
    ticket = await customer.open_ticket()
    assert ticket is not None
    await bot_answers_delivered(core)
    before = len(await outbox_items(core))
    replies = [await customer.say(f"подробность {n}") for n in range(LIMIT + 20)]
    assert sum(1 for r in replies if r) <= 2  # a status answer at most, and the one notice
    items = [o for o in await outbox_items(core) if o["id"] > 0][before:]
    waiting = [o for o in items if o["channel"] == OPERATORS and o["kind"] == "customer_message"]
    # Every message is queued for the case and attached to it, none lost.
    assert len(waiting) == LIMIT + 20
    attached = await core.storage.messages.for_ticket(ticket.id, 200)
    texts = {m.text for m in attached if m.direction == "in"}
    assert {f"подробность {n}" for n in range(LIMIT + 20)} <= texts
    # They wait until the minute is over, then go together (merged by delivery).
    held = [o for o in waiting if float(o["next_attempt_at"]) > clock.now()]
    assert len(held) == len(waiting)
    assert len({float(o["next_attempt_at"]) for o in held}) == 1
    assert len(marks(settings, "limited")) == 21  # the call for an operator counted too


async def test_past_the_case_limit_no_case_and_told_once(core, clock, settings):
    customer = Customer(core, "2003")
    for _ in range(2):
        await customer.say("позовите оператора")
        ticket = await customer.open_ticket()
        assert ticket is not None
        await core.desk.close(ticket.id, _senior())
        clock.advance(3600)
    refused = await customer.say("позовите оператора")
    assert await customer.open_ticket() is None
    text = all_text(refused)
    assert (
        "2 раза" in text and "завтра после 12:00" in text
    )  # the first case (12:00 Moscow) + a day
    assert await customer.say("позовите оператора") == []  # told once
    assert await customer.open_ticket() is None
    # Questions are still answered.
    assert await customer.say("как оплатить заказ?")
    assert [m["rule"] for m in marks(settings, "limited")] == ["cases_per_day"] * 2
    clock.advance(86400)
    await customer.say("позовите оператора")
    assert await customer.open_ticket() is not None


async def test_limits_are_counted_in_the_database_across_replicas(make_core, settings, clock):
    first, second = await make_core(), await make_core()
    answered = 0
    for n in range(LIMIT + 4):
        core = (first, second)[n % 2]
        answered += bool(await Customer(core, "2004").say(f"вопрос {n}: как оплатить?"))
    assert answered == LIMIT + 1  # LIMIT answers, then the one notice
    assert len(marks(settings, "limited")) == 4


async def test_limited_messages_are_counted_in_the_metrics(core):
    before = metrics.ABUSE.labels("limited")._value.get()
    customer = Customer(core, "2005")
    for n in range(LIMIT + 3):
        await customer.say(f"сообщение {n}")
    assert metrics.ABUSE.labels("limited")._value.get() - before == 3


def _senior():
    from core.desk.roles import Operator

    return Operator("op-1", "Ольга")


def _payload(item):
    return json.loads(item["payload"])
