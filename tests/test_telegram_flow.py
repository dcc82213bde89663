"""The Telegram adapter end to end: real aiogram bot, fake Bot API over HTTP, a real SQLite
file and a real PostgreSQL database (each test runs on both)."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from core.clock import ManualClock
from core.types import TELEGRAM, CustomerRef
from tests.conftest import WORK_TIME
from tests.desk_helpers import settle
from tests.fakes.telegram_api import post_update_to
from tests.telegram_harness import CUSTOMER, OPS, button_ids, start_bot, telegram_bot, texts_to

pytestmark = pytest.mark.usefixtures("bots_on_the_test_database")

OPERATOR = 777


def to_customer(params: dict) -> bool:
    return params.get("chat_id") == CUSTOMER


def in_group(params: dict) -> bool:
    return params.get("chat_id") == OPS


async def escalate(fake, text: str = "позовите оператора пожалуйста") -> int:
    """The customer asks for a person; returns the topic's thread id."""
    fake.private_message(CUSTOMER, text, first_name="Мария", last_name="Котова")
    await fake.wait_for("sendMessage", lambda p: to_customer(p) and "№" in str(p["text"]))
    [topic] = await fake.wait_for("createForumTopic")
    await fake.wait_for("sendMessage", lambda p: in_group(p) and "Обращение №" in str(p["text"]))
    threads = list(fake.topics[OPS])
    assert topic["name"].startswith("№1 · Мария Котова · Telegram")
    return threads[-1]


async def test_start_shows_menu_and_button_is_answered(tmp_path, classifier):
    async with telegram_bot(tmp_path, classifier) as bot:
        fake = bot.fake
        fake.private_message(CUSTOMER, "/start")
        [menu] = await fake.wait_for("sendMessage", to_customer)
        assert "topic:order_status" in button_ids(menu)
        assert "operator" in button_ids(menu)
        fake.callback_query(CUSTOMER, "topic:contacts", message_chat_id=CUSTOMER)
        await fake.wait_for("answerCallbackQuery")
        await fake.wait_for("sendMessage", lambda p: to_customer(p) and "000-00-00" in p["text"])


async def test_order_status_flow(tmp_path, classifier):
    async with telegram_bot(tmp_path, classifier) as bot:
        fake = bot.fake
        fake.private_message(CUSTOMER, "где мой заказ??")
        await fake.wait_for("sendMessage", lambda p: to_customer(p) and "номер" in p["text"])
        fake.private_message(CUSTOMER, "вот 12345678 - 0001")
        [answer] = await fake.wait_for(
            "sendMessage", lambda p: to_customer(p) and "Статус" in p["text"]
        )
        assert "Заказ 12345678-0001" in answer["text"]
        assert "helped" in button_ids(answer)


async def test_customer_operator_loop_with_close_and_rating(tmp_path, classifier):
    async with telegram_bot(tmp_path, classifier) as bot:
        fake = bot.fake
        thread = await escalate(fake)
        card = fake.sent_messages(OPS, thread)[0]
        assert "Мария Котова" in card["text"] and "Telegram" in card["text"]
        assert [b["callback_data"] for b in card["reply_markup"]["inline_keyboard"][0]] == [
            "op:take:1",
            "op:close:1",
        ]

        # Every later customer message appears in the topic.
        fake.private_message(CUSTOMER, "я жду уже час <b>&</b>")
        await fake.wait_for(
            "sendMessage", lambda p: in_group(p) and "я жду уже час" in str(p["text"])
        )

        # The operator answers in the topic: delivered, marked, first response recorded.
        reply = fake.group_message(OPS, OPERATOR, "Здравствуйте! Уже проверяю.", thread_id=thread)
        await fake.wait_for(
            "sendMessage", lambda p: to_customer(p) and p["text"] == "Здравствуйте! Уже проверяю."
        )
        await fake.wait_for(
            "setMessageReaction", lambda p: p["message_id"] == reply["message"]["message_id"]
        )
        ticket = await bot.core.storage.tickets.get(1)
        assert ticket.first_response_at is not None and ticket.operator_id == str(OPERATOR)

        # Close: the customer is asked to rate from 1 to 5, and the rating is stored.
        fake.group_message(OPS, OPERATOR, "/close", thread_id=thread)
        [rate] = await fake.wait_for(
            "sendMessage", lambda p: to_customer(p) and "оцените" in p["text"]
        )
        assert button_ids(rate) == [f"rate:1:{n}" for n in range(1, 6)]
        await fake.wait_for("closeForumTopic")
        fake.callback_query(CUSTOMER, "rate:1:2", message_chat_id=CUSTOMER)
        await fake.wait_for("sendMessage", lambda p: to_customer(p) and "Спасибо" in p["text"])
        assert (await bot.core.storage.tickets.get(1)).rating == 2
        # A low rating is posted in the topic for a senior operator.
        await fake.wait_for("sendMessage", lambda p: in_group(p) and "на 2 из 5" in str(p["text"]))


