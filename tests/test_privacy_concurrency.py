"""Issue 18: one erasure, exactly once, whoever asks at the same moment — the customer's
confirmation delivered to two replicas at once and a senior operator's /forget on a third
(SQLite file and PostgreSQL, each replica with its own connections)."""

from __future__ import annotations

import asyncio

from core.desk.action import OperatorError
from core.privacy.requests import ERASE
from core.types import Inbound
from tests.conftest import all_text
from tests.privacy_helpers import SENIOR_OPERATOR, live_history


async def test_confirmation_twice_and_forget_at_once(make_core, clock):
    replicas = [await make_core() for _ in range(3)]
    one, two, three = replicas
    anna = await live_history(one, clock, "987654331", "telegram", "31")
    ask = Inbound("telegram", anna.user_id, text="забудьте меня", name=anna.name)
    await one.engine.handle(ask)
    press = Inbound("telegram", anna.user_id, payload=ERASE, name=anna.name, external_id="tgcb:9")
    results = await asyncio.gather(
        one.engine.handle(press),
        two.engine.handle(press),
        three.desk.forget(anna.cases[-1], SENIOR_OPERATOR, external_id="tgu:500"),
        return_exceptions=True,
    )
    acts = await one.storage.privacy.acts()
    assert len(acts) == 1, results
    events = await one.storage.db.fetchall("SELECT * FROM outbox WHERE kind = 'customer_erased'")
    assert len(events) == 1
    told = await one.storage.db.fetchall(
        "SELECT payload FROM outbox WHERE channel = 'telegram' AND recipient = ? "
        "AND payload LIKE ?",
        (anna.user_id, "%ваши данные удалены%"),
    )
    assert len(told) == 1  # told once, by whichever erased
    turns, forgot = results[:2], results[2]
    if acts[0].reason == "customer":
        assert isinstance(forgot, OperatorError) and "уже удалены" in str(forgot)
        assert sorted(len(r) for r in turns) == [0, 1]  # the same update: applied once
    else:
        assert acts[0].reason == "operator"
        for replies in turns:  # the press came after: the offer is gone with the data
            assert replies == [] or "уже не действует" in all_text(replies)
