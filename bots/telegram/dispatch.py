"""The dispatcher: the module-level routers of both sides, and the services their handlers
receive as parameters (aiogram's dependency injection).

The routers hold no state of their own, so one dispatcher serves every `TelegramChannel`
of the process (tests start several one after another); each channel passes its own
services with every update it feeds (`Dispatcher.feed_update(bot, update, **services)`).
"""

from __future__ import annotations

import functools
from typing import Any

from aiogram import Dispatcher

from bots.telegram import customer, operators
from bots.telegram.operators.desk import TelegramDesk
from core.app import Core
from core.customer_updates import CustomerUpdates
from core.desk.edits import EditRelay


@functools.cache
def dispatcher() -> Dispatcher:
    """The process's dispatcher: the operators' groups first, then private chats."""
    dispatch = Dispatcher(disable_fsm=True)  # no dialog state kept by aiogram
    dispatch.include_routers(operators.router, customer.router)
    return dispatch


def services(core: Core, desk: TelegramDesk | None) -> dict[str, Any]:
    """What handlers may ask for by parameter name. `desk` is None when the bot has no
    operators' group (then no update reaches the operators' handlers)."""
    return {
        "engine": core.engine,
        "edits": EditRelay.of(core),
        "updates": CustomerUpdates(core.engine, EditRelay.of(core), core.kb.texts),
        "customer_texts": core.kb.texts,
        "desk": desk,
        "cases": core.desk,
        "desk_texts": core.kb.desk,
        "kb": core.kb,
        "clock": core.clock,
        "storage": core.storage,
        "team": core.team,
        "settings": core.settings,
        "compensation": core.compensation,
        "canned": core.canned,
    }
