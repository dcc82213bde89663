"""Issue 23: three bot processes started together on one DATA_DIR, with `supportbot train`
run beside them, twenty times in a loop, on SQLite (the database file in that DATA_DIR)
and on PostgreSQL: every process starts and serves, no traceback.

Each round starts three bots (Telegram webhook mode against the fake Bot API, a port
each) and a `train --quiet` at the same instant, waits until every bot is ready and has
answered a customer through its webhook, waits for the training to end, and stops the
bots with SIGTERM; every exit code must be 0 and no log may hold a traceback or an error.
Every other round the shipped phrases change a little first (a copy of them, made small
so a model trains in well under a second), so all four processes train the same new model
at once, save it, publish it and clean the model folder together; in between, they load
what the last round left.

The processes come from `tests/bot_launcher.py`, a fork server that has imported the bot
once: each is a process of its own running `bots.main.main()` or `bots.cli.main()` as the
command line does, but without paying three seconds of imports each time, which keeps 40
rounds of four processes within minutes on two shared cores. The first SQLite round
starts the bots as plain `python -m bots` processes instead.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import time
import uuid
from pathlib import Path

import aiohttp
import pytest
import yaml
from case_helpers import small_nlu_dir
from conftest import REPO, pg_database_url, run_sync

from tests.fakes.telegram_api import FakeTelegramAPI

# Twenty rounds of processes started together: longer than the suite's default timeout.
pytestmark = pytest.mark.timeout(1500)

ROUNDS = 20
BOTS = 3
OPS = -1004000000023
DEADLINE = 120.0  # seconds for anything to happen: generous on a loaded 2-core machine


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Launcher:
    """The fork server (`tests/bot_launcher.py`) and the processes it started."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.pids: dict[str, int] = {}
        self.ended: dict[str, asyncio.Future[int]] = {}
        self.reader = asyncio.create_task(self._read())

    @classmethod
    async def start(cls, env: dict[str, str]) -> Launcher:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(REPO / "tests" / "bot_launcher.py"),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=env,
            cwd=REPO,
        )
        assert process.stdout is not None
        first = await asyncio.wait_for(process.stdout.readline(), DEADLINE)
        assert json.loads(first) == {"ready": True}
        return cls(process)

    async def _read(self) -> None:
        assert self.process.stdout is not None
        while line := await self.process.stdout.readline():
            message = json.loads(line)
            if "pid" in message:
                self.pids[message["id"]] = message["pid"]
            else:
                self.ended[message["id"]].set_result(message["code"])

    def spawn(self, name: str, argv: list[str], env: dict[str, str], cwd: Path, log: Path) -> None:
        self.ended[name] = asyncio.get_running_loop().create_future()
        request = {"id": name, "argv": argv, "env": env, "cwd": str(cwd), "log": str(log)}
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(request).encode() + b"\n")

    async def pid(self, name: str) -> int:
        deadline = time.monotonic() + DEADLINE
        while name not in self.pids:
            assert time.monotonic() < deadline, f"{name} never started"
            await asyncio.sleep(0.01)
        return self.pids[name]

    async def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        await asyncio.wait_for(self.process.wait(), DEADLINE)
        self.reader.cancel()


class Bot:
    def __init__(self, name: str, port: int, log: Path) -> None:
        self.name = name
        self.port = port
        self.log = log
        self.exited: asyncio.Future[int] | None = None
        self.pid = 0

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""


def environment(data: Path, nlu: Path, database: str | None) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TELEGRAM_", "VK_", "DATABASE_", "OPERATORS_", "DATA_", "NLU_"))
    }
    env.update(
        PYTHONPATH=str(REPO),
        OMP_NUM_THREADS="1",
        OPENBLAS_NUM_THREADS="1",
        DATA_DIR=str(data),
        NLU_DIR=str(nlu),
        WORK_HOURS_START="00:00",
        WORK_HOURS_END="00:00",
        LOG_LEVEL="WARNING",  # so that any warning or error line stands out
    )
    if database:
        env["DATABASE_URL"] = database
    return env


def bot_environment(base: dict[str, str], fake: FakeTelegramAPI, port: int) -> dict[str, str]:
    return {
        **base,
        "TELEGRAM_BOT_TOKEN": fake.token,
        "TELEGRAM_API_URL": fake.base_url,
        "OPERATORS_CHAT_ID": str(OPS),
        "TELEGRAM_WEBHOOK_URL": "https://bot.example.com",
        "TELEGRAM_WEBHOOK_HOST": "127.0.0.1",
        "TELEGRAM_WEBHOOK_PORT": str(port),
    }


def change_phrases(nlu: Path, round_no: int) -> None:
    """One more phrase: a new fingerprint, so every process of the round trains anew."""
    path = nlu / "training.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["intents"]["order_status"].append(f"где посылка номер {round_no} подскажите")
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


async def until_ready(http: aiohttp.ClientSession, bot: Bot) -> None:
    deadline = time.monotonic() + DEADLINE
    while True:
        assert bot.exited is None or not bot.exited.done(), f"{bot.name} ended:\n{bot.text()}"
        try:
            async with http.get(f"http://127.0.0.1:{bot.port}/readyz") as answer:
                if answer.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        assert time.monotonic() < deadline, f"{bot.name} never ready:\n{bot.text()}"
        await asyncio.sleep(0.05)


