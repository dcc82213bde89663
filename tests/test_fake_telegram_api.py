"""Self-test of tests/fakes/telegram_api.py driven by a real aiogram Bot."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNotFound,
    TelegramRetryAfter,
)
from aiogram.filters import CommandStart
from aiogram.methods import TelegramMethod
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup, Message

try:
    from tests.fakes.telegram_api import FakeTelegramAPI
except ImportError:  # plain `pytest` without the repo root on sys.path
    from fakes.telegram_api import FakeTelegramAPI  # type: ignore[no-redef]

OPERATORS = -1001234567890


@pytest_asyncio.fixture
async def tg() -> AsyncIterator[FakeTelegramAPI]:
    async with FakeTelegramAPI() as fake:
        yield fake


@pytest_asyncio.fixture
async def bot(tg: FakeTelegramAPI) -> AsyncIterator[Bot]:
    bot = Bot(tg.token, session=AiohttpSession(api=TelegramAPIServer.from_base(tg.base_url)))
    yield bot
    await bot.session.close()


@pytest.mark.asyncio
async def test_get_me(tg: FakeTelegramAPI, bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.is_bot, me.username) == (42, True, "support_test_bot")
    assert tg.calls("getMe") == [{}]


@pytest.mark.asyncio
async def test_send_message_with_keyboard_and_html(tg: FakeTelegramAPI, bot: Bot) -> None:
    kb = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Закрыть", callback_data="close:7")]]
    )
    msg = await bot.send_message(
        111, "Привет, <b>Иван</b> &amp; Co", parse_mode="HTML", reply_markup=kb
    )
    assert msg.chat.id == 111 and msg.chat.type == "private" and msg.from_user.id == tg.bot_id
    assert msg.text == "Привет, Иван & Co"
    assert msg.reply_markup.inline_keyboard[0][0].callback_data == "close:7"
    [call] = tg.calls("sendMessage")
    assert call["chat_id"] == 111 and call["parse_mode"] == "HTML"
    assert call["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "close:7"
    second = await bot.send_message(111, "123")  # numeric-looking text must stay a string
    assert second.message_id == msg.message_id + 1 and tg.calls("sendMessage")[-1]["text"] == "123"
    assert [m["message_id"] for m in tg.sent_messages(111)] == [msg.message_id, second.message_id]

    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(111, "a < b", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(111, "<b>bold<i>both</b></i>", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(111, "x" * 4097)
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(-100999, "nobody here")


@pytest.mark.asyncio
async def test_length_is_counted_after_html_parsing_in_utf16(tg: FakeTelegramAPI, bot: Bot) -> None:
    """Like Telegram: what counts is the text once its HTML is parsed, in UTF-16 units."""
    long_html = await bot.send_message(111, "<b>" + "&amp;" * 4096 + "</b>", parse_mode="HTML")
    assert long_html.text == "&" * 4096  # 20,000 characters of HTML, 4,096 shown
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(111, "&lt;" * 4097, parse_mode="HTML")
    await bot.send_message(111, "😀" * 2048)  # 4,096 units
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(111, "😀" * 2048 + "!")


@pytest.mark.asyncio
async def test_long_poll_get_updates(tg: FakeTelegramAPI, bot: Bot) -> None:
    async def push_later() -> None:
        await asyncio.sleep(0.2)
        tg.private_message(111, "Здравствуйте", username="ivan")

    loop = asyncio.get_running_loop()
    started = loop.time()
    pusher = asyncio.create_task(push_later())
    updates = await bot.get_updates(timeout=10)
    await pusher
    assert 0.15 < loop.time() - started < 1.0
    [update] = updates
    assert update.message.text == "Здравствуйте" and update.message.chat.id == 111
    assert update.message.from_user.username == "ivan"
    # confirmed updates (offset) are not re-sent; an empty long poll is capped at ~1 s
    assert await bot.get_updates(offset=update.update_id + 1, timeout=1) == []


@pytest.mark.asyncio
async def test_fail_next_429_raises_retry_after(tg: FakeTelegramAPI, bot: Bot) -> None:
    tg.fail_next("sendMessage", retry_after=3)
    with pytest.raises(TelegramRetryAfter) as exc:
        await bot.send_message(111, "hi")
    assert exc.value.retry_after == 3
    assert (await bot.send_message(111, "hi")).text == "hi"  # only the next call fails
    assert len(tg.calls("sendMessage")) == 2 and tg.errors[0][1] == 429


@pytest.mark.asyncio
async def test_blocked_user_gives_forbidden(tg: FakeTelegramAPI, bot: Bot) -> None:
    tg.set_blocked(111)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(111, "hi")
    tg.set_blocked(111, False)
    await bot.send_message(111, "hi")


@pytest.mark.asyncio
async def test_forum_topic_and_thread_messages(tg: FakeTelegramAPI, bot: Bot) -> None:
    tg.add_chat(OPERATORS)
    assert (await bot.get_chat(OPERATORS)).is_forum is True
    topic = await bot.create_forum_topic(OPERATORS, name="Иван #111")
    assert (
        topic.name == "Иван #111"
        and tg.topics[OPERATORS][topic.message_thread_id]["closed"] is False
    )
    assert tg.service_messages[-1]["forum_topic_created"]["name"] == "Иван #111"
    msg = await bot.send_message(
        OPERATORS, "Новое обращение", message_thread_id=topic.message_thread_id
    )
    assert msg.message_thread_id == topic.message_thread_id and msg.is_topic_message
    assert msg.reply_to_message.forum_topic_created is not None
    assert tg.sent_messages(OPERATORS, topic.message_thread_id)[0]["text"] == "Новое обращение"
    assert (
        await bot.create_forum_topic(OPERATORS, name="second")
    ).message_thread_id > topic.message_thread_id

    # an operator replies inside the topic: Telegram links the topic's creation message
    update = tg.group_message(
        OPERATORS, 555, "Ответ", thread_id=topic.message_thread_id, push=False
    )
    assert update["message"]["reply_to_message"]["forum_topic_created"]["name"] == "Иван #111"

    await bot.close_forum_topic(OPERATORS, topic.message_thread_id)
    assert tg.topics[OPERATORS][topic.message_thread_id]["closed"] is True
    await bot.delete_forum_topic(OPERATORS, topic.message_thread_id)
    with pytest.raises(TelegramBadRequest, match="message thread not found"):
        await bot.send_message(OPERATORS, "late", message_thread_id=topic.message_thread_id)


@pytest.mark.asyncio
async def test_send_photo_multipart_is_recorded(tg: FakeTelegramAPI, bot: Bot) -> None:
    data = b"\x89PNG\r\n\x1a\nfake-image"
    msg = await bot.send_photo(
        111, BufferedInputFile(data, filename="shot.png"), caption="<i>скрин</i>", parse_mode="HTML"
    )
    assert msg.caption == "скрин" and len(msg.photo) == 4
    [call] = tg.calls("sendPhoto")
    assert call["photo"] == data and call["chat_id"] == 111
    with pytest.raises(TelegramBadRequest, match="caption is too long"):
        await bot.send_photo(111, msg.photo[-1].file_id, caption="x" * 1025)


@pytest.mark.asyncio
async def test_get_file_and_download(tg: FakeTelegramAPI, bot: Bot) -> None:
    file_id = tg.add_file(b"hello file", "documents/report.txt")
    file = await bot.get_file(file_id)
    assert file.file_path == "documents/report.txt" and file.file_size == 10
    buffer = await bot.download(file_id)
    assert buffer.read() == b"hello file"
    # files of a user's message are downloadable too
    photo = tg.private_message(111, photo=True, caption="смотрите", push=False)["message"]["photo"][
        -1
    ]
    assert (await bot.download(photo["file_id"])).read().startswith(b"\xff\xd8")
    with pytest.raises(TelegramBadRequest, match="invalid file_id"):
        await bot.get_file("nope")


@pytest.mark.asyncio
async def test_unknown_method_is_404(bot: Bot) -> None:
    class Bogus(TelegramMethod[bool]):
        __returning__ = bool
        __api_method__ = "bogusMethod"

    with pytest.raises(TelegramNotFound):
        await bot(Bogus())


@pytest.mark.asyncio
async def test_dispatcher_polling_replies(tg: FakeTelegramAPI, bot: Bot) -> None:
    dp = Dispatcher()

    @dp.message(CommandStart())
    async def start(message: Message) -> None:
        await message.answer(
            f"Здравствуйте, <b>{message.from_user.first_name}</b>!", parse_mode="HTML"
        )

    @dp.callback_query()
    async def on_click(query) -> None:  # type: ignore[no-untyped-def]
        await query.answer("ok")

    polling = asyncio.create_task(dp.start_polling(bot, handle_signals=False, polling_timeout=1))
    try:
        tg.private_message(111, "/start")
        [reply] = await tg.wait_for("sendMessage", lambda p: p["chat_id"] == 111)
        assert reply["text"] == "Здравствуйте, <b>Иван</b>!"
        assert tg.sent_messages(111)[0]["text"] == "Здравствуйте, Иван!"
        tg.callback_query(111, "close:1", message_id=tg.sent_messages(111)[0]["message_id"])
        await tg.wait_for("answerCallbackQuery")
        assert not tg.errors
    finally:
        await dp.stop_polling()
        await polling
