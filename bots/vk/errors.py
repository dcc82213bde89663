"""VK API errors → what the delivery worker should do. The one place that knows codes.

* 6 (too many requests a second), 9 (flood control) → `RetryLater`.
* 900 / 901 / 902 / 7 (blacklist, messages forbidden, privacy, no permission),
  100 / 911 (invalid parameters / keyboard) and 914 (too long) → `PermanentFailure`, with
  the reason the case's operators read (`desk.yaml`, `undelivered.vk.*`).
* Anything else (10 internal error, network errors, …) → None: the original exception
  propagates and the worker retries with backoff.
"""

from __future__ import annotations

from core.knowledge.texts import Texts
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

# Refusals for good → the key of their reason under `undelivered.vk` in desk.yaml.
REFUSALS = {
    MESSAGES_FORBIDDEN: "messages_forbidden",
    PRIVACY: "privacy",
    PERMISSION_DENIED: "permission_denied",
    BLACKLISTED: "blacklisted",
    INVALID_PARAMS: "invalid_params",
    KEYBOARD_INVALID: "keyboard_invalid",
    TOO_LONG: "too_long",
}


def classify(code: int | None, desk_texts: Texts) -> RetryLater | PermanentFailure | None:
    """The delivery outcome for VK error `code`; None means "a passing fault"."""
    if code in (TOO_MANY_REQUESTS, FLOOD_CONTROL):
        metrics.rate_limited(VK)
    if code == TOO_MANY_REQUESTS:
        return RetryLater(1.0, "VK 6: too many requests per second", count_attempt=False)
    if code == FLOOD_CONTROL:
        return RetryLater(30.0, "VK 9: flood control")
    if code in REFUSALS:
        return PermanentFailure(desk_texts.get(f"undelivered.vk.{REFUSALS[code]}"))
    return None


def is_rate_limit(code: int | None) -> bool:
    """VK asks us to slow down: the call may be repeated later, nothing is wrong with it."""
    return code in (TOO_MANY_REQUESTS, FLOOD_CONTROL)


def is_permanent_for_peer(code: int | None) -> bool:
    """The customer can never get messages from us (as opposed to a bad request)."""
    return code in (MESSAGES_FORBIDDEN, PRIVACY, PERMISSION_DENIED, BLACKLISTED)