async def test_notes_are_not_delivered_and_outsiders_are_ignored(tmp_path, classifier):
    async with telegram_bot(tmp_path, classifier) as bot:
        fake = bot.fake
        thread = await escalate(fake)
        before = len(texts_to(fake, CUSTOMER))
        fake.group_message(OPS, OPERATOR, "# клиент уже писал вчера", thread_id=thread)
        fake.group_message(OPS, OPERATOR, "/note проверить возврат", thread_id=thread)
        await fake.wait_for("setMessageReaction", count=2)
        # An outsider writes in another group and in a private chat pretending to reply.
        fake.add_chat(-100999, title="Чужая группа", is_forum=False)
        fake.group_message(-100999, 4242, "/close 1", chat_type="supergroup", is_forum=False)
        fake.private_message(4242, "/close 1")
        await fake.wait_for("sendMessage", lambda p: p.get("chat_id") == 4242)
        await settle(fake, bot.core)  # every update applied, everything due sent
        assert len(texts_to(fake, CUSTOMER)) == before
        ticket = await bot.core.storage.tickets.get(1)
        assert ticket.status != "closed"
        log = await bot.core.storage.messages.for_ticket(1)
        notes = [m.text for m in log if m.direction == "note"]
        assert notes == ["клиент уже писал вчера", "проверить возврат"]
        assert not [p for p in fake.calls("sendMessage") if p.get("chat_id") == -100999]


async def outbox_settled(bot, text: str, status: str, limit: float = 30.0) -> None:
    """Wait until the outbox item carrying `text` reached its final `status`."""
    deadline = asyncio.get_running_loop().time() + limit
    while True:
        rows = await bot.core.storage.db.fetchall(
            "SELECT status FROM outbox WHERE payload LIKE ?", (f"%{text}%",)
        )
        if rows and all(row["status"] == status for row in rows):
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"the item {text!r} is not {status}: {rows}")
        await asyncio.sleep(0.05)


async def test_429_in_the_middle_loses_nothing(tmp_path, classifier):
    async with telegram_bot(tmp_path, classifier) as bot:
        fake = bot.fake
        thread = await escalate(fake)
        fake.fail_next("sendMessage", code=429, retry_after=1)
        fake.group_message(OPS, OPERATOR, "Ответ после лимита", thread_id=thread)

        def delivered() -> list[dict]:
            return [
                m for m in fake.sent_messages(CUSTOMER) if m.get("text") == "Ответ после лимита"
            ]

        await outbox_settled(bot, "Ответ после лимита", "sent")  # no try is left to come
        # The first try was refused with 429; the retry delivered exactly one message.
        assert ("sendMessage", 429, "Too Many Requests: retry after 1") in fake.errors
        assert len(delivered()) == 1


