"""Issue 11, logs: secrets never reach the log — one filter on the one handler removes
tokens from messages, URLs and exception texts, in text and JSON format; a real failed file
download (its URL holds the bot token) is logged without the token."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import re
import subprocess
import sys
import warnings

import pytest
from case_helpers import seed_model_cache
from conftest import REPO

from bots import logs
from bots.main import serve
from core.app import build_core
from tests.conftest import make_settings
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.vk_api import FakeVKAPI

TOKEN = "123456789:AAHk-secret_bot_token_for_log_tests_01"
OPS = -1004000000002
VK_TOKEN = "vk1.a.secret-vk-token-for-log-tests"


@pytest.fixture
def captured():
    """bots.logs.setup() as an entry point calls it, writing into a StringIO."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level, sys.excepthook)
    stream = io.StringIO()

    def install(fmt: str = "text", secrets: tuple[str, ...] = (TOKEN, VK_TOKEN)) -> io.StringIO:
        logs.setup("INFO", fmt, secrets)
        for handler in root.handlers:
            handler.setStream(stream)  # type: ignore[attr-defined]
        return stream

    yield install
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in saved[0]:
        root.addHandler(handler)
    root.setLevel(saved[1])
    sys.excepthook = saved[2]
    logging.captureWarnings(False)


def test_message_arguments_and_urls(captured):
    out = captured()
    log = logging.getLogger("tests.ops")
    log.warning("GET %s failed", f"https://api.telegram.org/file/bot{TOKEN}/photos/1.jpg")
    log.warning(
        "vk call https://api.vk.ru/method/messages.send?access_token=%s&v=5.199", "abc123xyz"
    )
    log.warning("token %s", VK_TOKEN)
    log.warning("dsn postgresql://shop:hunter2@db:5432/support")
    log.warning("header Authorization: Bearer s3cr3t.value")
    lines = [line.split(": ", 1)[1] for line in out.getvalue().splitlines()]
    assert lines == [
        "GET https://api.telegram.org/file/bot***/photos/1.jpg failed",
        "vk call https://api.vk.ru/method/messages.send?access_token=***&v=5.199",
        "token ***",
        "dsn postgresql://shop:***@db:5432/support",
        "header Authorization: Bearer ***",
    ]


def test_an_unknown_token_is_recognised_by_its_shape(captured):
    out = captured(secrets=())
    logging.getLogger("tests.ops").error("url /bot987654321:AAEabcdefghijklmnopqrstuvwxyz01/getMe")
    assert out.getvalue().rstrip("\n").endswith("url /bot***/getMe")


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_exception_text_and_traceback(captured, fmt):
    out = captured(fmt)
    try:
        raise RuntimeError(f"Cannot connect to https://api.telegram.org/bot{TOKEN}/getMe")
    except RuntimeError:
        logging.getLogger("tests.ops").exception("start failed for %s", VK_TOKEN)
    text = out.getvalue()
    assert TOKEN not in text and VK_TOKEN not in text and TOKEN.split(":")[1] not in text
    if fmt == "json":
        [line] = text.splitlines()  # one line per event, traceback included
        record = json.loads(line)
        assert record["message"] == "start failed for ***"
        assert record["level"] == "ERROR" and record["logger"] == "tests.ops"
        assert record["exc_info"].endswith(
            "RuntimeError: Cannot connect to https://api.telegram.org/bot***/getMe"
        )
    else:
        assert "start failed for ***" in text
        assert text.rstrip("\n").endswith(
            "RuntimeError: Cannot connect to https://api.telegram.org/bot***/getMe"
        )


def test_warnings_go_through_the_filter(captured):
    out = captured()
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        logging.captureWarnings(True)  # as logs.setup() did; pytest's own capture is nested
        warnings.warn(
            f"Unclosed session for https://api.telegram.org/bot{TOKEN}/",
            ResourceWarning,
            stacklevel=1,
        )
    assert "bot***/" in out.getvalue() and TOKEN not in out.getvalue()


def test_json_lines_carry_the_ids(captured):
    out = captured("json")
    from core.runtime import metrics

    metrics.handled("telegram", 0.0, "tg:555:12", ticket=7)
    record = json.loads(out.getvalue().splitlines()[-1])
    assert record["logger"] == "supportbot.turns"
    assert record["update"] == "tg:555:12" and record["ticket"] == 7
    assert re.fullmatch(r"telegram update tg:555:12 handled in \d+ ms: ticket 7", record["message"])


