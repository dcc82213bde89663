"""A busy shop: 30 customers escalate at once, 3 messages each, into a group where the
fake Bot API allows a bot 20 posts a minute (429 beyond, as Telegram). Time is a hand
clock moved to the bot's next retry, so the minute-long waits take no real time."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import pytest

from core.app import Core
from core.clock import ManualClock
from core.events import CaseOpened, CustomerMessage
from tests.conftest import WORK_TIME, Collector
from tests.desk_helpers import group_posts, group_texts, run_in_virtual_time, too_many_requests
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.telegram_harness import OPS, telegram_bot

CUSTOMERS = 30
HELPERS = ["5001:HELPER-ONE", "5002:HELPER-TWO"]


def lines_of(n: int) -> list[str]:
    return [
        f"позовите оператора, пожалуйста, это покупатель {n}",
        f"покупатель {n}: заказ так и не привезли",
        f"покупатель {n}: курьер не отвечает на звонки",
    ]


Then = Callable[[FakeTelegramAPI, Core], Awaitable[None]]


async def busy_shop(
    tmp_path, classifier, helpers: list[str], then: Then | None = None
) -> tuple[FakeTelegramAPI, dict]:
    clock = ManualClock(WORK_TIME)
    fake = FakeTelegramAPI()
    await fake.start()
    try:
        fake.add_chat(OPS, title="Операторы", is_forum=True)
        for token in helpers:
            fake.add_bot(token)
        fake.clock = clock.now
        fake.group_post_limit = 20
        async with telegram_bot(
            tmp_path,
            classifier,
            fake=fake,
            clock=clock,
            telegram_helper_bot_tokens=",".join(helpers),
        ) as bot:
            for n in range(1, CUSTOMERS + 1):  # everyone writes at once
                for line in lines_of(n):
                    fake.private_message(600000 + n, line, first_name=f"Покупатель{n}")
            took = await run_in_virtual_time(fake, bot.core, clock)
            tickets = await bot.core.storage.tickets.all()
            if then is not None:
                await then(fake, bot.core)
            return fake, {"took": took, "tickets": tickets}
    finally:
        await fake.stop()


def check_everything_shown_once(fake: FakeTelegramAPI) -> None:
    shown = "\n".join(group_texts(fake))
    for n in range(1, CUSTOMERS + 1):
        for line in lines_of(n):
            found = len(re.findall(re.escape(line) + r"(?!\d)", shown))
            assert found == 1, f"«{line}» shown {found} times"


@pytest.mark.parametrize("helpers", [[], HELPERS], ids=["one bot", "three bots"])
async def test_thirty_cases_at_once_under_the_group_limit(tmp_path, classifier, helpers):
    fake, result = await busy_shop(tmp_path, classifier, helpers)
    assert len(result["tickets"]) == CUSTOMERS
    assert too_many_requests(fake) == []  # the budget is reserved before every post
    check_everything_shown_once(fake)  # nothing lost, nothing shown twice
    cards = [t for t in group_texts(fake) if t.startswith("Обращение №")]
    assert len(cards) == CUSTOMERS
    assert len(fake.topics[OPS]) == CUSTOMERS
    posts = group_posts(fake)
    bots = {bot for _, bot, _, _ in posts}
    # One post per case where possible: the topic and the card, plus a few merged posts
    # for messages that came after their card.
    assert len(posts) <= CUSTOMERS * 3
    # No bot ever exceeded 20 posts in a minute (the fake would have refused).
    for bot_id in bots:
        times = sorted(at for at, who, _, _ in posts if who == bot_id)
        assert all(b - a >= 60 for a, b in zip(times, times[20:], strict=False))
    if helpers:
        assert bots == {42, 5001, 5002}  # the helpers took their share
    else:
        assert bots == {42}
    # With 18 posts a minute per bot the whole burst needs several minutes for one bot.
    assert result["took"] >= 60


async def test_helper_bots_make_the_last_card_visible_sooner(tmp_path, classifier):
    one, _ = await busy_shop(tmp_path / "one", classifier, [])
    three, _ = await busy_shop(tmp_path / "three", classifier, HELPERS)

    def last_card(fake: FakeTelegramAPI) -> float:
        start = min(at for at, *_ in group_posts(fake))
        return max(
            at - start
            for at, _, method, result in group_posts(fake)
            if method == "sendMessage" and str(result.get("text", "")).startswith("Обращение №")
        )

    assert last_card(three) < last_card(one) / 2


async def test_a_helper_bots_card_buttons_work(tmp_path, classifier):
    async def press_take_on_a_helpers_card(fake: FakeTelegramAPI, core: Core) -> None:
        helper_cards = [
            result
            for _, bot, method, result in group_posts(fake)
            if bot == 5001 and method == "sendMessage" and result["text"].startswith("Обращение")
        ]
        card = helper_cards[0]
        ticket_id = int(re.match(r"Обращение №(\d+)", card["text"]).group(1))
        fake.callback_query(
            777, f"op:take:{ticket_id}", message_chat_id=OPS, message_id=card["message_id"]
        )
        await fake.wait_for(
            "editMessageReplyMarkup", lambda p: p["message_id"] == card["message_id"]
        )
        assert (await core.storage.tickets.get(ticket_id)).operator_id == "777"
        answered = [
            bot
            for (method, params), bot in zip(fake.requests, fake.request_bots, strict=True)
            if method.lower() == "answercallbackquery"
        ]
        assert answered == [5001]  # the press went to the helper and was answered by it

    await busy_shop(tmp_path, classifier, HELPERS, then=press_take_on_a_helpers_card)


async def test_recipients_waiting_for_a_retry_do_not_crowd_out_the_others(core, clock):
    """Many cases waiting for the group's budget must not keep a case that could go now
    from being claimed (the worker claims a batch of recipients at a time)."""
    now = clock.now()
    for n in range(core.delivery.batch + 10):
        head = await core.storage.outbox.add("operators", f"busy:{n}", CaseOpened(n), now)
        await core.storage.outbox.retry_later(head.id, now + 60, "operators' group limit", False)
        await core.storage.outbox.add("operators", f"busy:{n}", CustomerMessage(n), now)
    await core.storage.outbox.add("operators", "free", CustomerMessage(0, "go"), now)
    collector = Collector()
    core.delivery.register("operators", collector)
    await core.delivery.run_once()
    assert [item.recipient for item in collector.items] == ["free"]
