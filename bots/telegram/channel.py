"""The Telegram bot: one Bot for both sides, long polling by default or a webhook.

Updates come in through `bots.telegram.intake` (stored, then acknowledged) and are
applied by `core.intake`, which feeds each one to the dispatcher here.
"""

from __future__ import annotations

import io
import logging
from typing import Any

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import BotCommand, BotCommandScopeAllPrivateChats, Update
from aiohttp import web
from pydantic import ValidationError

from bots.startup import StartupRefused
from bots.telegram import helpers, intake, operators
from bots.telegram.customer_sender import CustomerSender
from bots.telegram.dispatch import dispatcher, services
from bots.telegram.groups import Groups
from bots.telegram.operators.roles import TelegramRoles
from bots.telegram.operators_sender import OperatorsSender
from bots.telegram.posting import BotPool
from core.app import Core
from core.desk.budget import PostBudget
from core.desk.posting import DeskPosting
from core.runtime.intake import BadUpdate, Intake
from core.runtime.retry import retry
from core.types import OPERATORS, TELEGRAM, Attachment

log = logging.getLogger(__name__)


class TelegramChannel:
    def __init__(
        self, core: Core, settings: Any, health: Any = None, poller: intake.Poller | None = None
    ) -> None:
        self.core = core
        self.settings = settings
        self.health = health  # bots.health.Health: its routes join the webhook server
        api = TelegramAPIServer.from_base(settings.telegram_api_url)
        self.bot = Bot(
            settings.telegram_bot_token.get_secret_value(), session=AiohttpSession(api=api)
        )
        self.helpers = [
            Bot(token.get_secret_value(), session=AiohttpSession(api=api))
            for token in getattr(settings, "telegram_helper_bot_tokens", None) or ()
        ]
        budget = PostBudget(core.storage, core.clock)
        self.pool = BotPool(self.bot, [], budget, settings.operators_group_messages_per_minute)
        self.dispatcher = dispatcher()
        self.operators_chat_id: int | None = settings.operators_chat_id
        self.desk: operators.TelegramDesk | None = None
        if self.operators_chat_id is not None:
            self.desk = operators.TelegramDesk(
                groups=Groups.from_settings(settings, core.team.routing if core.team else None),
                roles=TelegramRoles(core, self.bot, settings),
                pool=self.pool,
                cases=core.desk,
                posting=DeskPosting(core.storage, core.clock),
                desk_texts=core.kb.desk,
            )
        self.services = services(core, self.desk)
        self.poller = poller  # long polling, when it was started before the channel
        self._helper_polling: list[intake.Poller] = []
        self._web: web.AppRunner | None = None

    @staticmethod
    def make_poller(settings: Any, into: Intake) -> intake.Poller:
        """Long polling of the main bot into `into` (`bots.main` starts it before the
        channel is built; the channel starts it itself otherwise)."""
        return intake.Poller(
            settings.telegram_api_url,
            settings.telegram_bot_token.get_secret_value(),
            into,
            intake.ALLOWED_UPDATES,
        )

    async def apply(self, update: dict[str, Any], attempt: int) -> None:
        """Apply one stored update (called by `core.intake`, in order per chat); a helper
        bot's update is answered through that helper."""
        via, update = helpers.received_by(update)
        bot = self.pool.by_id(via) if via is not None else self.bot
        try:
            parsed = Update.model_validate(update, context={"bot": bot})
        except ValidationError as exc:
            raise BadUpdate(
                f"update {update.get('update_id')}: {exc.error_count()} errors"
            ) from exc
        await self.dispatcher.feed_update(bot, parsed, attempt=attempt, **self.services)

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
        if self.desk is not None:
            self.pool.use_helpers(await helpers.usable(self.helpers))
            self.core.delivery.register(
                OPERATORS, OperatorsSender(self.pool, self.core, self.desk.groups, self.desk.roles)
            )
        else:
            log.warning("OPERATORS_CHAT_ID is not set: escalated cases wait in the queue")
        await self._set_commands()
        if self.settings.telegram_webhook_url:
            await self._start_webhook()
            mode = f"webhook {self.settings.telegram_webhook_url}"
        else:
            if self.poller is None:
                self.poller = self.make_poller(self.settings, self.core.intake)
            self.poller.quiet = False  # started early (bots.main) or now
            self.poller.start()
            for helper in self.pool.helpers:
                poller = intake.Poller(
                    self.settings.telegram_api_url,
                    helper.bot.token,
                    self.core.intake,
                    helpers.HELPER_UPDATES,
                    record=helpers.helper_record(helper.id),
                )
                poller.start()
                self._helper_polling.append(poller)
            mode = "long polling"
        log.info(
            "Telegram bot @%s started (%s), operators' group %s",
            me.username,
            mode,
            self.operators_chat_id,
        )

    async def stop_receiving(self) -> None:
        for poller in [self.poller, *self._helper_polling]:
            if poller is not None:
                await poller.stop()  # a long poll in flight: its batch is not confirmed
        self.poller = None
        self._helper_polling = []
        if self._web is not None:
            await self._web.cleanup()
            self._web = None

    async def stop(self) -> None:
        await self.stop_receiving()
        await self.bot.session.close()
        for helper in self.helpers:
            await helper.session.close()

    async def _download(self, attachment: Attachment) -> bytes:
        buffer = io.BytesIO()
        await self.bot.download(attachment.ref, destination=buffer)
        return buffer.getvalue()

    async def _set_commands(self) -> None:
        texts = self.core.kb.texts
        commands = [
            BotCommand(command="start", description=texts.get("telegram.commands.start")),
            BotCommand(command="help", description=texts.get("telegram.commands.help")),
        ]
        try:
            await self.bot.set_my_commands(commands, scope=BotCommandScopeAllPrivateChats())
            if self.desk is not None:
                await operators.set_menu(self.bot, self.desk, self.core.kb.desk)
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
        for helper in self.pool.helpers:  # each helper's button presses at a path of its own
            helper_endpoint = intake.WebhookEndpoint(
                self.core.intake, secret, helpers.helper_record(helper.id)
            )
            app.router.add_post(self._helper_path(helper.id), helper_endpoint.handle)
        self._web = web.AppRunner(app, access_log=None)
        await self._web.setup()
        await web.TCPSite(
            self._web, settings.telegram_webhook_host, settings.telegram_webhook_port
        ).start()
        base = settings.telegram_webhook_url.rstrip("/")
        await self.bot.set_webhook(
            base + settings.telegram_webhook_path,
            secret_token=secret,
            allowed_updates=self.dispatcher.resolve_used_update_types(),
        )
        for helper in self.pool.helpers:
            await helper.bot.set_webhook(
                base + self._helper_path(helper.id),
                secret_token=secret,
                allowed_updates=helpers.HELPER_UPDATES,
            )

    def _helper_path(self, bot_id: int) -> str:
        return f"{self.settings.telegram_webhook_path.rstrip('/')}/helper{bot_id}"


def _outage(exc: BaseException) -> bool:
    """Errors at start that an outage causes (retried), as opposed to a refusal."""
    return isinstance(exc, TelegramNetworkError | TelegramServerError | TelegramRetryAfter)
