"""Who may do what in the operators' group, through the real bot and the fake Bot API:
outsiders change nothing anywhere, seniors' commands, roles from Telegram (cached,
refreshed by chat_member updates), anonymous admins."""

from __future__ import annotations

from core.clock import ManualClock
from tests.case_helpers import count, escalate, in_topic, operator_says, operator_writes, to_chat
from tests.conftest import WORK_TIME, db_rows
from tests.desk_helpers import settle
from tests.telegram_harness import CUSTOMER, OPS, telegram_bot

OPERATOR = 777
OUTSIDER = 4242
SILENT_OUTSIDER = 4343  # the bot may not write to him privately
ADMIN = 900
OUTSIDER_NOTICE = "Ваши сообщения и кнопки здесь ничего не меняют"

EVERY_COMMAND = [
    "/take",
    "/close",
    "/reopen",
    "/vip",
    "/manager",
    "/compensate",
    "/intent damaged_item",
    "/note проверить",
    "/t hello",
    "/assign me",
    "/transfer vip",
    "/shift on",
    "/stats month",
    "/queue",
    "/help",
    "/nonsense",
    "# заметка постороннего",
    "Здравствуйте, это посторонний: вот ваш ответ",
]


def numbered(text: str, ticket_id: int) -> str:
    """`/close` → `/close 1`, `/intent x` → `/intent 1 x` (a command naming the case)."""
    if not text.startswith("/"):
        return text
    command, _, rest = text.partition(" ")
    return f"{command} {ticket_id} {rest}".strip()


async def case_state(core, ticket_id: int) -> dict:
    ticket = await core.storage.tickets.get(ticket_id)
    conv = await core.storage.conversations.get(ticket.conversation_id)
    log = await core.storage.messages.for_ticket(ticket_id, 1000)
    return {
        "status": ticket.status,
        "operator": ticket.operator_id,
        "vip": ticket.vip,
        "department": ticket.department,
        "manager": conv.manager,
        "log": [(m.direction, m.text) for m in log],
        "codes": await core.storage.promo.remaining(),
        "shifts": await core.storage.desk.on_shift("main"),
    }


async def test_outsiders_change_nothing_anywhere(tmp_path, classifier):
    pool = tmp_path / "codes.yaml"
    pool.write_text("codes: [SORRY-1, SORRY-2]\n", encoding="utf-8")
    async with telegram_bot(
        tmp_path, classifier, clock=ManualClock(WORK_TIME), compensation_codes_file=pool
    ) as bot:
        fake, core = bot.fake, bot.core
        fake.set_member(OPS, OUTSIDER, "left")
        fake.set_member(OPS, SILENT_OUTSIDER, "kicked")
        fake.set_blocked(SILENT_OUTSIDER)
        ticket_id, thread, _ = await escalate(fake, CUSTOMER)
        await settle(fake, core)
        before = await case_state(core, ticket_id)
        to_customer = count(fake, "sendMessage", to_chat(CUSTOMER))
        [card] = [m for m in fake.sent_messages(OPS, thread) if "Канал:" in m.get("text", "")]

        for outsider in (OUTSIDER, SILENT_OUTSIDER):
            for text in EVERY_COMMAND:  # in the case's topic
                fake.group_message(OPS, outsider, text, thread_id=thread, first_name="Чужой")
            for text in EVERY_COMMAND:  # in General, naming the case
                fake.group_message(OPS, outsider, numbered(text, ticket_id), first_name="Чужой")
            fake.group_message(  # a reply to the card
                OPS, outsider, "ответ через реплай", reply_to_message_id=card["message_id"]
            )
            fake.group_message(OPS, outsider, thread_id=thread, photo=True, caption="фото")
            for data in (f"op:take:{ticket_id}", f"op:close:{ticket_id}"):  # the card's buttons
                fake.callback_query(
                    outsider, data, message_chat_id=OPS, message_id=card["message_id"]
                )
            # Privately, pretending: a command and a forged card button.
            fake.private_message(outsider, f"/close {ticket_id}")
            fake.callback_query(outsider, f"op:close:{ticket_id}", message_chat_id=outsider)
        await settle(fake, core)

        assert await case_state(core, ticket_id) == before
        assert count(fake, "sendMessage", to_chat(CUSTOMER)) == to_customer
        assert not fake.calls("sendPhoto") and not fake.calls("copyMessage")
        # One private notice for the one the bot can write to ...
        assert count(fake, "sendMessage", to_chat(OUTSIDER, OUTSIDER_NOTICE)) == 1
        # ... and one in the group for the one it cannot.
        in_group = [
            p
            for p in fake.calls("sendMessage")
            if p["chat_id"] == OPS and OUTSIDER_NOTICE in p["text"]
        ]
        assert len(in_group) == 1
        # Nothing else was said to them in the group: no command answered.
        outsider_ids = {
            m["message_id"]
            for (chat, _), m in fake.messages.items()
            if chat == OPS and m.get("from", {}).get("id") in (OUTSIDER, SILENT_OUTSIDER)
        }
        answered = [
            p
            for p in fake.calls("sendMessage")
            if p["chat_id"] == OPS and p.get("reply_to_message_id") in outsider_ids
        ]
        assert answered == in_group
        # The buttons were refused with an alert, never acted on.
        alerts = [p for p in fake.calls("answerCallbackQuery") if p.get("show_alert")]
        assert len(alerts) == 4 and all("только для операторов" in p["text"] for p in alerts)
        assert not fake.calls("editMessageReplyMarkup")
        # The operator still works as before.
        await operator_writes(fake, thread, CUSTOMER, "Ответ настоящего оператора")


