"""One clock for processes too: `python -m bots` started with SUPPORTBOT_CLOCK_START runs
on real time shifted to start at that instant (working hours, weekdays and dates follow
it, not the machine's clock or zone); a value that is not an instant with its offset is a
configuration error: one line, exit code 2."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from core.clock import CLOCK_START, ShiftedClock, clock_from_environment
from tests.fakes.telegram_api import FakeTelegramAPI

OPS = -1004000000001
CUSTOMER = 515151
OFF_SHIFT = "Операторы сейчас не на смене"


async def first_answer_to_a_handoff(tmp_path: Path, clock_start: str) -> str:
    async with FakeTelegramAPI() as fake:
        fake.add_chat(OPS, is_forum=True)
        env = {
            **os.environ,
            CLOCK_START: clock_start,
            "TELEGRAM_BOT_TOKEN": fake.token,
            "TELEGRAM_API_URL": fake.base_url,
            "OPERATORS_CHAT_ID": str(OPS),
            "DATABASE_URL": f"sqlite:///{tmp_path}/support.db",
            "DATA_DIR": str(tmp_path / "data"),
            "WORK_DAYS": "1-5",  # Monday to Friday, 09:00-21:00 (the default hours)
            "LOG_LEVEL": "WARNING",
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bots", cwd=tmp_path, env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        try:
            await fake.wait_for("getUpdates", timeout=120)
            fake.private_message(CUSTOMER, "позовите оператора")
            [answer] = await fake.wait_for(
                "sendMessage",
                lambda p: p["chat_id"] == CUSTOMER and "№" in str(p["text"]),
                timeout=60,
            )
        finally:
            process.terminate()
            await asyncio.wait_for(process.wait(), 30)
    return str(answer["text"])


@pytest.fixture
def two_runs(tmp_path: Path) -> tuple[Path, Path]:
    night, noon = tmp_path / "night", tmp_path / "noon"
    night.mkdir()
    noon.mkdir()
    return night, noon


async def test_the_process_follows_the_clock_it_is_given(two_runs):
    night_dir, noon_dir = two_runs
    # Sunday 02:41 in Moscow: operators are off, whatever the machine's own time.
    night = await first_answer_to_a_handoff(night_dir, "2026-12-13T02:41:00+03:00")
    assert OFF_SHIFT in night
    # A Wednesday noon: they are at work.
    noon = await first_answer_to_a_handoff(noon_dir, "2026-12-09T12:00:00+03:00")
    assert OFF_SHIFT not in noon


@pytest.mark.parametrize("value", ["2026-12-13 02:41", "tomorrow", "2026-13-01T00:00:00+00:00"])
async def test_a_clock_start_that_is_not_an_instant_is_refused(tmp_path, value):
    env = {**os.environ, CLOCK_START: value, "DATA_DIR": str(tmp_path / "data")}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bots", cwd=tmp_path, env=env,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 2
    assert stderr.decode().splitlines() == [
        f"Configuration error: {CLOCK_START}: expected an ISO 8601 instant with its UTC "
        f"offset, e.g. 2026-01-05T12:00:00+03:00; got {value!r}"
    ]


def test_the_shifted_clock_starts_at_the_instant_and_runs_on():
    clock = clock_from_environment({CLOCK_START: "2026-01-05T12:00:00+03:00"})
    assert isinstance(clock, ShiftedClock)
    start = 1_767_603_600.0  # 2026-01-05 09:00 UTC
    assert start <= clock.now() < start + 60
    assert type(clock_from_environment({})).__name__ == "SystemClock"
