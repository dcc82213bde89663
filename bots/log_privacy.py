"""No customer's personal data in the log at INFO and above.

The bot's own lines name a customer by channel and id, a case by number, an update by
its id — never a message text, a name or a username (checked by tests/test_privacy_logs.py,
which runs conversations through the real bot and searches the log). `RedactPersonalData`
is the net under that for what other code may put in a message or an exception text:
phone numbers, e-mail addresses and order numbers in records of INFO and above are
replaced by a placeholder. DEBUG records are left whole — DEBUG may hold personal data,
and `warn_if_debug` says so when it is switched on.
"""

from __future__ import annotations

import logging
import re

from core.orders.numbers import ORDER_RE

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_PHONE = re.compile(
    r"(?<![\w+])(?:\+7|8)[\s\-()]*\d{3}[\s\-()]*\d{3}[\s\-]*\d{2}[\s\-]*\d{2}(?!\d)"
    r"|(?<![\w+])\+\d{10,14}(?!\d)"
)
_PATTERNS = ((_EMAIL, "[e-mail]"), (_PHONE, "[phone]"), (ORDER_RE, "[order]"))


def redact(text: str) -> str:
    for pattern, placeholder in _PATTERNS:
        text = pattern.sub(placeholder, text)
    return text


class RedactPersonalData(logging.Filter):
    """Masks phone numbers, e-mails and order numbers in records of INFO and above (put it
    after `bots.logs.RedactSecrets`, which has merged the arguments into the message)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.INFO:
            return True
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def warn_if_debug(level: str) -> None:
    if level.upper() == "DEBUG":
        logging.getLogger("supportbot").warning(
            "LOG_LEVEL=DEBUG: the log may hold customers' personal data (message texts, "
            "names, phone numbers); keep such a log no longer than you need it"
        )