async def test_seniors_commands_and_roles_from_telegram(tmp_path, classifier):
    async with telegram_bot(tmp_path, classifier, clock=ManualClock(WORK_TIME)) as bot:
        fake, core = bot.fake, bot.core
        fake.set_member(OPS, ADMIN, "administrator")
        ticket_id, thread, _ = await escalate(fake, CUSTOMER)

        # A member is an operator: answers and takes cases, but seniors' commands are refused.
        for command in ("/vip", "/manager", "/compensate", "/stats"):
            answer = await operator_says(fake, thread, command)
            assert answer["text"].startswith("Только старший оператор может"), answer["text"]
        ticket = await core.storage.tickets.get(ticket_id)
        assert not ticket.vip
        await operator_writes(fake, thread, CUSTOMER, "Здравствуйте, разбираюсь")
        # Someone else's case cannot be reopened by an operator, only by a senior one.
        await operator_says(fake, thread, "/close")
        fake.set_member(OPS, 778, "member")
        answer = await operator_says(fake, thread, "/reopen", operator=778)
        assert answer["text"] == "Только старший оператор может открывать чужие обращения."
        answer = await operator_says(fake, thread, "/reopen", operator=ADMIN)
        assert answer["text"] == f"Обращение №{ticket_id} снова открыто."
        answer = await operator_says(fake, thread, "/vip", operator=ADMIN)
        assert "VIP" in answer["text"] and (await core.storage.tickets.get(ticket_id)).vip

        # The group's command menu lists the operators' commands.
        menu = [v for k, v in fake.commands.items() if f'"chat_id": {OPS}' in k]
        assert menu and {"assign", "transfer", "shift"} <= {c["command"] for c in menu[0]}

        # Roles are cached: no getChatMember for every message.
        asked = len([p for p in fake.calls("getChatMember") if p["user_id"] == OPERATOR])
        await operator_says(fake, thread, "/queue")
        await operator_says(fake, thread, "/help")
        assert len([p for p in fake.calls("getChatMember") if p["user_id"] == OPERATOR]) == asked

        # The operator leaves the group: the chat_member update (asked for: Telegram sends it
        # only on request) refreshes the cache at once.
        assert "chat_member" in fake.calls("getUpdates")[-1]["allowed_updates"]
        fake.chat_member_update(OPS, OPERATOR, "left")
        await settle(fake, core)
        sent = count(fake, "sendMessage", to_chat(CUSTOMER))
        fake.group_message(OPS, OPERATOR, "ещё один ответ", thread_id=thread)
        await settle(fake, core)
        assert count(fake, "sendMessage", to_chat(CUSTOMER)) == sent
        assert count(fake, "sendMessage", to_chat(OPERATOR, OUTSIDER_NOTICE)) == 1
        # ... and made an admin, he is a senior operator.
        fake.chat_member_update(OPS, OPERATOR, "administrator", old_status="left")
        await settle(fake, core)
        answer = await operator_says(fake, thread, "/manager")
        assert "персональный менеджер" in answer["text"]


async def test_explicit_lists_of_operators_and_seniors(tmp_path, classifier):
    async with telegram_bot(
        tmp_path,
        classifier,
        clock=ManualClock(WORK_TIME),
        operator_ids=[str(OPERATOR)],
        senior_operator_ids=["901"],
    ) as bot:
        fake, core = bot.fake, bot.core
        fake.set_member(OPS, ADMIN, "administrator")  # an admin, but not on either list
        _, thread, _ = await escalate(fake, CUSTOMER)
        sent = count(fake, "sendMessage", to_chat(CUSTOMER))
        fake.group_message(OPS, ADMIN, "я админ, но не оператор", thread_id=thread)
        await settle(fake, core)
        assert count(fake, "sendMessage", to_chat(CUSTOMER)) == sent
        assert count(fake, "sendMessage", to_chat(ADMIN, OUTSIDER_NOTICE)) == 1
        answer = await operator_says(fake, thread, "/vip")
        assert answer["text"].startswith("Только старший оператор")
        answer = await operator_says(fake, thread, "/vip", operator=901)
        assert "VIP" in answer["text"]
        await operator_writes(fake, thread, CUSTOMER, "Ответ оператора из списка")


async def test_anonymous_admin_is_the_groups_senior_operator(tmp_path, classifier):
    async with telegram_bot(tmp_path, classifier, clock=ManualClock(WORK_TIME)) as bot:
        fake, core = bot.fake, bot.core
        ticket_id, thread, _ = await escalate(fake, CUSTOMER)
        fake.group_message(
            OPS,
            0,
            "Добрый день! Я руководитель смены.",
            thread_id=thread,
            anonymous=True,
            author_signature="Ольга",
        )
        await fake.wait_for("sendMessage", to_chat(CUSTOMER, "руководитель смены"))
        ticket = await core.storage.tickets.get(ticket_id)
        assert ticket.operator_name == "Ольга" and ticket.first_response_at is not None
        # Seniors' commands work for the group itself.
        fake.group_message(OPS, 0, "/vip", thread_id=thread, anonymous=True)
        await fake.wait_for("sendMessage", in_topic(thread, "отмечен как VIP"))
        assert (await core.storage.tickets.get(ticket_id)).vip
        rows = db_rows(
            bot.core.settings, "SELECT author FROM messages WHERE direction = 'operator'"
        )
        assert rows == [{"author": "Ольга"}]
