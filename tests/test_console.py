"""The offline console: `supportbot chat` as a subprocess, and `ConsoleChat` in-process
with StringIO for input and output."""

from __future__ import annotations

import io
import os
import sqlite3
import subprocess
import sys

import pytest
import yaml
from conftest import REPO

from bots.console import ConsoleChat
from bots.console.screen import CLEAR_LINE, Screen
from core.events import (
    Assigned,
    CaseClosed,
    ConflictMarked,
    CustomerMessage,
    Delivered,
    LowRating,
    NotShown,
    RatingComment,
    SlaAlert,
    Transferred,
    Undelivered,
)
from core.types import CONSOLE, OPERATORS

PROMPT = yaml.safe_load((REPO / "config" / "knowledge" / "desk.yaml").read_text("utf-8"))[
    "console"
]["prompt"]


def run_chat(tmp_path, lines: list[str]) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path}/chat.db",
        "DATA_DIR": str(tmp_path / "data"),
        "PYTHONPATH": str(REPO),
        "PYTHONIOENCODING": "utf-8",
        "OMP_NUM_THREADS": "1",
        "LOG_LEVEL": "WARNING",
        # The subprocess runs on the real clock: operators are always at work.
        "WORK_HOURS_START": "00:00",
        "WORK_HOURS_END": "00:00",
    }
    return subprocess.run(
        [sys.executable, "-m", "bots.cli", "chat"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=tmp_path,
        env=env,
        timeout=120,
    )


def test_chat_subprocess_full_case(tmp_path):
    result = run_chat(
        tmp_path,
        [
            "позовите оператора",
            "заказ 12345678-0001 так и не пришёл",
            "/reply 1 Здравствуйте! Заказ задержался, привезём завтра.",
            "/close 1",
            "/b 5",
            "/quit",
            "это уже не прочитают",
        ],
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Traceback" not in result.stderr
    lines = out.splitlines()
    assert lines[0].startswith("Консольный чат поддержки")
    # /start: greeting and the menu.
    assert any(line.startswith("[бот] Здравствуйте!") for line in lines)
    assert "9) Позвать оператора" in out
    # The customer asked for an operator: the ticket and the operators' side.
    assert "[бот] Ваше обращение № 1 передано оператору. Вы 1-й в очереди" in out
    assert "[операторам] Новое обращение №1: Связаться с оператором" in out
    assert "[операторам] №1 клиент: заказ 12345678-0001 так и не пришёл" in out
    # The operator's reply reaches the customer, then the rating request.
    assert "[клиенту] Здравствуйте! Заказ задержался, привезём завтра." in out
    assert "[клиенту] Обращение № 1 закрыто. Пожалуйста, оцените" in out
    assert "5) 5 ⭐" in out
    assert "[вы нажали] 5 ⭐" in out
    assert "[бот] Спасибо за оценку!" in out
    assert "это уже не прочитают" not in out
    assert PROMPT not in out  # input from a pipe: no prompt between the lines
    order = [
        out.index("Новое обращение №1"),
        out.index("[клиенту] Здравствуйте! Заказ"),
        out.index("Обращение № 1 закрыто"),
        out.index("[бот] Спасибо за оценку!"),
    ]
    assert order == sorted(order)
    # The same database the bots use now holds the rated, closed ticket.
    conn = sqlite3.connect(tmp_path / "chat.db")
    try:
        status, rating, user = conn.execute(
            "SELECT status, rating, user_id FROM tickets WHERE id = 1"
        ).fetchone()
    finally:
        conn.close()
    assert (status, rating, user) == ("closed", 5, "console-user")


# ---------------------------------------------------------------------------- in-process
@pytest.fixture
def chat(core):
    out = io.StringIO()
    return ConsoleChat(core, out=out, user_id="tester"), out


async def run_lines(chat: ConsoleChat, out: io.StringIO, lines: list[str]) -> str:
    start = len(out.getvalue())
    await chat.run(io.StringIO("\n".join(lines) + "\n"))
    return out.getvalue()[start:]


async def test_console_customer_and_operator(chat, core):
    console, out = chat
    text = await run_lines(
        console,
        out,
        [
            "мне не пришли баллы за отзыв",
            "/b 2",
            "/queue",
            "/take 1",
            "/note 1 проверить начисление",
            "/reply 1 Баллы начислим сегодня.",
            "/close 1",
            "/b 2",
            "ответили долго",
        ],
    )
    assert core.kb.answer("bonuses").text in text
    assert "[вы нажали] Позвать оператора" in text
    assert "  №1 console Баллы и кешбэк приоритет 0" in text
    assert "[операторам] /take №1: готово" in text
    assert "[операторам] заметка сохранена, клиенту не отправлена" in text
    assert "[клиенту] Баллы начислим сегодня." in text
    assert "[вы нажали] 2 ⭐" in text
    assert core.kb.texts.get("rating_thanks_low").splitlines()[0] in text
    low = core.kb.desk.format(
        "notices.low_rating", fallback="console.notices.low_rating", ticket=1, rating=2
    )
    assert f"[операторам] №1: {low}" in text
    ticket = await core.storage.tickets.get(1)
    assert ticket.channel == CONSOLE and ticket.user_id == "tester"
    assert ticket.rating == 2 and ticket.rating_comment == "ответили долго"
    assert ticket.operator_name == "Оператор (консоль)"


async def test_console_operator_errors_are_shown(chat):
    console, out = chat
    text = await run_lines(
        console,
        out,
        ["/reply 7 привет", "/close 7", "/take", "/reply 1", "/b 99", "/b x", "/queue", "/nope"],
    )
    assert "[оператору] Обращения №7 нет." in text
    assert text.count("Неизвестная команда или не хватает номера обращения") == 3
    assert text.count("Нет такой кнопки") == 2
    assert "[операторам] Очередь пуста." in text


async def test_console_closed_ticket_and_reopen(chat, core):
    console, out = chat
    text = await run_lines(
        console,
        out,
        ["позовите оператора", "/close 1", "/reply 1 ещё", "/reopen 1", "/reply 1 снова тут"],
    )
    assert "[оператору] Обращение №1 закрыто. Чтобы продолжить, откройте его: /reopen" in text
    assert "[операторам] /reopen №1: готово" in text
    assert "[клиенту] снова тут" in text
    assert (await core.storage.tickets.get(1)).status == "in_progress"


async def test_console_templates_and_card(chat, core):
    console, out = chat
    text = await run_lines(console, out, ["позовите оператора", "/t 1", "/t 1 hello", "/card 1"])
    assert "[операторам] шаблоны: " in text and "hello" in text
    assert f"[клиенту] {core.canned['hello']}" in text
    assert "[карточка №1] в работе, Связаться с оператором" in text
    assert "   in: позовите оператора" in text


async def test_console_help_and_quit(chat):
    console, out = chat
    text = await run_lines(console, out, ["/help", "/quit", "привет"])
    assert "/reply N текст" in text
    assert text.count("[бот]") == 1  # only the /start greeting; nothing after /quit


async def test_console_handle_line_directly(chat, core):
    console, out = chat
    await console.handle_line("где мой заказ 12345678-0001")
    assert "В пути: передан в службу доставки" in out.getvalue()
    assert "кнопки: 1) 👍 Помогло  2) Позвать оператора" in out.getvalue()
    await console.handle_line("/start")
    assert out.getvalue().count("Здравствуйте! 👋") == 1


# ---------------------------------------------------------------------------- the desk's lines
async def test_every_desk_event_is_a_line_in_the_operators_words(chat, core):
    """What the operators' group would show, as the console prints it: each notice in the
    group's own words (desk.yaml), after the case's number."""
    console, out = chat
    await console.handle_line("позовите оператора")
    desk = core.kb.desk

    def notice(name: str, **values: object) -> str:
        text = desk.format(f"notices.{name}", fallback=f"console.notices.{name}", **values)
        return f"[операторам] №1: {text}"

    def sla(level: str, target: str) -> str:
        name = desk.get(f"sla.targets.{target}")
        return "[операторам] №1: " + desk.format(f"console.sla.{level}", target=name)

    said = "[операторам] " + desk.format("console.customer_message", ticket=1, text="ещё вопрос")
    events_and_lines = [
        (Delivered(1), notice("delivered")),
        (Undelivered(1, reason="ушёл"), notice("undelivered", reason="ушёл")),
        (NotShown(1, reason="400", text="да"), notice("not_shown", reason="400", text="да")),
        (NotShown(1, reason="400"), notice("not_shown_no_text", reason="400")),
        (LowRating(1, rating=2), notice("low_rating", ticket=1, rating=2)),
        (RatingComment(1, text="долго"), notice("rating_comment", text="долго")),
        (ConflictMarked(1), notice("conflict")),
        (
            Assigned(1, to_id="7", to_name="Мария", by="Олег"),
            notice("assigned", ticket=1, who="Мария", by="Олег"),
        ),
        (
            Transferred(1, left="", to="Жалобы", by="Олег"),
            notice("transferred", ticket=1, to="Жалобы", by="Олег"),
        ),
        (CaseClosed(1, by="Олег"), notice("closed", ticket=1, by="Олег")),
        (SlaAlert(1, target="first_response", level="warning"), sla("warning", "first_response")),
        (SlaAlert(1, target="resolution", level="breach"), sla("breach", "resolution")),
        (CustomerMessage(1, text="ещё вопрос"), said),
    ]
    for event, line in events_and_lines:
        start = len(out.getvalue())
        await core.storage.outbox.add(OPERATORS, "console:tester", event, core.clock.now())
        while await core.delivery.run_once():
            pass
        assert out.getvalue()[start:] == line + "\n", type(event).__name__
    for line in out.getvalue().splitlines():
        assert "{" not in line and "}" not in line  # every placeholder filled


def test_a_line_printed_while_the_chat_waits_goes_above_the_prompt():
    out = io.StringIO()
    screen = Screen(out, prompt="вы › ")
    screen.print("[бот] Здравствуйте!")
    screen.ask()
    screen.ask()  # shown once
    screen.print("[операторам] №1: срок")  # the delivery worker, while the chat waits
    screen.answered()
    screen.print("[бот] Ответ")
    assert out.getvalue() == (
        "[бот] Здравствуйте!\nвы › " + CLEAR_LINE + "[операторам] №1: срок\nвы › [бот] Ответ\n"
    )
    quiet = io.StringIO()
    piped = Screen(quiet)  # no prompt: input is not a terminal
    piped.ask()
    piped.print("[бот] Ответ")
    assert quiet.getvalue() == "[бот] Ответ\n"
