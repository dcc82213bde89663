"""The operators' side under a burst: N customers escalate at once, 3 messages each, into
one operators' group where the fake Bot API allows each bot 20 posts a minute (429 beyond,
like Telegram). Runs the real bot (engine, SQLite, aiogram, delivery) with the main bot
alone and with two helper bots, side by side, and prints for each:

- the time until the last case's card is visible to operators, and until every customer
  message is (Telegram-limit time: see below);
- posts made, posts per case, 429s, customer messages shown twice or missing;
- the wall time the run took.

Telegram's limit makes this a matter of minutes (30 cases x 2 posts at 18 a minute is
more than 3 minutes for one bot), so by default the bot and the fake share a hand-moved
clock that jumps to the bot's next retry whenever everything due is done: the figures are
exactly the minutes the limit imposes, measured in seconds of real time. `--real` runs on
the wall clock instead (slow: use small sizes).

    .venv/bin/python bench/operators_bench.py [--sizes 30 100] [--bots 1 3] [--real]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.app import classifier_for
from core.clock import Clock, ManualClock, SystemClock
from tests.conftest import WORK_TIME, make_settings
from tests.desk_helpers import (
    group_posts,
    group_texts,
    run_in_virtual_time,
    settle,
    too_many_requests,
)
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.telegram_harness import OPS, telegram_bot

HELPER_TOKENS = [f"{5000 + n}:HELPER-{n}" for n in range(1, 10)]


def lines_of(n: int) -> list[str]:
    return [
        f"позовите оператора, пожалуйста, это покупатель {n}",
        f"покупатель {n}: заказ так и не привезли",
        f"покупатель {n}: курьер не отвечает на звонки",
    ]


async def run(size: int, bots: int, real: bool, folder: Path, classifier: object) -> dict:
    clock: Clock = SystemClock() if real else ManualClock(WORK_TIME)
    fake = FakeTelegramAPI()
    await fake.start()
    helpers = HELPER_TOKENS[: bots - 1]
    try:
        fake.add_chat(OPS, title="Операторы", is_forum=True)
        for token in helpers:
            fake.add_bot(token)
        fake.clock = clock.now
        fake.group_post_limit = 20
        async with telegram_bot(
            folder,
            classifier,  # type: ignore[arg-type]
            fake=fake,
            clock=clock,
            telegram_helper_bot_tokens=",".join(helpers),
        ) as bot:
            wall = time.perf_counter()
            start = clock.now()
            for n in range(1, size + 1):
                for line in lines_of(n):
                    fake.private_message(700000 + n, line, first_name=f"Покупатель{n}")
            if isinstance(clock, ManualClock):
                await run_in_virtual_time(fake, bot.core, clock, limit=1800)
            else:
                await wait_real(fake, bot.core, size)
            wall = time.perf_counter() - wall
    finally:
        await fake.stop()
    posts = group_posts(fake)
    cards = [
        at - start
        for at, _, method, result in posts
        if method == "sendMessage" and str(result.get("text", "")).startswith("Обращение №")
    ]
    shown = "\n".join(group_texts(fake))
    counts = [
        len(re.findall(re.escape(line) + r"(?!\d)", shown))
        for n in range(1, size + 1)
        for line in lines_of(n)
    ]
    return {
        "size": size,
        "bots": bots,
        "last_card": max(cards) if cards else float("nan"),
        "all_shown": max(at for at, *_ in posts) - start if posts else float("nan"),
        "cards": len(cards),
        "posts": len(posts),
        "429": len(too_many_requests(fake)),
        "twice": sum(1 for c in counts if c > 1),
        "missing": sum(1 for c in counts if c == 0),
        "wall": wall,
    }


async def wait_real(fake: FakeTelegramAPI, core: object, size: int) -> None:
    """Real time: wait until nothing is pending any more."""
    from core.app import Core

    assert isinstance(core, Core)
    while True:
        await settle(fake, core, limit=600)
        row = await core.storage.db.fetchone(
            "SELECT COUNT(*) AS n FROM outbox WHERE status = 'pending'"
        )
        if row is not None and int(row["n"]) == 0:
            return
        await asyncio.sleep(0.5)


def minutes(seconds: float) -> str:
    return f"{seconds / 60:5.1f} min"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[30, 100])
    parser.add_argument("--bots", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--real", action="store_true", help="wall clock instead of a hand clock")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        classifier = classifier_for(make_settings(folder / "model"))
        clock = "wall clock" if args.real else "Telegram-limit time (hand clock)"
        print(f"operators' group: 20 posts/min per bot at the fake, bot budget 18/min; {clock}")
        print(
            f"{'cases':>5} {'bots':>4} {'last card':>10} {'all shown':>10} {'posts':>6} "
            f"{'per case':>8} {'429s':>5} {'twice':>5} {'missing':>7} {'wall':>7}"
        )
        for size in args.sizes:
            results = []
            for bots in args.bots:
                result = await run(size, bots, args.real, folder / f"{size}-{bots}", classifier)
                results.append(result)
                print(
                    f"{size:>5} {bots:>4} {minutes(result['last_card']):>10} "
                    f"{minutes(result['all_shown']):>10} {result['posts']:>6} "
                    f"{result['posts'] / size:>8.2f} {result['429']:>5} {result['twice']:>5} "
                    f"{result['missing']:>7} {result['wall']:>6.1f}s"
                )
            if len(results) > 1:
                first, last = results[0], results[-1]
                print(
                    f"      last card visible {first['last_card'] / last['last_card']:.1f}x "
                    f"sooner with {last['bots']} bots than with {first['bots']}"
                )


if __name__ == "__main__":
    asyncio.run(main())