async def test_failed_download_url_holds_no_token(tmp_path, classifier, captured):
    """An operator's photo for a VK customer cannot be downloaded from the Bot API (404): the
    VK sender logs the failure, whose text is the download URL — token redacted."""
    out = captured()
    ops, vk_user, operator = -1002000000001, 5150, 901
    async with FakeTelegramAPI(token=TOKEN) as tg, FakeVKAPI(token=VK_TOKEN) as vk:
        tg.add_chat(ops, is_forum=True)
        vk.set_user(vk_user, "Ольга", "Смирнова")
        settings = make_settings(
            tmp_path,
            telegram_bot_token=tg.token,
            telegram_api_url=tg.base_url,
            operators_chat_id=ops,
            vk_group_token=vk.token,
            vk_group_id=vk.group_id,
            vk_api_url=vk.api_url,
            vk_requests_per_second=20,
        )
        core = await build_core(settings, classifier=classifier)
        stop = asyncio.Event()
        task = asyncio.create_task(serve(settings, stop, core))
        try:
            await tg.wait_for("getUpdates", timeout=30)
            vk.push_message(vk_user, "позовите оператора")
            await tg.wait_for("createForumTopic", timeout=30)
            thread = next(iter(tg.topics[ops]))
            tg.group_message(ops, operator, photo=True, caption="Вот фото", thread_id=thread)
            tg._paths.clear()  # the file is gone from the Bot API server: download → 404
            for _ in range(600):
                if "unavailable" in out.getvalue():
                    break
                await asyncio.sleep(0.05)
        finally:
            stop.set()
            await asyncio.wait_for(task, 30)
    text = out.getvalue()
    [line] = [line for line in text.splitlines() if "file for VK" in line]
    assert re.search(
        rf"WARNING bots\.vk\.sender: file for VK {vk_user} unavailable: .*404.*"
        rf"{re.escape(tg.base_url)}/file/bot\*\*\*/\S+",
        line,
    ), line
    assert TOKEN not in text and TOKEN.split(":")[1] not in text and VK_TOKEN not in text


# ---------------------------------------------------------------------------- issue 20
def run_python(code: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONIOENCODING": "utf-8"}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )


@pytest.mark.parametrize("imported", ["before", "after"])
def test_vkbottle_lines_once_without_colour_and_redacted(imported):
    """vkbottle gives its logger a coloured handler of its own when imported: each of its
    lines came twice, once with raw colour codes and past the redaction filter."""
    setup = f"from bots import logs; logs.setup('INFO', 'text', [{VK_TOKEN!r}])"
    code = "\n".join(
        [
            "import vkbottle.modules" if imported == "before" else "",
            setup,
            "from vkbottle.modules import logger",
            f"logger.info('polling with {{}}', {VK_TOKEN!r})",
        ]
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].endswith(" INFO vkbottle: polling with ***")
    assert "\x1b" not in result.stderr


async def test_each_update_is_logged_once(tmp_path, classifier):
    """One customer message through `python -m bots` and the fake Bot API: one line names
    the update (the bot's own, with customer, intent and ticket), not aiogram's as well."""
    data = tmp_path / "data"
    seed_model_cache(data, classifier)
    async with FakeTelegramAPI() as fake:
        fake.add_chat(OPS, is_forum=True)
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "OMP_NUM_THREADS": "1",
            "DATA_DIR": str(data),
            "TELEGRAM_BOT_TOKEN": fake.token,
            "TELEGRAM_API_URL": fake.base_url,
            "OPERATORS_CHAT_ID": str(OPS),
            "LOG_LEVEL": "INFO",
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bots", env=env, cwd=tmp_path, stderr=subprocess.PIPE
        )
        try:
            update = fake.private_message(5550001, "где мой заказ")["update_id"]
            await fake.wait_for("sendMessage", lambda p: p["chat_id"] == 5550001, timeout=90)
        finally:
            process.terminate()
            _, stderr = await asyncio.wait_for(process.communicate(), 30)
    lines = stderr.decode("utf-8").splitlines()
    naming = [line for line in lines if re.search(rf"\b(id=|tg:\d+:){update}\b", line)]
    assert len(naming) == 1, "\n".join(lines)
    assert "telegram update" in naming[0] and "intent order_status" in naming[0]
    assert process.returncode == 0
