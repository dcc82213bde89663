"""Riding out an outage: call something again with growing pauses, one log line a try.

    me = await retry(bot.get_me, "Telegram", transient=is_network_error)

logs `Telegram unreachable (cannot connect to api.telegram.org:443), retrying in 1 s`,
then 2, 4, 8 … up to `max_delay` seconds, for as long as it takes (cancel the caller to
give up — a SIGTERM does). Errors that `transient` does not accept are raised at once:
those are refusals (a wrong token) or bugs, not outages.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import aiohttp

T = TypeVar("T")
log = logging.getLogger("supportbot.retry")


def describe(exc: BaseException) -> str:
    """A short reason for an outage, without the traceback (and without URLs)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, aiohttp.ClientConnectorError):
            return f"cannot connect to {current.host}:{current.port}"
        if isinstance(current, aiohttp.ClientResponseError):
            return f"HTTP {current.status} {current.message}".strip()
        if isinstance(current, TimeoutError | asyncio.TimeoutError):
            return "no answer in time"
        if isinstance(current, ConnectionRefusedError):
            return "connection refused"
        current = current.__cause__ or current.__context__
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


def is_network_error(exc: BaseException) -> bool:
    """Connection refused, DNS, resets, timeouts: the kinds of failure an outage causes."""
    return isinstance(exc, aiohttp.ClientError | OSError | TimeoutError | asyncio.TimeoutError)


def seconds(delay: float) -> str:
    return f"{delay:.0f}" if delay >= 1 else f"{delay:.1f}"


async def retry(
    call: Callable[[], Awaitable[T]],
    what: str,
    *,
    transient: Callable[[BaseException], bool] = is_network_error,
    first_delay: float = 1.0,
    max_delay: float = 60.0,
    logger: logging.Logger = log,
    hint: str = "",
    hint_after: int = 3,
) -> T:
    """`await call()` until it succeeds; one warning line per failed attempt, and from the
    `hint_after`-th on, `hint` (what may be misconfigured) in the same line."""
    delay = first_delay
    failures = 0
    while True:
        try:
            return await call()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if not transient(exc):
                raise
            failures += 1
            advice = f"; {hint}" if hint and failures >= hint_after else ""
            logger.warning(
                "%s unreachable (%s), retrying in %s s%s",
                what,
                describe(exc),
                seconds(delay),
                advice,
            )
        await asyncio.sleep(delay)
        delay = min(max_delay, delay * 2)
