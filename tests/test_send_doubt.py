"""Looking for a send in doubt before sending it again (`bots.telegram.doubt`), against the
fake Bot API over HTTP: found word for word after the bot's last recorded message, past
the customer's messages in between; not found when it never went out; never confused
with an earlier message saying the same."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bots.telegram.doubt import delivered_before
from tests.fakes.telegram_api import FakeTelegramAPI

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
    return functools.partial(bot.send_message, CHAT, text, parse_mode=None, reply_markup=markup)


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
