"""The operators' desk: reply, note, take, close with a rating request, reopen, queue."""

from __future__ import annotations

import json

import pytest
from conftest import Collector, Customer, bot_answers_delivered, flat_ids, outbox_items

from core import buttons
from core.desk.operators import OperatorError
from core.desk.roles import Operator
from core.types import OPERATORS, TELEGRAM, VK, Attachment

OLGA = Operator("op-olga", "Ольга")
IVAN = Operator("op-ivan", "Иван")


async def open_ticket(core, user_id="1001", channel=TELEGRAM, text="позовите оператора"):
    customer = Customer(core, user_id=user_id, channel=channel)
    await customer.say(text)
    ticket = await customer.open_ticket()
    assert ticket is not None
    await bot_answers_delivered(core)
    return customer, ticket


async def test_reply_records_first_response_and_assigns(core, clock):
    _, ticket = await open_ticket(core)
    assert ticket.first_response_at is None and ticket.operator_id is None
    clock.advance(300)
    first_at = clock.now()
    updated = await core.desk.reply(ticket.id, OLGA, "Здравствуйте, уже смотрю ваш заказ.")
    assert updated.first_response_at == first_at
    assert updated.operator_id == OLGA.id and updated.operator_name == "Ольга"
    assert updated.status == "in_progress"
    assert updated.last_operator_at == first_at
    # A second reply (even by someone else) keeps the first response and the owner.
    clock.advance(60)
    again = await core.desk.reply(ticket.id, IVAN, "Ещё минутку.")
    assert again.first_response_at == first_at
    assert again.operator_id == OLGA.id
    assert again.last_operator_at == clock.now()


async def test_reply_goes_to_the_customer_channel_through_the_outbox(core):
    _, ticket = await open_ticket(core, user_id="55", channel=VK)
    await core.desk.reply(ticket.id, OLGA, "Добрый день! Заказ уже в пути.")
    replies = [o for o in await outbox_items(core) if o["kind"] == "reply"]
    assert len(replies) == 1
    assert replies[0]["channel"] == VK
    assert replies[0]["recipient"] == "55"
    assert replies[0]["ticket_id"] == ticket.id
    payload = json.loads(replies[0]["payload"])
    assert payload["reply"]["text"] == "Добрый день! Заказ уже в пути."
    vk = Collector()
    core.delivery.register(VK, vk)
    await core.delivery.run_once()
    assert vk.texts() == ["Добрый день! Заказ уже в пути."]
    logged = await core.storage.messages.for_ticket(ticket.id)
    assert logged[-1].direction == "operator"
    assert logged[-1].author == "Ольга"


async def test_reply_with_attachment_only(core):
    _, ticket = await open_ticket(core)
    photo = Attachment("photo", ref="file-1", source=TELEGRAM)
    await core.desk.reply(ticket.id, OLGA, "", attachments=[photo])
    item = next(o for o in await outbox_items(core) if o["kind"] == "reply")
    assert json.loads(item["payload"])["reply"]["attachments"][0]["ref"] == "file-1"


async def test_empty_reply_is_refused(core):
    _, ticket = await open_ticket(core)
    with pytest.raises(OperatorError, match="Пустое сообщение"):
        await core.desk.reply(ticket.id, OLGA, "   ")
    assert (await core.storage.tickets.get(ticket.id)).first_response_at is None


async def test_note_is_logged_and_never_delivered(core):
    _, ticket = await open_ticket(core)
    before = await outbox_items(core)
    await core.desk.note(ticket.id, OLGA, "клиент постоянный, предложить баллы")
    assert await outbox_items(core) == before
    transcript = await core.storage.messages.for_ticket(ticket.id)
    assert transcript[-1].direction == "note"
    assert transcript[-1].text == "клиент постоянный, предложить баллы"
    assert transcript[-1].author == "Ольга"
    collector = Collector()
    core.delivery.register(TELEGRAM, collector)
    await core.delivery.run_once()
    assert collector.items == []
    assert (await core.storage.tickets.get(ticket.id)).first_response_at is None


async def test_take_and_a_second_operator_cannot_take(core):
    _, ticket = await open_ticket(core)
    taken = await core.desk.take(ticket.id, OLGA)
    assert taken.status == "in_progress" and taken.operator_id == OLGA.id
    with pytest.raises(OperatorError) as error:
        await core.desk.take(ticket.id, IVAN)
    assert f"№{ticket.id}" in str(error.value)
    assert "Ольга" in str(error.value)
    assert (await core.storage.tickets.get(ticket.id)).operator_id == OLGA.id
    # Taking again by the same operator is harmless.
    assert (await core.desk.take(ticket.id, OLGA)).operator_id == OLGA.id
    assert await core.desk.queue() == []


