"""Insults get one calm boundary and mark the case as a conflict (article §9); outside
working hours the bot still answers typical questions and tells when operators will
answer an escalated case (article §11). Through the real Telegram bot."""

from __future__ import annotations

import yaml

from core.clock import ManualClock
from core.conversation.manners import Manners
from core.types import TELEGRAM, CustomerRef
from tests.case_helpers import REPO, card_of, drain, escalate, in_topic, msk, say, to_chat
from tests.conftest import WORK_TIME
from tests.telegram_harness import CUSTOMER, telegram_bot

ORDINARY = 555002
RUDE_STEMS = yaml.safe_load((REPO / "config" / "nlu" / "rude.yaml").read_text(encoding="utf-8"))[
    "stems"
]


def messages_to(fake, chat_id: int) -> list[str]:
    return [str(p["text"]) for p in fake.calls("sendMessage") if p.get("chat_id") == chat_id]


async def test_an_insult_gets_one_calm_answer_and_the_ticket_a_conflict_mark(tmp_path, classifier):
    assert "идиот" in RUDE_STEMS and "дебил" in RUDE_STEMS
    async with telegram_bot(tmp_path, classifier, clock=ManualClock(WORK_TIME)) as bot:
        fake, core = bot.fake, bot.core
        boundary = core.kb.texts.get("conflict_boundary").strip()

        rude = "вы там все идиоты?"  # nothing asked besides (tests/test_understanding.py)
        answer = await say(fake, CUSTOMER, rude)
        assert answer["text"].strip() == boundary
        assert "идиот" not in answer["text"].lower()  # never a mirror
        # Exactly one answer: the next message's answer follows it directly.
        before = len(messages_to(fake, CUSTOMER))
        await say(fake, CUSTOMER, "как вернуть товар", needle="Профиль → Заказы")
        assert len(messages_to(fake, CUSTOMER)) == before + 1
        assert messages_to(fake, CUSTOMER)[before - 1].strip() == boundary
        # The insult is logged (for the operators), with no intent guessed.
        conv = await core.storage.conversations.find(CustomerRef(TELEGRAM, str(CUSTOMER)))
        logged = await core.storage.messages.for_conversation(conv.id)
        assert any(m.direction == "in" and m.text == rude for m in logged)

        # The case the customer then opens is marked as a conflict on the card.
        ticket_id, _, _ = await escalate(fake, CUSTOMER)
        assert (await core.storage.tickets.get(ticket_id)).conflict is True
        head = card_of(fake, ticket_id)["text"].splitlines()[0]
        assert head == f"<b>Обращение №{ticket_id}</b> · ⚠️ конфликт"
        assert f"👤 {rude}" in card_of(fake, ticket_id)["text"]


async def test_an_insult_in_an_open_case(tmp_path, classifier):
    async with telegram_bot(tmp_path, classifier, clock=ManualClock(WORK_TIME)) as bot:
        fake, core = bot.fake, bot.core
        boundary = core.kb.texts.get("conflict_boundary").strip()
        ticket_id, thread, _ = await escalate(fake, ORDINARY, first_name="Борис")
        assert (await core.storage.tickets.get(ticket_id)).conflict is False
        assert "конфликт" not in card_of(fake, ticket_id)["text"]

        answer = await say(fake, ORDINARY, "сколько можно ждать, дебилы", first_name="Борис")
        assert answer["text"].strip() == boundary
        assert "дебил" not in answer["text"]
        # The operators see the message in the topic; the case is marked as a conflict.
        await fake.wait_for("sendMessage", in_topic(thread, "сколько можно ждать"))
        ticket = await core.storage.tickets.get(ticket_id)
        assert ticket.conflict is True and ticket.status == "waiting"
        assert ticket.last_customer_at is not None
        # A calm message afterwards is passed on without a lecture.
        before = len(messages_to(fake, ORDINARY))
        fake.private_message(ORDINARY, "извините, просто устал ждать", first_name="Борис")
        await fake.wait_for("sendMessage", in_topic(thread, "извините, просто устал"))
        await drain(core)
        assert len(messages_to(fake, ORDINARY)) == before


def test_every_stem_is_recognised_and_ordinary_words_are_not():
    manners = Manners.from_file(REPO / "config" / "nlu" / "rude.yaml")
    for stem in RUDE_STEMS:
        assert manners.is_rude(f"ну вы {stem}"), stem
    for polite in (
        "я из Херсона, где мой заказ",
        "дурацкая ситуация с доставкой",
        "сукно для костюма пришло мятым",
        "спасибо, всё понятно",
    ):
        assert not manners.is_rude(polite), polite
    assert manners.is_rude("ВЫ ИДИОТЫ")
    assert manners.is_rude("blbjns")  # "идиоты" typed in the English layout


# ---------------------------------------------------------------------------- hours
HOURS = {"work_hours_start": "09:00", "work_hours_end": "18:00"}


async def test_after_hours_answers_at_once_and_says_when_operators_come(tmp_path, classifier):
    clock = ManualClock(msk(2026, 1, 1, 20, 0))  # Thursday evening
    async with telegram_bot(tmp_path, classifier, clock=clock, **HOURS) as bot:
        fake, core = bot.fake, bot.core
        answer = await say(fake, CUSTOMER, "как вернуть товар")
        assert "Профиль → Заказы" in answer["text"]
        assert "не на смене" not in answer["text"]

        ticket_id, _, told = await escalate(fake, CUSTOMER)
        expected = core.kb.texts.format(
            "escalated_offhours",
            ticket=ticket_id,
            position=1,
            hours="с 09:00 до 18:00",
            when="02.01 после 09:00",
        )
        assert told.strip() == expected.strip()
        ticket = await core.storage.tickets.get(ticket_id)
        assert ticket.status == "waiting"
        assert [t.id for t in await core.desk.queue()] == [ticket_id]
        # The case waits in the operators' group like any other.
        assert "Канал: Telegram" in card_of(fake, ticket_id)["text"]
        # The next one is second in the queue.
        _, _, second = await escalate(fake, ORDINARY, first_name="Борис")
        assert "(2-е)" in second and "02.01 после 09:00" in second


async def test_before_opening_and_on_a_weekend(tmp_path, classifier):
    clock = ManualClock(msk(2026, 1, 2, 7, 30))  # Friday morning, before the shift
    async with telegram_bot(
        tmp_path, classifier, clock=clock, work_days="1,2,3,4,5", **HOURS
    ) as bot:
        fake = bot.fake
        _, _, told = await escalate(fake, CUSTOMER)
        assert "с 09:00 до 18:00" in told and "02.01 после 09:00" in told
        # Friday 18:00 is closing time: the next shift is on Monday, 5 January.
        clock.set(msk(2026, 1, 2, 18, 0))
        _, _, told = await escalate(fake, ORDINARY, first_name="Борис")
        assert "05.01 после 09:00" in told
        # During the shift the usual text, without the off-hours notice.
        clock.set(msk(2026, 1, 5, 10, 0))
        answer = await say(fake, 555003, "позовите оператора", first_name="Ольга", needle="№")
        assert "не на смене" not in answer["text"]
        assert "в очереди" in answer["text"]
        await fake.wait_for("sendMessage", to_chat(555003, "№"))
