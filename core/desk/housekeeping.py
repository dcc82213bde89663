"""Periodic work of a running bot: closing tickets that wait on a silent customer,
forgetting old claims of applied updates, raising SLA alerts (`core.desk.sla`) for
cases close to or past their targets, and the retention of personal data
(`core.privacy.retention`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from core.clock import Clock
from core.desk.operators import OperatorDesk, OperatorError
from core.desk.roles import Operator
from core.storage import Storage
from core.storage.claims import KEEP_DAYS

log = logging.getLogger(__name__)
AUTO_CLOSER_ID = "bot"


def auto_closer(desk: OperatorDesk) -> Operator:
    """Who closes a case the customer left unanswered, named for the operators."""
    return Operator(AUTO_CLOSER_ID, desk.desk_texts.get("roles.auto_closer"))


async def close_stale(
    storage: Storage, desk: OperatorDesk, clock: Clock, hours: float
) -> list[int]:
    """Close, with the rating request, every open ticket whose operator spoke last and the
    customer has been silent for `hours`."""
    closed = []
    closer = auto_closer(desk)
    for ticket in await storage.tickets.awaiting_customer(clock.now() - hours * 3600):
        try:
            await desk.close(ticket.id, closer)
        except OperatorError:
            continue  # closed by someone meanwhile
        closed.append(ticket.id)
        log.info("ticket %s closed: no answer from the customer for %s h", ticket.id, hours)
    return closed


async def forget_old_claims(storage: Storage, clock: Clock) -> int:
    """Drop the claims of updates applied more than `KEEP_DAYS` ago — by the clock that
    stamped them (a test's or a shifted clock may be far from the machine's)."""
    return await storage.claims.forget_before(clock.now() - KEEP_DAYS * 86400)


async def run_forever(
    storage: Storage,
    desk: OperatorDesk,
    clock: Clock,
    hours: float,
    stop: asyncio.Event,
    every: float = 60.0,
) -> None:
    forgotten_at: float | None = None
    while not stop.is_set():
        try:
            await close_stale(storage, desk, clock, hours)
            if forgotten_at is None or time.monotonic() - forgotten_at > 3600:  # hourly
                await forget_old_claims(storage, clock)
                forgotten_at = time.monotonic()
        except Exception:
            log.exception("housekeeping round failed")
        if desk.team is not None:
            try:
                await desk.team.sla.check()
            except Exception:
                log.exception("SLA check failed")
        if desk.privacy is not None:
            try:
                await desk.privacy.housekeeping()  # retention, hourly
            except Exception:
                log.exception("retention pass failed")
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), every)