async def test_close_asks_for_a_rating(core, clock):
    customer, ticket = await open_ticket(core)
    await core.desk.reply(ticket.id, OLGA, "Готово, деньги вернули.")
    clock.advance(120)
    closed = await core.desk.close(ticket.id, OLGA)
    assert closed.status == "closed"
    assert closed.closed_at == clock.now()
    assert closed.closed_by == "Ольга"
    assert await customer.open_ticket() is None
    telegram, operators = Collector(), Collector()
    core.delivery.register(TELEGRAM, telegram)
    core.delivery.register(OPERATORS, operators)
    await core.delivery.run_once()
    request = telegram.items[-1]
    assert request.kind == "reply"
    reply = request.payload["reply"]
    assert reply["text"] == core.kb.texts.format("rating_request", ticket=ticket.id)
    ids = [b["id"] for row in reply["buttons"] for b in row]
    assert ids == [f"rate:{ticket.id}:{n}" for n in range(1, 6)]
    assert "ticket_closed" in operators.kinds()
    assert (await customer.conversation()).step == "await_rating"


async def test_rating_button_and_comment_are_stored(core):
    customer, ticket = await open_ticket(core)
    await core.desk.close(ticket.id, OLGA)
    replies = await customer.press(f"rate:{ticket.id}:5")
    assert replies[0].text == core.kb.texts.get("rating_thanks")
    assert flat_ids(replies[0]) == [buttons.SKIP]
    assert (await core.storage.tickets.get(ticket.id)).rating == 5
    replies = await customer.say("оператор ответил быстро и вежливо")
    assert replies[0].text == core.kb.texts.get("comment_thanks")
    stored = await core.storage.tickets.get(ticket.id)
    assert stored.rating_comment == "оператор ответил быстро и вежливо"
    assert (await customer.conversation()).step == "idle"
    notices = [o for o in await outbox_items(core) if o["kind"] == "notice"]
    assert notices == []  # a good rating bothers nobody


async def test_rating_typed_as_a_digit(core):
    customer, ticket = await open_ticket(core)
    await core.desk.close(ticket.id, OLGA)
    await customer.say("4")
    assert (await core.storage.tickets.get(ticket.id)).rating == 4


async def test_low_rating_notifies_operators(core):
    customer, ticket = await open_ticket(core)
    await core.desk.close(ticket.id, OLGA)
    replies = await customer.press(f"rate:{ticket.id}:2")
    assert replies[0].text == core.kb.texts.get("rating_thanks_low")
    assert (await core.storage.tickets.get(ticket.id)).rating == 2
    await customer.say("ждал ответа два часа")
    notices = [
        (o["channel"], json.loads(o["payload"]))
        for o in await outbox_items(core)
        if o["kind"] == "notice"
    ]
    assert [(c, p["event"]) for c, p in notices] == [
        (OPERATORS, "low_rating"),
        (OPERATORS, "rating_comment"),
    ]
    assert notices[0][1]["rating"] == 2 and notices[0][1]["ticket_id"] == ticket.id
    assert notices[1][1]["text"] == "ждал ответа два часа"


async def test_skip_after_rating(core):
    customer, ticket = await open_ticket(core)
    await core.desk.close(ticket.id, OLGA)
    await customer.press(f"rate:{ticket.id}:3")
    replies = await customer.press(buttons.SKIP)
    assert replies[0].text == core.kb.texts.get("rating_skipped")
    stored = await core.storage.tickets.get(ticket.id)
    assert stored.rating == 3 and stored.rating_comment is None


async def test_new_question_instead_of_rating(core):
    customer, ticket = await open_ticket(core)
    await core.desk.close(ticket.id, OLGA)
    replies = await customer.say("мне не пришли баллы за отзыв")
    assert replies[0].text == core.kb.answer("bonuses").text
    assert (await core.storage.tickets.get(ticket.id)).rating is None


async def test_reopen(core):
    customer, ticket = await open_ticket(core)
    await core.desk.take(ticket.id, OLGA)
    await core.desk.close(ticket.id, OLGA)
    reopened = await core.desk.reopen(ticket.id, IVAN)
    assert reopened.status == "in_progress"
    assert reopened.closed_at is None and reopened.closed_by is None
    assert (await customer.open_ticket()).id == ticket.id
    assert (await customer.conversation()).step == "idle"
    # The customer's messages go to the reopened case again.
    assert await customer.say("спасибо что вернулись") == []
    with pytest.raises(OperatorError, match="и так открыто"):
        await core.desk.reopen(ticket.id, IVAN)


async def test_reopen_unassigned_ticket_waits_in_queue(core):
    _, ticket = await open_ticket(core)
    async with core.storage.transaction() as tx:  # closed without anyone assigned
        await tx.tickets.update(ticket.id, status="closed", closed_at=core.clock.now())
    reopened = await core.desk.reopen(ticket.id, OLGA)
    assert reopened.status == "waiting"
    assert [t.id for t in await core.desk.queue()] == [ticket.id]


