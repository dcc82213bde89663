"""The Telegram bot: one Bot for both sides, long polling by default or a webhook."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BotCommand, BotCommandScopeAllPrivateChats
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

from bots.telegram import customer, operator
from bots.telegram.customer_sender import CustomerSender
from bots.telegram.operators_sender import OperatorsSender
from bots.telegram.sequencer import ChatSequencer
from core.app import Core
from core.escalation import OPERATORS
from core.types import TELEGRAM, Attachment

log = logging.getLogger(__name__)


class TelegramChannel:
    def __init__(self, core: Core, settings: Any) -> None:
        self.core = core
        self.settings = settings
        session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
        self.bot = Bot(settings.telegram_bot_token.get_secret_value(), session=session)
        self.dispatcher = Dispatcher()
        self.dispatcher.update.outer_middleware(ChatSequencer())
        self.operators_chat_id: int | None = settings.operators_chat_id
        if self.operators_chat_id is not None:
            self.dispatcher.include_router(operator.build_router(core, self.operators_chat_id))
        self.dispatcher.include_router(customer.build_router(core))
        self._polling: asyncio.Task[None] | None = None
        self._web: web.AppRunner | None = None

    async def start(self) -> None:
        me = await self.bot.get_me()
        self.core.delivery.register(
            TELEGRAM, CustomerSender(self.bot, self.core.files, self.core.storage)
        )
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
                self.dispatcher.start_polling(
                    self.bot,
                    handle_signals=False,
                    close_bot_session=False,
                    allowed_updates=self.dispatcher.resolve_used_update_types(),
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

    async def stop(self) -> None:
        if self._polling is not None:
            with contextlib.suppress(RuntimeError):
                await self.dispatcher.stop_polling()
            with contextlib.suppress(asyncio.CancelledError):
                await self._polling
        if self._web is not None:
            await self._web.cleanup()
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
        SimpleRequestHandler(self.dispatcher, self.bot, secret_token=secret).register(
            app, path=settings.telegram_webhook_path
        )
        setup_application(app, self.dispatcher, bot=self.bot)
        self._web = web.AppRunner(app)
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
