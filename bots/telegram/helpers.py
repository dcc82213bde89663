"""Helper bots: extra bots in the operators' groups that post when the main bot's share of
Telegram's per-group limit is spent (`bots.telegram.posting`).

A helper receives only the presses of the buttons under its own cards (allowed update
`callback_query`), by long polling or, in webhook mode, at its own webhook path; they go
into the same durable intake as the main bot's updates, marked with the helper (`_via`),
and are answered through the helper that received them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError

from bots.telegram.intake import record_of
from core.runtime.intake import InboundRecord

log = logging.getLogger(__name__)

VIA = "_via"  # key in a stored update: the id of the helper bot that received it
HELPER_UPDATES = ["callback_query"]


def helper_record(bot_id: int) -> Callable[[dict[str, Any]], InboundRecord]:
    """Stored updates of a helper: ids and ordering partitions of their own."""

    def record(update: dict[str, Any]) -> InboundRecord:
        base = record_of(update)
        return InboundRecord(
            f"tgh{bot_id}:{base.seq}",
            f"{base.partition}:h{bot_id}",
            base.seq,
            {**update, VIA: bot_id},
        )

    return record


def received_by(update: dict[str, Any]) -> tuple[int | None, dict[str, Any]]:
    """(helper bot id or None, the update without our mark)."""
    via = update.get(VIA)
    if via is None:
        return None, update
    return int(via), {k: v for k, v in update.items() if k != VIA}


async def usable(helpers: list[Bot]) -> list[Bot]:
    """The helpers whose tokens Telegram accepts (one clear line for each that it refuses)."""
    ready = []
    for helper in helpers:
        try:
            me = await helper.get_me()
        except TelegramAPIError as exc:
            log.error("helper bot %s is not used: Telegram refused it (%s)", helper.id, exc)
            continue
        log.info("helper bot @%s ready", me.username)
        ready.append(helper)
    return ready
