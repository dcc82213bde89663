"""The console's operator commands: /help lists every one it accepts, /b presses only
the latest message's buttons, and the case card speaks Russian."""

from __future__ import annotations

import io
import re

import pytest

from bots.console import ConsoleChat
from core.knowledge.base import KnowledgeBase


@pytest.fixture
def chat(core):
    out = io.StringIO()
    return ConsoleChat(core, out=out, user_id="tester"), out


async def lines_out(chat: ConsoleChat, out: io.StringIO, lines: list[str]) -> str:
    start = len(out.getvalue())
    for line in lines:
        await chat.handle_line(line)
    return out.getvalue()[start:]


def listed_commands(text: str) -> set[str]:
    return set(re.findall(r"(?<![\w/<])/[a-z]+", text))


# A team of several groups, shifts and colleagues exists only in Telegram.
TEAM_ONLY = {"/assign", "/transfer", "/shift"}


def console_help(kb: KnowledgeBase) -> str:
    return kb.desk.get("console.help")


def test_help_lists_what_operators_use_in_telegram(kb):
    group = listed_commands(kb.desk.get("help.text")) - {"/help"} - TEAM_ONLY
    assert group <= listed_commands(console_help(kb)), group - listed_commands(console_help(kb))


async def test_every_listed_operator_command_is_accepted(chat, core):
    console, out = chat
    await lines_out(console, out, ["курьер нахамил мне", "2233445566-0015"])
    await lines_out(console, out, ["курьер бросил коробку у подъезда и уехал, не позвонив"])
    ticket = await core.storage.tickets.get(1)
    assert ticket is not None
    commands = {
        "/queue": "/queue",
        "/card": "/card 1",
        "/take": "/take 1",
        "/reply": "/reply 1 Разбираемся.",
        "/t": "/t 1",
        "/note": "/note 1 позвонить в службу доставки",
        "/vip": "/vip 1",
        "/manager": "/manager 1",
        "/compensate": "/compensate 1",
        "/intent": "/intent 1 courier_complaint",
        "/stats": "/stats week",
        "/close": "/close 1",
        "/reopen": "/reopen 1",
        "/b": "/b 1",
        "/help": "/help",
    }
    listed = listed_commands(console_help(core.kb)) - {"/start", "/quit"}
    assert listed == set(commands), listed ^ set(commands)
    for line in commands.values():
        text = await lines_out(console, out, [line])
        assert "Неизвестная команда" not in text, (line, text)
        assert text.strip(), line
    ticket = await core.storage.tickets.get(1)
    assert ticket.vip and ticket.status == "in_progress"


async def test_b_presses_only_the_latest_buttons(chat, core):
    console, out = chat
    shown = await lines_out(console, out, ["как вернуть товар"])
    assert "кнопки: 1) 👍 Помогло  2) Позвать оператора" in shown
    await lines_out(console, out, ["/b 2"])  # «Позвать оператора»: the answer has no buttons
    ticket = await core.storage.tickets.get(1)
    assert ticket is not None
    pressed = await lines_out(console, out, ["/b 1"])
    assert "[вы нажали]" not in pressed
    assert pressed.strip() == "Нажимать нечего: у последнего сообщения бота нет кнопок."
    assert len(await core.storage.tickets.all()) == 1


async def test_card_and_queue_speak_russian(chat, core):
    console, out = chat
    text = await lines_out(
        console,
        out,
        [
            "курьер нахамил мне",
            "2233445566-0015",
            "курьер бросил коробку у подъезда и уехал, не позвонив",
            "/queue",
            "/card 1",
            "/take 1",
            "/card 1",
            "/close 1",
            "/card 1",
        ],
    )
    assert "Новое обращение №1: Жалоба на курьера" in text
    assert "  №1 console Жалоба на курьера приоритет 10" in text
    assert "[карточка №1] ждёт оператора, Жалоба на курьера" in text
    assert "[карточка №1] в работе, Жалоба на курьера" in text
    assert "[карточка №1] закрыто, Жалоба на курьера" in text
    for word in ("in_progress", "courier_complaint", "waiting", "closed"):
        assert word not in text


async def test_a_command_shlex_cannot_read_is_still_taken(chat, core):
    """A lone backslash at the end made shlex raise and ended the chat."""
    console, out = chat
    await lines_out(console, out, ["позовите оператора"])
    text = await lines_out(console, out, ["/note 1 путь C:\\"])
    assert text == "[операторам] " + core.kb.desk.get("console.note_saved") + "\n"
    view = await core.desk.view(1)
    assert view.transcript[-1].text == "путь C:\\"
