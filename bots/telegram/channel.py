"""The Telegram bot: one Bot for both sides, long polling by default or a webhook.

Updates come in through `bots.telegram.intake` (stored, then acknowledged) and are
applied by `core.intake`, which feeds each one to the dispatcher here.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import BotCommand, BotCommandScopeAllPrivateChats, Update
from aiohttp import web
from pydantic import ValidationError

from bots.startup import StartupRefused
from bots.telegram import customer, intake, operator
from bots.telegram.customer_sender import CustomerSender
from bots.telegram.operators_sender import OperatorsSender
from core.app import Core
from core.escalation import OPERATORS
from core.intake import BadUpdate
from core.retry import retry
from core.types import TELEGRAM, Attachment

log = logging.getLogger(__name__)


class TelegramChannel:
    def __init__(self, core: Core, settings: Any, health: Any = None) -> None:
        self.core = core
        self.settings = settings
        self.health = health  # bots.health.Health: its routes join the webhook server
        session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
        self.bot = Bot(settings.telegram_bot_token.get_secret_value(), session=session)
        self.dispatcher = Dispatcher(disable_fsm=True)  # no dialog state kept by aiogram
        self.operators_chat_id: int | None = settings.operators_chat_id
        if self.operators_chat_id is not None:
            self.dispatcher.include_router(operator.build_router(core, self.operators_chat_id))
        self.dispatcher.include_router(customer.build_router(core))
        self._polling: asyncio.Task[None] | None = None
        self._stop_polling = asyncio.Event()
        self._web: web.AppRunner | None = None

    async def apply(self, update: dict[str, Any], attempt: int) -> None:
        """Apply one stored update (called by `core.intake`, in order per chat)."""
        try:
            parsed = Update.model_validate(update, context={"bot": self.bot})
        except ValidationError as exc:
            raise BadUpdate(
                f"update {update.get('update_id')}: {exc.error_count()} errors"
            ) from exc
        await self.dispatcher.feed_update(self.bot, parsed, attempt=attempt)

    async def start(self) -> None:
        try:  # an outage at start is waited out, one line per attempt
            me = await retry(self.bot.get_me, "Telegram", transient=_outage)
        except TelegramUnauthorizedError:
            raise StartupRefused(
                "TELEGRAM_BOT_TOKEN: Telegram refused the token (401 Unauthorized); "
                "expected a current token from @BotFather"
            ) from None
        self.core.intake.register(TELEGRAM, self.apply)
        self.core.delivery.register(TELEGRAM, CustomerSender(self.bot, self.core))
        self.core.files.register(TELEGRAM, self._download)
        if self.operators_chat_id is not None:
            self.core.delivery.register(
                OPERATORS,
                OperatorsSender(
                    self.bot,
                    self.core,
                    self.operators_chat_id,
                    self.settings.operators_group_messages_per_minute,
                ),
            )
        else:
            log.warning("OPERATORS_CHAT_ID is not set: escalated cases wait in the queue")
        await self._set_commands()
        if self.settings.telegram_webhook_url:
            await self._start_webhook()
            mode = f"webhook {self.settings.telegram_webhook_url}"
        else:
            try:  # a webhook left from webhook mode would block getUpdates
                await self.bot.delete_webhook(drop_pending_updates=False)
            except TelegramAPIError as exc:
                log.warning("deleteWebhook failed: %s", exc)
            self._polling = asyncio.create_task(
                intake.poll(
                    self.bot,
                    self.core.intake,
                    self.dispatcher.resolve_used_update_types(),
                    self._stop_polling,
                ),
                name="telegram-polling",
            )
            mode = "long polling"
        log.info(
            "Telegram bot @%s started (%s), operators' group %s",
            me.username,
            mode,
            self.operators_chat_id,
        )

    async def stop_receiving(self) -> None:
        if self._polling is not None:
            self._stop_polling.set()
            self._polling.cancel()  # a long poll in flight: its batch is not confirmed
            with contextlib.suppress(asyncio.CancelledError):
                await self._polling
            self._polling = None
        if self._web is not None:
            await self._web.cleanup()
            self._web = None

    async def stop(self) -> None:
        await self.stop_receiving()
        await self.bot.session.close()

    async def _download(self, attachment: Attachment) -> bytes:
        buffer = io.BytesIO()
        await self.bot.download(attachment.ref, destination=buffer)
        return buffer.getvalue()

    async def _set_commands(self) -> None:
        commands = [
            BotCommand(command="start", description="Главное меню"),
            BotCommand(command="help", description="Чем может помочь бот"),
        ]
        try:
            await self.bot.set_my_commands(commands, scope=BotCommandScopeAllPrivateChats())
        except Exception as exc:  # cosmetic: never stop the bot for it
            log.info("bot commands not set: %s", exc)

    async def _start_webhook(self) -> None:
        settings = self.settings
        secret = (
            settings.telegram_webhook_secret.get_secret_value()
            if settings.telegram_webhook_secret
            else None
        )
        app = web.Application()
        endpoint = intake.WebhookEndpoint(self.core.intake, secret)
        app.router.add_post(settings.telegram_webhook_path, endpoint.handle)
        if self.health is not None:
            self.health.add_routes(app)
        self._web = web.AppRunner(app, access_log=None)
        await self._web.setup()
        await web.TCPSite(
            self._web, settings.telegram_webhook_host, settings.telegram_webhook_port
        ).start()
        url = settings.telegram_webhook_url.rstrip("/") + settings.telegram_webhook_path
        await self.bot.set_webhook(
            url,
            secret_token=secret,
            allowed_updates=self.dispatcher.resolve_used_update_types(),
        )


def _outage(exc: BaseException) -> bool:
    """Errors at start that an outage causes (retried), as opposed to a refusal."""
    return isinstance(exc, TelegramNetworkError | TelegramServerError | TelegramRetryAfter)
