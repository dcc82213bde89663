"""Speed as users run it: the bot as `python -m bots`, long polling a Bot API that runs in
another process, against a bare aiogram echo bot under the same load, in turn in one run.

Three processes in each measurement: the fake Bot API (`bench/fake_bot_api.py`); the
contender — the bot (`python -m bots`, TELEGRAM_API_URL pointing at the fake, a fresh
DATA_DIR with a fresh SQLite database, the intent model already cached: it is trained once
before any timing, an operators' forum group set) or the echo bot (`bench/echo_bot.py`);
and this script, the load driver. Each round starts a fresh fake and a fresh process of
each contender in turn (the order rotating from round to round) and measures:

- start-up: launch -> the first getUpdates at the fake ("start s"), and launch -> the
  answer to the warm-up's first message, sent once polling began ("answer s": the bot
  polls before its intent model is loaded and aiogram imported, and answers after);
- warm-up (not timed): one customer writes the script one message at a time, and the
  number of replies each message gets is noted (the bot may answer with several);
- burst: N customers each write M messages, all put in the queue at once; throughput =
  messages / time until every customer has every answer; first-answer latency of each
  message (its injection -> the first reply to it) p50 and p99; the contender's CPU time
  per message (user + system, from /proc);
- fixed rate: R messages a second for D seconds (new customers, M messages each, one
  after another); first-answer latency p50 and p99.

It prints each round, then the medians over the rounds and, per round and their median,
the bot's throughput and CPU time per message relative to the echo bot's (the CPU ratio
varies less than throughput when other programs load the machine). Times are taken by
the fake (its monotonic clock).

    .venv/bin/python bench/process_bench.py [--customers 300] [--messages 2] [--rounds 5]
        [--rate 30] [--duration 20] [--tree-b PATH] [--profile FILE]

`--tree-b PATH` runs the bot from a second source tree as a third contender in every
round (e.g. the commit before a change, unpacked with `git archive`), with this venv:
before and after side by side; given again, a third tree ("bot C"), and so on.
`--customers 0 --rate 0` measures start-up only.
`--profile FILE`: after the rounds, three more bursts on each bot with py-spy (`pip
install py-spy`) sampling it; the collapsed stacks go to FILE (FILE-B for the second
tree) and the top costs are printed (`bench/profile_summary.py`). `--rounds 0 --profile
FILE` profiles only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
sys.path.insert(0, str(BENCH))

from profile_summary import summarize  # noqa: E402

SCRIPT = ("здравствуйте", "где мой заказ", "12345678-0001", "спасибо большое")
OPS = -1009000000001
WARM_CHAT = 900_000
BURST_CHATS = 1_000_000
RATE_CHATS = 3_000_000
FOREIGN_ENV = ("TELEGRAM_", "VK_", "DATABASE_", "DATA_", "HEALTH_", "OPERATOR", "LOG_", "ORDERS_")
Process = asyncio.subprocess.Process


class FakeProcess:
    """The fake Bot API's process and a session to its control API."""

    def __init__(self, process: Process, url: str, token: str) -> None:
        self.process, self.url, self.token = process, url, token
        self.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None))

    @classmethod
    async def start(cls) -> FakeProcess:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(BENCH / "fake_bot_api.py"),
            "--ops-chat",
            str(OPS),
            stdout=asyncio.subprocess.PIPE,
        )
        assert process.stdout is not None
        info = json.loads(await asyncio.wait_for(process.stdout.readline(), 60))
        return cls(process, info["url"], info["token"])

    async def call(self, path: str, **body: Any) -> Any:
        async with self.http.post(self.url + path, json=body) as answer:
            answer.raise_for_status()
            return await answer.json()

    async def stop(self) -> None:
        await self.http.close()
        self.process.terminate()
        await self.process.wait()


