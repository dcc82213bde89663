"""What every entry point does first: read the settings (one clear line per problem, never a
traceback) and set up logging; and the few rules of starting and stopping the bots.

* `settings_and_logging()` — the settings, or None after printing
  `Configuration error: NAME: what is expected` lines on stderr (exit code 2 follows).
* `StartupRefused` — raised while starting when a service refuses the configuration
  (Telegram answers 401 to the token, the knowledge base does not load): one such line;
  `refusal(exc)` gives that line for every such error (a database too), None for others.
* `until_stopped(coro, stop)` — a start that may wait out an outage, abandoned the moment
  SIGTERM/SIGINT sets `stop`.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Awaitable
from typing import TYPE_CHECKING

from bots import logs

if TYPE_CHECKING:
    from config.settings import Settings

CONFIG_EXIT = 2


class StartupRefused(Exception):
    """The configuration was refused while starting; the message names the variable."""


def refusal(exc: BaseException) -> str | None:
    """The one line for a configuration refused while starting (a token or a database
    that says no, a knowledge base that does not load); None for anything else."""
    from core.knowledge.base import KnowledgeError
    from core.runtime.opening import DatabaseRefused

    if isinstance(exc, StartupRefused | DatabaseRefused | KnowledgeError):
        return str(exc)
    return None


def report_problems(lines: list[str]) -> None:
    for line in lines:
        print(f"Configuration error: {line}", file=sys.stderr)


def settings_and_logging() -> Settings | None:
    """The settings, with logging to stderr at LOG_LEVEL in LOG_FORMAT; None after
    reporting every problem."""
    from config.settings import SettingsError, load_settings
    from core.clock import clock_from_environment

    try:
        settings = load_settings()
        clock_from_environment()  # SUPPORTBOT_CLOCK_START, when set, must be an instant
    except SettingsError as exc:
        report_problems(exc.problems)
        return None
    except ValueError as exc:
        report_problems([str(exc)])
        return None
    logs.setup(settings.log_level, settings.log_format, settings.secrets())
    return settings


async def until_stopped(start: Awaitable[None], stop: asyncio.Event) -> bool:
    """Run `start`; True when it finished, False when `stop` was set first (then `start`
    is cancelled). Errors of `start` are raised."""
    task = asyncio.ensure_future(start)
    waiter = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    if task.cancelled():
        return False
    task.result()
    return True
