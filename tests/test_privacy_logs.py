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


@pytest.mark.parametrize("fmt", ["text", "json"])
async def test_a_conversation_leaves_no_personal_data_in_the_log(
    tmp_path, classifier, captured, fmt
):
    """A customer's two cases, a photo, an edit, a rating comment, their phone, e-mail and
    order number, operators' replies and the erasure, through the real bot at INFO: the
    log holds none of their words (they appear as telegram:ID, cases by number)."""
    from core.privacy.requests import ERASE
    from tests.case_helpers import press, say
    from tests.telegram_harness import telegram_bot
    from tests.test_privacy_telegram import CUSTOMER, history

    out = captured(fmt, "INFO")
    async with telegram_bot(tmp_path, classifier) as bot:
        fake = bot.fake
        needles, _ = await history(fake, CUSTOMER, "71", "zlata_unique71")
        contact = f"мой телефон {PHONE}, почта {EMAIL}"
        fake.private_message(CUSTOMER, contact, first_name="Злата71")  # to the open case
        await fake.wait_for("sendMessage", lambda p: "почта" in str(p.get("text")))
        await say(fake, CUSTOMER, "удалите мои данные", needle="Удалить данные?")
        await press(fake, CUSTOMER, ERASE, needle="ваши данные удалены")
        await fake.wait_for("deleteForumTopic")
    text = out.getvalue()
    assert "handled in" in text and "erased (act 1, customer)" in text  # it did log
    words = [n for n in needles if not n.isdigit() and not n.startswith("AgAC")]
    words += [PHONE, EMAIL, "+7 912", "mail.example", "Вторая71", "телефон"]
    assert [w for w in words if w in text] == []
