"""Stored, then acknowledged (README, Reliability 1), and applied in order, once: the
Telegram long poll and webhook against the fake Bot API over HTTP, on SQLite and on
PostgreSQL. A store that fails must leave the update unconfirmed, so it comes back."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Sequence
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bots.telegram.intake import (
    BACKOFF_MAX,
    BotAPIError,
    Poller,
    WebhookEndpoint,
    partition_of,
)
from core.runtime.intake import (
    KEEP_IDLE_LEASE,
    MAX_ATTEMPTS,
    BadUpdate,
    Intake,
    consume_applied,
)
from core.storage import Storage
from core.storage.inbox import InboundRecord, InboxRepo
from core.types import TELEGRAM
from tests.fakes.telegram_api import FakeTelegramAPI

CHAT = 515_001


class FailingStore(Intake):
    """The database refuses the first `failures` batches (an outage while storing)."""

    def __init__(
        self, *args: Any, failures: int = 1, error: type[Exception] = RuntimeError, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.failures = failures
        self.error = error

    async def accept(self, source: str, records: Sequence[InboundRecord]) -> None:
        if records and self.failures > 0:
            self.failures -= 1
            raise self.error("the database failed while storing the batch")
        await super().accept(source, records)


@pytest.fixture
async def storage(database_url: str) -> AsyncIterator[Storage]:
    opened = await Storage.open(database_url)
    yield opened
    await opened.close()


async def until(check, what: str, limit: float = 60) -> None:
    deadline = asyncio.get_running_loop().time() + limit
    while not check():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


def applied_texts(seen: list[dict[str, Any]]) -> list[str]:
    return [update["message"]["text"] for update in seen]


class Wall:
    """The intake's real-time clock, moved by hand (retries and the order window)."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Applier:
    """A handler that records each applied update's text and, inside the transaction
    where a real handler records its effects, removes the stored update (as the engine
    and the desk do). `fail` maps a text to the errors it raises first, in turn."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.applied: list[str] = []
        self.attempts: list[tuple[str, int]] = []
        self.fail: dict[str, list[Exception]] = {}

    async def __call__(self, update: dict[str, Any], attempts: int) -> None:
        text = update["text"]
        self.attempts.append((text, attempts))
        errors = self.fail.get(text)
        if errors:
            raise errors.pop(0)
        async with self.storage.transaction() as tx:
            committed = await consume_applied(tx)
        if committed is not None:
            committed()
        self.applied.append(text)


def record(partition: str, seq: int, text: str) -> InboundRecord:
    return InboundRecord(f"t:{partition}:{seq}", partition, seq, {"text": text})


async def inbox(storage: Storage) -> list[tuple[str, str]]:
    rows = await storage.db.fetchall("SELECT external_id, status FROM inbox ORDER BY id")
    return [(row["external_id"], row["status"]) for row in rows]


@pytest.fixture
def wall() -> Wall:
    return Wall()


@pytest.fixture
async def applier(storage) -> Applier:
    return Applier(storage)


async def live_intake(storage, applier, wall, worker: str = "w-1", **kwargs: Any) -> Intake:
    await storage.workers.register(worker, wall())
    intake = Intake(storage, worker, wall=wall, **kwargs)
    intake.register(TELEGRAM, applier)
    return intake


async def test_updates_are_applied_in_their_own_order_and_removed(storage, applier, wall):
    intake = await live_intake(storage, applier, wall)
    # Stored out of order (two batches, the later-numbered first): applied by seq.
    await intake.accept(TELEGRAM, [record("tg:1", 3, "третье"), record("tg:1", 1, "первое")])
    await intake.drain()
    await intake.accept(TELEGRAM, [record("tg:1", 2, "второе")])
    await intake.drain()
    assert applier.applied[0] == "первое"
    assert sorted(applier.applied) == sorted(["первое", "второе", "третье"])
    assert await inbox(storage) == []  # every applied update is gone from the inbox
    # The same update stored twice in one batch is kept once.
    await intake.accept(TELEGRAM, [record("tg:2", 1, "раз"), record("tg:2", 1, "раз")])
    await intake.drain()
    assert applier.applied.count("раз") == 1


async def test_a_failed_update_holds_back_its_chat_but_not_the_others(storage, applier, wall):
    intake = await live_intake(storage, applier, wall)
    applier.fail["первое"] = [RuntimeError("the database blinked")]
    await intake.accept(
        TELEGRAM,
        [record("tg:1", 1, "первое"), record("tg:1", 2, "второе"), record("tg:2", 1, "чужое")],
    )
    await intake.drain()
    assert applier.applied == ["чужое"]  # the other chat goes on
    assert await inbox(storage) == [("t:tg:1:1", "pending"), ("t:tg:1:2", "pending")]
    for step in (0.0, 1.9):  # not before its retry is due (2 s after one failure) ...
        wall.now += step
        await intake.scan()
        await intake.drain()
        assert applier.applied == ["чужое"]
    wall.now += 0.2  # ... and then at once
    assert await intake.scan() == 1
    await intake.drain()
    assert applier.applied == ["чужое", "первое", "второе"]
    assert ("первое", 1) in applier.attempts  # the retry knows it is one
    assert await inbox(storage) == []


async def test_an_update_that_cannot_be_applied_is_set_aside(storage, applier, wall):
    intake = await live_intake(storage, applier, wall)
    applier.fail["битое"] = [BadUpdate("no such thing")]
    applier.fail["упрямое"] = [RuntimeError(f"failure {n}") for n in range(MAX_ATTEMPTS)]
    await intake.accept(TELEGRAM, [record("tg:1", 1, "битое"), record("tg:1", 2, "после")])
    await intake.drain()
    assert applier.applied == ["после"]  # set aside at once, the next one goes on
    assert await inbox(storage) == [("t:tg:1:1", "dead")]
    await intake.accept(TELEGRAM, [record("tg:3", 1, "упрямое"), record("tg:3", 2, "за ним")])
    for _ in range(MAX_ATTEMPTS - 1):
        await intake.drain()
        assert "за ним" not in applier.applied
        wall.now += 61
        await intake.scan()
    await intake.drain()
    assert [t for t, _ in applier.attempts].count("упрямое") == MAX_ATTEMPTS
    assert applier.applied == ["после", "за ним"]  # dead after MAX_ATTEMPTS, order kept
    assert ("t:tg:3:1", "dead") in await inbox(storage)


async def test_a_chat_held_by_a_live_process_waits_for_it_to_die(storage, applier, wall):
    other = Applier(storage)
    first = await live_intake(storage, other, wall, "w-first")
    assert await storage.inbox.lease("tg:1", "w-first", wall())
    second = await live_intake(storage, applier, wall, "w-second")
    await second.accept(TELEGRAM, [record("tg:1", 1, "первое")])
    await second.drain()
    assert applier.applied == [] and other.applied == []  # the live holder's to apply
    assert await second.scan() == 0
    wall.now += 11  # the first process stopped beating: dead
    await storage.workers.beat("w-second", wall())
    assert await second.scan() == 1
    await second.drain()
    assert applier.applied == ["первое"]
    del first


async def test_shared_intake_gives_the_chat_back_after_each_run(storage, applier, wall):
    intake = await live_intake(storage, applier, wall)
    intake.shared = True
    await intake.accept(TELEGRAM, [record("tg:1", 1, "первое")])
    await intake.drain()
    leases = await storage.db.fetchall("SELECT partition_key FROM inbox_leases")
    assert leases == []
    unshared = await live_intake(storage, Applier(storage), wall, "w-2")
    await unshared.accept(TELEGRAM, [record("tg:9", 1, "своё")])
    await unshared.drain()
    leases = await storage.db.fetchall("SELECT partition_key, owner FROM inbox_leases")
    assert [(r["partition_key"], r["owner"]) for r in leases] == [("tg:9", "w-2")]


async def test_the_order_window_holds_a_fresh_update_back(storage, applier, wall):
    intake = await live_intake(storage, applier, wall, order_window=0.05)
    await intake.accept(TELEGRAM, [record("tg:1", 2, "второе")])
    await intake.drain()
    assert applier.applied == []  # younger than the window (the wall did not move)
    # Stored by another replica a moment later but sent earlier: it still goes first.
    await storage.inbox.add(TELEGRAM, [record("tg:1", 1, "первое")], wall())
    assert await intake.scan() == 0  # both younger than the window
    wall.now += 0.06
    await intake.drain()
    await intake.scan()
    await intake.drain()
    assert applier.applied == ["первое", "второе"]


async def test_removal_happens_only_inside_an_update(storage):
    async with storage.transaction() as tx:
        assert await consume_applied(tx) is None  # nothing is being applied


async def test_an_update_nothing_was_recorded_for_is_removed_once_applied(storage, wall):
    seen: list[str] = []

    async def ignore(update: dict[str, Any], _attempts: int) -> None:
        seen.append(update["text"])  # a repeat, a service message: nothing to record

    intake = Intake(storage, "w-1", wall=wall)
    await storage.workers.register("w-1", wall())
    intake.register(TELEGRAM, ignore)
    await intake.accept(TELEGRAM, [record("tg:1", 1, "служебное")])
    await intake.drain()
    assert await inbox(storage) == []
    assert await intake.scan() == 0
    await intake.drain()
    assert seen == ["служебное"]  # applied once, not again and again


async def test_a_held_back_update_is_applied_when_its_window_passes(storage, applier):
    """With replicas behind a balancer, an update waits `order_window` after it was
    received; the process that stored it applies it then by itself (no scan needed)."""
    intake = Intake(storage, "w-1", order_window=0.05)
    await storage.workers.register("w-1", intake.wall())
    intake.register(TELEGRAM, applier)
    await intake.accept(TELEGRAM, [record("tg:1", 1, "первое")])
    await until(lambda: applier.applied == ["первое"], "the update applied", 30)


async def test_a_quiet_chat_keeps_its_lease_for_a_while(storage, applier, wall):
    intake = await live_intake(storage, applier, wall)
    await intake.accept(TELEGRAM, [record("tg:1", 1, "первое")])
    await intake.drain()
    owners = "SELECT owner FROM inbox_leases WHERE partition_key = 'tg:1'"
    wall.now += KEEP_IDLE_LEASE  # exactly as long as it is kept: still held
    await intake._release_idle()
    assert [r["owner"] for r in await storage.db.fetchall(owners)] == ["w-1"]
    wall.now += 0.5
    await intake._release_idle()
    assert await storage.db.fetchall(owners) == []


async def test_without_a_handler_nothing_is_started(storage, wall):
    await storage.inbox.add(TELEGRAM, [record("tg:1", 1, "ждёт")], wall())
    intake = Intake(storage, "w-1", wall=wall)
    assert await intake.scan() == 0
    assert await inbox(storage) == [("t:tg:1:1", "pending")]


async def test_a_long_backlog_of_one_chat_is_applied_in_one_go(storage, applier, wall):
    intake = await live_intake(storage, applier, wall)
    texts = [f"сообщение {n}" for n in range(45)]  # more than one batch of 20
    await intake.accept(TELEGRAM, [record("tg:1", n, text) for n, text in enumerate(texts)])
    await intake.drain()
    assert applier.applied == texts


async def test_the_worker_applies_what_another_process_left_behind(storage, applier, wall):
    intake = await live_intake(storage, applier, wall)
    # Stored by a process that died before applying it (no `accept` here).
    await storage.inbox.add(TELEGRAM, [record("tg:7", 1, "осталось")], wall())
    stop = asyncio.Event()
    worker = asyncio.create_task(intake.run_forever(stop))
    try:
        await until(lambda: applier.applied == ["осталось"], "the update left behind", 30)
    finally:
        stop.set()
        await asyncio.wait_for(worker, 30)


async def test_stopping_waits_for_what_is_applied_then_cancels_it(storage, wall):
    release = asyncio.Event()
    finished: list[str] = []

    async def slow(update: dict[str, Any], _attempts: int) -> None:
        await release.wait()
        finished.append(update["text"])

    intake = Intake(storage, "w-1", wall=wall)
    await storage.workers.register("w-1", wall())
    await intake.stop()  # nothing being applied: nothing to wait for
    intake.register(TELEGRAM, slow)
    await intake.accept(TELEGRAM, [record("tg:1", 1, "долгое")])
    await until(lambda: bool(intake._active), "the update being applied")
    loop = asyncio.get_running_loop()
    loop.call_later(0.05, release.set)
    await intake.stop(grace=30)  # it finishes within the grace period
    assert finished == ["долгое"]
    release.clear()
    await intake.accept(TELEGRAM, [record("tg:2", 1, "зависшее")])
    await until(lambda: bool(intake._active), "the second update being applied")
    await intake.stop(grace=0.05)  # never finishes: cancelled after the grace period
    assert not intake._active
    assert await inbox(storage) == [("t:tg:2:1", "pending")]  # kept for the next start


async def test_what_another_replica_stored_meanwhile_is_taken_on_at_once(storage, wall):
    """Shared (webhook behind a balancer): an update another replica stored while this one
    held the chat is applied right after, not at the next scan."""
    release = asyncio.Event()
    applied: list[str] = []

    async def handler(update: dict[str, Any], _attempts: int) -> None:
        if update["text"] == "первое":
            await release.wait()
        applied.append(update["text"])

    intake = Intake(storage, "w-1", wall=wall)
    intake.shared = True
    await storage.workers.register("w-1", wall())
    intake.register(TELEGRAM, handler)
    await intake.accept(TELEGRAM, [record("tg:1", 1, "первое")])
    await until(lambda: bool(intake._active), "the first update being applied")
    await storage.inbox.add(TELEGRAM, [record("tg:1", 2, "второе")], wall())  # the other one
    release.set()
    await until(lambda: applied == ["первое", "второе"], "both applied without a scan", 30)


class FlakyScan(Intake):
    """The database fails the first look for work."""

    failed = False

    async def scan(self) -> int:
        if not self.failed:
            self.failed = True
            raise ConnectionResetError("the database went away")
        return await super().scan()


async def test_the_worker_outlives_a_failed_look_for_work(storage, applier, wall):
    intake = FlakyScan(storage, "w-1", wall=wall)
    await storage.workers.register("w-1", wall())
    intake.register(TELEGRAM, applier)
    await storage.inbox.add(TELEGRAM, [record("tg:7", 1, "осталось")], wall())
    stop = asyncio.Event()
    worker = asyncio.create_task(intake.run_forever(stop))
    try:
        await until(lambda: applier.applied == ["осталось"], "the update applied", 30)
        assert intake.failed
    finally:
        stop.set()
        await asyncio.wait_for(worker, 30)


# ---------------------------------------------------------------------------- Telegram
# What a lost database looks like: SQLite's own error, or a connection to PostgreSQL reset.
@pytest.mark.parametrize("error", [sqlite3.OperationalError, ConnectionResetError])
async def test_a_batch_that_could_not_be_stored_is_fetched_again(storage, error):
    seen: list[dict[str, Any]] = []

    async def handler(update: dict[str, Any], _attempts: int) -> None:
        seen.append(update)

    async with FakeTelegramAPI() as fake:
        intake = FailingStore(storage, "w-test", failures=1, error=error)
        intake.register(TELEGRAM, handler)
        poller = Poller(fake.base_url, fake.token, intake, ["message"])
        poller.start()
        try:
            first = fake.private_message(CHAT, "первое")["update_id"]
            await until(lambda: intake.failures == 0, "the failed store")
            # The next message is the marker: once it is applied, the first had its chance.
            fake.private_message(CHAT, "второе")
            await until(lambda: "второе" in applied_texts(seen), "the second message applied")
            await intake.drain()
        finally:
            await asyncio.wait_for(poller.stop(), 60)
        offsets = [call.get("offset") for call in fake.calls("getUpdates")]
    assert applied_texts(seen) == ["первое", "второе"]
    # The batch that was not stored was not confirmed by the call after the failure.
    assert offsets[1] is None or offsets[1] <= first, offsets


async def test_the_webhook_answers_503_until_the_update_is_stored(storage):
    seen: list[dict[str, Any]] = []

    async def handler(update: dict[str, Any], _attempts: int) -> None:
        seen.append(update)

    intake = FailingStore(storage, "w-test", failures=1)
    intake.register(TELEGRAM, handler)
    endpoint = WebhookEndpoint(intake, secret="s3cret")
    app = web.Application()
    app.router.add_post("/hook", endpoint.handle)
    update = {
        "update_id": 7001,
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": CHAT, "type": "private"},
            "from": {"id": CHAT, "is_bot": False, "first_name": "Ира"},
            "text": "привет",
        },
    }
    headers = {"X-Telegram-Bot-Api-Secret-Token": "s3cret"}
    async with TestServer(app) as server, aiohttp.ClientSession() as client:
        url = str(server.make_url("/hook"))
        stranger = {"X-Telegram-Bot-Api-Secret-Token": "guess"}
        async with client.post(url, json=update, headers=stranger) as unauthorised:
            assert unauthorised.status == 401  # a stranger's post is not even read
        async with client.post(url, json=update, headers=headers) as refused:
            assert refused.status == 503  # not stored: Telegram sends it again
        await intake.drain()
        assert seen == []
        async with client.post(url, json=update, headers=headers) as stored:
            assert stored.status == 200
        await intake.drain()
    assert [u["update_id"] for u in seen] == [7001]


@pytest.mark.parametrize(
    ("update", "partition"),
    [
        ({"message": {"chat": {"id": 5}, "text": "a"}}, "tg:5"),
        # A topic's messages are in order among themselves, not with the rest of the group.
        (
            {"message": {"chat": {"id": -9}, "message_thread_id": 3, "is_topic_message": True}},
            "tg:-9:3",
        ),
        # A reply thread outside a forum is no topic: the chat's own order.
        ({"message": {"chat": {"id": -9}, "message_thread_id": 3}}, "tg:-9"),
        ({"callback_query": {"from": {"id": 8}, "message": {"chat": {"id": -9}}}}, "tg:-9"),
        ({"callback_query": {"from": {"id": 8}, "inline_message_id": "x"}}, "tg:8"),
        ({"chat_member": {"chat": {"id": -9}}}, "tg:-9"),
        ({"my_chat_member": "not an object"}, "tg:other"),
        ({"poll": {"id": "1"}}, "tg:other"),
    ],
)
def test_updates_are_ordered_per_chat_or_topic(update, partition):
    assert partition_of({"update_id": 1, **update}) == partition


async def test_the_webhook_refuses_what_is_no_update(storage):
    intake = Intake(storage, "w-test")
    endpoint = WebhookEndpoint(intake, secret=None)
    app = web.Application()
    app.router.add_post("/hook", endpoint.handle)
    async with TestServer(app) as server, aiohttp.ClientSession() as client:
        url = str(server.make_url("/hook"))
        for body in (b"{not json", b'{"message": {}}', b'[{"update_id": 1}]'):
            async with client.post(url, data=body) as refused:
                assert refused.status == 400, body  # not 503: Telegram would repeat it


async def test_polling_goes_on_after_telegram_asks_to_wait(storage):
    seen: list[dict[str, Any]] = []

    async def handler(update: dict[str, Any], _attempts: int) -> None:
        seen.append(update)

    async with FakeTelegramAPI() as fake:
        intake = Intake(storage, "w-test")
        intake.register(TELEGRAM, handler)
        fake.fail_next("getUpdates", code=429, retry_after=1)
        poller = Poller(fake.base_url, fake.token, intake, ["message"])
        poller.start()
        try:
            await until(lambda: any(error[1] == 429 for error in fake.errors), "the 429")
            fake.private_message(CHAT, "после паузы")
            await until(lambda: applied_texts(seen) == ["после паузы"], "the message applied")
            assert poller._task is not None and not poller._task.done()
        finally:
            await asyncio.wait_for(poller.stop(), 60)


@pytest.mark.parametrize(
    ("error", "pause", "following"),
    [
        (OSError("unreachable"), 1.0, 2.0),  # the pause doubles after each failed call…
        (RuntimeError("database down"), 4.0, 8.0),  # …a failed store as well…
        (BotAPIError(401, "Unauthorized"), 8.0, 16.0),
        (OSError("unreachable"), 20.0, BACKOFF_MAX),  # …up to BACKOFF_MAX
        (OSError("unreachable"), BACKOFF_MAX, BACKOFF_MAX),
        (BotAPIError(429, "Too Many Requests", retry_after=0.0), 4.0, 4.0),  # its own wait
    ],
)
async def test_the_polling_back_off_grows_to_its_cap(storage, caplog, error, pause, following):
    """The pause after a failed poll, read from the poller (no timing): the poller is
    stopped first, so that it does not actually wait."""
    poller = Poller("http://127.0.0.1:9", "123:test", Intake(storage, "w-test"), ["message"])
    await poller.stop()
    with caplog.at_level(logging.WARNING, logger="bots.telegram.intake"):
        assert await poller._failed(error, pause) == following
    assert len(caplog.records) == 1  # each failure says so once (not quiet)
    poller.quiet = True  # while the start reports the outage itself: no line of its own
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="bots.telegram.intake"):
        assert await poller._failed(error, pause) == following
    assert caplog.records == []


class HeldStore(Intake):
    """Storing the first batch waits until `go` is set (a slow database)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.storing = asyncio.Event()
        self.go = asyncio.Event()

    async def accept(self, source: str, records: Sequence[InboundRecord]) -> None:
        if records and not self.storing.is_set():
            self.storing.set()
            await self.go.wait()
        await super().accept(source, records)


