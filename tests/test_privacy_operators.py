"""Issue 18 in the operators' group: /forget and /export are refused to an operator who is
not senior (and the erase button too); a senior operator gets the export privately as a
JSON file, and /forget asks, then erases — the act names them, the topic is deleted, the
group told, the customer told."""

from __future__ import annotations

import json

from core.types import CustomerRef
from tests.case_helpers import operator_says, raw_text, say
from tests.privacy_helpers import until
from tests.telegram_harness import OPS, telegram_bot
from tests.test_privacy_telegram import escalated

CUSTOMER = 6955501234
OPERATOR, SENIOR = 777, 778


async def test_forget_and_export_in_the_group(tmp_path, classifier):
    async with telegram_bot(tmp_path, classifier, senior_operator_ids=[str(SENIOR)]) as bot:
        fake, core = bot.fake, bot.core
        name = {"first_name": "Ярослава", "last_name": "Заявительница"}
        _, card = await escalated(fake, CUSTOMER, "позовите оператора, тайна55", name)
        thread = card["message_thread_id"]

        for command in ("/forget", "/export"):
            refused = await operator_says(fake, thread, command, operator=OPERATOR)
            assert "Только старший оператор может" in raw_text(refused)
        assert not fake.calls("sendDocument") and await core.storage.privacy.acts() == []

        said = await operator_says(fake, thread, "/export", operator=SENIOR)
        assert "отправлен вам в личные сообщения" in raw_text(said)
        [sent] = fake.calls("sendDocument")
        assert sent["chat_id"] == SENIOR
        exported = json.loads(sent["document"])
        assert exported["customer"] == f"telegram:{CUSTOMER}"
        document = sent["document"].decode()
        assert "тайна55" in document and "Заявительница" in document

        # A senior who never started a chat with the bot: the file comes in the topic.
        fake.fail_next("sendDocument", code=403, description="Forbidden: bot can't initiate")
        fake.group_message(OPS, SENIOR, "/export", thread_id=thread)
        [here] = await fake.wait_for("sendDocument", lambda p: p["chat_id"] == OPS)
        assert here["message_thread_id"] == thread and "Не получилось" in here["caption"]
        assert "тайна55" in here["document"].decode()

        asked = await operator_says(fake, thread, "/forget", operator=SENIOR)
        assert "Отменить будет нельзя" in raw_text(asked)
        [[button]] = asked["reply_markup"]["inline_keyboard"]
        [question] = [
            m for m in fake.sent_messages(OPS) if "Отменить будет нельзя" in m.get("text", "")
        ]
        press = {"message_chat_id": OPS, "message_id": question["message_id"], "thread_id": thread}
        fake.callback_query(OPERATOR, button["callback_data"], **press)
        await fake.wait_for(
            "answerCallbackQuery", lambda p: "Только старший оператор" in str(p.get("text"))
        )
        assert await core.storage.privacy.acts() == []

        fake.callback_query(SENIOR, button["callback_data"], **press)
        await fake.wait_for("deleteForumTopic", lambda p: p["message_thread_id"] == thread)
        [line] = await fake.wait_for(
            "sendMessage", lambda p: "по запросу, принятому оператором" in raw_text(p)
        )
        [act] = await core.storage.privacy.acts()
        assert act.reason == "operator" and act.requested_by.startswith(f"operator {SENIOR} (")
        assert act.label in line["text"] and "(обращения №1)" in line["text"]
        await fake.wait_for(
            "sendMessage", lambda p: p["chat_id"] == CUSTOMER and "данные удалены" in raw_text(p)
        )
        await until(
            lambda: not fake.messages.get((OPS, question["message_id"])), "the question gone"
        )
        again = await say(fake, CUSTOMER, "здравствуйте", **name)
        assert "Здравствуйте" in raw_text(again)  # a new customer, with no case
        conv = await core.storage.conversations.find(CustomerRef("telegram", str(CUSTOMER)))
        assert conv is not None and await core.storage.tickets.open_for(conv.id) is None