async def test_blocked_customer_gives_a_note_not_a_loop(tmp_path, classifier):
    async with telegram_bot(tmp_path, classifier) as bot:
        fake = bot.fake
        thread = await escalate(fake)
        fake.set_blocked(CUSTOMER)
        fake.group_message(OPS, OPERATOR, "Вы здесь?", thread_id=thread)
        await fake.wait_for(
            "sendMessage", lambda p: in_group(p) and "заблокировал" in str(p["text"])
        )
        await outbox_settled(bot, "Вы здесь?", "dead")  # given up: nothing retries it
        attempts = [
            p for p in fake.calls("sendMessage") if to_customer(p) and p["text"] == "Вы здесь?"
        ]
        assert len(attempts) == 1


async def test_restart_mid_ticket_resumes_everything(tmp_path, classifier):
    async with telegram_bot(tmp_path, classifier) as bot:
        fake = bot.fake
        thread = await escalate(fake)
        await bot.kill()
        # While the bot is down the operator answers and the customer writes.
        fake.group_message(OPS, OPERATOR, "Ответ, пока бот лежал", thread_id=thread)
        fake.private_message(CUSTOMER, "алло, есть кто?")
        again = await start_bot(tmp_path, classifier, fake)
        try:
            await fake.wait_for(
                "sendMessage", lambda p: to_customer(p) and p["text"] == "Ответ, пока бот лежал"
            )
            await fake.wait_for(
                "sendMessage",
                lambda p: (
                    in_group(p)
                    and p.get("message_thread_id") == thread
                    and "алло, есть кто?" in str(p["text"])
                ),
            )
            assert len(fake.topics[OPS]) == 1  # the same topic, no duplicate
        finally:
            await again.shutdown()


async def test_plain_group_operators_reply_to_the_card(tmp_path, classifier):
    async with telegram_bot(tmp_path, classifier, forum=False) as bot:
        fake = bot.fake
        fake.private_message(CUSTOMER, "оператор")
        await fake.wait_for(
            "sendMessage", lambda p: in_group(p) and "Обращение №1" in str(p["text"])
        )
        assert not fake.calls("createForumTopic")
        card_id = next(
            m["message_id"] for m in fake.sent_messages(OPS) if "Обращение №1" in m.get("text", "")
        )
        fake.group_message(
            OPS, OPERATOR, "Отвечаю на карточку", reply_to_message_id=card_id, is_forum=False
        )
        await fake.wait_for(
            "sendMessage", lambda p: to_customer(p) and p["text"] == "Отвечаю на карточку"
        )
        # A message that replies to nothing is the operators' own chatter: not delivered.
        fake.group_message(OPS, OPERATOR, "коллеги, кто на смене?", is_forum=False)
        await settle(fake, bot.core)  # applied, and anything it queued sent
        assert "коллеги, кто на смене?" not in texts_to(fake, CUSTOMER)


async def test_markup_and_huge_messages(tmp_path, classifier):
    async with telegram_bot(tmp_path, classifier) as bot:
        fake = bot.fake
        thread = await escalate(fake, "оператор <script>alert(1)</script> & 'x'")
        huge = "очень длинное описание проблемы " * 400  # ~12 800 characters
        fake.private_message(CUSTOMER, huge)
        parts = await fake.wait_for(
            "sendMessage",
            lambda p: (
                in_group(p)
                and p.get("message_thread_id") == thread
                and "очень длинное" in str(p["text"])
            ),
            count=3,
        )
        assert all(len(p["text"]) <= 4096 for p in parts)
        # The operator's long answer reaches the customer split, not refused.
        fake.group_message(OPS, OPERATOR, "Ответ. " * 1000, thread_id=thread)
        pieces = await fake.wait_for(
            "sendMessage", lambda p: to_customer(p) and str(p["text"]).startswith("Ответ."), count=2
        )
        assert all(len(p["text"]) <= 4096 for p in pieces)
        assert not [e for e in fake.errors if "parse entities" in e[2]]