async def test_a_confirmed_batch_confirms_nothing_after_it(storage):
    """The next offset is one past the last stored update: an update that reached
    Telegram while its batch was being stored is fetched by the next call, not skipped."""
    seen: list[dict[str, Any]] = []

    async def handler(update: dict[str, Any], _attempts: int) -> None:
        seen.append(update)

    async with FakeTelegramAPI() as fake:
        intake = HeldStore(storage, "w-test")
        intake.register(TELEGRAM, handler)
        poller = Poller(fake.base_url, fake.token, intake, ["message"])
        poller.start()
        try:
            first = fake.private_message(CHAT, "первое")["update_id"]
            await asyncio.wait_for(intake.storing.wait(), 60)
            # It waits at Telegram for the next call, numbered right after the first.
            second = fake.private_message(CHAT, "второе", push=False)
            second["update_id"] = first + 1
            fake.push_update(second)
            intake.go.set()
            fake.private_message(CHAT, "третье")  # the marker: once applied, so is the second
            await until(lambda: "третье" in applied_texts(seen), "the third message applied")
        finally:
            await asyncio.wait_for(poller.stop(), 60)
    assert applied_texts(seen) == ["первое", "второе", "третье"]


async def test_polling_starts_by_removing_a_webhook_and_says_why_it_waits(storage, caplog):
    """A webhook left from webhook mode is removed before the first getUpdates; a refused
    token is logged as such, with Telegram's words and the pause before the next try."""
    async with FakeTelegramAPI() as fake:
        fake.fail_next("deleteWebhook", code=401, description="Unauthorized")
        poller = Poller(fake.base_url, fake.token, Intake(storage, "w-test"), ["message"])
        with caplog.at_level(logging.WARNING, logger="bots.telegram.intake"):
            poller.start()
            try:
                await until(lambda: fake.calls("getUpdates"), "the first poll")
                task = poller._task
            finally:
                await asyncio.wait_for(poller.stop(), 60)
        assert task is not None and task.done()  # stopped at once, the long poll cut
        assert poller._task is None
        methods = [method.lower() for method, _ in fake.requests]
    assert methods[:3] == ["deletewebhook", "deletewebhook", "getupdates"], methods
    assert [record.getMessage() for record in caplog.records] == [
        "Telegram refused the token (401 Unauthorized), retrying in 1 s"
    ]


