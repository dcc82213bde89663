"""Operators' tools in the ticket's topic: /compensate (a promo code from the shop's pool,
each code once) and saved replies (/t). Through the real Telegram bot."""

from __future__ import annotations

import yaml

from core.app import build_core
from core.clock import ManualClock
from tests.case_helpers import (
    REPO,
    count,
    drain,
    escalate,
    in_topic,
    operator_says,
    operator_writes,
    to_chat,
)
from tests.conftest import WORK_TIME, db_rows
from tests.telegram_harness import CUSTOMER, OPS, telegram_bot

ORDINARY = 555002
LOW = "Промокоды заканчиваются"
EMPTY = "Промокоды для компенсации закончились"


def write_pool(tmp_path, codes: list[str]):
    path = tmp_path / "codes.yaml"
    path.write_text(yaml.safe_dump({"codes": codes}, allow_unicode=True), encoding="utf-8")
    return path


async def test_compensation_codes_each_once_and_a_low_pool_warning(tmp_path, classifier):
    pool = write_pool(tmp_path, ["SORRY-B", "SORRY-A", "SORRY-D", "SORRY-C", "SORRY-A"])
    async with telegram_bot(
        tmp_path,
        classifier,
        clock=ManualClock(WORK_TIME),
        compensation_codes_file=pool,
        compensation_low_threshold=2,
        senior_operator_ids=["777"],  # /compensate, /vip, /stats: senior operators only
    ) as bot:
        fake, core = bot.fake, bot.core
        texts = core.kb.texts
        first, first_thread, _ = await escalate(fake, CUSTOMER)
        second, second_thread, _ = await escalate(fake, ORDINARY, first_name="Борис")
        assert await core.storage.promo.remaining() == 4  # the duplicate counted once

        given: list[str] = []

        async def compensate(thread: int, customer: int) -> str:
            answer = await operator_says(fake, thread, "/compensate")
            note = answer["text"]
            if note.startswith("Промокод "):
                code = note.split()[1]
                got = await fake.wait_for("sendMessage", to_chat(customer, code))
                assert got[-1]["text"] == texts.format("compensation", code=code).strip()
                given.append(code)
            return note

        note = await compensate(first_thread, CUSTOMER)
        assert note == "Промокод SORRY-A отправлен клиенту. В пуле осталось: 3."
        note = await compensate(first_thread, CUSTOMER)
        assert note.startswith("Промокод SORRY-B отправлен клиенту. В пуле осталось: 2.")
        assert LOW in note  # at the threshold
        note = await compensate(second_thread, ORDINARY)
        assert note.startswith("Промокод SORRY-C") and "осталось: 1." in note and LOW in note
        note = await compensate(second_thread, ORDINARY)
        assert note.startswith("Промокод SORRY-D") and "осталось: 0." in note and LOW in note

        # Empty: a clear message for the operator, nothing for the customer.
        before = count(fake, "sendMessage", to_chat(ORDINARY))
        note = await compensate(second_thread, ORDINARY)
        assert note.startswith(EMPTY) and "COMPENSATION_CODES_FILE" in note
        await drain(core)
        assert count(fake, "sendMessage", to_chat(ORDINARY)) == before

        assert given == ["SORRY-A", "SORRY-B", "SORRY-C", "SORRY-D"]
        assert await core.storage.promo.issued_for(first) == ["SORRY-A", "SORRY-B"]
        assert await core.storage.promo.issued_for(second) == ["SORRY-C", "SORRY-D"]
        # The code reached the customer as the operator's answer: first response counted.
        ticket = await core.storage.tickets.get(first)
        assert ticket.first_response_at is not None and ticket.status == "in_progress"
        # Outside a topic the command asks for one.
        fake.group_message(OPS, 777, "/compensate")
        await fake.wait_for("sendMessage", to_chat(OPS, "работает в теме обращения"))
        settings = core.settings

    # A restart reads the pool file again: the given codes are not given twice.
    again = await build_core(settings, classifier=classifier, clock=ManualClock(WORK_TIME))
    try:
        assert await again.storage.promo.remaining() == 0
        rows = db_rows(settings, "SELECT code, ticket_id FROM promo_codes ORDER BY code")
        assert [(r["code"], r["ticket_id"]) for r in rows] == [
            ("SORRY-A", first),
            ("SORRY-B", first),
            ("SORRY-C", second),
            ("SORRY-D", second),
        ]
    finally:
        await again.close()


