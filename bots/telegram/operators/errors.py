"""One place for what an operator's action can run into (aiogram error handlers): a
refusal (`OperatorError`, with a text for the operator) is shown where they acted; a
repeated update (`DuplicateUpdate`: the same message or press again) was done the first
time and changes nothing."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import ExceptionTypeFilter
from aiogram.types import ErrorEvent

from bots.telegram.operators.desk import TelegramDesk
from core.desk.operators import OperatorError
from core.storage import DuplicateUpdate

log = logging.getLogger(__name__)
ALERT_LIMIT = 190  # characters of a button's alert

router = Router(name="operators-errors")


@router.errors(ExceptionTypeFilter(DuplicateUpdate))
async def on_repeat(event: ErrorEvent) -> bool:
    log.debug("operator update applied before: %s", event.exception)
    return True


@router.errors(ExceptionTypeFilter(OperatorError))
async def on_refusal(event: ErrorEvent, desk: TelegramDesk) -> bool:
    text = str(event.exception)
    update = event.update
    if update.callback_query is not None:
        try:
            await update.callback_query.answer(text[:ALERT_LIMIT], show_alert=True)
        except TelegramAPIError as exc:
            log.info("refusal not shown: %s", exc)
    elif update.message is not None:
        await desk.say(update.message, text)
    return True
