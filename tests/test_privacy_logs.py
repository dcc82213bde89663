"""Issue 18, logs: no customer's personal data at INFO and above, in text and JSON. The
bot's own lines carry ids, never texts or names (a conversation through the real bot is
searched, below); phone numbers, e-mails and order numbers that other code may put in a
message are masked above DEBUG, and DEBUG says that it may hold them."""

from __future__ import annotations

import io
import json
import logging
import sys

import pytest

from bots import logs

PHONE, EMAIL, ORDER = "+7 (912) 345-67-89", "vera.k@mail.example", "12345678-0001"


@pytest.fixture
def captured():
    root = logging.getLogger()
    saved = (list(root.handlers), root.level, sys.excepthook)
    stream = io.StringIO()

    def install(fmt: str = "text", level: str = "INFO") -> io.StringIO:
        real, sys.stderr = sys.stderr, stream  # the handler writes where stderr is now
        try:
            logs.setup(level, fmt, ())
        finally:
            sys.stderr = real
        return stream

    yield install
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in saved[0]:
        root.addHandler(handler)
    root.setLevel(saved[1])
    sys.excepthook = saved[2]
    logging.captureWarnings(False)


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_masked_above_debug(captured, fmt):
    out = captured(fmt, "DEBUG")
    log = logging.getLogger("tests.privacy")
    log.warning("order %s for %s, call %s", ORDER, EMAIL, PHONE)
    log.debug("order %s for %s, call %s", ORDER, EMAIL, PHONE)
    try:
        raise ValueError(f"customer wrote {PHONE}")
    except ValueError:
        log.exception("failed")
    lines = out.getvalue().splitlines()
    if fmt == "json":
        records = [json.loads(line) for line in lines]
        messages = [r["message"] + r.get("exc_info", "") for r in records]
    else:
        messages = lines
    assert "LOG_LEVEL=DEBUG: the log may hold customers' personal data" in messages[0]
    warning = next(m for m in messages if "tests.privacy" in m or "order [" in m)
    assert "order [order] for [e-mail], call [phone]" in warning
    assert any(f"order {ORDER} for {EMAIL}, call {PHONE}" in m for m in messages)  # DEBUG
    failure = "\n".join(messages[messages.index(warning) + 2 :])
    assert "customer wrote [phone]" in failure and PHONE not in failure


def test_no_debug_warning_at_info(captured):
    out = captured("text", "INFO")
    assert out.getvalue() == ""
