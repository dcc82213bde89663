"""Issue 18: a customer asks to be forgotten and confirms — every table of the database
(SQLite and PostgreSQL) is searched for their strings and ids afterwards, the KPIs of the
period are the same as before, the act is kept, the operators' side is queued."""

from __future__ import annotations

from core.events import CustomerErased
from core.privacy.requests import ERASE, KEEP
from core.reports import kpi
from core.storage.privacy import TABLES
from core.types import Inbound
from tests.conftest import WORK_TIME, Collector, all_text, flat_ids
from tests.privacy_helpers import (
    OPS_CHAT,
    dump,
    found_in,
    kpis,
    live_history,
    tables,
    until,
)


def test_every_table_is_known_to_the_erasure(settings):
    """A table added by a later migration must say what erasure does to it."""
    import asyncio

    from core.storage import Storage

    async def migrate() -> None:
        storage = await Storage.open(settings.database_url)
        await storage.close()

    asyncio.run(migrate())
    assert set(tables(settings)) == set(TABLES)


async def test_forgotten_on_request(core, clock, settings):
    anna = await live_history(core, clock, "987654331", "telegram", "31")
    boris = await live_history(core, clock, "987654342", "telegram", "42")
    since, till = WORK_TIME - 86400, WORK_TIME + 3 * 86400
    before = kpis(await kpi.compute(core.storage, since, till, clock.now()))
    everything = dump(settings)
    assert found_in(everything, anna.needles).keys() == set(anna.needles)  # all were stored

    ask = Inbound("telegram", anna.user_id, text="удалите мои данные", name=anna.name)
    [offer] = await core.engine.handle(ask)
    assert "Останутся только обезличенные цифры" in offer.text
    assert flat_ids(offer) == [ERASE, KEEP]
    clock.advance(20)
    done = await core.engine.handle(
        Inbound("telegram", anna.user_id, payload=ERASE, name=anna.name, external_id="tgcb:1")
    )
    assert "ваши данные удалены" in all_text(done)

    after = dump(settings)
    assert found_in(after, anna.needles) == {"987654331": ["outbox"]}  # the answer, until sent
    assert found_in(after, boris.needles).keys() == set(boris.needles)  # the other one's stay
    assert kpis(await kpi.compute(core.storage, since, till, clock.now())) == before

    for number in anna.cases:  # her open case closed first (withdrawn), none left open
        case = await core.storage.tickets.get(number)
        assert case is not None and case.status == "closed", case
    [act] = await core.storage.privacy.acts()
    assert act.reason == "customer" and act.channel == "telegram" and act.label.startswith("K")
    assert act.removed["cases"] == 2 and act.removed["cases_closed"] == 1
    assert act.removed["files"] == 1 and act.removed["topics"] == 1
    assert act.customer_hash and anna.user_id not in act.customer_hash

    # Delivered: the operators' side gets the deletion, the customer the last message —
    # and then that message, the last row with her id, is gone too.
    customers, operators = Collector(), Collector()
    core.delivery.register("telegram", customers)
    core.delivery.register("operators", operators)
    await core.delivery.run_once()
    [erased] = [item.event for item in operators.items if item.kind == "customer_erased"]
    assert isinstance(erased, CustomerErased)
    assert erased.topics == [[OPS_CHAT, "931"]] and erased.cases == anna.cases
    assert [OPS_CHAT, "5313"] in erased.posts and erased.groups == [OPS_CHAT]
    [told] = [item for item in customers.items if item.recipient == anna.user_id]
    assert "ваши данные удалены" in told.payload["reply"]["text"]
    await until(lambda: not found_in(dump(settings), anna.needles), "the last row gone")
    assert found_in(dump(settings), boris.needles).keys() == set(boris.needles)
