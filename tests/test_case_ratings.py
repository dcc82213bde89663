"""The end of a case: /close, the 1-5 rating, the comment after it, and auto-close of a
ticket whose customer stays silent after the operator's answer. Real bot against the fake
Bot API, real SQLite, a hand-moved clock."""

from __future__ import annotations

from core.clock import ManualClock
from core.desk import housekeeping
from tests.case_helpers import (
    buttons,
    count,
    drain,
    escalate,
    in_topic,
    operator_says,
    operator_writes,
    press,
    say,
    to_chat,
)
from tests.conftest import WORK_TIME
from tests.telegram_harness import CUSTOMER, OPS, telegram_bot

OTHER = 555002
LOW_NOTICE = "на 2 из 5"


async def test_close_asks_for_rating_and_a_low_rating_reaches_the_topic(tmp_path, classifier):
    async with telegram_bot(tmp_path, classifier, clock=ManualClock(WORK_TIME)) as bot:
        fake, core = bot.fake, bot.core
        texts = core.kb.texts
        ticket_id, thread, _ = await escalate(fake, CUSTOMER)
        await operator_writes(fake, thread, CUSTOMER, "Здравствуйте! Проверяю.")

        fake.group_message(OPS, 777, "/close", thread_id=thread)
        rate = await fake.wait_for("sendMessage", to_chat(CUSTOMER, "оцените"))
        assert rate[-1]["text"] == texts.format("rating_request", ticket=ticket_id)
        assert buttons(rate[-1]) == [f"rate:{ticket_id}:{n}" for n in range(1, 6)]
        await fake.wait_for("sendMessage", in_topic(thread, f"Обращение №{ticket_id} закрыто"))
        ticket = await core.storage.tickets.get(ticket_id)
        assert ticket.status == "closed" and ticket.closed_by == "Оператор"

        # A low rating: thanked with an apology, a "Skip" button, a notice in the topic.
        thanks = await press(fake, CUSTOMER, f"rate:{ticket_id}:2")
        assert thanks["text"] == texts.get("rating_thanks_low").strip()
        assert buttons(thanks) == ["skip"]
        await fake.wait_for("sendMessage", in_topic(thread, LOW_NOTICE))
        assert (await core.storage.tickets.get(ticket_id)).rating == 2

        # The comment that follows is stored and, for a low rating, posted in the topic.
        done = await say(fake, CUSTOMER, "Ответили только через час, а вопрос простой")
        assert done["text"] == texts.get("comment_thanks")
        await fake.wait_for(
            "sendMessage", in_topic(thread, "Комментарий к оценке: Ответили только через час")
        )
        ticket = await core.storage.tickets.get(ticket_id)
        assert ticket.rating == 2
        assert ticket.rating_comment == "Ответили только через час, а вопрос простой"
        # The comment ends the rating: the next message is an ordinary question again.
        answer = await say(fake, CUSTOMER, "как вернуть товар")
        assert "вернуть" in answer["text"].lower() or "возврат" in answer["text"].lower()
        assert (await core.storage.tickets.get(ticket_id)).rating_comment == (
            "Ответили только через час, а вопрос простой"
        )


async def test_a_good_rating_and_its_comment_stay_out_of_the_group(tmp_path, classifier):
    async with telegram_bot(tmp_path, classifier, clock=ManualClock(WORK_TIME)) as bot:
        fake, core = bot.fake, bot.core
        ticket_id, thread, _ = await escalate(fake, CUSTOMER)
        await operator_writes(fake, thread, CUSTOMER, "Готово, заказ перенаправлен.")
        fake.group_message(OPS, 777, "/close", thread_id=thread)
        await fake.wait_for("sendMessage", to_chat(CUSTOMER, "оцените"))
        thanks = await press(fake, CUSTOMER, f"rate:{ticket_id}:5")
        assert thanks["text"] == core.kb.texts.get("rating_thanks")
        await say(fake, CUSTOMER, "Всё быстро, спасибо Оператору!")
        await drain(core)
        ticket = await core.storage.tickets.get(ticket_id)
        assert ticket.rating == 5
        assert ticket.rating_comment == "Всё быстро, спасибо Оператору!"
        group = [p["text"] for p in fake.calls("sendMessage") if p.get("chat_id") == OPS]
        assert not [t for t in group if "из 5" in t or "Комментарий к оценке" in t]


