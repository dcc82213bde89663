"""Complaints (article §7): an apology, the order number, what happened, a photo for a
damaged item, then a ticket ahead of ordinary questions. Through the real Telegram bot."""

from __future__ import annotations

from core.clock import ManualClock
from core.desk.escalation import PRIORITY_COMPLAINT
from tests.case_helpers import (
    buttons,
    card_of,
    count,
    drain,
    escalate,
    in_topic,
    press,
    raw_text,
    say,
    to_chat,
)
from tests.conftest import WORK_TIME
from tests.telegram_harness import CUSTOMER, OPS, telegram_bot

ORDINARY = 555002


def texts_to(fake, chat_id: int) -> list[str]:
    return [raw_text(p) for p in fake.calls("sendMessage") if p.get("chat_id") == chat_id]


async def test_courier_complaint_goes_ahead_of_an_ordinary_question(tmp_path, classifier):
    clock = ManualClock(WORK_TIME)
    async with telegram_bot(tmp_path, classifier, clock=clock) as bot:
        fake, core = bot.fake, bot.core
        texts = core.kb.texts
        waiting, _, _ = await escalate(fake, ORDINARY, first_name="Борис")
        clock.advance(600)

        await say(fake, CUSTOMER, "курьер нахамил мне", needle="номер заказа")
        first = texts_to(fake, CUSTOMER)
        assert first == [
            texts.get("complaint.apology.courier_complaint"),
            texts.get("ask_order.default"),
        ]
        asked = await say(fake, CUSTOMER, "12345678-0001")
        assert asked["text"] == texts.get("complaint.ask_description")
        assert len(await core.storage.tickets.all()) == 1  # no complaint ticket yet
        story = "Курьер бросил коробку у подъезда и уехал, на звонки не отвечает"
        ticket_id, _, told = await escalate(fake, CUSTOMER, story)
        assert "жалоба № " in told and "старшему специалисту" in told

        ticket = await core.storage.tickets.get(ticket_id)
        assert ticket.intent == "courier_complaint" and ticket.reason == "complaint"
        assert ticket.priority == PRIORITY_COMPLAINT > 0
        assert ticket.order_number == "12345678-0001"
        assert ticket.summary == story
        # Ahead of the ordinary ticket that has waited ten minutes longer.
        assert [t.id for t in await core.desk.queue()] == [ticket_id, waiting]
        assert await core.storage.tickets.position(ticket) == 1
        card = card_of(fake, ticket_id)["text"]
        assert " · приоритет" in card.splitlines()[0]
        assert "Заказ: 12345678-0001" in card
        assert "(courier_complaint) · жалоба" in card
        assert f"Описание: {story}" in card
        assert "👤 курьер нахамил мне" in card  # the dialog is in the card's transcript
        assert card_of(fake, waiting)["text"].splitlines()[0] == f"<b>Обращение №{waiting}</b>"


async def test_damaged_item_with_a_photo(tmp_path, classifier):
    async with telegram_bot(tmp_path, classifier, clock=ManualClock(WORK_TIME)) as bot:
        fake, core = bot.fake, bot.core
        texts = core.kb.texts
        await say(fake, CUSTOMER, "товар пришёл разбитый", needle="номер заказа")
        assert texts_to(fake, CUSTOMER)[0] == texts.get("complaint.apology.damaged_item")
        await say(fake, CUSTOMER, "заказ 2233445566-0015", needle="Опишите")
        ask = await say(fake, CUSTOMER, "ваза треснула пополам", needle="фото")
        assert ask["text"] == texts.get("complaint.ask_photo")
        assert buttons(ask) == ["no_photo"]
        assert await core.storage.tickets.all() == []

        fake.private_message(CUSTOMER, photo=True, first_name="Мария")
        told = await fake.wait_for("sendMessage", to_chat(CUSTOMER, "жалоба № "))
        assert "№ 1" in told[-1]["text"]
        ticket = await core.storage.tickets.get(1)
        assert ticket.intent == "damaged_item" and ticket.priority == PRIORITY_COMPLAINT
        assert ticket.order_number == "2233445566-0015"
        assert ticket.summary == "ваза треснула пополам"
        transcript = await core.storage.messages.for_ticket(1)
        photos = [a for m in transcript for a in m.attachments]
        assert [p.kind for p in photos] == ["photo"]
        card = await fake.wait_for("sendMessage", lambda p: "Обращение №1</b>" in raw_text(p))
        thread = card[-1]["message_thread_id"]
        files = core.kb.desk.format("card.files", files=core.kb.desk.plural("card.attachments", 1))
        assert files == "[1 вложение]" and files in raw_text(card[-1])
        # The operators get the photo itself in the ticket's topic.
        [shown] = await fake.wait_for("sendPhoto", in_topic(thread))
        assert shown["photo"] == photos[0].ref


async def test_damaged_item_without_a_photo(tmp_path, classifier):
    async with telegram_bot(tmp_path, classifier, clock=ManualClock(WORK_TIME)) as bot:
        fake, core = bot.fake, bot.core
        await say(fake, CUSTOMER, "пришел сломанный товар", needle="номер заказа")
        await say(fake, CUSTOMER, "2233445566-0015", needle="Опишите")
        await say(fake, CUSTOMER, "у чайника отломан носик", needle="фото")
        told = await press(fake, CUSTOMER, "no_photo", needle="жалоба № ")
        assert "старшему специалисту" in told["text"]
        [ticket] = await core.storage.tickets.all()
        assert ticket.intent == "damaged_item" and ticket.priority == PRIORITY_COMPLAINT
        assert ticket.summary == "у чайника отломан носик"
        # The "Без фото" button pressed again later does nothing to the ticket.
        fake.callback_query(CUSTOMER, "no_photo", message_chat_id=CUSTOMER)
        await fake.wait_for("answerCallbackQuery", count=2)
        await drain(core)
        assert len(await core.storage.tickets.all()) == 1
        assert not count(fake, "sendPhoto", to_chat(OPS))


async def test_not_received_complaint(tmp_path, classifier):
    clock = ManualClock(WORK_TIME)
    async with telegram_bot(tmp_path, classifier, clock=clock) as bot:
        fake, core = bot.fake, bot.core
        texts = core.kb.texts
        waiting, _, _ = await escalate(fake, ORDINARY, first_name="Борис")
        clock.advance(60)
        await say(fake, CUSTOMER, "мне не доставили заказ", needle="номер заказа")
        assert texts.get("complaint.apology.not_received") in texts_to(fake, CUSTOMER)
        await say(fake, CUSTOMER, "76543210-0012", needle="Опишите")
        clock.advance(60)
        ticket_id, _, told = await escalate(
            fake, CUSTOMER, "Курьер так и не приехал, а в приложении написано доставлен"
        )
        assert "жалоба № " in told
        ticket = await core.storage.tickets.get(ticket_id)
        assert ticket.intent == "not_received" and ticket.order_number == "76543210-0012"
        assert ticket.priority > (await core.storage.tickets.get(waiting)).priority
        assert next(t.id for t in await core.desk.queue()) == ticket_id
