"""`VKChannel`: the VK community adapter, wired to a ready `Core`.

    channel = VKChannel(core, settings)
    await channel.start()   # sender + file fetcher registered, long poll (or callback) on
    ...
    await channel.stop()    # polling/server stopped, handlers finished, sessions closed

The API base URL is `settings.vk_api_url`; the long-poll server and upload addresses
come from VK's own answers. vkbottle's polling state is kept in
`settings.vk_polling_state_dir` when set and nowhere otherwise (never in the cwd).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Any

from vkbottle import VKAPIError
from vkbottle.bot import Bot
from vkbottle.http import ABCHTTPClient

from bots.startup import StartupRefused
from bots.vk.api import LimitedAPI, VKBadResponse, error_code, make_http_client
from bots.vk.callback import CallbackServer
from bots.vk.customer import CustomerHandlers, NameCache
from bots.vk.files import VKFiles
from bots.vk.inbound import record_of
from bots.vk.polling import StatePolling
from bots.vk.ratelimit import RateLimiter
from bots.vk.render import ClientCapsCache
from bots.vk.sender import VKSender
from config.settings import Settings
from core.app import Core
from core.customer_updates import CustomerUpdates
from core.desk.edits import EditRelay
from core.runtime.retry import describe, is_network_error, retry, seconds
from core.types import VK

log = logging.getLogger(__name__)

RESTART_DELAY_MAX = 60.0


class VKChannel:
    def __init__(
        self, core: Core, settings: Settings, *, http_client: ABCHTTPClient | None = None
    ) -> None:
        if settings.vk_group_token is None:
            raise ValueError("VK_GROUP_TOKEN is not set")
        self.core = core
        self.settings = settings
        self._own_http = http_client is None
        self.http = http_client if http_client is not None else make_http_client()
        self.limiter = RateLimiter.per_second(settings.vk_requests_per_second)
        self.api = LimitedAPI(
            settings.vk_group_token.get_secret_value(),
            self.limiter,
            http_client=self.http,
            api_url=settings.vk_api_url,
        )
        texts = core.kb.texts
        self.caps = ClientCapsCache()
        self.files = VKFiles(self.api, core.files)
        self.sender = VKSender(self.api, self.files, self.caps, texts, core.kb.desk, core.storage)
        updates = CustomerUpdates(core.engine, EditRelay.of(core), texts)
        self.customers = CustomerHandlers(
            updates, texts, self.api, self.sender, self.caps, NameCache(self.api)
        )
        state_dir = polling_state_dir(settings)
        self.polling = StatePolling(state_dir, group_id=settings.vk_group_id).construct(self.api)
        self.bot = Bot(api=self.api, polling=self.polling, skip_old_events=state_dir is None)
        self.callback: CallbackServer | None = None
        self.callback_url: str | None = None
        self._poll_task: asyncio.Task[None] | None = None
        self._started = False

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Register the sender and the file fetcher, then start receiving updates."""
        if self._started:
            return
        settings = self.settings
        await self._check_token()
        callback = self._make_callback() if settings.vk_callback_enabled else None
        self.sender.closed = False
        self.core.intake.register(VK, self.customers.apply)
        self.core.delivery.register(VK, self.sender)
        self.core.files.register(VK, self.files.fetch)
        if callback is not None:
            self.callback_url = await callback.start()
            self.callback = callback
            log.info("VK Callback API server listening on %s", self.callback_url)
        else:
            self._poll_task = asyncio.create_task(self._poll_forever(), name="vk-long-poll")
            log.info(
                "VK Bots Long Poll started for group %s via %s (polling state: %s)",
                settings.vk_group_id or "(from the token)",
                self.api.API_URL,
                self.polling.state_dir or "not kept",
            )
        self._started = True
        self.core.delivery.wake()  # VK items waiting in the outbox can go now

    async def _check_token(self) -> None:
        """Ask VK which community the token belongs to: an outage is waited out (one line
        per try), a refused token stops the start with one clear line."""

        async def whose() -> Any:
            return await self.api.request("groups.getById", {})

        try:
            await retry(whose, "VK", transient=_outage_at_start)
        except VKAPIError as exc:
            if error_code(exc) in REFUSED_TOKEN:
                raise StartupRefused(
                    f"VK_GROUP_TOKEN: VK refused the token (error {error_code(exc)}); "
                    "expected a community token with the messages right"
                ) from None
            raise

    def _make_callback(self) -> CallbackServer:
        settings = self.settings
        secret = settings.vk_callback_secret
        return CallbackServer(
            self.accept,
            confirmation=settings.vk_callback_confirmation or "",
            secret=secret.get_secret_value() if secret is not None else "",
            group_id=settings.vk_group_id,
            host=settings.vk_callback_host,
            port=settings.vk_callback_port,
            path=settings.vk_callback_path,
        )

    async def stop_receiving(self) -> None:
        """No new updates from here on (what is stored is applied by `core.intake`)."""
        if self.callback is not None:
            await self.callback.stop()
            self.callback = None
        if self._poll_task is not None:
            self.polling.stop()
            self._poll_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poll_task
            self._poll_task = None

    async def stop(self) -> None:
        """Stop receiving and sending; close our HTTP session."""
        if not self._started:
            return
        self._started = False
        await self.stop_receiving()
        self.sender.closed = True
        if self._own_http:
            await self.http.close()
        log.info("VK channel stopped")

    # ------------------------------------------------------------------ updates
    async def accept(self, updates: list[Any]) -> None:
        """Store raw updates (long poll or callback) for `core.intake`; returns once they
        are stored, so the caller may acknowledge them."""
        records = [record_of(update) for update in updates if isinstance(update, dict)]
        await self.core.intake.accept(VK, records)

    async def wait_idle(self, limit: float = 5.0) -> bool:
        """Wait until the stored updates are applied and their answers sent; False when
        that took longer than `limit` seconds."""
        try:
            await asyncio.wait_for(self._idle(), limit)
        except TimeoutError:
            return False
        return True

    async def _idle(self) -> None:
        await self.core.intake.drain()
        await self.core.delivery.idle()

    async def _poll_forever(self) -> None:
        delay = 1.0
        while True:
            try:
                async for event in self.polling.listen():
                    delay = 1.0
                    # Stored before the generator goes on: vkbottle saves the new
                    # position (ts) only when it is asked for the next answer.
                    await self.accept(event.get("updates", []))
                return  # listen() ends only after polling.stop()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if _outage(exc):  # one line per retry; a traceback only for a bug
                    log.warning(
                        "VK long poll unreachable (%s), retrying in %s s",
                        describe(exc),
                        seconds(delay),
                    )
                else:
                    log.exception("VK long poll failed; restarting in %.0f s", delay)
                await asyncio.sleep(delay)
                delay = min(RESTART_DELAY_MAX, delay * 2)


def polling_state_dir(settings: Any) -> Path | None:
    """Where vkbottle keeps the long-poll position, so a restart answers what came in
    meanwhile: `VK_POLLING_STATE_DIR`, else `DATA_DIR/vk-polling` (beside the database),
    never the current directory; `VK_POLLING_RESUME=false` keeps none."""
    if not settings.vk_polling_resume:
        return None
    if settings.vk_polling_state_dir is not None:
        return Path(settings.vk_polling_state_dir)
    return Path(settings.data_dir) / "vk-polling"


def _outage(exc: BaseException) -> bool:
    """Network trouble or an error answer from VK: ridden out quietly."""
    return is_network_error(exc) or isinstance(exc, VKAPIError | VKBadResponse)


REFUSED_TOKEN = (5, 15, 27, 28)  # authorization failed, access denied, wrong kind of token


def _outage_at_start(exc: BaseException) -> bool:
    """At start an error answer about the token is a refusal, not an outage."""
    if isinstance(exc, VKAPIError) and error_code(exc) in REFUSED_TOKEN:
        return False
    return _outage(exc)
