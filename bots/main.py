"""`python -m bots`: every messenger whose credentials are set, in one process, one
database, one delivery worker; stops cleanly on SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from typing import Any, Protocol

from bots.health import Health
from bots.startup import (
    CONFIG_EXIT,
    StartupRefused,
    report_problems,
    settings_and_logging,
    until_stopped,
)
from config.settings import Settings
from core.app import Core, DatabaseRefused, build_core
from core.desk import housekeeping
from core.knowledge.base import KnowledgeError

log = logging.getLogger("bots")


class Channel(Protocol):
    async def start(self) -> None: ...
    async def stop_receiving(self) -> None: ...
    async def stop(self) -> None: ...


def make_channels(core: Core, settings: Any, health: Health | None = None) -> list[Channel]:
    channels: list[Channel] = []
    if settings.telegram_enabled:
        from bots.telegram.channel import TelegramChannel

        channels.append(TelegramChannel(core, settings, health=health))
    if settings.vk_enabled:
        from bots.vk.channel import VKChannel

        channels.append(VKChannel(core, settings))
    return channels


async def serve(settings: Any, stop: asyncio.Event, core: Core | None = None) -> None:
    """Run until `stop` is set. Tests call this with settings pointed at fake APIs."""
    if core is None:
        built: list[Core] = []

        async def build() -> None:
            built.append(await build_core(settings))

        if not await until_stopped(build(), stop):
            return  # SIGTERM while the database was still unreachable
        core = built[0]
    if settings.telegram_webhook_url or settings.vk_callback_enabled:
        # Replicas behind a load balancer: hold each update back briefly so that one sent
        # earlier but stored by another replica a moment later is applied first.
        core.intake.shared = True
        core.intake.order_window = settings.intake_order_window_ms / 1000
    health = Health(core)
    channels = make_channels(core, settings, health)
    started: list[Channel] = []
    workers: list[asyncio.Task[None]] = []
    try:
        workers.append(asyncio.create_task(core.liveness.run_forever(stop), name="heartbeat"))
        if getattr(settings, "health_port", None) is not None:
            try:
                await health.start(settings.health_host, settings.health_port)
            except OSError as exc:
                raise StartupRefused(
                    f"HEALTH_PORT: cannot listen on {settings.health_host}:"
                    f"{settings.health_port} ({exc.strerror or exc})"
                ) from None
        for channel in channels:
            started.append(channel)  # stopped below even if its start fails or is cut short
            if not await until_stopped(channel.start(), stop):
                return  # SIGTERM while a start waited out an outage
        health.channels_started = True
        workers += [
            asyncio.create_task(core.intake.run_forever(stop), name="intake"),
            asyncio.create_task(core.delivery.run_forever(stop), name="delivery"),
            asyncio.create_task(
                housekeeping.run_forever(
                    core.storage, core.desk, core.clock, settings.auto_close_hours, stop
                ),
                name="housekeeping",
            ),
            asyncio.create_task(core.model_watcher.run_forever(stop), name="model-watcher"),
        ]
        log.info("running: %s", ", ".join(type(c).__name__ for c in started) or "nothing")
        await stop.wait()
    finally:
        stop.set()
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
        await health.stop()
        await core.close()


def run_bots(settings: Settings) -> int:
    if not (settings.telegram_enabled or settings.vk_enabled):
        print(
            "Neither TELEGRAM_BOT_TOKEN nor VK_GROUP_TOKEN is set: nothing to start. "
            "Try the offline console: supportbot chat",
            file=sys.stderr,
        )
        return 2

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(signum, stop.set)
        await serve(settings, stop)

    try:
        asyncio.run(main())
    except (StartupRefused, KnowledgeError, DatabaseRefused) as exc:
        report_problems([str(exc)])
        return CONFIG_EXIT
    log.info("stopped")
    return 0


def main() -> int:
    settings = settings_and_logging()
    return run_bots(settings) if settings is not None else CONFIG_EXIT
