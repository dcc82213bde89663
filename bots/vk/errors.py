"""VK API errors → what the delivery worker should do. The one place that knows codes.

* 6 (too many requests a second), 9 (flood control) → `RetryLater`.
* 900 / 901 / 902 / 7 (blacklist, messages forbidden, privacy, no permission) and
  100 / 911 (invalid parameters / keyboard) → `PermanentFailure`, worded for operators.
* Anything else (10 internal error, network errors, …) → None: the original exception
  propagates and the worker retries with backoff.
"""

from __future__ import annotations

from core.runtime import metrics
from core.runtime.delivery import PermanentFailure, RetryLater
from core.types import VK

TOO_MANY_REQUESTS = 6
PERMISSION_DENIED = 7
FLOOD_CONTROL = 9
INTERNAL = 10
INVALID_PARAMS = 100
BLACKLISTED = 900
MESSAGES_FORBIDDEN = 901
PRIVACY = 902
KEYBOARD_INVALID = 911
KEYBOARD_UNSUPPORTED = 912
TOO_LONG = 914

KEYBOARD_ERRORS = (KEYBOARD_INVALID, KEYBOARD_UNSUPPORTED)
BAD_FILE = (INVALID_PARAMS, 121, 129)  # upload refused for the file itself: retrying won't help

_PERMANENT = {
    MESSAGES_FORBIDDEN: "клиент запретил сообщения от сообщества (VK 901)",
    PRIVACY: "клиент ограничил сообщения настройками приватности (VK 902)",
    PERMISSION_DENIED: "у сообщества нет прав писать этому клиенту (VK 7)",
    BLACKLISTED: "клиент в чёрном списке сообщества (VK 900)",
    INVALID_PARAMS: "ВКонтакте отклонил сообщение как некорректное (VK 100)",
    KEYBOARD_INVALID: "ВКонтакте отклонил клавиатуру сообщения (VK 911)",
    TOO_LONG: "сообщение слишком длинное для ВКонтакте (VK 914)",
}


def classify(code: int | None) -> RetryLater | PermanentFailure | None:
    """The delivery outcome for VK error `code`; None means "a passing fault"."""
    if code in (TOO_MANY_REQUESTS, FLOOD_CONTROL):
        metrics.rate_limited(VK)
    if code == TOO_MANY_REQUESTS:
        return RetryLater(1.0, "VK 6: слишком много запросов в секунду", count_attempt=False)
    if code == FLOOD_CONTROL:
        return RetryLater(30.0, "VK 9: flood control")
    if code in _PERMANENT:
        return PermanentFailure(_PERMANENT[code])
    return None


def is_permanent_for_peer(code: int | None) -> bool:
    """The customer can never get messages from us (as opposed to a bad request)."""
    return code in (MESSAGES_FORBIDDEN, PRIVACY, PERMISSION_DENIED, BLACKLISTED)
