"""Edited messages relayed both ways, through the fake Bot API and the fake VK API:
an operator's edited reply edits the customer's copy (editMessageText, messages.edit) or,
where that is impossible, arrives as a marked correction; a customer's edit inside an
open case reaches the case's topic."""

from __future__ import annotations

import time
from typing import Any

from core.clock import ManualClock
from core.desk.edits import EditRelay
from core.events import Ack
from tests.case_helpers import count, escalate, in_topic, to_chat
from tests.conftest import WORK_TIME
from tests.telegram_harness import CUSTOMER, OPS, telegram_bot

try:
    from tests.vk_helpers import OPERATOR as VK_OPERATOR
    from tests.vk_helpers import VKEnv, eventually, until, vk_classifier, vk_env
except ImportError:  # plain `pytest` without the repo root on sys.path
    from vk_helpers import OPERATOR as VK_OPERATOR  # type: ignore[no-redef]
    from vk_helpers import (  # type: ignore[no-redef]  # noqa: F401
        VKEnv,
        eventually,
        until,
        vk_classifier,
        vk_env,
    )

OPERATOR_ID = 777


def edited(message: dict[str, Any], text: str) -> dict[str, Any]:
    """The same message, edited: Telegram sends it as `edited_message`."""
    return {**message, "text": text, "edit_date": int(time.time()) + 1}


