"""Magic filters evaluated on the event loop.

aiogram runs a synchronous filter — every `F.…` magic filter is one — in a worker thread
(`asyncio.to_thread`): a thread hop per filter per update, which costs far more than the
microsecond the check takes and, under load, makes throughput wait on the GIL. `on_loop`
wraps a magic filter in aiogram's own async `Filter`, which is awaited directly.
`OperatorsChat` is such a filter too: it reads the operators' groups from the injected
`desk`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiogram.filters import Filter
from aiogram.types import CallbackQuery
from magic_filter import MagicFilter

if TYPE_CHECKING:
    from bots.telegram.operators.desk import TelegramDesk


class OnLoop(Filter):
    def __init__(self, magic: MagicFilter) -> None:
        self.magic = magic

    async def __call__(self, event: Any) -> bool:
        return bool(self.magic.resolve(event))


def on_loop(magic: MagicFilter) -> OnLoop:
    return OnLoop(magic)


class OperatorsChat(Filter):
    """Updates from the operators' groups (none when the bot has no operators' group):
    messages, button presses under the bot's posts, membership changes."""

    async def __call__(self, event: Any, desk: TelegramDesk | None = None) -> bool:
        if desk is None:
            return False
        message = getattr(event, "message", None) if isinstance(event, CallbackQuery) else event
        chat = getattr(message, "chat", None)
        return chat is not None and chat.id in desk.groups.chats
