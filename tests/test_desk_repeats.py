"""A repeated operator update changes nothing (README, Reliability 3): an operator action
is claimed by the update's external id in the transaction that records it, so the same
update delivered again — a webhook retry, a batch fetched again after a crash, a second
replica, a restart — is refused as a duplicate, whatever happened to the case meanwhile.
On SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest
from conftest import Customer, bot_answers_delivered, outbox_items

from core.desk.housekeeping import forget_old_claims
from core.desk.roles import Operator
from core.storage import DuplicateUpdate
from core.storage.claims import KEEP_DAYS
from core.types import OPERATORS, TELEGRAM

OLGA = Operator("op-olga", "Ольга", "operator")
SENIOR = Operator("op-vera", "Вера", "senior")


async def open_case(core, user_id: str = "1001"):
    customer = Customer(core, user_id=user_id, channel=TELEGRAM)
    await customer.say("позовите оператора")
    ticket = await customer.open_ticket()
    assert ticket is not None
    await bot_answers_delivered(core)
    return customer, ticket


async def to_customer(core, kind: str = "reply") -> list[dict]:
    return [o for o in await outbox_items(core) if o["channel"] != OPERATORS and o["kind"] == kind]


async def test_a_repeated_reply_reaches_the_customer_once(core):
    customer, ticket = await open_case(core)
    await core.desk.reply(ticket.id, OLGA, "Проверяю ваш заказ", external_id="tg:ops:10")
    with pytest.raises(DuplicateUpdate):
        await core.desk.reply(ticket.id, OLGA, "Проверяю ваш заказ", external_id="tg:ops:10")
    assert len(await to_customer(core)) == 1
    logged = [m.text for m in await customer.log() if m.text == "Проверяю ваш заказ"]
    assert logged == ["Проверяю ваш заказ"]
    # Another update with the same words is another answer: it goes.
    await core.desk.reply(ticket.id, OLGA, "Проверяю ваш заказ", external_id="tg:ops:11")
    assert len(await to_customer(core)) == 2


async def test_an_old_close_repeated_after_a_reopen_leaves_the_case_open(core):
    _, ticket = await open_case(core)
    await core.desk.close(ticket.id, SENIOR, external_id="tg:ops:20")
    await core.desk.reopen(ticket.id, SENIOR, external_id="tg:ops:21")
    rating_requests = len(await outbox_items(core))
    with pytest.raises(DuplicateUpdate):
        await core.desk.close(ticket.id, SENIOR, external_id="tg:ops:20")
    again = await core.storage.tickets.get(ticket.id)
    assert again is not None and again.is_open
    assert len(await outbox_items(core)) == rating_requests  # no second rating request


async def test_a_repeated_note_and_vip_mark_are_recorded_once(core):
    customer, ticket = await open_case(core)
    await core.desk.note(ticket.id, OLGA, "Клиент звонил на горячую линию", external_id="tg:ops:30")
    with pytest.raises(DuplicateUpdate):
        await core.desk.note(ticket.id, OLGA, "Клиент звонил на горячую линию", "tg:ops:30")
    notes = [m for m in await customer.log() if m.text == "Клиент звонил на горячую линию"]
    assert len(notes) == 1
    await core.desk.mark_vip(ticket.id, SENIOR, external_id="tg:ops:31")
    with pytest.raises(DuplicateUpdate):
        await core.desk.mark_vip(ticket.id, SENIOR, external_id="tg:ops:31")


async def test_a_repeat_after_a_restart_is_still_refused(make_core):
    first = await make_core()
    _, ticket = await open_case(first)
    await first.desk.reply(ticket.id, OLGA, "Ответ до перезапуска", external_id="tg:ops:40")
    await first.close()
    restarted = await make_core()
    with pytest.raises(DuplicateUpdate):
        await restarted.desk.reply(ticket.id, OLGA, "Ответ до перезапуска", external_id="tg:ops:40")
    assert len(await to_customer(restarted)) == 1


async def test_housekeeping_forgets_claims_by_the_clock_that_stamped_them(core, clock):
    """Claims are stamped with the engine's clock; a process on a shifted clock (the
    tests', or SUPPORTBOT_CLOCK_START) must not forget today's claims because the machine's
    date is months away."""
    _, ticket = await open_case(core)
    await core.desk.reply(ticket.id, OLGA, "Первый ответ", external_id="tg:ops:50")
    assert await forget_old_claims(core.storage, core.clock) == 0
    with pytest.raises(DuplicateUpdate):
        await core.desk.reply(ticket.id, OLGA, "Первый ответ", external_id="tg:ops:50")
    clock.advance(KEEP_DAYS * 86400 + 1)  # two weeks later by the same clock: forgotten
    assert await forget_old_claims(core.storage, core.clock) >= 1
