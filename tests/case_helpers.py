"""Helpers for the "life of a case" tests (tests/test_case_*.py): driving customers and
operators through the fake Bot API, waiting for the outbox to drain, Moscow timestamps,
running the `supportbot` command line as a subprocess on the test's database."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import bots.telegram.channel  # noqa: F401  (aiogram builds its models once, at collection)
from core.app import Core, models_dir
from core.nlu import IntentClassifier
from core.storage.outbox import PENDING
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.telegram_harness import OPS

REPO = Path(__file__).resolve().parent.parent
MSK = ZoneInfo("Europe/Moscow")
OPERATOR = 777  # the operator's Telegram id in the group
TICKET_NO = re.compile(r"№ ?(\d+)")


def msk(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> float:
    """A Moscow wall-clock time as a UTC timestamp."""
    return datetime(year, month, day, hour, minute, tzinfo=MSK).timestamp()


# ---------------------------------------------------------------------------- outbox
async def drain(core: Core, limit: float = 20.0) -> None:
    """Wait until the delivery worker has sent everything due (no pending outbox rows)."""
    deadline = time.monotonic() + limit
    while True:
        row = await core.storage.db.fetchone(
            "SELECT COUNT(*) AS n FROM outbox WHERE status = ?", (PENDING,)
        )
        if row is not None and int(row["n"]) == 0:
            return
        if time.monotonic() > deadline:
            rows = await core.storage.db.fetchall(
                "SELECT id, channel, kind, last_error FROM outbox WHERE status = ?", (PENDING,)
            )
            raise AssertionError(f"outbox not drained: {rows}")
        await asyncio.sleep(0.02)


# ---------------------------------------------------------------------------- Telegram
def raw_text(params: dict[str, Any]) -> str:
    return str(params.get("text") or params.get("caption") or "")


def to_chat(chat_id: int, needle: str = "") -> Any:
    """A predicate for calls to `chat_id` whose raw text contains `needle`."""

    def check(params: dict[str, Any]) -> bool:
        return params.get("chat_id") == chat_id and needle in raw_text(params)

    return check


def in_topic(thread_id: int, needle: str = "") -> Any:
    def check(params: dict[str, Any]) -> bool:
        return (
            params.get("chat_id") == OPS
            and params.get("message_thread_id") == thread_id
            and needle in raw_text(params)
        )

    return check


def count(fake: FakeTelegramAPI, method: str, predicate: Any) -> int:
    return len([p for p in fake.calls(method) if predicate(p)])


def card_of(fake: FakeTelegramAPI, ticket_id: int) -> dict[str, Any]:
    """The card posted for a ticket (raw HTML text in params)."""
    cards = [
        p
        for p in fake.calls("sendMessage")
        if p.get("chat_id") == OPS
        and f"Обращение №{ticket_id}</b>" in raw_text(p)
        and "Канал:" in raw_text(p)
    ]
    assert cards, f"no card for ticket {ticket_id}"
    return cards[-1]


async def escalate(
    fake: FakeTelegramAPI,
    user_id: int,
    text: str = "позовите оператора пожалуйста",
    first_name: str = "Мария",
) -> tuple[int, int, str]:
    """The customer writes `text` that hands them to an operator. Returns the ticket id,
    the topic's thread id and what the customer was told."""
    told = await say(fake, user_id, text, first_name=first_name, needle="№")
    match = TICKET_NO.search(raw_text(told))
    assert match, raw_text(told)
    ticket_id = int(match.group(1))
    await fake.wait_for(
        "sendMessage",
        lambda p: (
            p.get("chat_id") == OPS
            and f"Обращение №{ticket_id}</b>" in raw_text(p)
            and "Канал:" in raw_text(p)
        ),
    )
    card = card_of(fake, ticket_id)
    return ticket_id, int(card["message_thread_id"]), raw_text(told)


