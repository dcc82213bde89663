"""Handing a conversation to operators: when a ticket opens, with which priority, what
the customer is told, and what happens while it is open."""

from __future__ import annotations

import json
import re

import pytest
from conftest import Customer, all_text, flat_ids, outbox_items

from core import buttons
from core.clock import ManualClock
from core.desk.escalation import PRIORITY_COMPLAINT, PRIORITY_VIP
from core.desk.roles import Operator
from core.storage.database import is_unique_violation
from core.types import VK, Attachment

PHOTO = Attachment("photo", ref="AgACAgIAAx-photo-1", source="telegram")


def told(text: str) -> tuple[int, int, int]:
    """(ticket number, queue position, minutes of expected wait) from an escalation text."""
    ticket = re.search(r"№ (\d+)", text)
    position = re.search(r"(\d+)-[йе]", text)
    wait = re.search(r"около (\d+) мин", text)
    assert ticket and position and wait, text
    return int(ticket.group(1)), int(position.group(1)), int(wait.group(1))


async def test_asking_for_a_person(core):
    customer = Customer(core)
    replies = await customer.say("дайте поговорить с человеком а не с ботом")
    ticket = await customer.open_ticket()
    assert ticket is not None
    assert ticket.status == "waiting"
    assert ticket.reason == "asked"
    assert ticket.priority == 0
    assert ticket.channel == "telegram" and ticket.user_id == customer.user_id
    assert told(replies[-1].text) == (ticket.id, 1, 10)
    assert replies[-1].text == core.kb.texts.format(
        "escalated", ticket=ticket.id, position=1, wait="около 10 мин"
    )
    opened = [o for o in await outbox_items(core) if o["channel"] == "operators"]
    assert [(o["channel"], o["kind"]) for o in opened] == [("operators", "ticket_opened")]
    assert opened[0]["ticket_id"] == ticket.id


async def test_two_misunderstood_messages_open_a_ticket(core):
    customer = Customer(core)
    first = await customer.say("ываываыв")
    assert await customer.open_ticket() is None
    assert buttons.OPERATOR in flat_ids(first[-1])
    assert (await customer.conversation()).misunderstandings == 1
    second = await customer.say("ккккк ааа")
    assert second[0].text == core.kb.texts.get("clarify_then_operator")
    ticket = await customer.open_ticket()
    assert ticket is not None
    assert ticket.reason == "misunderstood"
    assert f"№ {ticket.id}" in second[-1].text
    assert (await customer.conversation()).misunderstandings == 0
    # Both puzzling messages are in the ticket's transcript.
    transcript = [m.text for m in await core.storage.messages.for_ticket(ticket.id)]
    assert "ываываыв" in transcript and "ккккк ааа" in transcript


async def test_an_understood_message_resets_the_count(core):
    customer = Customer(core)
    await customer.say("ываываыв")
    await customer.say("как написать продавцу вопрос про товар")
    await customer.say("ккккк ааа")
    assert await customer.open_ticket() is None
    assert (await customer.conversation()).misunderstandings == 1


@pytest.mark.parametrize("understood", ["topic button", "order number"])
async def test_understood_button_or_number_resets_the_count(core, understood):
    customer = Customer(core)
    await customer.say("ываываыв")
    if understood == "topic button":
        await customer.press(buttons.TOPIC + "promo_code")
    else:
        await customer.press(buttons.TOPIC + "order_status")
        replies = await customer.say("12345678-0001")
        assert "В пути" in replies[0].text
    assert (await customer.conversation()).misunderstandings == 0
    # One more unclear message is the first of a new run, not the second in a row.
    await customer.say("ккккк ааа")
    assert await customer.open_ticket() is None


async def test_operator_button_after_an_answer_is_not_helped(core):
    customer = Customer(core)
    answer = await customer.say("промокод на первую покупку не применяется")
    assert buttons.OPERATOR in flat_ids(answer[0])
    replies = await customer.press(buttons.OPERATOR)
    ticket = await customer.open_ticket()
    assert ticket.reason == "not_helped"
    assert ticket.intent == "promo_code"
    assert f"№ {ticket.id}" in replies[-1].text


async def test_operator_button_without_a_question_is_asked(core):
    customer = Customer(core)
    await customer.start()
    await customer.press(buttons.OPERATOR)
    ticket = await customer.open_ticket()
    assert ticket.reason == "asked"
    assert ticket.intent == "operator"


