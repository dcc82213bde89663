"""`python -m bots`: every messenger whose credentials are set, in one process, one
database, one delivery worker; stops cleanly on SIGINT/SIGTERM.

The health server (`HEALTH_PORT`) starts first, before the heavy imports, the database
and the intent model: `/healthz` answers from the first second and `/readyz` says what
the start still waits for.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from bots.health import Health
from bots.startup import (
    CONFIG_EXIT,
    StartupRefused,
    refusal,
    report_problems,
    settings_and_logging,
    until_stopped,
)

if TYPE_CHECKING:
    from bots.telegram.intake import Poller
    from config.settings import Settings
    from core.app import Core
    from core.runtime.intake import Intake
    from core.runtime.opening import Base

log = logging.getLogger("bots")


class Channel(Protocol):
    async def start(self) -> None: ...
    async def stop_receiving(self) -> None: ...
    async def stop(self) -> None: ...


def make_channels(
    core: Core, settings: Any, health: Health | None = None, poller: Poller | None = None
) -> list[Channel]:
    channels: list[Channel] = []
    if settings.telegram_enabled:
        from bots.telegram.channel import TelegramChannel

        channels.append(TelegramChannel(core, settings, health=health, poller=poller))
    if settings.vk_enabled:
        from bots.vk.channel import VKChannel

        channels.append(VKChannel(core, settings))
    return channels


async def serve(settings: Any, stop: asyncio.Event, core: Core | None = None) -> None:
    """Run until `stop` is set. Tests call this with settings pointed at fake APIs."""
    health = Health(core)
    try:
        await start_health(health, settings)
    except StartupRefused:
        if core is not None:
            await core.close()  # given to us: closed however serve ends
        raise
    early: Early | None = None
    try:
        if core is None:
            early = await start_early(settings, stop, health)
            if early is None:
                return  # SIGTERM while the database was still unreachable
            core = await build(settings, stop, health, early)
            if core is None:
                return  # SIGTERM while it was being built
        else:
            share_intake(core.intake, settings)
        health.core = core
        await run_channels(core, settings, health, stop, early)
    finally:
        if early is not None and health.core is None:
            await early.close()  # the start failed or was cut short before the channels
        await health.stop()


def share_intake(intake: Intake, settings: Any) -> None:
    if settings.telegram_webhook_url or settings.vk_callback_enabled:
        # Replicas behind a load balancer: hold each update back briefly so that one
        # sent earlier but stored by another replica a moment later is applied first.
        intake.shared = True
        intake.order_window = settings.intake_order_window_ms / 1000


@dataclass
class Early:
    """What a starting bot runs before the rest of it is built: the database, this worker's
    heartbeat and, when Telegram is long-polled, the polling — updates are stored (and
    confirmed) while the intent model loads and aiogram is imported, and applied once the
    channels have started. `imports` brings the channels' modules in, in a thread."""

    base: Base
    heartbeat: asyncio.Task[None]
    poller: Poller | None
    imports: asyncio.Future[None]

    async def close(self) -> None:
        if self.poller is not None:
            await self.poller.stop()
        self.heartbeat.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self.heartbeat
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self.imports
        await self.base.storage.close()


async def start_early(settings: Any, stop: asyncio.Event, health: Health) -> Early | None:
    """Open the database and start storing updates (see `Early`); None when `stop` was set
    first."""
    from core.runtime.opening import open_base

    opened: list[Base] = []

    async def opening() -> None:
        opened.append(await open_base(settings))

    if not await until_stopped(opening(), stop):
        return None
    base = opened[0]
    imports = asyncio.ensure_future(asyncio.to_thread(import_channels, settings))
    share_intake(base.intake, settings)
    heartbeat = asyncio.create_task(base.liveness.run_forever(stop), name="heartbeat")
    poller = None
    if settings.telegram_enabled and not settings.telegram_webhook_url:
        from bots.telegram.intake import ALLOWED_UPDATES, Poller

        token = settings.telegram_bot_token.get_secret_value()
        poller = Poller(settings.telegram_api_url, token, base.intake, ALLOWED_UPDATES)
        poller.quiet = True  # the channel's start reports an outage or a refused token
        poller.start()
    health.waiting_for = "the knowledge base"
    return Early(base, heartbeat, poller, imports)


def import_channels(settings: Any) -> None:
    """Import the engine and the channels' modules (aiogram's types alone take seconds)."""
    import core.app  # noqa: F401

    if settings.telegram_enabled:
        import bots.telegram.channel
    if settings.vk_enabled:
        import bots.vk.channel  # noqa: F401