async def test_skip_after_rating(tmp_path, classifier):
    async with telegram_bot(tmp_path, classifier, clock=ManualClock(WORK_TIME)) as bot:
        fake, core = bot.fake, bot.core
        ticket_id, thread, _ = await escalate(fake, CUSTOMER)
        fake.group_message(OPS, 777, "/close", thread_id=thread)
        await fake.wait_for("sendMessage", to_chat(CUSTOMER, "оцените"))
        await press(fake, CUSTOMER, f"rate:{ticket_id}:4")
        skipped = await press(fake, CUSTOMER, "skip")
        assert skipped["text"] == core.kb.texts.get("rating_skipped")
        answer = await say(fake, CUSTOMER, "как оплатить заказ")
        assert answer["text"] != core.kb.texts.get("comment_thanks")
        ticket = await core.storage.tickets.get(ticket_id)
        assert ticket.rating == 4 and ticket.rating_comment is None


async def test_rating_pressed_twice_is_recorded_once(tmp_path, classifier):
    async with telegram_bot(tmp_path, classifier, clock=ManualClock(WORK_TIME)) as bot:
        fake, core = bot.fake, bot.core
        ticket_id, thread, _ = await escalate(fake, CUSTOMER)
        fake.group_message(OPS, 777, "/close", thread_id=thread)
        await fake.wait_for("sendMessage", to_chat(CUSTOMER, "оцените"))

        await press(fake, CUSTOMER, f"rate:{ticket_id}:2")
        await fake.wait_for("sendMessage", in_topic(thread, LOW_NOTICE))
        # A double tap: the same button again (a new callback id each time).
        await press(fake, CUSTOMER, f"rate:{ticket_id}:2")
        await drain(core)
        assert (await core.storage.tickets.get(ticket_id)).rating == 2
        assert count(fake, "sendMessage", in_topic(thread, LOW_NOTICE)) == 1


async def test_rating_someone_elses_ticket_changes_nothing(tmp_path, classifier):
    async with telegram_bot(tmp_path, classifier, clock=ManualClock(WORK_TIME)) as bot:
        fake, core = bot.fake, bot.core
        ticket_id, thread, _ = await escalate(fake, CUSTOMER)
        await operator_writes(fake, thread, CUSTOMER, "Решено.")
        fake.group_message(OPS, 777, "/close", thread_id=thread)
        await fake.wait_for("sendMessage", to_chat(CUSTOMER, "оцените"))
        await drain(core)
        to_owner = count(fake, "sendMessage", to_chat(CUSTOMER))
        group_posts = count(fake, "sendMessage", to_chat(OPS))

        # A stranger sends the rating callback of ticket 1 (a forged or copied payload),
        # then writes a "comment".
        await press(fake, OTHER, f"rate:{ticket_id}:1")
        await say(fake, OTHER, "ужасная поддержка")
        await drain(core)
        ticket = await core.storage.tickets.get(ticket_id)
        assert ticket.rating is None and ticket.rating_comment is None
        assert count(fake, "sendMessage", to_chat(OPS)) == group_posts
        assert count(fake, "sendMessage", to_chat(CUSTOMER)) == to_owner
        # The owner can still rate their own ticket.
        await press(fake, CUSTOMER, f"rate:{ticket_id}:5")
        assert (await core.storage.tickets.get(ticket_id)).rating == 5
        # A rating button of a ticket that does not exist is harmless too.
        await press(fake, OTHER, "rate:999:1")
        await drain(core)
        assert await core.storage.tickets.get(999) is None