async def test_a_failed_poll_is_logged_in_one_short_line(storage, caplog):
    """The first line of the error, at most 200 characters: a proxy's error page or a
    traceback-like text does not flood the log."""
    poller = Poller("http://127.0.0.1:9", "123:test", Intake(storage, "w-test"), ["message"])
    await poller.stop()  # no pause
    error = OSError("x" * 300 + "\nsecond line")
    with caplog.at_level(logging.WARNING, logger="bots.telegram.intake"):
        assert await poller._failed(error, 2.0) == 4.0
    assert [record.getMessage() for record in caplog.records] == [
        f"Telegram unreachable ({'x' * 200}), retrying in 2 s"
    ]


async def test_a_failure_that_could_not_be_recorded_is_logged_and_applied_later(
    storage, applier, wall, caplog, monkeypatch
):
    """The database goes away while a failed update's retry is being recorded: the
    partition's run logs it in one line, and the update, still stored, is applied by a
    later scan."""
    intake = await live_intake(storage, applier, wall)
    applier.fail["сбой"] = [RuntimeError("the handler failed")]
    recorded = InboxRepo.failed

    async def failed_once(repo: InboxRepo, *args: Any) -> None:
        if applier.attempts == [("сбой", 0)]:
            raise ConnectionResetError("the database went away")
        await recorded(repo, *args)

    monkeypatch.setattr(InboxRepo, "failed", failed_once)
    with caplog.at_level(logging.ERROR, logger="core.runtime.intake"):
        await intake.accept(TELEGRAM, [record("tg:9", 1, "сбой")])
        await intake.drain()
    assert [r.getMessage() for r in caplog.records] == ["intake of partition tg:9 failed"]
    assert applier.applied == [] and await inbox(storage) == [("t:tg:9:1", "pending")]
    await intake.scan()
    await intake.drain()
    assert applier.applied == ["сбой"] and await inbox(storage) == []