@dataclass
class Contender:
    name: str
    command: list[str]
    tree: Path = ROOT  # the source tree it runs from (PYTHONPATH)
    models: Path | None = None  # the bot: the cached model, copied into each DATA_DIR
    env: dict[str, str] = field(default_factory=dict)  # more settings

    def _prepare(self, folder: Path) -> BinaryIO:
        """A fresh folder (with the cached model for the bot); returns its log file."""
        folder.mkdir(parents=True)
        if self.models is not None:
            shutil.copytree(self.models, folder / "models")
        return open(folder / "output.log", "wb")

    async def launch(self, fake: FakeProcess, folder: Path) -> tuple[Process, float]:
        """Start it in `folder`; returns the process and the time (`time.monotonic()`) it
        was started: `first_poll` gives the time of its first getUpdates."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(FOREIGN_ENV)}
        env.update(
            PYTHONPATH=str(self.tree),
            TELEGRAM_BOT_TOKEN=fake.token,
            TELEGRAM_API_URL=fake.url,
            OPERATORS_CHAT_ID=str(OPS),
            DATA_DIR=str(folder),
        )
        env.update(self.env)
        with self._prepare(folder) as log:
            started = time.monotonic()
            process = await asyncio.create_subprocess_exec(
                *self.command, cwd=folder, env=env, stdout=log, stderr=log
            )
        first = await fake.call("/bench/first_poll", timeout=300)
        if first["at"] is None:
            await stop(process, folder)
            raise SystemExit(f"{self.name}: no getUpdates within 300 s")
        return process, started


async def stop(process: Process, folder: Path) -> None:
    """SIGTERM, and it must exit 0 within a minute."""
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
    try:
        code = await asyncio.wait_for(process.wait(), 60)
    except TimeoutError:
        process.kill()
        code = await process.wait()
    if code != 0:
        tail = (folder / "output.log").read_text(errors="replace")[-3000:]
        raise SystemExit(f"{folder.name}: exited with {code}\n{tail}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def script(messages: int) -> tuple[str, ...]:
    """What each customer writes: `messages` lines of the dialog, repeated if need be."""
    return tuple(SCRIPT[i % len(SCRIPT)] for i in range(messages))


@dataclass
class Load:
    script: tuple[str, ...]
    replies: list[int]  # replies to each message of the script (from the warm-up)
    first_answer: float  # when the warm-up's first message was answered

    def before(self, step: int) -> int:
        """Replies a customer has before the first reply to message `step`."""
        return sum(self.replies[:step])


async def warm_up(fake: FakeProcess, script: tuple[str, ...]) -> Load:
    """One customer, one message at a time: how many replies each message gets."""
    replies: list[int] = []
    total = 0
    first_answer = 0.0
    for text in script:
        await fake.call("/bench/inject", messages=[[WARM_CHAT, text]])
        answer = await fake.call(
            "/bench/settle", chat=WARM_CHAT, count=total + 1, quiet=0.5, timeout=300
        )
        if answer["count"] <= total:
            raise SystemExit(f"no answer to {text!r} within 300 s")
        first_answer = first_answer or answer["at"][0]
        replies.append(answer["count"] - total)
        total = answer["count"]
    return Load(script, replies, first_answer)


async def answers(
    fake: FakeProcess, load: Load, messages: list[tuple[int, int]]
) -> tuple[list[float], float]:
    """Waits for every answer to `messages` ((chat, step) in the order injected); returns
    each message's first-answer latency and the time of the last answer."""
    per_chat = Counter(chat for chat, _ in messages)
    expect = {chat: load.before(count) for chat, count in per_chat.items()}
    got = await fake.call("/bench/wait", expect={str(c): n for c, n in expect.items()}, timeout=600)
    if not got["done"]:
        raise SystemExit("not every customer had every answer within 600 s")
    injected, replies = got["injected"], got["replies"]
    extra = sum(len(replies[str(chat)]) > n for chat, n in expect.items())
    if extra:
        print(f"  warning: {extra} customers got more replies than the warm-up's customer")
    latencies = [
        replies[str(chat)][load.before(step)] - injected[str(chat)][step] for chat, step in messages
    ]
    return latencies, max(replies[str(chat)][n - 1] for chat, n in expect.items())


