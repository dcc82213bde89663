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
import contextlib
import hmac
import logging
from collections.abc import Callable
from typing import Any

import aiohttp
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
# The updates the bot's dispatcher handles (`Dispatcher.resolve_used_update_types()`, which
# a test compares with this list): known before aiogram is imported.
ALLOWED_UPDATES = ["callback_query", "chat_member", "edited_message", "message"]


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


class BotAPIError(Exception):
    """The Bot API answered `ok: false` (`code`, and `retry_after` for a 429)."""

    def __init__(self, code: int, description: str, retry_after: float | None = None) -> None:
        super().__init__(f"{code} {description}".strip())
        self.code = code
        self.retry_after = retry_after


class Poller:
    """Long polling of one bot until `stop`: each `getUpdates` batch is stored, then
    confirmed (the next call's offset), after `deleteWebhook` (a webhook left from
    webhook mode would block getUpdates). `record` turns an update into what is stored
    (helper bots mark theirs).

    It calls the Bot API with aiohttp alone — the updates stay raw dicts until they are
    applied, and aiogram (whose types take seconds to import) is not needed — so that a
    starting bot polls, and stores what customers write, before the rest of it is built.
    While `quiet`, a failing call is retried without a line of its own: the start that is
    under way reports the outage (or the refused token) itself.
    """

    def __init__(
        self,
        api_url: str,
        token: str,
        intake: Intake,
        allowed_updates: list[str],
        record: Callable[[dict[str, Any]], InboundRecord] = record_of,
        *,
        quiet: bool = False,
    ) -> None:
        self._base = f"{api_url.rstrip('/')}/bot{token}/"
        self.intake = intake
        self.allowed_updates = allowed_updates
        self.record = record
        self.quiet = quiet
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="telegram-polling")

    async def stop(self) -> None:
        """Stop at once: a long poll in flight is cut, its batch not confirmed."""
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        timeout = aiohttp.ClientTimeout(total=POLL_TIMEOUT + 15)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            delay = 1.0
            while not self._stop.is_set():
                try:
                    await self._call(http, "deleteWebhook", drop_pending_updates=False)
                    break
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    delay = await self._failed(exc, delay)
            await self._poll(http)

    async def _poll(self, http: aiohttp.ClientSession) -> None:
        offset: int | None = None
        delay = 1.0
        while not self._stop.is_set():
            try:
                batch = await self._call(
                    http,
                    "getUpdates",
                    offset=offset,
                    timeout=POLL_TIMEOUT,
                    allowed_updates=self.allowed_updates,
                )
                records = [self.record(u) for u in batch or () if isinstance(u, dict)]
                await self.intake.accept(TELEGRAM, records)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                delay = await self._failed(exc, delay)
                continue
            delay = 1.0
            ids = [record.seq for record in records]
            if ids:
                offset = max(ids) + 1  # confirmed by the next call: everything is stored

    async def _call(self, http: aiohttp.ClientSession, method: str, **params: Any) -> Any:
        body = {key: value for key, value in params.items() if value is not None}
        async with http.post(self._base + method, json=body) as answer:
            reply = await answer.json(content_type=None)
        if not isinstance(reply, dict):
            raise ValueError(f"{method}: the Bot API's answer is not an object")
        if not reply.get("ok"):
            retry_after = (reply.get("parameters") or {}).get("retry_after")
            raise BotAPIError(
                int(reply.get("error_code") or answer.status),
                str(reply.get("description") or ""),
                float(retry_after) if retry_after is not None else None,
            )
        return reply.get("result")

    async def _failed(self, exc: Exception, delay: float) -> float:
        """Log a failed call (unless quiet), pause; returns the next pause."""
        if isinstance(exc, BotAPIError) and exc.retry_after is not None:
            if not self.quiet:
                log.warning("Telegram asks to wait %s s before polling again", exc.retry_after)
            await _pause(self._stop, exc.retry_after)
            return delay
        if not self.quiet:
            if isinstance(
                exc, BotAPIError | aiohttp.ClientError | OSError | TimeoutError | ValueError
            ):
                why = "refused the token" if getattr(exc, "code", 0) == 401 else "unreachable"
                log.warning("Telegram %s (%s), retrying in %.0f s", why, _short(exc), delay)
            else:  # the database is down: keep the offset, try again
                log.warning("updates not stored (%r), fetching them again in %.0f s", exc, delay)
        await _pause(self._stop, delay)
        return min(BACKOFF_MAX, delay * 2)


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
