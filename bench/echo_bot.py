"""A bare aiogram echo bot, the reference of `bench/process_bench.py`: aiogram's own long
polling with its defaults, every text sent back as it came. Stops on SIGTERM or SIGINT.

    TELEGRAM_BOT_TOKEN=… TELEGRAM_API_URL=http://127.0.0.1:PORT .venv/bin/python bench/echo_bot.py
"""

from __future__ import annotations

import asyncio
import os

from aiogram import Bot, Dispatcher, F
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message


async def main() -> None:
    api = TelegramAPIServer.from_base(os.environ["TELEGRAM_API_URL"])
    bot = Bot(os.environ["TELEGRAM_BOT_TOKEN"], session=AiohttpSession(api=api))
    dispatcher = Dispatcher()

    @dispatcher.message(F.text)
    async def echo(message: Message) -> None:
        await message.answer(message.text or "")

    await dispatcher.start_polling(bot)


if __name__ == "__main__":
    asyncio.run(main())
