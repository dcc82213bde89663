"""Updates of one chat are handled one after another, different chats at the same time.

aiogram runs each update as its own task; without this, two quick messages of one
customer (or two quick operator replies) could overtake each other.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update


class ChatSequencer(BaseMiddleware):
    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        chat_id = _chat_of(event)
        if chat_id is None:
            return await handler(event, data)
        lock = self._locks.get(chat_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[chat_id] = lock
        async with lock:
            return await handler(event, data)


def _chat_of(event: TelegramObject) -> int | None:
    if not isinstance(event, Update):
        return None
    message = event.message or event.edited_message
    if message is not None:
        return message.chat.id
    query = event.callback_query
    if query is not None and query.message is not None:
        return query.message.chat.id
    return None
