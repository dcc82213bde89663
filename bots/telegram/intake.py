"""How Telegram updates come in: long polling or a webhook, both into `core.intake`.

Every update is stored before it is acknowledged:

- long polling confirms a batch (the next `getUpdates` offset) only after the whole batch
  is stored, so a process killed at any instant gets the unconfirmed updates again;
- the webhook answers 200 only after the update is stored (a failure answers 503 and
  Telegram repeats it).

Updates are fetched raw: one that aiogram cannot parse is set aside when it is applied,
logged once, and does not stop the batch around it. They are applied in `update_id`
order per partition: one private chat, or one topic of the operators' group.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Callable
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramRetryAfter, TelegramUnauthorizedError
from aiogram.methods import GetUpdates
from aiohttp import web

from core.runtime.intake import InboundRecord, Intake
from core.types import TELEGRAM

log = logging.getLogger(__name__)

POLL_TIMEOUT = 25  # seconds a getUpdates call waits for news
BACKOFF_MAX = 30.0
MESSAGE_KEYS = (
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "business_message",
    "edited_business_message",
)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class RawUpdates(GetUpdates):
    """`getUpdates` whose updates stay plain dicts until they are applied."""

    __returning__ = list[dict[str, Any]]


def partition_of(update: dict[str, Any]) -> str:
    """Updates of one chat — one topic, in a forum — are applied in order."""
    for key in MESSAGE_KEYS:
        message = update.get(key)
        if isinstance(message, dict):
            return _chat_partition(message)
    query = update.get("callback_query")
    if isinstance(query, dict):
        message = query.get("message")
        if isinstance(message, dict):
            return _chat_partition(message)
        sender = query.get("from") or {}
        return f"tg:{sender.get('id', 0)}"
    for key in ("my_chat_member", "chat_member", "chat_join_request", "message_reaction"):
        value = update.get(key)
        if isinstance(value, dict) and isinstance(value.get("chat"), dict):
            return f"tg:{value['chat'].get('id', 0)}"
    return "tg:other"


def _chat_partition(message: dict[str, Any]) -> str:
    chat = message.get("chat") or {}
    thread = message.get("message_thread_id") if message.get("is_topic_message") else None
    return f"tg:{chat.get('id', 0)}" + (f":{thread}" if thread else "")


def record_of(update: dict[str, Any]) -> InboundRecord:
    update_id = int(update["update_id"])
    return InboundRecord(f"tgu:{update_id}", partition_of(update), update_id, update)


async def poll(
    bot: Bot,
    intake: Intake,
    allowed_updates: list[str],
    stop: asyncio.Event,
    record: Callable[[dict[str, Any]], InboundRecord] = record_of,
) -> None:
    """Long polling until `stop`: store each batch, then confirm it (`record` turns an
    update into what is stored; helper bots mark theirs)."""
    offset: int | None = None
    delay = 1.0
    while not stop.is_set():
        try:
            batch: list[Any] = await bot(  # raw dicts (RawUpdates)
                RawUpdates(offset=offset, timeout=POLL_TIMEOUT, allowed_updates=allowed_updates),
                request_timeout=POLL_TIMEOUT + 15,
            )
            records = [record(update) for update in batch if isinstance(update, dict)]
            await intake.accept(TELEGRAM, records)
        except asyncio.CancelledError:
            raise
        except TelegramRetryAfter as exc:
            log.warning("Telegram asks to wait %s s before polling again", exc.retry_after)
            await _pause(stop, float(exc.retry_after))
            continue
        except (TelegramAPIError, OSError, TimeoutError, ValueError) as exc:
            why = "refused the token" if isinstance(exc, TelegramUnauthorizedError) else None
            log.warning(
                "Telegram %s (%s), retrying in %.0f s",
                why or "unreachable",
                _short(exc),
                delay,
            )
            await _pause(stop, delay)
            delay = min(BACKOFF_MAX, delay * 2)
            continue
        except Exception as exc:  # the database is down: keep the offset, try again
            log.warning("updates not stored (%r), fetching them again in %.0f s", exc, delay)
            await _pause(stop, delay)
            delay = min(BACKOFF_MAX, delay * 2)
            continue
        delay = 1.0
        ids = [record.seq for record in records]
        if ids:
            offset = max(ids) + 1  # confirmed by the next call: everything is stored


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        pass


def _short(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:200]


class WebhookEndpoint:
    """`POST <path>`: check the secret header, store the update, then answer 200."""

    def __init__(
        self,
        intake: Intake,
        secret: str | None,
        record: Callable[[dict[str, Any]], InboundRecord] = record_of,
    ) -> None:
        self.intake = intake
        self.secret = secret
        self.record = record

    async def handle(self, request: web.Request) -> web.Response:
        if self.secret is not None:
            given = request.headers.get(SECRET_HEADER, "")
            if not hmac.compare_digest(given.encode(), self.secret.encode()):
                return web.Response(status=401, text="unauthorized")
        try:
            update = await request.json()
        except ValueError:
            return web.Response(status=400, text="bad request")
        if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
            return web.Response(status=400, text="bad request")
        try:
            await self.intake.accept(TELEGRAM, [self.record(update)])
        except Exception as exc:  # not stored: Telegram must send it again
            log.warning("webhook update %s not stored: %r", update.get("update_id"), exc)
            return web.Response(status=503, text="try again")
        return web.Response(text="ok")