async def burst(
    fake: FakeProcess, pid: int, load: Load, customers: int, first: int = BURST_CHATS
) -> dict[str, float]:
    chats = range(first, first + customers)
    messages = [(chat, step) for step in range(len(load.script)) for chat in chats]
    cpu = cpu_seconds(pid)
    sent = await fake.call(
        "/bench/inject", messages=[[chat, load.script[step]] for chat, step in messages]
    )
    latencies, last = await answers(fake, load, messages)
    cpu = cpu_seconds(pid) - cpu
    return {
        "msg/s": len(messages) / (last - sent["at"]),
        "p50 ms": percentile(latencies, 0.5) * 1000,
        "p99 ms": percentile(latencies, 0.99) * 1000,
        "CPU ms/msg": cpu * 1000 / len(messages),
    }


async def fixed_rate(
    fake: FakeProcess, load: Load, rate: float, seconds: float
) -> dict[str, float]:
    size = len(load.script)
    messages = [(RATE_CHATS + i // size, i % size) for i in range(round(rate * seconds))]
    loop = asyncio.get_running_loop()
    start, lag = loop.time(), 0.0
    for index, (chat, step) in enumerate(messages):
        due = start + index / rate
        if (delay := due - loop.time()) > 0:
            await asyncio.sleep(delay)
        lag = max(lag, loop.time() - due)
        await fake.call("/bench/inject", messages=[[chat, load.script[step]]])
    latencies, _ = await answers(fake, load, messages)
    if lag > 0.1:
        print(f"  warning: the driver fell {lag * 1000:.0f} ms behind the {rate}/s schedule")
    return {
        "rate p50 ms": percentile(latencies, 0.5) * 1000,
        "rate p99 ms": percentile(latencies, 0.99) * 1000,
    }


async def one_run(
    contender: Contender, folder: Path, args: argparse.Namespace
) -> tuple[dict[str, float], list[int]]:
    """A fresh fake and contender: start-up, warm-up, burst, fixed rate."""
    fake = await FakeProcess.start()
    try:
        process, started = await contender.launch(fake, folder)
        try:
            first_poll = (await fake.call("/bench/first_poll", timeout=1))["at"]
            load = await warm_up(fake, script(args.messages))
            figures = {"start s": first_poll - started, "answer s": load.first_answer - started}
            if args.customers > 0:
                figures |= await burst(fake, process.pid, load, args.customers)
            if args.rate > 0:
                figures |= await fixed_rate(fake, load, args.rate, args.duration)
        finally:
            await stop(process, folder)
    finally:
        await fake.stop()
    return figures, load.replies


async def cached_model(bot: Contender, folder: Path) -> Path:
    """Start the bot once (it trains the intent model and caches it under DATA_DIR/models),
    stop it; every timed start copies that folder."""
    fake = await FakeProcess.start()
    try:
        process, _ = await bot.launch(fake, folder)
        await warm_up(fake, script(1))  # answered: the model is trained and cached
        await stop(process, folder)
    finally:
        await fake.stop()
    if not any((folder / "models").iterdir()):
        raise SystemExit(f"no model was cached under {folder / 'models'}")
    return folder / "models"


def contenders(trees: list[Path]) -> list[Contender]:
    found = [
        Contender("echo bot", [sys.executable, str(BENCH / "echo_bot.py")]),
        Contender("bot", [sys.executable, "-m", "bots"]),
    ]
    for letter, tree in zip("BCDEFGHIJ", trees, strict=False):
        found.append(Contender(f"bot {letter}", [sys.executable, "-m", "bots"], tree.resolve()))
    return found


FORMATS = {"start s": ".2f", "answer s": ".2f", "CPU ms/msg": ".2f"}  # the rest: whole numbers
Round = dict[str, dict[str, float]]


def versus_echo(results: Round, name: str) -> tuple[float, float]:
    """(throughput, CPU per message) of a bot relative to the echo bot's in one round."""
    ours, echo = results[name], results["echo bot"]
    return ours["msg/s"] / echo["msg/s"], ours["CPU ms/msg"] / echo["CPU ms/msg"]


def print_round(number: int, results: Round) -> None:
    for name, figures in results.items():
        shown = ", ".join(f"{k} {v:{FORMATS.get(k, '.0f')}}" for k, v in figures.items())
        print(f"round {number} {name:<9} {shown}", flush=True)
    for name in results:
        if name != "echo bot" and "msg/s" in results[name]:
            rate, cpu = versus_echo(results, name)
            print(f"round {number} {name}/echo: throughput {rate:.2f}x, CPU per message {cpu:.2f}x")


def print_medians(rounds: list[Round]) -> None:
    keys = list(rounds[0]["echo bot"])
    print(f"\nmedians of {len(rounds)} rounds")
    print(f"{'':<9}" + "".join(f"{key:>13}" for key in keys))
    for name in rounds[0]:
        values = [statistics.median(r[name][key] for r in rounds) for key in keys]
        print(f"{name:<9}" + "".join(f"{value:>13.2f}" for value in values))
    for name in rounds[0]:
        if name == "echo bot" or "msg/s" not in keys:
            continue
        rates, cpus = zip(*(versus_echo(r, name) for r in rounds), strict=True)
        print(
            f"{name}/echo throughput per round: {' '.join(f'{x:.2f}' for x in rates)}; "
            f"median {statistics.median(rates):.2f}x; CPU per message: median "
            f"{statistics.median(cpus):.2f}x"
        )


async def profile(bot: Contender, folder: Path, args: argparse.Namespace, out: Path) -> None:
    """One more burst on a bot with py-spy sampling it; prints the top costs."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    fake = await FakeProcess.start()
    try:
        process, _ = await bot.launch(fake, folder)
        try:
            load = await warm_up(fake, script(args.messages))
            sampler = await asyncio.create_subprocess_exec(
                *(spy, "record", "--pid", str(process.pid), "--rate", "500"),
                *("--format", "raw", "--nolineno", "--threads", "--output", str(out)),
                stdout=asyncio.subprocess.PIPE,
            )
            assert sampler.stdout is not None
            await asyncio.wait_for(sampler.stdout.readline(), 30)  # "Sampling process ..."
            for number in range(args.profile_bursts):
                first = BURST_CHATS + number * args.customers
                figures = await burst(fake, process.pid, load, args.customers, first)
            sampler.send_signal(signal.SIGINT)
            await sampler.communicate()
        finally:
            await stop(process, folder)
    finally:
        await fake.stop()
    rate = figures["msg/s"]
    print(f"\n{bot.name} ({bot.tree}), {args.profile_bursts} bursts, the last {rate:.0f} msg/s:")
    print(summarize(out, args.profile_top), flush=True)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=300)
    parser.add_argument("--messages", type=int, default=2, help="per customer")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--rate", type=float, default=30, help="messages/s; 0: no fixed rate")
    parser.add_argument("--duration", type=float, default=20, help="seconds of fixed rate")
    parser.add_argument(
        "--tree-b", type=Path, action="append", default=[], help="also run the bot from here"
    )
    parser.add_argument("--profile", type=Path, help="write py-spy's collapsed stacks here")
    parser.add_argument("--profile-top", type=int, default=25)
    parser.add_argument("--profile-bursts", type=int, default=3, help="bursts sampled")
    args = parser.parse_args()
    runners = contenders(args.tree_b)
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        models = await cached_model(runners[1], tmp / "train")
        for contender in runners[1:]:
            contender.models = models
        print(
            f"{args.customers} customers x {args.messages} messages at once"
            + (f"; fixed rate {args.rate:g} msg/s for {args.duration:g} s" if args.rate else "")
            + f"; {args.rounds} rounds, "
            + ", ".join(c.name for c in runners)
            + " in turn",
            flush=True,
        )
        rounds: list[Round] = []
        for number in range(1, args.rounds + 1):
            shift = (number - 1) % len(runners)
            results: Round = {}
            for contender in runners[shift:] + runners[:shift]:
                where = tmp / f"round{number}-{contender.name.replace(' ', '-')}"
                results[contender.name], replies = await one_run(contender, where, args)
                if number == 1:
                    print(f"{contender.name}: replies to each message {replies}", flush=True)
            print_round(number, results)
            rounds.append(results)
        if rounds:
            print_medians(rounds)
        if args.profile:
            for index, bot in enumerate(runners[1:]):
                suffix = f"-{bot.name.split()[-1]}" if index else ""
                out = args.profile.with_name(args.profile.name + suffix)
                await profile(bot, tmp / f"profile{index}", args, out)


if __name__ == "__main__":
    asyncio.run(main())
