"""Issue 18, retention on a hand-moved clock: with RETENTION_DAYS, texts and files of cases
closed longer ago are erased, a customer silent that long is erased entirely (their topic
deleted, no message to them), an open case is left alone, delivered outbox items go after a
week, the KPIs do not move, and a second pass finds nothing more (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from core.events import CustomerErased
from core.reports import kpi
from core.storage.outbox import OutboxItem
from core.types import Inbound
from tests.conftest import WORK_TIME
from tests.privacy_helpers import OPERATOR, dump, found_in, kpis, live_history

DAY = 86400.0


@pytest.fixture
def settings_overrides():
    return {"retention_days": 30}


async def close_open_case(core, user_id):
    conv = await core.storage.conversations.find(Inbound("telegram", user_id).customer)
    ticket = await core.storage.tickets.open_for(conv.id)
    await core.desk.close(ticket.id, OPERATOR)


async def test_retention_pass(core, clock, settings):
    anna = await live_history(core, clock, "987654331", "telegram", "31")
    await close_open_case(core, anna.user_id)
    boris = await live_history(core, clock, "987654342", "telegram", "42")
    await close_open_case(core, boris.user_id)
    carl = Inbound("telegram", "987654353", text="позовите оператора, срочно53", name="Карл53")
    await core.engine.handle(carl)
    await core.storage.db.execute("UPDATE outbox SET status = 'sent' WHERE id <= 5")

    clock.advance(40 * DAY)
    fresh = Inbound("telegram", anna.user_id, text="новый вопрос свежее31", name=anna.name)
    await core.engine.handle(fresh)
    pending = await core.storage.db.fetchone("SELECT MAX(id) AS last FROM outbox")
    since, until = WORK_TIME - DAY, WORK_TIME + 41 * DAY
    before = kpis(await kpi.compute(core.storage, since, until, clock.now()))

    removed = await core.privacy.retention.run()

    after = dump(settings)
    assert found_in(after, boris.needles) == {}  # silent 40 days: everything
    old = [n for n in anna.needles if n not in (anna.user_id, anna.name, f"Клиент{31}")]
    assert found_in(after, old) == {}  # her old texts and files…
    assert found_in(after, [f"сбой{31}"]) == {}  # …her set-aside update (a week old)
    assert "свежее31" in after["messages"] and anna.name in after["conversations"]
    assert "срочно53" in after["messages"]  # an open case is left alone
    assert kpis(await kpi.compute(core.storage, since, until, clock.now())) == before
    assert removed["customers"] == 1 and removed["expired_messages"] > 0
    assert removed["outbox"] >= 5
    left = await core.storage.db.fetchone(
        "SELECT COUNT(*) AS n FROM outbox WHERE id = ?", (pending["last"],)
    )
    assert left["n"] == 1  # the answer to her new question is still to be sent

    acts = await core.storage.privacy.acts()
    assert [a.reason for a in acts] == ["retention", "retention"]
    assert acts[0].removed["customers"] == 1 and acts[0].customer_hash == ""
    rows = await core.storage.db.fetchall("SELECT * FROM outbox WHERE kind = 'customer_erased'")
    [item] = rows
    event = OutboxItem.from_row(item).event
    assert isinstance(event, CustomerErased) and event.reason == "retention"
    assert event.topics == [["-1001234567890", "942"]] and event.label == ""
    told = await core.storage.db.fetchall(
        "SELECT * FROM outbox WHERE channel = 'telegram' AND recipient = ?", (boris.user_id,)
    )
    assert told == []  # nobody asked: nothing is said to them

    assert await core.privacy.retention.run() == {}
    assert len(await core.storage.privacy.acts()) == 2


@pytest.mark.parametrize("settings_overrides", [{"retention_days": 0}])
async def test_zero_keeps_texts(core, clock, settings):
    anna = await live_history(core, clock, "987654331", "telegram", "31")
    await close_open_case(core, anna.user_id)
    clock.advance(400 * DAY)
    removed = await core.privacy.retention.run()
    assert "customers" not in removed and "expired_messages" not in removed
    assert found_in(dump(settings), [f"кодовоеслово{31}"])  # kept until asked
    assert await core.storage.privacy.acts() == []
