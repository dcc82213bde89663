"""Issue 11, console rows: `supportbot chat` as a real process. Input that is not valid
UTF-8 (a paste cut mid-letter) is replaced, never fatal; Ctrl+C and Ctrl+D typed on a real
terminal (a pseudo-terminal here) end the chat at once, without a traceback."""

from __future__ import annotations

import fcntl
import io
import os
import pty
import select
import signal
import sqlite3
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
import yaml
from conftest import REPO

from bots.console import ConsoleChat
from core.types import CONSOLE, CustomerRef

ASK_ORDER = yaml.safe_load((REPO / "config" / "knowledge" / "texts.yaml").read_text("utf-8"))[
    "ask_order"
]["order_status"]
MENU_MARK = "(/b N)"  # the last thing printed before the chat waits for a line
PROMPT = yaml.safe_load((REPO / "config" / "knowledge" / "desk.yaml").read_text("utf-8"))[
    "console"
]["prompt"]


def chat_env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DATA_DIR": str(tmp_path / "data"),
        "PYTHONPATH": str(REPO),
        "OMP_NUM_THREADS": "1",
        "LOG_LEVEL": "WARNING",
        "WORK_HOURS_START": "00:00",
        "WORK_HOURS_END": "00:00",
    }


def test_undecodable_input_is_replaced(tmp_path):
    """printf 'где мой заказ \\xd0\\n' | supportbot chat"""
    result = subprocess.run(
        [sys.executable, "-m", "bots.cli", "chat"],
        input="где мой заказ ".encode() + b"\xd0\n" + "привет".encode() + b"\xff\xfe\n",
        capture_output=True,
        cwd=tmp_path,
        env=chat_env(tmp_path),
        timeout=120,
    )
    out = result.stdout.decode("utf-8")
    assert result.stderr.decode() == ""
    assert result.returncode == 0
    assert f"[бот] {ASK_ORDER}" in out.splitlines()
    assert out.endswith("\nДо свидания!\n")
    assert PROMPT not in out  # input from a pipe: no prompt
    # What was stored is the text with the broken bytes replaced.
    conn = sqlite3.connect(tmp_path / "data" / "support.db")
    try:
        texts = [row[0] for row in conn.execute("SELECT text FROM messages WHERE direction='in'")]
    finally:
        conn.close()
    assert "где мой заказ \ufffd" in texts
    assert "привет\ufffd\ufffd" in texts


async def test_surrogates_in_a_line_are_replaced(core):
    out = io.StringIO()
    chat = ConsoleChat(core, out=out, user_id="surrogates")
    await chat.run(["где мой заказ \udcd0\n", "\ud83d\n"])
    assert f"[бот] {ASK_ORDER}" in out.getvalue().splitlines()
    conv = await core.storage.conversations.find(CustomerRef(CONSOLE, "surrogates"))
    logged = [m.text for m in await core.storage.messages.for_conversation(conv.id, 100)]
    assert "где мой заказ \ufffd" in logged
    assert "\ufffd" in logged


# ---------------------------------------------------------------------------- a terminal
class Terminal:
    """`supportbot chat` on a pseudo-terminal that is its controlling terminal, so that the
    keys Ctrl+C / Ctrl+D reach it the way they do from a person's keyboard."""

    def __init__(self, tmp_path: Path) -> None:
        self.master, slave = pty.openpty()

        def take_terminal() -> None:  # runs in the child, after setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.process = subprocess.Popen(
            [sys.executable, "-m", "bots.cli", "chat"],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=tmp_path,
            env=chat_env(tmp_path),
            start_new_session=True,
            preexec_fn=take_terminal,
        )
        os.close(slave)
        self.output = b""

    def read_until(self, marker: str, timeout: float = 90) -> str:
        deadline = time.monotonic() + timeout
        while marker.encode() not in self.output:
            left = deadline - time.monotonic()
            assert left > 0, f"no {marker!r} in:\n{self.output.decode(errors='replace')}"
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:  # the child closed the terminal
                    chunk = b""
                if not chunk:
                    break
                self.output += chunk
        return self.output.decode("utf-8", "replace")

    def type(self, data: bytes) -> None:
        os.write(self.master, data)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(30)
        os.close(self.master)


@pytest.fixture
def terminal(tmp_path):
    term = Terminal(tmp_path)
    yield term
    term.close()


@pytest.mark.parametrize(("key", "name"), [(b"\x03", "Ctrl+C"), (b"\x04", "Ctrl+D")])
def test_key_ends_the_chat_at_once(terminal, key, name):
    terminal.read_until(MENU_MARK)
    terminal.type(key)
    screen = terminal.read_until("До свидания!", timeout=30)
    assert terminal.process.wait(30) == 0, screen
    assert "Traceback" not in screen
    assert screen.rstrip().endswith("До свидания!")


def test_ctrl_c_after_a_conversation(terminal):
    terminal.read_until(MENU_MARK)
    terminal.type("где мой заказ\n".encode())
    terminal.read_until(ASK_ORDER)
    terminal.type(b"\x03")
    screen = terminal.read_until("До свидания!", timeout=30)
    assert terminal.process.wait(30) == 0, screen
    assert "Traceback" not in screen and "KeyboardInterrupt" not in screen


def test_a_terminal_gets_a_prompt_before_each_line(terminal):
    """Issue 20: the chat showed no prompt. On a terminal it asks for each line, after the
    answers to the previous one."""
    screen = terminal.read_until(MENU_MARK + "\r\n" + PROMPT)
    assert screen.count(PROMPT) == 1
    terminal.type("где мой заказ\n".encode())
    screen = terminal.read_until(ASK_ORDER)
    screen = terminal.read_until(ASK_ORDER + "\r\n" + PROMPT)
    assert screen.count(PROMPT) == 2
    terminal.type(b"\x04")
    screen = terminal.read_until("До свидания!", timeout=30)
    assert terminal.process.wait(30) == 0, screen
    assert screen.endswith(PROMPT + "\r\nДо свидания!\r\n"), screen[-200:]


def test_sigint_with_input_from_a_pipe(tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-m", "bots.cli", "chat"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        env=chat_env(tmp_path),
    )
    try:
        assert process.stdout is not None
        seen = b""
        deadline = time.monotonic() + 90
        while MENU_MARK.encode() not in seen and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            seen += line
        assert MENU_MARK.encode() in seen
        process.send_signal(signal.SIGINT)  # stdin stays open: the chat was waiting for it
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(30)
    assert err.decode() == ""
    assert out.decode().endswith("\nДо свидания!\n")
    assert process.returncode == 0
