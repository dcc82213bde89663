"""Magic filters evaluated on the event loop.

aiogram runs a synchronous filter — every `F.…` magic filter is one — in a worker thread
(`asyncio.to_thread`): a thread hop per filter per update, which costs far more than the
microsecond the check takes and, under load, makes throughput wait on the GIL. `on_loop`
wraps a magic filter in aiogram's own async `Filter`, which is awaited directly.
"""

from __future__ import annotations

from typing import Any

from aiogram.filters import Filter
from magic_filter import MagicFilter


class OnLoop(Filter):
    def __init__(self, magic: MagicFilter) -> None:
        self.magic = magic

    async def __call__(self, event: Any) -> bool:
        return bool(self.magic.resolve(event))


def on_loop(magic: MagicFilter) -> OnLoop:
    return OnLoop(magic)