async def serves(http: aiohttp.ClientSession, fake: FakeTelegramAPI, bot: Bot, user: int) -> None:
    update = fake.private_message(user, "где мой заказ", push=False)
    url = f"http://127.0.0.1:{bot.port}/telegram/webhook"
    async with http.post(url, json=update) as answer:
        assert answer.status == 200, f"{bot.name}: {answer.status}\n{bot.text()}"
    await fake.wait_for("sendMessage", lambda p: p["chat_id"] == user, timeout=DEADLINE)


async def plain_process(env: dict[str, str], cwd: Path, log: Path) -> asyncio.Future[int]:
    """`python -m bots` as a shell would start it; a future of its exit code."""
    with log.open("ab") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bots", env=env, cwd=cwd, stdout=out, stderr=out
        )
    ended: asyncio.Future[int] = asyncio.ensure_future(process.wait())
    ended.pid = process.pid  # type: ignore[attr-defined]
    return ended


async def one_round(
    plain_first: bool,
    round_no: int,
    launcher: Launcher,
    fake: FakeTelegramAPI,
    http: aiohttp.ClientSession,
    base: dict[str, str],
    work: Path,
) -> None:
    bots = [
        Bot(f"r{round_no}-bot{i}", free_port(), work / f"r{round_no}-bot{i}.log")
        for i in range(BOTS)
    ]
    train = work / f"r{round_no}-train.log"
    launcher.spawn(f"r{round_no}-train", ["train", "--quiet"], base, work, train)
    plain = round_no == 0 and plain_first
    for bot in bots:  # all four at once
        env = bot_environment(base, fake, bot.port)
        if plain:
            bot.exited = await plain_process(env, work, bot.log)
            bot.pid = bot.exited.pid  # type: ignore[attr-defined]
        else:
            launcher.spawn(bot.name, ["run"], env, work, bot.log)
            bot.exited = launcher.ended[bot.name]
    for bot in bots:
        if not plain:
            bot.pid = await launcher.pid(bot.name)
    t0 = time.monotonic()
    try:
        await asyncio.gather(*(until_ready(http, bot) for bot in bots))
        t1 = time.monotonic()
        users = [900_000 + round_no * 10 + i for i in range(BOTS)]
        await asyncio.gather(
            *(serves(http, fake, bot, u) for bot, u in zip(bots, users, strict=True))
        )
        t2 = time.monotonic()
        trained = await asyncio.wait_for(launcher.ended[f"r{round_no}-train"], DEADLINE)
        assert trained == 0, train.read_text()
        t3 = time.monotonic()
    finally:
        for bot in bots:
            if bot.pid and bot.exited is not None and not bot.exited.done():
                os.kill(bot.pid, signal.SIGTERM)
        codes = [await asyncio.wait_for(bot.exited, DEADLINE) for bot in bots if bot.exited]
    assert codes == [0] * BOTS, [bot.text() for bot in bots]
    print(
        f"round {round_no}: ready in {t1 - t0:.1f} s, served in {t2 - t1:.1f} s, training "
        f"ended {t3 - t2:.1f} s later, stopped in {time.monotonic() - t3:.1f} s"
    )
    for log in [train, *(bot.log for bot in bots)]:
        text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
        assert "Traceback" not in text and " ERROR " not in text and "CRITICAL" not in text, (
            f"{log.name}:\n{text}"
        )


async def many_rounds(tmp_path: Path, database: str | None, plain_first: bool) -> None:
    data = tmp_path / "data"  # one DATA_DIR for every process of every round
    nlu = small_nlu_dir(tmp_path, per_intent=12)
    base = environment(data, nlu, database)
    work = tmp_path / "logs"
    work.mkdir()
    launcher = await Launcher.start(base)
    started = time.monotonic()
    try:
        async with FakeTelegramAPI() as fake, aiohttp.ClientSession() as http:
            fake.add_chat(OPS, is_forum=True)
            for round_no in range(ROUNDS):
                if round_no % 2 == 0:
                    change_phrases(nlu, round_no)
                await one_round(plain_first, round_no, launcher, fake, http, base, work)
    finally:
        await launcher.close()
    print(f"{ROUNDS} rounds in {time.monotonic() - started:.1f} s")
    models = sorted(p.name for p in (data / "models").iterdir())
    assert "current-model.txt" in models
    assert not [name for name in models if name.endswith((".tmp", ".partial"))], models


async def test_sqlite(tmp_path):
    await many_rounds(tmp_path, None, plain_first=True)


async def test_postgresql(tmp_path, pg_server):
    import asyncpg

    name = f"shared_{uuid.uuid4().hex[:8]}"

    async def create() -> None:
        admin = await asyncpg.connect(pg_server)
        await admin.execute(f"CREATE DATABASE {name}")  # empty: the first bots migrate it
        await admin.close()

    run_sync(create())
    await many_rounds(tmp_path, pg_database_url(pg_server, name), plain_first=False)
