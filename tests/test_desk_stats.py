"""/stats is computed off the event loop: while a (deliberately stuck) report is being
computed, operators' replies in the topics still reach customers."""

from __future__ import annotations

import asyncio
import threading
import time

from core.clock import ManualClock
from core.reports import kpi
from tests.case_helpers import escalate, to_chat
from tests.conftest import WORK_TIME
from tests.telegram_harness import CUSTOMER, OPS, telegram_bot

SENIOR = 777


async def wait_until(condition, limit: float = 10.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def test_a_slow_report_does_not_hold_up_replies(tmp_path, classifier, monkeypatch):
    entered, released = threading.Event(), threading.Event()
    ran_in: list[int] = []
    finished: list[bool] = []
    original = kpi.compute

    async def stuck_compute(*args, **kwargs):
        ran_in.append(threading.get_ident())
        entered.set()
        released.wait(30)  # blocks its thread (the event loop, if it ran there)
        report = await original(*args, **kwargs)
        finished.append(True)
        return report

    monkeypatch.setattr(kpi, "compute", stuck_compute)
    async with telegram_bot(
        tmp_path, classifier, clock=ManualClock(WORK_TIME), senior_operator_ids=[str(SENIOR)]
    ) as bot:
        fake = bot.fake
        _, thread, _ = await escalate(fake, CUSTOMER)
        fake.group_message(OPS, SENIOR, "/stats month")  # in General
        await wait_until(entered.is_set)

        fake.group_message(OPS, SENIOR, "Отвечаю, пока считается отчёт", thread_id=thread)
        await fake.wait_for("sendMessage", to_chat(CUSTOMER, "пока считается отчёт"), timeout=10)
        assert not finished  # the report is still stuck: the reply did not wait for it
        assert ran_in and ran_in[0] != threading.get_ident()

        released.set()
        await fake.wait_for("sendPhoto", lambda p: p["chat_id"] == OPS, timeout=20)
        await fake.wait_for("sendMessage", to_chat(OPS, "За 30 дней"), timeout=20)
        assert finished == [True]
