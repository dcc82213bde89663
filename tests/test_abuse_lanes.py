"""Real customers first (issue 17), in the database every replica shares, on SQLite and
PostgreSQL: a new case's customer is verified (a valid order, VIP, earlier resolved
cases) or not; an unverified customer's card yields the group's free posts to what goes
first, for a bounded time; a card says why it waited; each case keeps to its share."""

from __future__ import annotations

import pytest
from conftest import Customer

from core.abuse.lanes import AGING, CardOrder, CasePacing
from core.desk.roles import Operator
from core.events import CaseOpened
from core.runtime.delivery import RetryLater
from core.types import OPERATORS

OLGA = Operator("op-1", "Ольга")


async def case_of(core, user_id: str, *texts: str):
    customer = Customer(core, user_id)
    for text in texts:
        await customer.say(text)
    ticket = await customer.open_ticket()
    assert ticket is not None
    return ticket


async def card_item(core, ticket):
    rows = await core.storage.db.fetchall(
        "SELECT id FROM outbox WHERE kind = 'ticket_opened' AND ticket_id = ?", (ticket.id,)
    )
    [item] = [
        i
        for i in await core.storage.outbox.claim_recipient(
            OPERATORS, ticket.customer.key, "test", core.clock.now(), 1e12, 10
        )
        if i.id == rows[0]["id"]
    ]
    return item


async def test_who_is_verified(core, clock):
    fresh = await case_of(core, "5001", "позовите оператора")
    with_order = await case_of(core, "5002", "Заказ 12345678-0001 не пришёл, позовите оператора")
    bad_order = await case_of(core, "5003", "Заказ 11111111-0001 не пришёл, позовите оператора")
    lanes = {t.id: await core.storage.abuse.lane(t.id) for t in (fresh, with_order, bad_order)}
    assert (lanes[fresh.id].verified, lanes[fresh.id].reason) == (False, "new")
    assert (lanes[with_order.id].verified, lanes[with_order.id].reason) == (True, "order")
    assert lanes[bad_order.id].verified is False
    # A returning customer: an earlier case answered by an operator and closed.
    await core.desk.reply(fresh.id, OLGA, "Здравствуйте! Всё решили.")
    await core.desk.close(fresh.id, OLGA)
    clock.advance(3600)
    again = await case_of(core, "5001", "позовите оператора")
    lane = await core.storage.abuse.lane(again.id)
    assert (lane.verified, lane.reason) == (True, "returning")


def room(free: int, next_free: float):
    """The group's budget as `CardOrder.wait_turn` reads it: `free` posts, the next in
    `next_free` seconds."""

    async def read(tx) -> tuple[int, float]:
        return free, next_free

    return read


LOCK = "telegram-group:1"


async def test_an_unverified_card_yields_only_to_what_goes_first(core, clock):
    order = CardOrder(core.storage, core.clock, core.kb.desk)
    fresh = await case_of(core, "5101", "позовите оператора")
    item = await card_item(core, fresh)
    event = item.event
    assert isinstance(event, CaseOpened)
    assert await order.yields(item, event)
    await order.wait_turn(item, event, ["main"], room(5, 0.0), LOCK)  # nothing goes first
    # A verified customer's card is waiting: it needs two posts (its topic and itself).
    item.progress.clear()
    await core.storage.outbox.save_progress(item.id, {})
    await case_of(core, "5102", "Заказ 12345678-0001 не пришёл, позовите оператора")
    with pytest.raises(RetryLater) as refused:
        await order.wait_turn(item, event, ["main"], room(2, 41.0), LOCK)
    assert 0 < refused.value.after <= 41.0
    with pytest.raises(RetryLater) as refused:
        await order.wait_turn(item, event, ["main"], room(0, 41.0), LOCK)
    assert refused.value.after == 41.0
    await order.wait_turn(item, event, ["main"], room(3, 0.0), LOCK)  # room for both
    assert item.progress == {"started": True}  # counted among the others from now on
    assert not await order.yields(item, event)
    # Another group's waiting posts do not hold it back; and it yields a bounded time.
    item.progress.clear()
    await order.wait_turn(item, event, ["complaints"], room(1, 0.0), LOCK)
    item.progress.clear()
    clock.advance(AGING)
    assert not await order.yields(item, event)


async def test_the_card_says_why_it_waited(core, clock):
    order = CardOrder(core.storage, core.clock, core.kb.desk)
    fresh = await case_of(core, "5201", "позовите оператора")
    verified = await case_of(core, "5202", "Заказ 12345678-0001 не пришёл, позовите оператора")
    assert await order.waited_line(fresh) is None
    assert "Проверенный клиент: заказ найден" in await order.waited_line(verified)
    clock.advance(150)
    line = await order.waited_line(fresh)
    assert "ждала 3 мин" in line and "клиент новый" in line
    line = await order.waited_line(verified)
    assert "ждала 3 мин" in line and "Проверенный клиент" in line


async def test_a_case_keeps_to_its_share_of_posts(core, clock):
    pacing = CasePacing(core.storage, core.clock, per_minute=3)
    for _ in range(3):  # three at once, then three more 60 s later
        await pacing.check(7)
        await pacing.took(7)
    with pytest.raises(RetryLater) as waited:
        await pacing.check(7)
    assert waited.value.after == pytest.approx(60.0, abs=0.1)
    await pacing.check(8)  # another case is not held back
    clock.advance(60.5)
    await pacing.check(7)