# ---------------------------------------------------------------------------- auto-close
async def test_auto_close_after_the_customer_is_silent(tmp_path, classifier):
    clock = ManualClock(WORK_TIME)
    hours = 2.0
    async with telegram_bot(tmp_path, classifier, clock=clock, auto_close_hours=hours) as bot:
        fake, core = bot.fake, bot.core
        assert core.settings.auto_close_hours == hours
        silent, silent_thread, _ = await escalate(fake, CUSTOMER)
        talker, talker_thread, _ = await escalate(fake, OTHER, first_name="Пётр")
        third = 555003
        unanswered, _, _ = await escalate(fake, third, first_name="Ольга")

        clock.advance(600)
        await operator_writes(fake, silent_thread, CUSTOMER, "Отправил вам инструкцию.")
        await operator_writes(fake, talker_thread, OTHER, "Уточните, пожалуйста, адрес.")
        clock.advance(300)
        # This customer answers after the operator: the ball is with the operator now.
        fake.private_message(OTHER, "Москва, ул. Ленина, 1", first_name="Пётр")
        await fake.wait_for("sendMessage", in_topic(talker_thread, "ул. Ленина"))
        await drain(core)

        # Just under the limit since the operator's answer: nothing closes.
        clock.advance(hours * 3600 - 300 - 1)
        closed = await housekeeping.close_stale(
            core.storage, core.desk, core.clock, core.settings.auto_close_hours
        )
        assert closed == []
        clock.advance(2)
        closed = await housekeeping.close_stale(
            core.storage, core.desk, core.clock, core.settings.auto_close_hours
        )
        assert closed == [silent]

        rate = await fake.wait_for("sendMessage", to_chat(CUSTOMER, "оцените"))
        assert buttons(rate[-1]) == [f"rate:{silent}:{n}" for n in range(1, 6)]
        await fake.wait_for("sendMessage", in_topic(silent_thread, f"№{silent} закрыто"))
        ticket = await core.storage.tickets.get(silent)
        assert ticket.status == "closed"
        assert ticket.closed_by == core.kb.desk.get("roles.auto_closer")
        assert ticket.closed_at == clock.now()
        # The rating works as after a manual close.
        await press(fake, CUSTOMER, f"rate:{silent}:4")
        assert (await core.storage.tickets.get(silent)).rating == 4

        # A long time later: the customer who answered, and the ticket nobody answered,
        # stay open; a second round closes nothing twice.
        clock.advance(3 * 24 * 3600)
        closed = await housekeeping.close_stale(
            core.storage, core.desk, core.clock, core.settings.auto_close_hours
        )
        assert closed == []
        assert (await core.storage.tickets.get(talker)).status == "in_progress"
        assert (await core.storage.tickets.get(unanswered)).status == "waiting"
        await drain(core)
        assert not count(fake, "sendMessage", to_chat(OTHER, "оцените"))
        assert not count(fake, "sendMessage", to_chat(third, "оцените"))
        assert count(fake, "sendMessage", to_chat(CUSTOMER, "оцените")) == 1

        # When the operator answers that customer again and they go quiet, it closes.
        await operator_writes(fake, talker_thread, OTHER, "Курьер приедет завтра.")
        clock.advance(hours * 3600 + 1)
        closed = await housekeeping.close_stale(
            core.storage, core.desk, core.clock, core.settings.auto_close_hours
        )
        assert closed == [talker]
        await fake.wait_for("sendMessage", to_chat(OTHER, "оцените"))


async def test_operator_command_reply_is_not_an_answer(tmp_path, classifier):
    """Commands and notes in the topic are not answers: they never start auto-close."""
    clock = ManualClock(WORK_TIME)
    async with telegram_bot(tmp_path, classifier, clock=clock, auto_close_hours=1) as bot:
        fake, core = bot.fake, bot.core
        ticket_id, thread, _ = await escalate(fake, CUSTOMER)
        await operator_says(fake, thread, "/take")
        fake.group_message(OPS, 777, "# проверить склад", thread_id=thread)
        await fake.wait_for("setMessageReaction")
        clock.advance(5 * 3600)
        closed = await housekeeping.close_stale(
            core.storage, core.desk, core.clock, core.settings.auto_close_hours
        )
        assert closed == []
        ticket = await core.storage.tickets.get(ticket_id)
        assert ticket.status == "in_progress" and ticket.first_response_at is None