async def test_courier_complaint_flow(core):
    customer = Customer(core)
    replies = await customer.say("курьер нахамил мне по телефону")
    assert replies[0].text == core.kb.texts.get("complaint.apology.courier_complaint")
    assert replies[1].text == core.kb.texts.get("ask_order.default")
    replies = await customer.say("12345678-0001")
    assert [r.text for r in replies] == [core.kb.texts.get("complaint.ask_description")]
    assert await customer.open_ticket() is None
    replies = await customer.say("опоздал на три часа и ещё грубил")
    ticket = await customer.open_ticket()
    assert ticket is not None
    assert ticket.intent == "courier_complaint"
    assert ticket.reason == "complaint"
    assert ticket.order_number == "12345678-0001"
    assert ticket.summary == "опоздал на три часа и ещё грубил"
    assert ticket.priority == PRIORITY_COMPLAINT
    assert replies[-1].text == core.kb.texts.format(
        "escalated_complaint", ticket=ticket.id, position=1, wait="около 10 мин"
    )
    conv = await customer.conversation()
    assert conv.step == "idle"
    assert conv.slots.complaint is None and not conv.slots.description


async def test_long_complaint_with_number_needs_no_more_questions(core):
    customer = Customer(core)
    text = "курьер 12345678-0001 не приехал в назначенный интервал и даже не позвонил"
    replies = await customer.say(text)
    assert replies[0].text == core.kb.texts.get("complaint.apology.courier_complaint")
    ticket = await customer.open_ticket()
    assert ticket is not None and ticket.priority == PRIORITY_COMPLAINT
    assert ticket.summary == text
    assert f"№ {ticket.id}" in replies[-1].text


async def test_damaged_item_with_a_photo(core):
    customer = Customer(core)
    replies = await customer.say("пришла разбитая ваза в коробке")
    assert replies[0].text == core.kb.texts.get("complaint.apology.damaged_item")
    await customer.say("заказ 2233445566-0015")  # delivered
    replies = await customer.say("ваза треснула пополам, коробка помята")
    assert replies[0].text == core.kb.texts.get("complaint.ask_photo")
    assert flat_ids(replies[0]) == [buttons.NO_PHOTO]
    assert replies[0].buttons[0][0].title == "Без фото"
    assert await customer.open_ticket() is None
    replies = await customer.say(attachments=(PHOTO,))
    ticket = await customer.open_ticket()
    assert ticket is not None
    assert ticket.intent == "damaged_item" and ticket.priority == PRIORITY_COMPLAINT
    assert ticket.order_number == "2233445566-0015"
    assert f"№ {ticket.id}" in replies[-1].text
    transcript = await core.storage.messages.for_ticket(ticket.id)
    photos = [a for m in transcript for a in m.attachments]
    assert [p.ref for p in photos] == [PHOTO.ref]


async def test_damaged_item_without_a_photo(core):
    customer = Customer(core)
    await customer.say("пришла разбитая ваза в коробке")
    await customer.say("2233445566-0015")
    await customer.say("ваза треснула пополам")
    replies = await customer.press(buttons.NO_PHOTO)
    ticket = await customer.open_ticket()
    assert ticket is not None and ticket.intent == "damaged_item"
    assert ticket.priority == PRIORITY_COMPLAINT
    assert f"№ {ticket.id}" in replies[-1].text


async def test_damaged_item_photo_with_the_description(core):
    customer = Customer(core)
    await customer.say("пришла разбитая ваза в коробке")
    await customer.say("2233445566-0015")
    await customer.say("вот фото, ваза разбита", attachments=(PHOTO,))
    ticket = await customer.open_ticket()
    assert ticket is not None
    assert "ваза разбита" in ticket.summary


async def test_not_received_complaint(core):
    customer = Customer(core)
    replies = await customer.say("в приложении написано вручен а я ничего не получала")
    assert replies[0].text == core.kb.texts.get("complaint.apology.not_received")
    # Nine words already say what happened: the number is the last thing needed.
    replies = await customer.say("2233445566-0015")
    ticket = await customer.open_ticket()
    assert ticket.intent == "not_received"
    assert ticket.order_number == "2233445566-0015"
    assert ticket.summary == "в приложении написано вручен а я ничего не получала"
    assert ticket.priority == PRIORITY_COMPLAINT
    assert "жалоба" in replies[-1].text


async def test_short_not_received_asks_what_happened(core):
    customer = Customer(core)
    await customer.say("посылку так и не получил")
    replies = await customer.say("2233445566-0015")
    assert [r.text for r in replies] == [core.kb.texts.get("complaint.ask_description")]
    replies = await customer.say("в пункте выдачи говорят что отдали")
    ticket = await customer.open_ticket()
    assert ticket.intent == "not_received"
    assert ticket.summary == "в пункте выдачи говорят что отдали"