async def test_reopen_refused_when_another_ticket_is_open(core):
    customer, ticket = await open_ticket(core)
    await core.desk.close(ticket.id, OLGA)
    await customer.say("нужен живой оператор")
    newer = await customer.open_ticket()
    with pytest.raises(OperatorError) as error:
        await core.desk.reopen(ticket.id, OLGA)
    assert f"№{newer.id}" in str(error.value)


async def test_queue_priority_then_age(core, clock):
    _, old = await open_ticket(core, user_id="1")
    clock.advance(600)
    _, newer = await open_ticket(core, user_id="2")
    clock.advance(600)
    _, complaint = await open_ticket(
        core,
        user_id="3",
        text="курьер 12345678-0001 не приехал в назначенный интервал и даже не позвонил",
    )
    clock.advance(600)
    _, newest = await open_ticket(core, user_id="4")
    queue = await core.desk.queue()
    assert [t.id for t in queue] == [complaint.id, old.id, newer.id, newest.id]
    positions = [await core.storage.tickets.position(t) for t in queue]
    assert positions == [1, 2, 3, 4]
    # A taken ticket leaves the queue; the others move up.
    await core.desk.take(complaint.id, OLGA)
    queue = await core.desk.queue()
    assert [t.id for t in queue] == [old.id, newer.id, newest.id]
    assert await core.storage.tickets.position(queue[-1]) == 3
    view = await core.desk.view(newest.id)
    assert view.position == 3
    assert (await core.desk.view(complaint.id)).position is None


async def test_same_age_ordered_by_id(core):
    _, first = await open_ticket(core, user_id="1")
    _, second = await open_ticket(core, user_id="2")
    assert [t.id for t in await core.desk.queue()] == [first.id, second.id]


async def test_ticket_for_conversation(core):
    customer, ticket = await open_ticket(core)
    conv = await customer.conversation()
    assert (await core.desk.ticket_for_conversation(conv.id)).id == ticket.id
    await core.desk.close(ticket.id, OLGA)
    latest = await core.desk.ticket_for_conversation(conv.id)
    assert latest.id == ticket.id and latest.status == "closed"


@pytest.mark.parametrize(
    "action",
    [
        lambda desk: desk.reply(999, OLGA, "текст"),
        lambda desk: desk.note(999, OLGA, "текст"),
        lambda desk: desk.take(999, OLGA),
        lambda desk: desk.close(999, OLGA),
        lambda desk: desk.reopen(999, OLGA),
        lambda desk: desk.view(999),
    ],
)
async def test_unknown_ticket_raises_in_russian(core, action):
    with pytest.raises(OperatorError) as error:
        await action(core.desk)
    assert str(error.value) == "Обращения №999 нет."


@pytest.mark.parametrize(
    "action",
    [
        lambda desk, n: desk.reply(n, OLGA, "текст"),
        lambda desk, n: desk.take(n, OLGA),
        lambda desk, n: desk.close(n, OLGA),
    ],
)
async def test_closed_ticket_refuses_actions(core, action):
    _, ticket = await open_ticket(core)
    await core.desk.close(ticket.id, OLGA)
    before = await outbox_items(core)
    with pytest.raises(OperatorError) as error:
        await action(core.desk, ticket.id)
    assert str(error.value).startswith(f"Обращение №{ticket.id} закрыто")
    assert "/reopen" in str(error.value)
    assert await outbox_items(core) == before


async def test_note_on_a_closed_ticket_is_allowed(core):
    _, ticket = await open_ticket(core)
    await core.desk.close(ticket.id, OLGA)
    await core.desk.note(ticket.id, OLGA, "итог: компенсация баллами")
    transcript = await core.storage.messages.for_ticket(ticket.id)
    assert transcript[-1].direction == "note"


async def test_a_late_message_after_a_rating_is_a_new_question_not_a_comment(core, clock):
    customer = Customer(core, user_id="late")
    await customer.say("позовите оператора")
    ticket = await customer.open_ticket()
    await core.desk.close(ticket.id, Operator("op", "Ольга"))
    await customer.press(f"rate:{ticket.id}:5")
    clock.advance(2 * 3600)  # the customer comes back two hours later
    replies = await customer.say("где мой заказ")
    assert "номер" in replies[0].text
    assert (await core.storage.tickets.get(ticket.id)).rating_comment is None


async def test_rudeness_during_an_open_case_is_flagged_to_operators(core):
    customer = Customer(core, user_id="rude")
    await customer.say("позовите оператора")
    ticket = await customer.open_ticket()
    replies = await customer.say("вы там все идиоты что ли")
    assert replies[0].text == core.kb.texts.get("conflict_boundary")
    assert (await core.storage.tickets.get(ticket.id)).conflict
    notices = [
        json.loads(row["payload"]) for row in await outbox_items(core) if row["kind"] == "notice"
    ]
    assert {"ticket_id": ticket.id, "event": "conflict"} in notices
    await customer.say("дебилы")  # flagged once, not on every rude message
    notices_after = [row for row in await outbox_items(core) if row["kind"] == "notice"]
    assert len(notices_after) == len(notices)
