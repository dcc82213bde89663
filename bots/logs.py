"""Logging for every entry point: one line per event on stderr, as text or JSON, with
secrets removed.

`setup(level, fmt, secrets)` installs one stderr handler on the root logger. Its
`RedactSecrets` filter runs on every record that reaches it, from any library: it
rewrites the message (arguments merged in), the exception text and the stack with every
configured secret value and anything shaped like a token replaced by `***` — a Bot API
URL (`/bot<token>/…`, `/file/bot<token>/…`), `access_token=…`, `Bearer …`, a URL's
password. Python warnings ("Unclosed client session") and uncaught exceptions go through
the same handler, so nothing reaches stderr unfiltered; so do vkbottle's lines, once and
without colour codes (`quiet_libraries`), and aiogram's per-update line is left out (the
bot logs each update once itself).
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from types import TracebackType

REDACTED = "***"
# Shapes of secrets that need no configuration to be recognised.
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?<!\d)\d{3,20}:[A-Za-z0-9_-]{20,}"), REDACTED),  # a Telegram bot token
    (re.compile(r"(?i)(access_token=)[^&\s'\"]+"), r"\1" + REDACTED),
    (re.compile(r"(?i)(\"?access_token\"?\s*[:=]\s*['\"]?)[A-Za-z0-9._-]{8,}"), r"\1" + REDACTED),
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"), r"\1" + REDACTED),
    (re.compile(r"(://[^:/@\s]+:)[^@\s/]+@"), r"\1" + REDACTED + "@"),
)
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s"


class RedactSecrets(logging.Filter):
    """Replaces secrets in a record's message, exception text and stack (never drops it)."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        # Longest first, so that a secret containing another is replaced whole.
        self.secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: keep what there is
            raw = getattr(record.msg, "fmt", record.msg)  # vkbottle's {}-style messages
            message = raw if isinstance(raw, str) else repr(raw)
        record.msg, record.args = self.redact(message), None
        if record.exc_info:
            if not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None  # formatters would render it again, unredacted
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def make_handler(fmt: str = "text", secrets: Iterable[str] = ()) -> logging.Handler:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        from pythonjsonlogger.json import JsonFormatter

        handler.setFormatter(
            JsonFormatter(
                JSON_FIELDS,
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
                json_ensure_ascii=False,
            )
        )
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    handler.addFilter(RedactSecrets(secrets))
    return handler


def setup(level: str = "INFO", fmt: str = "text", secrets: Iterable[str] = ()) -> None:
    """Route every log record, warning and uncaught exception through one filtered handler."""
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(make_handler(fmt, secrets))
    root.setLevel(level)
    quiet_libraries(level)
    logging.captureWarnings(True)
    sys.excepthook = _log_uncaught


def quiet_libraries(level: str) -> None:
    """Each event once, through the one handler above:

    * aiogram logs every update it handles ("Update id=… is handled") at INFO, and the bot
      logs its own line with the customer, intent and ticket: aiogram's goes below DEBUG;
    * vkbottle, when imported, gives its logger a coloured stderr handler of its own unless
      it has one (its lines came twice, once with raw colour codes, past the filter): a
      `NullHandler` holds that place, so its records reach the root handler only.
    """
    if level != "DEBUG":
        logging.getLogger("aiogram.event").setLevel(logging.WARNING)
    vkbottle = logging.getLogger("vkbottle")
    for old in list(vkbottle.handlers):
        vkbottle.removeHandler(old)
    vkbottle.addHandler(logging.NullHandler())


def _log_uncaught(
    kind: type[BaseException], value: BaseException, tb: TracebackType | None
) -> None:
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, value, tb)
        return
    logging.getLogger("supportbot").critical("unexpected error", exc_info=(kind, value, tb))