async def test_complaint_jumps_ahead_of_ordinary_tickets(core, clock):
    ordinary = Customer(core, user_id="1")
    await ordinary.say("позовите оператора")
    clock.advance(60)
    angry = Customer(core, user_id="2")
    await angry.say("курьер 12345678-0001 не приехал в назначенный интервал и даже не позвонил")
    ordinary_ticket = await ordinary.open_ticket()
    complaint_ticket = await angry.open_ticket()
    assert complaint_ticket.priority > ordinary_ticket.priority
    queue = await core.desk.queue()
    assert [t.id for t in queue] == [complaint_ticket.id, ordinary_ticket.id]
    assert await core.storage.tickets.position(complaint_ticket) == 1
    assert await core.storage.tickets.position(await ordinary.open_ticket()) == 2


async def test_customer_told_position_and_wait(core, clock):
    waits = []
    for n in range(3):
        clock.advance(10)
        replies = await Customer(core, user_id=f"c{n}").say("нужен живой оператор")
        waits.append(told(replies[-1].text))
    # Default wait 10 min, growing by half of it per customer ahead.
    assert [(p, w) for _, p, w in waits] == [(1, 10), (2, 15), (3, 20)]
    assert [t for t, _, _ in waits] == [1, 2, 3]


async def test_expected_wait_follows_recent_first_responses(core, clock):
    operator = Operator("op1", "Ольга")
    for n in range(5):
        await Customer(core, user_id=f"old{n}").say("нужен живой оператор")
        ticket = (await core.desk.queue())[0]
        clock.advance(25 * 60)  # each answered after 25 minutes
        await core.desk.reply(ticket.id, operator, "Здравствуйте!")
        await core.desk.close(ticket.id, operator)
    replies = await Customer(core, user_id="new").say("нужен живой оператор")
    assert told(replies[-1].text)[1:] == (1, 25)


async def test_long_wait_is_told_in_hours(core):
    assert core.engine.escalation.format_wait(3 * 3600) == "около 3 ч"
    assert core.engine.escalation.format_wait(30) == "около 1 мин"


async def test_off_hours_customer_told_when_operators_answer(make_core):
    # ManualClock() starts at 2026-01-01 00:00 UTC: 03:00 in Moscow, before the shift.
    core = await make_core(clock=ManualClock())
    replies = await Customer(core).say("нужен живой оператор")
    ticket = await Customer(core).open_ticket()
    assert ticket is not None
    assert replies[-1].text == core.kb.texts.format(
        "escalated_offhours",
        ticket=ticket.id,
        position=1,
        hours="с 09:00 до 21:00",
        when="01.01 после 09:00",
    )


async def test_second_request_says_ticket_already_open(core):
    customer = Customer(core)
    await customer.say("позовите оператора")
    ticket = await customer.open_ticket()
    replies = await customer.press(buttons.OPERATOR)
    assert [r.text for r in replies] == [
        core.kb.texts.format("already_escalated", ticket=ticket.id, position=1)
    ]
    tickets = await core.storage.tickets.all()
    assert len(tickets) == 1


async def test_database_refuses_a_second_open_ticket(core):
    customer = Customer(core)
    await customer.say("позовите оператора")
    conv = await customer.conversation()
    with pytest.raises(Exception) as refused:
        async with core.storage.transaction() as tx:
            await tx.tickets.create(
                conversation_id=conv.id,
                customer=conv.customer,
                now=core.clock.now(),
                intent="payment",
                order_number=None,
                reason="asked",
                summary="",
                priority=0,
                vip=False,
            )
    assert is_unique_violation(refused.value)
    assert len(await core.storage.tickets.all()) == 1


async def test_a_new_ticket_after_the_old_one_closed(core):
    customer = Customer(core)
    await customer.say("позовите оператора")
    first = await customer.open_ticket()
    await core.desk.close(first.id, Operator("op", "Олег"))
    await customer.say("нужен живой оператор")
    second = await customer.open_ticket()
    assert second is not None and second.id != first.id


async def test_open_ticket_bot_stays_silent_and_forwards(core):
    customer = Customer(core)
    await customer.say("позовите оператора")
    ticket = await customer.open_ticket()
    before = await outbox_items(core)
    for text in ("заказ 12345678-0001 не пришёл", "где мой заказ"):
        assert await customer.say(text) == []
    # Asking for a person again is answered with the case's status (and still forwarded).
    again = await customer.say("позовите оператора")
    assert [r.text for r in again] == [
        core.kb.texts.format("already_escalated", ticket=ticket.id, position=1)
    ]
    photo = await customer.say(attachments=(PHOTO,))
    assert photo == []
    after = await outbox_items(core)
    new = [o for o in after[len(before) :] if o["channel"] == "operators"]
    assert [(o["channel"], o["kind"], o["ticket_id"]) for o in new] == [
        ("operators", "customer_message", ticket.id)
    ] * 4
    payloads = [json.loads(o["payload"]) for o in new]
    assert [p["text"] for p in payloads[:3]] == [
        "заказ 12345678-0001 не пришёл",
        "где мой заказ",
        "позовите оператора",
    ]
    assert payloads[3]["attachments"][0]["ref"] == PHOTO.ref
    assert all(p["ticket_id"] == ticket.id for p in payloads)
    logged = [m for m in await customer.log() if m.direction == "in"]
    assert all(m.ticket_id == ticket.id for m in logged[-4:])
    assert [m for m in await customer.log() if m.direction == "out"][-1].ticket_id == ticket.id
    assert (await customer.open_ticket()).last_customer_at == core.clock.now()


