"""Issue 20, "Misconfiguration still accepted, hung or crashed": each one, through a real
process in a folder of its own, is one line on stderr naming the setting and exit code 2
— no traceback, no retrying forever, no folder created. The time each takes is checked
against a generous bound only (a hang detector on a loaded machine); they take well
under a second of the process's own work."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO

SUPPORTBOT = REPO / ".venv" / "bin" / "supportbot"
COMMANDS = {
    "python -m bots": [sys.executable, "-m", "bots"],
    "supportbot chat": [str(SUPPORTBOT), "chat"],
    "supportbot report": [str(SUPPORTBOT), "report", "--since", "2026-01-01"],
}
TOKEN = "123456789:AAHk-fake_token_for_first_hour_tests_01"
HANG = 30.0  # seconds: far beyond what a refusal takes; only a hang or a retry loop gets here


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run(
    command: str, tmp_path: Path, env: dict[str, str], dotenv: str | None = None
) -> tuple[subprocess.CompletedProcess[str], float]:
    if dotenv is not None:
        (tmp_path / ".env").write_text(dotenv, encoding="utf-8")
    environment = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "PYTHONIOENCODING": "utf-8",
        "OMP_NUM_THREADS": "1",
        "DATA_DIR": str(tmp_path / "data"),
        **env,
    }
    started = time.monotonic()
    result = subprocess.run(
        COMMANDS[command],
        input="/quit\n",
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=tmp_path,
        env=environment,
        timeout=120,
    )
    return result, time.monotonic() - started


def one_line(result: subprocess.CompletedProcess[str], elapsed: float, *words: str) -> str:
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    for word in words:
        assert word in lines[0]
    assert elapsed < HANG
    return lines[0]


@pytest.mark.parametrize("command", COMMANDS)
def test_data_dir_that_cannot_be_made(tmp_path, command):
    """/proc refuses a new folder even to root: a configuration error, not an outage."""
    result, elapsed = run(command, tmp_path, {"DATA_DIR": "/proc/forbidden"})
    line = one_line(result, elapsed, "DATA_DIR", "/proc/forbidden")
    assert line == (
        "Configuration error: DATA_DIR: expected a folder the bot can write to; "
        "/proc/forbidden cannot be created (No such file or directory)"
    )


def test_data_dir_is_made_but_never_its_parents(tmp_path):
    missing = tmp_path / "missing" / "data"
    result, elapsed = run("python -m bots", tmp_path, {"DATA_DIR": str(missing)})
    one_line(result, elapsed, "DATA_DIR", f"neither does its parent folder {missing.parent}")
    assert not missing.parent.exists()


def test_data_dir_that_cannot_be_written(tmp_path):
    """A read-only folder (/sys refuses files even to root)."""
    result, elapsed = run("supportbot chat", tmp_path, {"DATA_DIR": "/sys"})
    one_line(result, elapsed, "DATA_DIR", "cannot write in /sys")


@pytest.mark.parametrize("command", COMMANDS)
def test_sqlite_folder_is_never_created(tmp_path, command):
    folder = tmp_path / "nonexistent" / "dir"
    result, elapsed = run(command, tmp_path, {"DATABASE_URL": f"sqlite:///{folder}/x.db"})
    line = one_line(result, elapsed, "DATABASE_URL")
    assert line == (
        f"Configuration error: DATABASE_URL: the SQLite file's folder {folder} does not exist"
    )
    assert not (tmp_path / "nonexistent").exists()


def test_postgresql_unreachable_at_start_gives_up_after_the_wait(tmp_path):
    """Every try names the server; after DATABASE_WAIT_SECONDS, one line and exit 2."""
    port = closed_port()
    env = {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "OPERATORS_CHAT_ID": "-1001234567890",
        "TELEGRAM_API_URL": f"http://127.0.0.1:{closed_port()}",
        "DATABASE_URL": f"postgresql://nobody@127.0.0.1:{port}/x",
        "DATABASE_WAIT_SECONDS": "4",
        "LOG_LEVEL": "WARNING",
    }
    result, elapsed = run("python -m bots", tmp_path, env)
    lines = result.stderr.splitlines()
    assert result.returncode == 2 and "Traceback" not in result.stderr
    tries = lines[:-1]
    assert tries and all(f"PostgreSQL at 127.0.0.1:{port} unreachable (" in t for t in tries)
    assert lines[-1] == (
        f"Configuration error: DATABASE_URL: no PostgreSQL server answered at 127.0.0.1:{port} "
        "within 4 s (DATABASE_WAIT_SECONDS); check the host and the port"
    )
    assert elapsed < 4 + HANG


def test_report_with_the_database_unreachable(tmp_path):
    port = closed_port()
    result, elapsed = run(
        "supportbot report", tmp_path, {"DATABASE_URL": f"postgresql://nobody@127.0.0.1:{port}/x"}
    )
    line = one_line(result, elapsed, "DATABASE_URL", f"127.0.0.1:{port}")
    assert line == (
        f"Configuration error: DATABASE_URL: cannot reach PostgreSQL at 127.0.0.1:{port} "
        "(connection refused)"
    )


def test_telegram_without_the_operators_group_does_not_start(tmp_path):
    """No group, no operator to promise: refused before anything starts."""
    result, elapsed = run("python -m bots", tmp_path, {"TELEGRAM_BOT_TOKEN": TOKEN})
    one_line(result, elapsed, "OPERATORS_CHAT_ID", "TELEGRAM_BOT_TOKEN is set")
    assert TOKEN not in result.stderr


def test_dotenv_line_that_cannot_be_parsed(tmp_path):
    dotenv = f'TELEGRAM_BOT_TOKEN={TOKEN}\nOPERATORS_CHAT_ID="-1001234567890\nLOG_LEVEL=INFO\n'
    result, elapsed = run("python -m bots", tmp_path, {}, dotenv=dotenv)
    line = one_line(result, elapsed, ".env line 2")
    assert "-1001234567890" not in line  # the line itself is never echoed (it may be a secret)


def test_misspelt_name_points_at_the_setting(tmp_path):
    result, elapsed = run("python -m bots", tmp_path, {}, dotenv=f"TELEGRAM_BOT_TOKN={TOKEN}\n")
    line = one_line(result, elapsed)
    assert line == (
        "Configuration error: TELEGRAM_BOT_TOKN (.env line 1) is not a setting; "
        "did you mean TELEGRAM_BOT_TOKEN?"
    )
    # In the environment too.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result, elapsed = run("python -m bots", elsewhere, {"VK_GRUOP_TOKEN": "vk1.a.x"})
    assert one_line(result, elapsed).endswith("did you mean VK_GROUP_TOKEN?")


def test_unrelated_names_are_no_typos(tmp_path):
    """compose's POSTGRES_PASSWORD in .env; another program's LOGLEVEL in the environment
    (close to LOG_LEVEL, but not beginning like it): not settings, and no typos either."""
    dotenv = "POSTGRES_PASSWORD=secret\nTELEGRAM_BOT_TOKEN=\n"
    result, _ = run("supportbot chat", tmp_path, {"LOGLEVEL": "debug"}, dotenv=dotenv)
    assert result.returncode == 0, result.stderr
