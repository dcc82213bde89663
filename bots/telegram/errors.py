"""Bot API errors, classified once for the delivery worker and the handlers."""

from __future__ import annotations

from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNotFound,
    TelegramRetryAfter,
)

from core.knowledge.texts import Texts
from core.runtime import metrics
from core.runtime.delivery import PermanentFailure, RetryLater
from core.types import TELEGRAM


def is_thread_missing(exc: BaseException) -> bool:
    """The forum topic was deleted (or never existed)."""
    return isinstance(exc, TelegramBadRequest) and "thread not found" in str(exc).lower()


def is_not_modified(exc: BaseException) -> bool:
    return isinstance(exc, TelegramBadRequest) and "not modified" in str(exc).lower()


def for_delivery(exc: BaseException, desk_texts: Texts) -> BaseException:
    """Turn a Bot API error into what the delivery worker understands.

    429 → `RetryLater(retry_after)`; 403 (blocked, kicked, deactivated) and a chat that
    no longer exists → `PermanentFailure` with a reason operators can read (desk.yaml
    `undelivered.telegram`); anything else (5xx, network) is returned as it is and retried
    with backoff.
    """
    if isinstance(exc, TelegramRetryAfter):
        metrics.rate_limited(TELEGRAM)
        return RetryLater(float(exc.retry_after), "Telegram 429", count_attempt=False)
    if isinstance(exc, TelegramForbiddenError):
        text = str(exc).lower()
        if "blocked" in text:
            return PermanentFailure(desk_texts.get("undelivered.telegram.blocked"))
        if "deactivated" in text:
            return PermanentFailure(desk_texts.get("undelivered.telegram.deleted"))
        reason = desk_texts.format("undelivered.telegram.forbidden", detail=exc.message)
        return PermanentFailure(reason)
    if isinstance(exc, TelegramNotFound) or (
        isinstance(exc, TelegramBadRequest) and "chat not found" in str(exc).lower()
    ):
        return PermanentFailure(desk_texts.get("undelivered.telegram.chat_not_found"))
    if isinstance(exc, TelegramBadRequest):
        reason = desk_texts.format("undelivered.telegram.rejected", detail=exc.message)
        return PermanentFailure(reason)
    return exc