async def say(
    fake: FakeTelegramAPI,
    user_id: int,
    text: str | None = None,
    *,
    first_name: str = "Мария",
    needle: str = "",
    **kwargs: Any,
) -> dict[str, Any]:
    """The customer writes; returns the next bot message to them containing `needle`."""
    before = count(fake, "sendMessage", to_chat(user_id, needle))
    fake.private_message(user_id, text, first_name=first_name, **kwargs)
    found = await fake.wait_for("sendMessage", to_chat(user_id, needle), count=before + 1)
    return found[-1]


async def press(fake: FakeTelegramAPI, user_id: int, data: str, needle: str = "") -> dict[str, Any]:
    """The customer presses an inline button; returns the next bot message to them."""
    before = count(fake, "sendMessage", to_chat(user_id, needle))
    fake.callback_query(user_id, data, message_chat_id=user_id)
    found = await fake.wait_for("sendMessage", to_chat(user_id, needle), count=before + 1)
    return found[-1]


async def operator_says(
    fake: FakeTelegramAPI, thread_id: int, text: str, *, operator: int = OPERATOR
) -> dict[str, Any]:
    """An operator's message in a topic; returns the bot's next answer in that topic
    (for commands) — use `operator_writes` for a reply to the customer."""
    before = count(fake, "sendMessage", in_topic(thread_id))
    fake.group_message(OPS, operator, text, thread_id=thread_id)
    found = await fake.wait_for("sendMessage", in_topic(thread_id), count=before + 1)
    return found[-1]


async def operator_writes(
    fake: FakeTelegramAPI, thread_id: int, customer: int, text: str, *, operator: int = OPERATOR
) -> dict[str, Any]:
    """An operator answers in the topic; returns the message the customer received."""
    before = count(fake, "sendMessage", to_chat(customer, text))
    fake.group_message(OPS, operator, text, thread_id=thread_id)
    found = await fake.wait_for("sendMessage", to_chat(customer, text), count=before + 1)
    return found[-1]


def buttons(params: dict[str, Any]) -> list[str]:
    markup = params.get("reply_markup") or {}
    return [b.get("callback_data", "") for row in markup.get("inline_keyboard", []) for b in row]


# ---------------------------------------------------------------------------- CLI
def seed_model_cache(data_dir: Path, classifier: IntentClassifier) -> Path:
    """Put the session's trained model where `classifier_for` looks for it, so the
    command line loads it instead of training for two seconds."""
    directory = data_dir / "models"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"intent-model-{classifier.fingerprint}.pkl"
    classifier.save(path)
    return path


def small_nlu_dir(tmp_path: Path, per_intent: int = 40) -> Path:
    """The shipped NLU folder with only the first `per_intent` phrases of each intent, so
    a retraining takes a fraction of a second instead of two."""
    import shutil

    import yaml

    source = REPO / "config" / "nlu"
    target = tmp_path / "nlu"
    target.mkdir(parents=True, exist_ok=True)
    raw = yaml.safe_load((source / "training.yaml").read_text(encoding="utf-8"))
    small = {"intents": {k: list(v)[:per_intent] for k, v in raw["intents"].items()}}
    (target / "training.yaml").write_text(
        yaml.safe_dump(small, allow_unicode=True), encoding="utf-8"
    )
    for name in ("slang.yaml", "rude.yaml"):
        shutil.copy(source / name, target / name)
    return target


def models_of(settings: Any) -> Path:
    return models_dir(settings)


def run_cli(args: list[str], settings: Any, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`supportbot ARGS` (the `bots.cli:main` entry point) on the test's database."""
    environment = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "DATA_DIR": str(settings.data_dir),
        "NLU_DIR": str(settings.nlu_dir),
        "KNOWLEDGE_DIR": str(settings.knowledge_dir),
        "TIMEZONE": settings.timezone,
        "PYTHONPATH": str(REPO),
        "PYTHONIOENCODING": "utf-8",
        "OMP_NUM_THREADS": "1",
        "LOG_LEVEL": "WARNING",
    }
    result = subprocess.run(
        [sys.executable, "-m", "bots.cli", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=cwd,  # not the repository: no stray .env is read
        env=environment,
        timeout=60,
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result
