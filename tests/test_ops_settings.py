"""Issue 11, settings rows: every misconfiguration stops `python -m bots` and `supportbot`
(real processes, in a folder of their own, with a timeout) with exit code 2 and exactly
one line per problem on stderr — never a traceback, never a hang; blank values in `.env`
mean "unset"; the database lives under DATA_DIR; `.env.example` lists every setting."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

from config.settings import Settings, SettingsError, load_settings

SUPPORTBOT = REPO / ".venv" / "bin" / "supportbot"
COMMANDS = {
    "python -m bots": [sys.executable, "-m", "bots"],
    "supportbot": [str(SUPPORTBOT)],
}
TOKEN_LINE = (
    "Configuration error: TELEGRAM_BOT_TOKEN: expected the token @BotFather gave: digits, "
    "a colon, then letters, digits, '-' or '_' (like 123456789:AAHk…)"
)
WORK_DAYS_LINE = (
    "Configuration error: WORK_DAYS: expected weekday numbers 1-7 (1 = Monday), "
    "comma-separated or a range, e.g. 1,2,3,4,5 or 1-5; got '{value}'"
)


def run(
    command: str,
    tmp_path: Path,
    env: dict[str, str] | None = None,
    dotenv: str | None = None,
    stdin: str = "",
) -> subprocess.CompletedProcess[str]:
    """The command in `tmp_path` (so only the `.env` written here is read)."""
    if dotenv is not None:
        (tmp_path / ".env").write_text(dotenv, encoding="utf-8")
    environment = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "PYTHONIOENCODING": "utf-8",
        "OMP_NUM_THREADS": "1",
        "DATA_DIR": str(tmp_path / "data"),
        "LOG_LEVEL": "WARNING",
        **(env or {}),
    }
    return subprocess.run(
        COMMANDS[command],
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=tmp_path,
        env=environment,
        timeout=120,
    )


def assert_config_error(result: subprocess.CompletedProcess[str], *lines: str) -> None:
    assert result.stderr.splitlines() == list(lines), result.stderr
    assert result.returncode == 2
    assert result.stdout == ""


# ---------------------------------------------------------------------------- table rows
@pytest.mark.parametrize("command", COMMANDS)
def test_garbage_telegram_token(tmp_path, command):
    result = run(command, tmp_path, env={"TELEGRAM_BOT_TOKEN": "garbage"})
    assert_config_error(result, TOKEN_LINE)
    assert "garbage" not in result.stderr  # a token is never echoed, even a wrong one


def test_garbage_token_in_dotenv(tmp_path):
    result = run("python -m bots", tmp_path, dotenv="TELEGRAM_BOT_TOKEN=garbage\n")
    assert_config_error(result, TOKEN_LINE)


def test_blank_token_in_dotenv_means_unset(tmp_path):
    dotenv = "TELEGRAM_BOT_TOKEN=\nOPERATORS_CHAT_ID=\nVK_GROUP_TOKEN=\nVK_GROUP_ID=\n"
    result = run("python -m bots", tmp_path, dotenv=dotenv)
    assert_config_error(
        result,
        "Neither TELEGRAM_BOT_TOKEN nor VK_GROUP_TOKEN is set: nothing to start. "
        "Try the offline console: supportbot chat",
    )
    # `supportbot` with nothing to start opens the console chat, which ends with the input.
    chat = run("supportbot", tmp_path, dotenv=dotenv, stdin="/quit\n")
    assert chat.returncode == 0, chat.stderr
    assert "Консольный чат поддержки" in chat.stdout
    assert chat.stderr == ""


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("value", ["пн-пт", "0,8", "1,,8", "5-1"])
def test_malformed_work_days(tmp_path, command, value):
    result = run(command, tmp_path, env={"WORK_DAYS": value})
    assert_config_error(result, WORK_DAYS_LINE.format(value=value))


@pytest.mark.parametrize("command", COMMANDS)
def test_unknown_time_zone(tmp_path, command):
    result = run(command, tmp_path, env={"TIMEZONE": "Mars/Base"})
    assert_config_error(
        result,
        "Configuration error: TIMEZONE: expected an IANA time zone such as Europe/Moscow "
        "or Asia/Yekaterinburg; got 'Mars/Base'",
    )


@pytest.mark.parametrize("command", COMMANDS)
def test_database_under_a_file(tmp_path, command):
    result = run(command, tmp_path, env={"DATABASE_URL": "sqlite:////etc/passwd/x.db"})
    assert_config_error(
        result,
        "Configuration error: DATABASE_URL: the SQLite file's folder /etc/passwd is a file, "
        "not a folder",
    )


def test_every_problem_gets_its_own_line(tmp_path):
    env = {
        "TELEGRAM_BOT_TOKEN": "garbage",
        "WORK_DAYS": "0,8",
        "TIMEZONE": "Mars/Base",
        "OPERATORS_CHAT_ID": "12345",
        "DATABASE_URL": "mysql://shop:hunter2@db/support",
        "HEALTH_PORT": "70000",
        "LOG_LEVEL": "loud",
    }
    result = run("python -m bots", tmp_path, env=env)
    assert_config_error(
        result,
        "Configuration error: DATABASE_URL: expected sqlite:///relative/path.db, "
        "sqlite:////absolute/path.db or postgresql://user:password@host/database; "
        "got 'mysql://shop:***@db/support'",
        "Configuration error: LOG_LEVEL: expected one of DEBUG, INFO, WARNING, ERROR, "
        "CRITICAL; got 'loud'",
        "Configuration error: HEALTH_PORT: expected at most 65535; got '70000'",
        TOKEN_LINE,
        "Configuration error: OPERATORS_CHAT_ID: expected the operators' group id, a negative "
        "number like -1001234567890; got 12345 (a positive id is a person, not a group)",
        WORK_DAYS_LINE.format(value="0,8"),
        "Configuration error: TIMEZONE: expected an IANA time zone such as Europe/Moscow or "
        "Asia/Yekaterinburg; got 'Mars/Base'",
    )
    assert "hunter2" not in result.stderr


@pytest.mark.parametrize(
    ("env", "line"),
    [
        (
            {"VK_GROUP_TOKEN": "vk1.a.some token"},
            "VK_GROUP_TOKEN: expected the community access token (Manage → Work with API): "
            "letters, digits, '.', '_' or '-', no spaces (like vk1.a.…)",
        ),
        ({"VK_GROUP_ID": "club1"}, "VK_GROUP_ID: expected a whole number; got 'club1'"),
        (
            {"VIP_VK_IDS": "1,id2"},
            "VIP_VK_IDS: expected numeric user ids separated by commas; got 'id2'",
        ),
        (
            {"WORK_HOURS_START": "10:00", "WORK_HOURS_END": "10:00"},
            "WORK_HOURS_END: equals WORK_HOURS_START; for round-the-clock work set both to 00:00",
        ),
        (
            {"TELEGRAM_BOT_TOKEN": "123:abc", "TELEGRAM_WEBHOOK_URL": "http://bot.example.com"},
            "TELEGRAM_WEBHOOK_URL: expected a URL like https://host (Telegram calls webhooks "
            "over HTTPS only); got 'http://bot.example.com'",
        ),
        (
            {
                "TELEGRAM_BOT_TOKEN": "123:abc",
                "TELEGRAM_WEBHOOK_URL": "https://b.example.com",
                "HEALTH_PORT": "8080",
            },
            "HEALTH_PORT: port 8080 is already taken by TELEGRAM_WEBHOOK_PORT",
        ),
        (
            {"VK_GROUP_TOKEN": "vk1.a.token", "VK_CALLBACK_ENABLED": "true"},
            "VK_CALLBACK_CONFIRMATION: expected the confirmation string VK shows in the "
            "community's Callback API settings (VK_CALLBACK_ENABLED is true)",
        ),
        (
            {"ORDERS_API_URL": "shop.example/api"},
            "ORDERS_API_URL: expected a URL like http://host or https://host; "
            "got 'shop.example/api'",
        ),
        (
            {"KNOWLEDGE_DIR": "/no/such/folder"},
            "KNOWLEDGE_DIR: expected an existing folder; /no/such/folder is not one",
        ),
        (
            {"COMPENSATION_CODES_FILE": "/tmp"},
            "COMPENSATION_CODES_FILE: expected a YAML file; /tmp is a folder",
        ),
        (
            {"ORDERS_DEMO_FILE": "orders.yaml"},
            "ORDERS_DEMO_FILE: expected an existing file (ORDERS_API_URL is unset, so the "
            "demo orders answer); orders.yaml is not one",
        ),
        (
            {"TELEGRAM_WEBHOOK_PATH": "hook"},
            "TELEGRAM_WEBHOOK_PATH: expected a URL path starting with '/', e.g. /hook; got 'hook'",
        ),
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT: expected text or json; got 'xml'"),
    ],
)
def test_other_misconfigurations_in_process(tmp_path, monkeypatch, env, line):
    monkeypatch.chdir(tmp_path)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings(_env_file=None)
    assert caught.value.problems == [line]


def test_valid_values_pass(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name, value in {
        "TELEGRAM_BOT_TOKEN": "123456789:AAHk-real_looking_token",
        "OPERATORS_CHAT_ID": "-1001234567890",
        "WORK_DAYS": "1-5, 7",
        "TIMEZONE": "Asia/Yekaterinburg",
        "LOG_LEVEL": "debug",
        "HEALTH_PORT": "8090",
    }.items():
        monkeypatch.setenv(name, value)
    settings = load_settings(_env_file=None)
    assert settings.work_days == ["1", "2", "3", "4", "5", "7"]
    assert settings.log_level == "DEBUG"
    assert settings.health_port == 8090


# ---------------------------------------------------------------------------- DATA_DIR
def test_data_dir_holds_the_database(tmp_path):
    (tmp_path / "srv").mkdir()  # DATA_DIR itself is created, never a missing parent
    data = tmp_path / "srv" / "support"
    result = run("supportbot", tmp_path, env={"DATA_DIR": str(data)}, stdin="привет\n/quit\n")
    assert result.returncode == 0, result.stderr
    assert (data / "support.db").is_file()
    assert (data / "models").is_dir()
    assert not (tmp_path / "data").exists()  # nothing in the current directory


def test_default_database_follows_data_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert load_settings(_env_file=None).database_url == "sqlite:///data/support.db"
    monkeypatch.setenv("DATA_DIR", "/srv/support")
    assert load_settings(_env_file=None).database_url == "sqlite:////srv/support/support.db"


# ---------------------------------------------------------------------------- .env.example
def example_lines() -> list[str]:
    return (REPO / ".env.example").read_text(encoding="utf-8").splitlines()


def test_env_example_names_every_setting():
    named = {
        m[1].lower()
        for line in example_lines()
        if (m := re.match(r"^#?\s*([A-Z][A-Z0-9_]+)=", line))
    }
    assert set(Settings.model_fields) - named == set()
    assert named - set(Settings.model_fields) == {"postgres_password"}  # compose.yaml's


def test_env_example_values_are_the_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    example = tmp_path / "example.env"
    example.write_text("\n".join(example_lines()) + "\n", encoding="utf-8")
    assert load_settings(_env_file=example) == load_settings(_env_file=None)


def test_env_example_with_every_blank_line_uncommented(tmp_path, monkeypatch):
    """Uncommenting `# NAME=` with nothing after it is the same as leaving it out."""
    monkeypatch.chdir(tmp_path)
    lines = [re.sub(r"^#\s*([A-Z][A-Z0-9_]+=)$", r"\1", line) for line in example_lines()]
    assert any(re.match(r"^OPERATORS_CHAT_ID=$", line) for line in lines)
    example = tmp_path / "example.env"
    example.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert load_settings(_env_file=example) == load_settings(_env_file=None)
