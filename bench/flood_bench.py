"""A flood of fresh accounts at the operators' desk (issue 17): N new accounts each ask for
an operator within a minute while G customers with valid order numbers escalate among
them, into one operators' group where the fake Bot API allows each bot 20 posts a minute
(429 beyond, like Telegram). Runs the real bot (engine, SQLite, aiogram, delivery) with the
main bot alone and with two helper bots and prints, for each:

- when the genuine customers' cards were all visible to operators (seconds after the
  first message of the flood), and the longest a genuine customer waited for their card
  (from their own message);
- when every card was, the posts made, 429s, cards shown twice or missing;
- the same run with the card order switched off (`--compare`: unverified customers' cards
  do not yield — every card in arrival order, as before issue 17), side by side.

Arrivals are spread evenly over `--within` seconds (0: all at once). Telegram's limit makes
this a matter of minutes, so the bot and the fake share a hand-moved clock that jumps to
the next arrival or the bot's next retry whenever everything due is done: the figures are
the minutes the limit imposes, measured in seconds of real time.

    .venv/bin/python bench/flood_bench.py [--flood 100] [--genuine 5] [--bots 1 3]
                                         [--within 60] [--compare]
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

from bots.telegram.operators_sender.abuse import DeskAbuse
from core.app import Core, classifier_for
from core.clock import ManualClock
from tests.conftest import WORK_TIME, make_settings
from tests.desk_helpers import group_posts, next_due, settle, too_many_requests
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.telegram_harness import OPS, telegram_bot

HELPER_TOKENS = [f"{5000 + n}:HELPER-{n}" for n in range(1, 10)]
ORDERS = ["12345678-0001", "12345678-0002", "87654321-0010", "55512345-0007", "99887766-0004"]
CARD = re.compile(r"Обращение №(\d+)")


def arrivals(flood: int, genuine: int, within: float) -> list[tuple[float, int, str, bool]]:
    """(second, user, text, genuine) of every first message, genuine ones spread evenly
    among the fresh accounts."""
    people = [(700_000 + n, "позовите оператора", False) for n in range(flood)]
    step = max(1, flood // max(1, genuine))
    for k in range(genuine):
        order = ORDERS[k % len(ORDERS)]
        text = f"Заказ {order} так и не пришёл, позовите оператора"
        people.insert(min(len(people), k * (step + 1) + step // 2), (610_000 + k, text, True))
    gap = within / max(1, len(people) - 1) if within else 0.0
    return [(index * gap, user, text, real) for index, (user, text, real) in enumerate(people)]


async def run(args: argparse.Namespace, bots: int, ordered: bool, folder: Path, model) -> dict:
    clock = ManualClock(WORK_TIME)
    helpers = HELPER_TOKENS[: bots - 1]
    async with FakeTelegramAPI() as fake:
        fake.add_chat(OPS, title="Операторы", is_forum=True)
        for token in helpers:
            fake.add_bot(token)
        fake.clock = clock.now
        fake.group_post_limit = 20
        async with telegram_bot(
            folder, model, fake=fake, clock=clock, telegram_helper_bot_tokens=",".join(helpers)
        ) as bot:
            wall = time.perf_counter()
            start = clock.now()
            plan = arrivals(args.flood, args.genuine, args.within)
            asked = {user: at for at, user, _, _ in plan}
            await drive(fake, bot.core, clock, plan)
            wall = time.perf_counter() - wall
            genuine = {
                int(r["id"]): asked[int(r["user_id"])]
                for r in await bot.core.storage.db.fetchall("SELECT id, user_id FROM tickets")
                if int(r["user_id"]) < 700_000
            }
    return summary(fake, start, genuine, args.flood + args.genuine, bots, ordered, wall)


async def drive(fake: FakeTelegramAPI, core: Core, clock: ManualClock, queue: list) -> None:
    """Push each first message at its second, and move the clock to the next arrival or
    retry whenever everything due now is done."""
    start = clock.now()
    while True:
        await settle(fake, core, limit=300)
        due = await next_due(core)
        arrival = start + queue[0][0] if queue else None
        if arrival is not None and (due is None or arrival <= due):
            clock.set(max(clock.now(), arrival))
            while queue and start + queue[0][0] <= clock.now():
                _, user, text, _ = queue.pop(0)
                fake.private_message(user, text, first_name=f"Клиент{user % 1000}")
        elif due is not None:
            clock.set(max(clock.now(), due) + 0.001)
            core.delivery.wake()
        else:
            return


def summary(fake, start, genuine: dict[int, float], cases, bots, ordered, wall) -> dict:
    """`genuine`: the genuine cases and when their customer asked (seconds)."""
    seen: dict[int, float] = {}
    for at, _, method, result in group_posts(fake):
        match = CARD.match(str(result.get("text", ""))) if method == "sendMessage" else None
        if match:
            seen.setdefault(int(match.group(1)), at - start)
    shown = [CARD.match(str(r.get("text", ""))) for *_, m, r in group_posts(fake)]
    numbers = [int(m.group(1)) for m in shown if m]
    return {
        "bots": bots,
        "ordered": ordered,
        "genuine": max((seen.get(t, float("inf")) for t in genuine), default=float("nan")),
        "waited": max(
            (seen.get(t, float("inf")) - at for t, at in genuine.items()), default=float("nan")
        ),
        "all": max(seen.values(), default=float("nan")),
        "posts": len(group_posts(fake)),
        "429": len(too_many_requests(fake)),
        "twice": len(numbers) - len(set(numbers)),
        "missing": cases - len(seen),
        "wall": wall,
    }


def switch_order(on: bool) -> None:
    """The card order of issue 17 on, or off (every card in arrival order, as before)."""

    async def arrival_order(self, item, event, chat) -> None:
        return None

    DeskAbuse.card_turn = ORIGINAL_TURN if on else arrival_order  # type: ignore[method-assign]


ORIGINAL_TURN = DeskAbuse.card_turn


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--flood", type=int, default=100)
    parser.add_argument("--genuine", type=int, default=5)
    parser.add_argument("--bots", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--within", type=float, default=60.0, help="seconds the asks span")
    parser.add_argument("--compare", action="store_true", help="also with the order off")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        model = classifier_for(make_settings(folder / "model"))
        print(
            f"{args.flood} fresh accounts + {args.genuine} customers with valid orders asking "
            f"within {args.within:.0f} s; 20 posts/min per bot at the fake, bot budget 18/min; "
            "Telegram-limit time (hand clock)"
        )
        print(
            f"{'bots':>4} {'card order':>11} {'genuine seen':>12} {'longest wait':>12} "
            f"{'all cards':>10} "
            f"{'posts':>6} {'429s':>5} {'twice':>5} {'missing':>7} {'wall':>7}"
        )
        for bots in args.bots:
            for ordered in [True, False] if args.compare else [True]:
                switch_order(ordered)
                name = f"{bots}-{'on' if ordered else 'off'}"
                result = await run(args, bots, ordered, folder / name, model)
                print(
                    f"{bots:>4} {'verified 1st' if ordered else 'arrival':>11} "
                    f"{result['genuine']:>10.0f} s {result['waited']:>10.0f} s "
                    f"{result['all'] / 60:>6.1f} min "
                    f"{result['posts']:>6} {result['429']:>5} {result['twice']:>5} "
                    f"{result['missing']:>7} {result['wall']:>6.1f}s"
                )
        switch_order(True)


if __name__ == "__main__":
    asyncio.run(main())
