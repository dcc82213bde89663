"""Looking for a send in doubt before sending it again (`bots.telegram.doubt`), against the
fake Bot API over HTTP: found word for word after the bot's last recorded message, past
the customer's messages in between; not found when it never went out; never confused
with an earlier message saying the same."""

from __future__ import annotations

import functools
import time
from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bots.telegram.doubt import delivered_before
from bots.telegram.sending import send_text
from core.events import CustomerReply
from core.types import TELEGRAM, Reply
from tests.desk_helpers import settle
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.telegram_harness import CUSTOMER, telegram_bot

CHAT = 717_001
MARKUP = InlineKeyboardMarkup(
    inline_keyboard=[[InlineKeyboardButton(text="Помогло", callback_data="helped")]]
)


@pytest.fixture
async def api() -> AsyncIterator[tuple[FakeTelegramAPI, Bot]]:
    async with FakeTelegramAPI() as fake:
        session = AiohttpSession(api=TelegramAPIServer.from_base(fake.base_url))
        bot = Bot(fake.token, session=session)
        try:
            yield fake, bot
        finally:
            await session.close()


def text_step(bot: Bot, text: str, markup=None):
    """A reply's text part as `bots.telegram.sending.reply_steps` builds it."""
    return functools.partial(send_text, bot, CHAT, text, markup)


async def test_a_text_sent_before_the_crash_is_found(api):
    fake, bot = api
    last = await bot.send_message(CHAT, "Ваш заказ в пути.")  # recorded before the crash
    fake.private_message(CHAT, "спасибо")  # the customer writes meanwhile
    sent = await bot.send_message(CHAT, "Пожалуйста!", reply_markup=MARKUP)  # not recorded
    fake.private_message(CHAT, "и ещё вопрос")
    step = text_step(bot, "Пожалуйста!", MARKUP)
    assert await delivered_before(bot, step, last.message_id) == sent.message_id
    assert [m["text"] for m in fake.sent_messages(CHAT)] == ["Ваш заказ в пути.", "Пожалуйста!"]


async def test_a_text_that_never_went_out_is_not_found(api):
    fake, bot = api
    last = await bot.send_message(CHAT, "Пожалуйста!")  # the same words, recorded earlier
    fake.private_message(CHAT, "спасибо")
    step = text_step(bot, "Пожалуйста!")
    assert await delivered_before(bot, step, last.message_id) is None
    assert len(fake.sent_messages(CHAT)) == 1  # and nothing was changed


async def test_an_unrecorded_message_of_the_bot_ends_up_saying_the_text_once(api, caplog):
    """What the recorded ids rule out (a message the bot sent outside the outbox) is not
    doubled either: it is edited into the text in doubt, with a warning."""
    fake, bot = api
    last = await bot.send_message(CHAT, "Начало")
    await bot.send_message(CHAT, "Что-то, чего нет в outbox")
    found = await delivered_before(bot, text_step(bot, "Пожалуйста!"), last.message_id)
    assert found is not None
    assert [m["text"] for m in fake.sent_messages(CHAT)] == ["Начало", "Пожалуйста!"]
    assert "not recorded" in caplog.text


async def test_only_text_steps_are_looked_for(api):
    _, bot = api
    last = await bot.send_message(CHAT, "Начало")
    photo = functools.partial(bot.send_photo, CHAT, "AgAD-photo")
    assert await delivered_before(bot, photo, last.message_id) is None


# ---------------------------------------------------------------------------- the sender
async def test_an_answer_in_doubt_that_reached_the_customer_is_not_sent_again(
    tmp_path, classifier, database_url
):
    """As after a kill between the Bot API's answer and the outbox noting it: the item is
    pending again, in doubt, nothing recorded; the bot finds it in the chat."""
    async with telegram_bot(tmp_path, classifier, database_url=database_url) as bot:
        fake, core = bot.fake, bot.core
        fake.private_message(CUSTOMER, "где мой заказ")
        await fake.wait_for("sendMessage", lambda p: p["chat_id"] == CUSTOMER)
        fake.private_message(CUSTOMER, "12345678-0001")
        await fake.wait_for(
            "sendMessage", lambda p: p["chat_id"] == CUSTOMER and "Статус" in p["text"]
        )
        await settle(fake, core)
        [answer] = await core.storage.db.fetchall(
            "SELECT id FROM outbox WHERE channel = 'telegram' ORDER BY id DESC LIMIT 1"
        )
        # Held by a process that died in the instant after the Bot API answered.
        await core.storage.workers.register("ghost", time.time())  # alive until retired
        await core.storage.db.execute(
            "UPDATE outbox SET status = 'pending', claimed_by = 'ghost', progress = '{}', "
            "sent_at = NULL WHERE id = ?",
            (answer["id"],),
        )
        await core.storage.workers.retire("ghost", died=True)  # as the reaper finds it
        core.delivery.wake()
        await settle(fake, core)
        texts = [m["text"] for m in fake.sent_messages(CUSTOMER)]
        assert len([t for t in texts if "Статус" in t]) == 1, texts
        [row] = await core.storage.db.fetchall(
            "SELECT status FROM outbox WHERE id = ?", (answer["id"],)
        )
        assert row["status"] == "sent"


async def test_an_answer_in_doubt_that_never_went_out_is_sent(tmp_path, classifier, database_url):
    async with telegram_bot(tmp_path, classifier, database_url=database_url) as bot:
        fake, core = bot.fake, bot.core
        fake.private_message(CUSTOMER, "где мой заказ")
        await fake.wait_for("sendMessage", lambda p: p["chat_id"] == CUSTOMER)
        await settle(fake, core)
        await core.storage.workers.register("ghost", time.time())  # alive until retired
        await core.storage.outbox.add(  # held by a process that died before sending it
            TELEGRAM, str(CUSTOMER), CustomerReply(Reply("Ответ, который не ушёл")),
            core.clock.now(), claimed_by="ghost",
        )  # fmt: skip
        await core.storage.workers.retire("ghost", died=True)
        [doubtful] = await core.storage.db.fetchall(
            "SELECT in_doubt FROM outbox WHERE claimed_by IS NULL AND status = 'pending'"
        )
        assert doubtful["in_doubt"] == 1
        core.delivery.wake()
        await fake.wait_for(
            "sendMessage", lambda p: p["chat_id"] == CUSTOMER and "не ушёл" in p["text"]
        )
        await settle(fake, core)
        texts = [m["text"] for m in fake.sent_messages(CUSTOMER)]
        assert texts.count("Ответ, который не ушёл") == 1