async def test_stickers_files_and_other_groups(tmp_path, classifier):
    async with telegram_bot(tmp_path, classifier) as bot:
        fake = bot.fake
        fake.private_message(CUSTOMER, sticker=True)
        await fake.wait_for("sendMessage", lambda p: to_customer(p) and "стикеры" in p["text"])
        thread = await escalate(fake)
        fake.private_message(CUSTOMER, photo=True, caption="вот фото коробки")
        [photo] = await fake.wait_for("sendPhoto", in_group)
        assert photo["message_thread_id"] == thread
        assert "вот фото коробки" in photo["caption"]
        # A customer writing in some other group gets no answer at all.
        fake.add_chat(-100555, title="Flood", is_forum=False)
        fake.group_message(-100555, CUSTOMER, "привет бот", is_forum=False)
        await settle(fake, bot.core)  # applied, and anything it queued sent
        assert not [p for p in fake.calls("sendMessage") if p.get("chat_id") == -100555]


async def test_damaged_item_photo_reaches_the_topic_with_the_card(tmp_path, classifier):
    async with telegram_bot(tmp_path, classifier) as bot:
        fake = bot.fake
        fake.private_message(CUSTOMER, "пришёл разбитый чайник, заказ 2233445566-0015")
        await fake.wait_for("sendMessage", lambda p: to_customer(p) and "извинения" in p["text"])
        await fake.wait_for("sendMessage", lambda p: to_customer(p) and "Опишите" in p["text"])
        fake.private_message(CUSTOMER, "носик отколот, коробка была целая")
        await fake.wait_for("sendMessage", lambda p: to_customer(p) and "фото" in p["text"])
        fake.private_message(CUSTOMER, photo=True)
        await fake.wait_for("sendMessage", lambda p: to_customer(p) and "жалоба №" in p["text"])
        [card] = await fake.wait_for(
            "sendMessage", lambda p: in_group(p) and "Обращение №1" in str(p["text"])
        )
        assert "приоритет" in card["text"] and "носик отколот" in card["text"]
        [photo] = await fake.wait_for("sendPhoto", in_group)
        assert photo["message_thread_id"] == card["message_thread_id"]


async def test_webhook_mode_checks_the_secret(tmp_path, classifier, unused_tcp_port):
    async with telegram_bot(
        tmp_path,
        classifier,
        ready="setWebhook",
        telegram_webhook_url="https://bot.example.com",
        telegram_webhook_host="127.0.0.1",
        telegram_webhook_port=unused_tcp_port,
        telegram_webhook_secret="s3cret",
    ) as bot:
        fake = bot.fake
        [hook] = fake.calls("setWebhook")
        assert hook["url"] == "https://bot.example.com/telegram/webhook"
        assert hook["secret_token"] == "s3cret"
        url = f"http://127.0.0.1:{unused_tcp_port}/telegram/webhook"
        update = fake.private_message(CUSTOMER, "привет", push=False)
        assert await post_update_to(url, update, secret_token="wrong") in (401, 403)
        assert await post_update_to(url, update, secret_token="s3cret") == 200
        await fake.wait_for("sendMessage", to_customer)
        assert not fake.calls("getUpdates")


async def test_returning_customer_reuses_the_topic_and_queue_commands(tmp_path, classifier):
    async with telegram_bot(tmp_path, classifier) as bot:
        fake = bot.fake
        thread = await escalate(fake)
        fake.group_message(OPS, OPERATOR, "/queue")
        await fake.wait_for("sendMessage", lambda p: in_group(p) and "Ждут ответа: 1" in p["text"])
        fake.group_message(OPS, OPERATOR, "/take", thread_id=thread)
        await fake.wait_for("sendMessage", lambda p: in_group(p) and "ведёт" in str(p["text"]))
        fake.group_message(OPS, OPERATOR, "/close", thread_id=thread)
        await fake.wait_for("closeForumTopic")

        # The same customer comes back with a new question for a person.
        fake.private_message(CUSTOMER, "оператор, снова нужна помощь")
        await fake.wait_for("reopenForumTopic", lambda p: p["message_thread_id"] == thread)
        await fake.wait_for(
            "sendMessage",
            lambda p: (
                in_group(p)
                and p.get("message_thread_id") == thread
                and "Обращение №2" in str(p["text"])
            ),
        )
        assert len(fake.calls("createForumTopic")) == 1
        # /reopen on the closed first ticket is refused while the second one is open.
        fake.group_message(OPS, OPERATOR, "/reopen 1")
        await fake.wait_for(
            "sendMessage", lambda p: in_group(p) and "уже открыто обращение №2" in str(p["text"])
        )


