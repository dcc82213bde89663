"""The frame of every operator action (`core.desk.action.ActionRunner`): refusals in the
operators' words, what the action queues for the customer claimed by this process and
sent at once, and a desk without delivery (the command line) still writing it."""

from __future__ import annotations

import pytest
from conftest import Collector, Customer, bot_answers_delivered, outbox_items

from core.desk.operators import OperatorDesk, OperatorError
from core.desk.roles import Operator
from core.types import TELEGRAM

OLGA = Operator("op-olga", "Ольга", "operator")
STRANGER = Operator("x", "Чужой", "outsider")


async def open_case(core):
    customer = Customer(core, "1001", TELEGRAM)
    await customer.say("позовите оператора")
    ticket = await customer.open_ticket()
    await bot_answers_delivered(core)
    return customer, ticket


async def test_refusals_are_worded_for_the_operator(core):
    _, ticket = await open_case(core)
    desk = core.kb.desk
    with pytest.raises(OperatorError) as outsider:
        await core.desk.reply(ticket.id, STRANGER, "Я не оператор")
    assert str(outsider.value) == desk.get("roles.operators_only")
    with pytest.raises(OperatorError) as not_senior:
        await core.desk.mark_vip(ticket.id, OLGA)
    what = desk.get("roles.what.vip", fallback="roles.what.other")
    assert str(not_senior.value) == desk.format("roles.senior_only", what=what)
    assert [o for o in await outbox_items(core) if o["channel"] == TELEGRAM] == []


async def test_a_reply_is_claimed_by_this_process_and_sent_at_once(core):
    sent = Collector()
    core.delivery.register(TELEGRAM, sent)
    _, ticket = await open_case(core)
    await core.delivery.idle()
    sent.items.clear()
    await core.desk.reply(ticket.id, OLGA, "Уже проверяю")
    await core.delivery.idle()  # no worker round: handed over when the action committed
    assert sent.texts() == ["Уже проверяю"]
    [row] = [o for o in await outbox_items(core) if "Уже проверяю" in o["payload"]]
    assert row["status"] == "sent"


async def test_a_desk_without_delivery_still_writes_the_reply(core):
    _, ticket = await open_case(core)
    desk = OperatorDesk(core.storage, core.clock, core.kb.texts, core.kb.desk)  # no delivery
    await desk.reply(ticket.id, OLGA, "Ответ из командной строки")
    [row] = [o for o in await outbox_items(core) if o["channel"] == TELEGRAM]
    assert row["status"] == "pending" and row["claimed_by"] is None  # the worker sends it