async def operator_reply(fake, thread: int, text: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The operator answers in the topic; returns their message and the customer's copy."""
    update = fake.group_message(OPS, OPERATOR_ID, text, thread_id=thread)
    [copy] = await fake.wait_for("sendMessage", to_chat(CUSTOMER, text))
    delivered = [m for m in fake.sent_messages(CUSTOMER) if m.get("text") == text]
    assert len(delivered) == 1
    assert copy["chat_id"] == CUSTOMER
    return update["message"], delivered[0]


# ---------------------------------------------------------------------------- Telegram
async def test_operator_edit_changes_the_customers_copy(tmp_path, classifier):
    async with telegram_bot(tmp_path, classifier, clock=ManualClock(WORK_TIME)) as bot:
        fake, core = bot.fake, bot.core
        ticket_id, thread, _ = await escalate(fake, CUSTOMER)
        original, copy = await operator_reply(fake, thread, "Заказ приедет в среду.")
        fake.push_update({"edited_message": edited(original, "Заказ приедет в четверг.")})
        [edit] = await fake.wait_for("editMessageText", to_chat(CUSTOMER))
        assert edit["message_id"] == copy["message_id"]
        assert edit["text"] == "Заказ приедет в четверг."
        assert fake.sent_messages(CUSTOMER)[-1]["text"] == "Заказ приедет в четверг."
        # No extra message for the customer, and the transcript keeps the new wording.
        assert count(fake, "sendMessage", to_chat(CUSTOMER, "Исправление")) == 0
        transcript = await core.storage.messages.for_ticket(ticket_id)
        assert transcript[-1].text == "✏️ (исправлено) Заказ приедет в четверг."


async def test_operator_edit_that_cannot_be_applied_arrives_as_a_correction(tmp_path, classifier):
    async with telegram_bot(tmp_path, classifier, clock=ManualClock(WORK_TIME)) as bot:
        fake = bot.fake
        _, thread, _ = await escalate(fake, CUSTOMER)
        original, _ = await operator_reply(fake, thread, "Промокод: SALE10")
        refused = "Bad Request: message can't be edited"
        fake.fail_next("editMessageText", code=400, description=refused)
        fake.push_update({"edited_message": edited(original, "Промокод: SALE15")})
        [sent] = await fake.wait_for(
            "sendMessage", to_chat(CUSTOMER, "Исправление к предыдущему ответу оператора")
        )
        assert sent["text"].endswith("Промокод: SALE15")
        # A second edit follows the correction, in place.
        fake.push_update({"edited_message": edited(original, "Промокод: SALE20")})
        await fake.wait_for("editMessageText", to_chat(CUSTOMER, "SALE20"), count=1)
        assert fake.sent_messages(CUSTOMER)[-1]["text"].endswith("Промокод: SALE20")


async def test_notes_and_commands_edited_are_not_sent(tmp_path, classifier):
    async with telegram_bot(tmp_path, classifier, clock=ManualClock(WORK_TIME)) as bot:
        fake, core = bot.fake, bot.core
        _, thread, _ = await escalate(fake, CUSTOMER)
        note = fake.group_message(OPS, OPERATOR_ID, "#проверить склад", thread_id=thread)
        fake.push_update({"edited_message": edited(note["message"], "#проверить склад в Туле")})
        marker, _ = await operator_reply(fake, thread, "Сейчас проверю.")
        assert marker["message_id"] > note["message"]["message_id"]
        assert not fake.calls("editMessageText")
        rows = await core.storage.db.fetchall("SELECT kind FROM outbox WHERE kind = 'edit'")
        assert rows == []


async def test_customer_edit_in_an_open_case_reaches_the_topic(tmp_path, classifier):
    async with telegram_bot(tmp_path, classifier, clock=ManualClock(WORK_TIME)) as bot:
        fake, core = bot.fake, bot.core
        ticket_id, thread, _ = await escalate(fake, CUSTOMER)
        update = fake.private_message(CUSTOMER, "мой адрес ул. Ленина 5")
        await fake.wait_for("sendMessage", in_topic(thread, "мой адрес ул. Ленина 5"))
        fake.push_update({"edited_message": edited(update["message"], "мой адрес ул. Ленина 7")})
        [post] = await fake.wait_for(
            "sendMessage", in_topic(thread, "Клиент исправил сообщение: мой адрес ул. Ленина 7")
        )
        assert "было: «мой адрес ул. Ленина 5»" in post["text"]
        # The same edit delivered twice reaches the topic once.
        fake.push_update({"edited_message": edited(update["message"], "мой адрес ул. Ленина 7")})
        marker = fake.private_message(CUSTOMER, "жду ответа")
        await fake.wait_for("sendMessage", in_topic(thread, "жду ответа"))
        assert count(fake, "sendMessage", in_topic(thread, "исправил сообщение")) == 1
        assert marker["message"]["message_id"] > update["message"]["message_id"]
        transcript = await core.storage.messages.for_ticket(ticket_id)
        assert any("исправил сообщение" in m.text for m in transcript)


async def test_customer_edit_without_an_open_case_changes_nothing(tmp_path, classifier):
    async with telegram_bot(tmp_path, classifier, clock=ManualClock(WORK_TIME)) as bot:
        fake, core = bot.fake, bot.core
        update = fake.private_message(CUSTOMER, "как вернуть товар")
        await fake.wait_for("sendMessage", to_chat(CUSTOMER))
        before = len(fake.calls("sendMessage"))
        fake.push_update({"edited_message": edited(update["message"], "как вернуть деньги")})
        fake.private_message(CUSTOMER, "привет")  # handled after the edit (same chat)
        await fake.wait_for("sendMessage", to_chat(CUSTOMER), count=2)
        assert len(fake.calls("sendMessage")) == before + 1  # only the answer to "привет"
        assert (
            await core.storage.db.fetchall(
                "SELECT * FROM outbox WHERE channel = 'operators' OR kind = 'edit'"
            )
            == []
        )
        assert await core.storage.tickets.all() == []


# ---------------------------------------------------------------------------- VK
async def test_vk_operator_edit_uses_messages_edit(vk_env: VKEnv) -> None:
    core, fake = vk_env.core, vk_env.fake
    ticket = await vk_env.open_ticket(701)
    ack = Ack(-100500, 31)  # the operator's message in Telegram
    await core.desk.reply(ticket.id, VK_OPERATOR, "Курьер будет с 10 до 12.", ack=ack)
    await until(lambda: any(m["text"] == "Курьер будет с 10 до 12." for m in vk_env.sent(701)))
    copy = next(m for m in vk_env.sent(701) if m["text"] == "Курьер будет с 10 до 12.")
    relay = EditRelay.of(core)
    assert await relay.operator_edited(ticket.id, "Анна", "-100500:31", "Курьер будет с 12 до 14.")
    await until(lambda: bool(fake.edits), what="messages.edit")
    [edit] = fake.edits
    assert int(edit["message_id"]) == copy["id"] and int(edit["peer_id"]) == 701
    assert copy["text"] == "Курьер будет с 12 до 14."  # the fake changed the delivered message
    assert sum(1 for m in vk_env.sent(701) if "Исправление" in m["text"]) == 0


async def test_vk_edit_refused_becomes_a_correction(vk_env: VKEnv) -> None:
    core, fake = vk_env.core, vk_env.fake
    ticket = await vk_env.open_ticket(702)
    ack = Ack(-100500, 32)
    await core.desk.reply(ticket.id, VK_OPERATOR, "Скидка 5%.", ack=ack)
    await until(lambda: any(m["text"] == "Скидка 5%." for m in vk_env.sent(702)))
    fake.fail_next("messages.edit", code=909, msg="Can't edit this message, because it's too old")
    await EditRelay.of(core).operator_edited(ticket.id, "Анна", "-100500:32", "Скидка 10%.")
    await until(lambda: any("Скидка 10%." in m["text"] for m in vk_env.sent(702)))
    correction = vk_env.sent(702)[-1]["text"]
    assert correction.startswith("✏️ Исправление к предыдущему ответу оператора")


async def test_vk_customer_edit_reaches_the_operators(vk_env: VKEnv) -> None:
    core, fake = vk_env.core, vk_env.fake
    ticket = await vk_env.open_ticket(703)
    obj = fake.push_message(703, "заказ на Пушкина 3")
    await eventually(
        lambda: _logged(core, ticket.id, "заказ на Пушкина 3"), what="the message in the case"
    )
    message = {**obj["message"], "text": "заказ на Пушкина 13", "update_time": int(time.time())}
    fake._push("message_edit", message)
    await eventually(
        lambda: _logged(core, ticket.id, "Клиент исправил сообщение: заказ на Пушкина 13"),
        what="the edit in the case",
    )
    rows = await core.storage.db.fetchall(
        "SELECT payload FROM outbox WHERE kind = 'customer_message' ORDER BY id"
    )
    assert "было: «заказ на Пушкина 3»" in rows[-1]["payload"]


async def _logged(core, ticket_id: int, needle: str) -> bool:
    return any(needle in m.text for m in await core.storage.messages.for_ticket(ticket_id))