async def _until_logged(core, lines: list[str], limit: float = 60.0) -> None:
    """Wait until each of `lines` is in the customer's conversation log."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while True:
        conv = await core.storage.conversations.find(CustomerRef(TELEGRAM, str(CUSTOMER)))
        logged = await core.storage.messages.for_conversation(conv.id, 200) if conv else []
        if set(lines) <= {m.text for m in logged}:
            return
        assert loop.time() < deadline, f"not all of {len(lines)} messages logged in {limit} s"
        await asyncio.sleep(0.05)


async def test_fast_customer_is_merged_under_the_group_limit(tmp_path, classifier):
    clock = ManualClock(WORK_TIME)
    async with telegram_bot(
        tmp_path, classifier, clock=clock, operators_group_messages_per_minute=4
    ) as bot:
        fake = bot.fake
        thread = await escalate(fake)  # the topic and the card used 2 of the 4 posts
        lines = [f"подробность номер {n}" for n in range(1, 11)]
        for line in lines:
            fake.private_message(CUSTOMER, line)
        # Every message taken in before the clock moves: one applied only after the next
        # minute's post would be a post of its own (how many it makes is what is tested).
        await _until_logged(bot.core, lines)

        def posts() -> list[str]:
            return [
                str(p["text"])
                for p in fake.calls("sendMessage")
                if in_group(p)
                and p.get("message_thread_id") == thread
                and "подробность номер" in str(p["text"])
            ]

        def shown(line: str) -> int:
            return sum(f"{line}\n" in text + "\n" for text in posts())

        await fake.wait_for("sendMessage", lambda p: in_group(p) and "подробность" in p["text"])
        for _ in range(5):  # a minute at a time, until the budget let everything through
            if all(shown(line) for line in lines):
                break
            clock.advance(61)
            bot.core.delivery.wake()
            with contextlib.suppress(AssertionError):
                await fake.wait_for(
                    "sendMessage",
                    lambda p: in_group(p) and "подробность" in p["text"],
                    count=len(posts()) + 1,
                    timeout=5,
                )
        assert [shown(line) for line in lines] == [1] * len(lines)  # all, each once
        assert len(posts()) <= 4  # merged into a few posts, not ten
        assert not [e for e in fake.errors if e[1] == 429]  # the budget held: no 429


async def test_group_without_topics_found_out_when_getchat_fails(tmp_path, classifier):
    async with telegram_bot(tmp_path, classifier, forum=False) as bot:
        fake = bot.fake
        fake.fail_next("getChat", code=400, description="Bad Request: method is not available")
        fake.private_message(CUSTOMER, "оператор")
        await fake.wait_for(
            "sendMessage",
            lambda p: (
                in_group(p) and "Обращение №1" in str(p["text"]) and not p.get("message_thread_id")
            ),
        )
        assert not fake.topics.get(OPS)


class BrokenClassifier:
    """A bug in the engine: every message it reads raises."""

    fingerprint = "broken"

    def predict(self, text):
        raise RuntimeError("a bug in the engine")


async def test_an_engine_failure_gets_an_apology_and_a_retry(tmp_path, classifier):
    async with telegram_bot(tmp_path, classifier) as bot:
        fake = bot.fake
        bot.core.dialog.classifier = BrokenClassifier()
        fake.private_message(CUSTOMER, "где мой заказ")
        [sorry] = await fake.wait_for("sendMessage", to_customer)
        assert sorry["text"] == bot.core.kb.texts.get("internal_error")
        # The update is kept and applied again once the engine works: an answer, late.
        bot.core.dialog.classifier = classifier
        await fake.wait_for("sendMessage", lambda p: to_customer(p) and "номер" in p["text"])
        texts = [m["text"] for m in fake.sent_messages(CUSTOMER)]
        assert texts.count(bot.core.kb.texts.get("internal_error")) == 1


async def test_operator_sticker_is_not_silently_lost(tmp_path, classifier):
    async with telegram_bot(tmp_path, classifier) as bot:
        fake = bot.fake
        thread = await escalate(fake)
        update = fake.group_message(OPS, OPERATOR, thread_id=thread, push=False)
        update["message"]["sticker"] = {
            "file_id": "sticker-1",
            "file_unique_id": "s1",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
        fake.push_update(update)
        await fake.wait_for(
            "sendMessage", lambda p: in_group(p) and "не отправлено клиенту" in str(p["text"])
        )
        assert not [m for m in fake.sent_messages(CUSTOMER) if "sticker" in str(m)]


async def test_an_answer_that_fails_now_is_delivered_later(tmp_path, classifier):
    async with telegram_bot(tmp_path, classifier) as bot:
        fake = bot.fake
        fake.fail_next("sendMessage", code=502, description="Bad Gateway")
        fake.private_message(CUSTOMER, "как связаться с поддержкой по телефону")
        for _ in range(100):
            if [m for m in fake.sent_messages(CUSTOMER) if "000-00-00" in m.get("text", "")]:
                break
            await asyncio.sleep(0.05)
        answers = [m for m in fake.sent_messages(CUSTOMER) if "000-00-00" in m.get("text", "")]
        assert len(answers) == 1  # refused once with 502, then sent from the outbox
        assert ("sendMessage", 502, "Bad Gateway") in fake.errors


async def test_a_post_the_group_refuses_is_not_silently_dead(tmp_path, classifier):
    async with telegram_bot(tmp_path, classifier) as bot:
        fake = bot.fake
        thread = await escalate(fake)
        refusal = "Bad Request: can't parse entities: unsupported start tag"
        fake.fail_next("sendMessage", code=400, description=refusal)
        fake.private_message(CUSTOMER, "вот подробности моей проблемы")
        [notice] = await fake.wait_for(
            "sendMessage",
            lambda p: in_group(p) and "не удалось показать" in str(p["text"]),
            timeout=20,
        )
        assert notice.get("message_thread_id") == thread
        assert "вот подробности моей проблемы" in notice["text"]


async def test_an_update_aiogram_cannot_parse_is_set_aside_and_the_rest_goes_on(
    tmp_path, classifier
):
    async with telegram_bot(tmp_path, classifier) as bot:
        fake = bot.fake
        broken = fake.private_message(CUSTOMER, "сломанное", push=False)
        broken["message"]["date"] = "не дата"  # aiogram cannot read this update
        fake.push_update(broken)
        fake.private_message(CUSTOMER, "где мой заказ")
        await fake.wait_for("sendMessage", lambda p: to_customer(p) and "номер" in p["text"])
        rows = await bot.core.storage.db.fetchall("SELECT status, external_id FROM inbox")
        assert [(r["status"], r["external_id"]) for r in rows] == [
            ("dead", f"tgu:{broken['update_id']}")  # kept for a look, never retried
        ]
        # Both were confirmed: the batch is not fetched again and again.
        await fake.wait_for(
            "getUpdates", lambda p: (p.get("offset") or 0) > broken["update_id"] + 1
        )


def test_polling_asks_for_the_updates_the_dispatcher_handles():
    """The long poll starts before aiogram is imported, with a list of its own."""
    from bots.telegram.dispatch import dispatcher
    from bots.telegram.intake import ALLOWED_UPDATES

    assert sorted(ALLOWED_UPDATES) == sorted(dispatcher().resolve_used_update_types())