async def start_health(health: Health, settings: Any) -> None:
    if getattr(settings, "health_port", None) is None:
        return
    try:
        await health.start(settings.health_host, settings.health_port)
    except OSError as exc:
        raise StartupRefused(
            f"HEALTH_PORT: cannot listen on {settings.health_host}:"
            f"{settings.health_port} ({exc.strerror or exc})"
        ) from None


async def build(
    settings: Any, stop: asyncio.Event, health: Health, early: Early | None = None
) -> Core | None:
    """The engine, database and model; None when `stop` was set first."""
    if early is not None:
        await early.imports
    from core.app import build_core

    built: list[Core] = []

    def stage(what: str) -> None:
        health.waiting_for = what

    async def making() -> None:
        base = early.base if early is not None else None
        built.append(await build_core(settings, on_stage=stage, base=base))

    return built[0] if await until_stopped(making(), stop) else None


async def run_channels(
    core: Core, settings: Any, health: Health, stop: asyncio.Event, early: Early | None = None
) -> None:
    """Start the channels and the workers, wait for `stop`, then shut everything down."""
    from core.desk import housekeeping

    channels = make_channels(core, settings, health, early.poller if early else None)
    started: list[Channel] = []
    workers = (
        [early.heartbeat]
        if early is not None
        else [asyncio.create_task(core.liveness.run_forever(stop), name="heartbeat")]
    )
    try:
        for channel in channels:
            started.append(channel)  # stopped below even if its start fails or is cut short
            if not await until_stopped(channel.start(), stop):
                return  # SIGTERM while a start waited out an outage
        health.channels_started = True
        settle_heap()
        jobs = {
            "intake": core.intake.run_forever(stop),
            "delivery": core.delivery.run_forever(stop),
            "housekeeping": housekeeping.run_forever(
                core.storage, core.desk, core.clock, settings.auto_close_hours, stop
            ),
            "model-watcher": core.model_watcher.run_forever(stop),
        }
        workers += [asyncio.create_task(job, name=name) for name, job in jobs.items()]
        log.info("running: %s", ", ".join(type(c).__name__ for c in started) or "nothing")
        await stop.wait()
    finally:
        stop.set()
        await shut_down(core, started, workers)


def settle_heap() -> None:
    """What start-up made (the model, the knowledge base, aiogram's and pydantic's
    classes) lives as long as the process: `gc.freeze` takes it out of the collector's
    reach, so a full collection walks only what the running bot allocates."""
    gc.freeze()


async def shut_down(core: Core, started: list[Channel], workers: list[asyncio.Task[None]]) -> None:
    for channel in reversed(started):  # no new updates from here on
        try:
            await channel.stop_receiving()
        except Exception:
            log.exception("error while stopping %s", type(channel).__name__)
    # What is being applied and sent now may finish; the rest stays stored.
    await core.intake.stop()
    await core.delivery.stop()
    for channel in reversed(started):
        try:
            await channel.stop()
        except Exception:
            log.exception("error while stopping %s", type(channel).__name__)
    for worker in workers:
        await worker
    await core.close()


def run_bots(settings: Settings) -> int:
    problem = nothing_to_start(settings)
    if problem:
        print(problem, file=sys.stderr)
        return CONFIG_EXIT

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(signum, stop.set)
        await serve(settings, stop)

    try:
        asyncio.run(main())
    except Exception as exc:
        line = refusal(exc)
        if line is None:
            raise
        report_problems([line])
        return CONFIG_EXIT
    log.info("stopped")
    return 0


def nothing_to_start(settings: Settings) -> str:
    """Why `run` cannot start ('' when it can)."""
    if not (settings.telegram_enabled or settings.vk_enabled):
        return (
            "Neither TELEGRAM_BOT_TOKEN nor VK_GROUP_TOKEN is set: nothing to start. "
            "Try the offline console: supportbot chat"
        )
    if settings.telegram_enabled and settings.operators_chat_id is None:
        return (
            "Configuration error: OPERATORS_CHAT_ID: expected the operators' supergroup id "
            "(like -1001234567890): TELEGRAM_BOT_TOKEN is set, and customers are promised an "
            "operator who answers from that group (README: how to find the id)"
        )
    return ""


def main() -> int:
    settings = settings_and_logging()
    return run_bots(settings) if settings is not None else CONFIG_EXIT