async def test_compensate_on_a_closed_ticket_keeps_the_code(tmp_path, classifier):
    pool = write_pool(tmp_path, ["SORRY-1", "SORRY-2"])
    async with telegram_bot(
        tmp_path,
        classifier,
        clock=ManualClock(WORK_TIME),
        compensation_codes_file=pool,
        senior_operator_ids=["777"],  # /compensate, /vip, /stats: senior operators only
    ) as bot:
        fake, core = bot.fake, bot.core
        ticket_id, thread, _ = await escalate(fake, CUSTOMER)
        fake.group_message(OPS, 777, "/close", thread_id=thread)
        await fake.wait_for("sendMessage", to_chat(CUSTOMER, "оцените"))
        await drain(core)
        answer = await operator_says(fake, thread, "/compensate")
        assert "закрыто" in answer["text"] and "/reopen" in answer["text"]
        assert await core.storage.promo.remaining() == 2
        assert await core.storage.promo.issued_for(ticket_id) == []
        # After /reopen the code goes out.
        await operator_says(fake, thread, "/reopen")
        answer = await operator_says(fake, thread, "/compensate")
        assert answer["text"].startswith("Промокод SORRY-1 отправлен клиенту")
        await fake.wait_for("sendMessage", to_chat(CUSTOMER, "SORRY-1"))


async def test_an_empty_pool_file(tmp_path, classifier):
    async with telegram_bot(
        tmp_path,
        classifier,
        clock=ManualClock(WORK_TIME),
        compensation_codes_file=tmp_path / "missing.yaml",
        senior_operator_ids=["777"],  # /compensate, /vip, /stats: senior operators only
    ) as bot:
        fake, core = bot.fake, bot.core
        _, thread, _ = await escalate(fake, CUSTOMER)
        answer = await operator_says(fake, thread, "/compensate")
        assert answer["text"].startswith(EMPTY)
        assert await core.storage.promo.remaining() == 0


# ---------------------------------------------------------------------------- /t
CANNED = yaml.safe_load((REPO / "config" / "knowledge" / "canned.yaml").read_text("utf-8"))[
    "replies"
]


async def test_saved_replies(tmp_path, classifier):
    assert "hello" in CANNED
    async with telegram_bot(tmp_path, classifier, clock=ManualClock(WORK_TIME)) as bot:
        fake, core = bot.fake, bot.core
        ticket_id, thread, _ = await escalate(fake, CUSTOMER)
        to_customer = count(fake, "sendMessage", to_chat(CUSTOMER))

        listing = await operator_says(fake, thread, "/t")
        assert listing["text"] == f"Шаблоны: {', '.join(sorted(CANNED))}. Отправить: /t ИМЯ"
        unknown = await operator_says(fake, thread, "/t nosuchreply")
        assert unknown["text"].startswith("Шаблоны: ")
        await drain(core)
        assert count(fake, "sendMessage", to_chat(CUSTOMER)) == to_customer

        fake.group_message(OPS, 777, "/t hello", thread_id=thread)
        got = await fake.wait_for("sendMessage", to_chat(CUSTOMER, "специалист поддержки"))
        assert got[-1]["text"] == CANNED["hello"].strip()
        ticket = await core.storage.tickets.get(ticket_id)
        assert ticket.first_response_at is not None and ticket.operator_name == "Оператор"
        logged = await core.storage.messages.for_ticket(ticket_id)
        assert [m.text for m in logged if m.direction == "operator"] == [CANNED["hello"].strip()]
        # Delivery is confirmed on the operator's command message, like any answer.
        await fake.wait_for("setMessageReaction")
        # A saved reply and a typed one reach the customer in order.
        await operator_writes(fake, thread, CUSTOMER, "Уточню статус у склада.")
        fake.group_message(OPS, 777, "/t wait", thread_id=thread)
        await fake.wait_for("sendMessage", to_chat(CUSTOMER, CANNED["wait"].strip()[:30]))
        assert not count(fake, "sendMessage", in_topic(thread, "Такой команды нет"))