async def test_topic_button_while_a_ticket_is_open_goes_to_operators(core):
    customer = Customer(core)
    await customer.say("позовите оператора")
    ticket = await customer.open_ticket()
    replies = await customer.press(buttons.TOPIC + "order_status")
    assert replies == []
    last = (await outbox_items(core))[-1]
    assert (last["kind"], last["ticket_id"]) == ("customer_message", ticket.id)


async def test_rude_message_to_an_open_ticket_marks_conflict(core):
    customer = Customer(core)
    await customer.say("позовите оператора")
    replies = await customer.say("да вы издеваетесь, идиоты")
    assert all_text(replies) == core.kb.texts.get("conflict_boundary")
    ticket = await customer.open_ticket()
    assert ticket.conflict is True
    kinds = [o["kind"] for o in await outbox_items(core)]
    assert kinds.count("customer_message") == 1


@pytest.mark.parametrize("settings_overrides", [{"vip_telegram_ids": ["777", "778"]}])
async def test_vip_customer_gets_priority(core, settings_overrides):
    vip = Customer(core, user_id="777")
    replies = await vip.say("позовите оператора")
    ticket = await vip.open_ticket()
    assert ticket.vip is True
    assert ticket.priority >= PRIORITY_VIP
    assert replies[-1].text == core.kb.texts.format(
        "escalated_vip", ticket=ticket.id, position=1, wait="около 10 мин"
    )
    # The same id in another channel is not the VIP.
    other = Customer(core, user_id="777", channel=VK)
    await other.say("позовите оператора")
    assert (await other.open_ticket()).priority == 0


@pytest.mark.parametrize("settings_overrides", [{"vip_vk_ids": ["42"]}])
async def test_vip_complaint_is_first_in_queue(core, clock, settings_overrides):
    ordinary = Customer(core, user_id="1")
    await ordinary.say("курьер 12345678-0001 не приехал в назначенный интервал и даже не позвонил")
    clock.advance(600)
    vip = Customer(core, user_id="42", channel=VK)
    await vip.say("курьер 55512345-0007 не приехал в назначенный интервал и даже не позвонил")
    vip_ticket = await vip.open_ticket()
    assert vip_ticket.priority == PRIORITY_VIP + PRIORITY_COMPLAINT
    assert next(t.id for t in await core.desk.queue()) == vip_ticket.id


async def test_vip_from_settings_via_environment(settings_with, make_core, monkeypatch):
    monkeypatch.setenv("VIP_TELEGRAM_IDS", "5, 6")
    settings = settings_with()
    assert settings.vip_telegram_ids == ["5", "6"]
    core = await make_core(settings=settings)
    customer = Customer(core, user_id="6")
    await customer.say("позовите оператора")
    assert (await customer.open_ticket()).priority >= PRIORITY_VIP


async def test_transcript_holds_the_dialog_before_the_ticket(core):
    customer = Customer(core)
    await customer.say("промокод на первую покупку не применяется")
    await customer.press(buttons.OPERATOR)
    ticket = await customer.open_ticket()
    view = await core.desk.view(ticket.id)
    texts = [m.text for m in view.transcript]
    assert texts[0] == "промокод на первую покупку не применяется"
    assert core.kb.answer("promo_code").text in texts
    assert view.position == 1


async def test_clear_out_of_scope_questions_are_answered_not_escalated(core):
    customer = Customer(core, user_id="weather")
    for text in ("какая завтра погода в москве", "расскажи анекдот про кота"):
        replies = await customer.say(text)
        assert replies[0].text == core.kb.answer("out_of_scope").text
    assert await customer.open_ticket() is None
    # Gibberish twice is a misunderstanding: the case goes to a person.
    await customer.say("ываываыв")
    await customer.say("ккккк ааа щщщ")
    assert await customer.open_ticket() is not None


async def test_start_during_an_open_case_tells_its_status(core):
    customer = Customer(core, user_id="restart")
    await customer.say("позовите оператора")
    ticket = await customer.open_ticket()
    replies = await customer.start()
    assert len(replies) == 1 and f"№ {ticket.id}" in replies[0].text
    await core.desk.take(ticket.id, Operator("op", "Ольга"))
    replies = await customer.start()
    assert replies[0].text == core.kb.texts.format("already_in_progress", ticket=ticket.id)
