"""Shared fixtures for the core tests: one trained model per session, a fresh SQLite file
and a hand-moved clock per test, and small helpers to talk to the engine as a customer."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from config.settings import Settings, load_settings
from core.app import Core, build_core, classifier_for
from core.clock import CLOCK_START, ManualClock, ShiftedClock
from core.knowledge.base import KnowledgeBase
from core.nlu import IntentClassifier
from core.storage import OutboxItem, Storage
from core.storage.database import to_numbered_placeholders
from core.types import TELEGRAM, Inbound, Reply
from tests import postgres_server

REPO = Path(__file__).resolve().parent.parent

# 2026-01-01 09:00 UTC = 12:00 in Moscow, a Thursday: operators are at work.
WORK_TIME = datetime(2026, 1, 1, 9, 0, tzinfo=UTC).timestamp()

# Variables the settings read: the tests never inherit them from the developer's shell.
_SETTING_VARS = {name.upper() for name in Settings.model_fields}
for _name in list(os.environ):
    if _name.upper() in _SETTING_VARS:
        del os.environ[_name]

# One clock everywhere: a core built without a clock of the test's own, and every process a
# test starts (`python -m bots`, `supportbot …`, which inherit this variable), runs on real
# time shifted to start at that weekday noon — never on the machine's hour, day or zone.
os.environ[CLOCK_START] = datetime.fromtimestamp(WORK_TIME, UTC).isoformat()
# The same clock, running: a test that stops and starts processes on one database starts
# each on its `now()`, so that a later process never sees earlier stamps in its future.
TESTS_CLOCK = ShiftedClock(WORK_TIME)


def make_settings(tmp: Path, **overrides: Any) -> Settings:
    """Settings for a test: a database file and data folder under `tmp`, no `.env`."""
    tmp.mkdir(parents=True, exist_ok=True)  # the bot makes DATA_DIR, never its parents
    values: dict[str, Any] = {
        "_env_file": None,
        "database_url": f"sqlite:///{tmp}/support.db",
        "data_dir": tmp / "data",
    }
    values.update(overrides)
    return load_settings(**values)


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return KnowledgeBase.load(REPO / "config" / "knowledge")


@pytest.fixture(scope="session")
def classifier(tmp_path_factory: pytest.TempPathFactory, kb: KnowledgeBase) -> IntentClassifier:
    """The intent model, trained once for the whole session (as build_core would). With
    SUPPORTBOT_TEST_MODEL_DIR set, its cache lives there across sessions (the mutation
    runs start pytest hundreds of times; the model is loaded, not trained, each time)."""
    kept = os.environ.get("SUPPORTBOT_TEST_MODEL_DIR")
    folder = Path(kept) if kept else tmp_path_factory.mktemp("model")
    settings = make_settings(folder)
    return classifier_for(settings, kb)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(WORK_TIME)


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Override in a test module (or with `@pytest.mark.parametrize`) to change settings."""
    return {}


# ---------------------------------------------------------------------------- databases
# Tests that take `settings` (and so `core`, `make_core`) run twice: on a SQLite file and
# on a throw-away PostgreSQL database. With SUPPORTBOT_REQUIRE_POSTGRES=1 (CI) a machine
# without PostgreSQL fails them instead of skipping.
TEMPLATE_DB = "supportbot_tests"


def run_sync(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine to completion on a loop of its own (from sync fixtures/helpers)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def require_postgres() -> None:
    reason = postgres_server.available()
    if reason is None:
        return
    if os.environ.get("SUPPORTBOT_REQUIRE_POSTGRES"):
        pytest.fail(f"PostgreSQL is required here (SUPPORTBOT_REQUIRE_POSTGRES) but {reason}")
    pytest.skip(f"no PostgreSQL here: {reason}")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """One throw-away PostgreSQL server for the session, with a migrated database that
    every test empties first."""
    require_postgres()
    with postgres_server.postgres_server() as url:

        async def prepare() -> None:
            import asyncpg

            admin = await asyncpg.connect(url)
            await admin.execute(f"DROP DATABASE IF EXISTS {TEMPLATE_DB}")
            await admin.execute(f"CREATE DATABASE {TEMPLATE_DB}")
            await admin.close()
            storage = await Storage.open(pg_database_url(url, TEMPLATE_DB))
            await storage.close()

        run_sync(prepare())
        yield url


def pg_database_url(server: str, name: str) -> str:
    return server.rsplit("/", 1)[0] + f"/{name}"


def clean_pg_database(server: str) -> str:
    """The session's test database, emptied (every table truncated, ids restarted)."""
    import asyncpg

    url = pg_database_url(server, TEMPLATE_DB)

    async def truncate() -> None:
        conn = await asyncpg.connect(url)
        try:
            tables = [
                row["tablename"]
                for row in await conn.fetch(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                    "AND tablename <> 'schema_version'"
                )
            ]
            await conn.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
        finally:
            await conn.close()

    run_sync(truncate())
    return url


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "sqlite_only: about the SQLite file itself; not run on PostgreSQL"
    )
    config.addinivalue_line(
        "markers", "postgresql_only: a race only concurrent writers have; not run on SQLite"
    )


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Figures a test measured (`record_property("pull_the_plug", …)`), shown after the run."""
    for report in terminalreporter.getreports("passed") + terminalreporter.getreports("failed"):
        for name, value in getattr(report, "user_properties", []):
            if name == "pull_the_plug":
                terminalreporter.write_line(f"{report.nodeid}: {value}")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "database_url" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker
        backends = ["sqlite", "postgresql"]
        if marker("sqlite_only") is not None:
            backends = ["sqlite"]
        elif marker("postgresql_only") is not None:
            backends = ["postgresql"]
        metafunc.parametrize("database_url", backends, indirect=True)


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/support.db"
        return
    yield clean_pg_database(request.getfixturevalue("pg_server"))


@pytest.fixture
def settings(tmp_path: Path, settings_overrides: dict[str, Any], database_url: str) -> Settings:
    return make_settings(tmp_path, **{"database_url": database_url, **settings_overrides})


@pytest.fixture
def settings_with(tmp_path: Path, database_url: str) -> Callable[..., Settings]:
    """Settings with a test's own overrides, on the test's database (SQLite or PostgreSQL:
    a `[postgresql]` variant must never fall back to a SQLite file)."""

    def build(**overrides: Any) -> Settings:
        return make_settings(tmp_path, **{"database_url": database_url, **overrides})

    return build


def backend_of(request: pytest.FixtureRequest) -> str | None:
    """The database a parametrised test runs on (`sqlite`, `postgresql`), or None."""
    callspec = getattr(request.node, "callspec", None)
    return callspec.params.get("database_url") if callspec is not None else None


@pytest.fixture
def bots_on_the_test_database(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Bots started by `tests.telegram_harness` and `tests.vk_helpers` run on the test's
    database: a module that uses this fixture (`pytestmark =
    pytest.mark.usefixtures(...)`) runs its end-to-end tests on SQLite and on PostgreSQL."""
    from tests import telegram_harness, vk_helpers

    monkeypatch.setattr(telegram_harness, "DEFAULT_DATABASE", database_url)
    monkeypatch.setattr(vk_helpers, "DEFAULT_DATABASE", database_url)
    return database_url


CoreFactory = Callable[..., Awaitable[Core]]


@pytest.fixture
async def make_core(
    request: pytest.FixtureRequest,
    settings: Settings,
    classifier: IntentClassifier,
    clock: ManualClock,
) -> AsyncIterator[CoreFactory]:
    """Builds cores on the test's database file (a restart is a second call); all are
    closed at teardown unless the test closed them already. A core built on another
    database than the test's variant names fails the test."""
    built: list[Core] = []
    closed: set[int] = set()
    backend = backend_of(request)

    async def factory(**kwargs: Any) -> Core:
        core = await build_core(
            kwargs.pop("settings", settings),
            classifier=kwargs.pop("classifier", classifier),
            clock=kwargs.pop("clock", clock),
            **kwargs,
        )
        if backend is not None and core.storage.dialect != backend:
            await core.close()
            pytest.fail(f"the [{backend}] variant built a core on {core.storage.dialect}")
        original_close = core.close

        async def close_once() -> None:
            if id(core) not in closed:
                closed.add(id(core))
                await original_close()

        core.close = close_once  # type: ignore[method-assign]
        built.append(core)
        return core

    yield factory
    for core in built:
        await core.close()


@pytest.fixture
async def core(make_core: CoreFactory) -> Core:
    return await make_core()


# ---------------------------------------------------------------------------- helpers
class Customer:
    """A customer in one channel, talking to a core's engine."""

    def __init__(
        self, core: Core, user_id: str = "1001", channel: str = TELEGRAM, name: str = "Анна"
    ) -> None:
        self.core = core
        self.user_id = user_id
        self.channel = channel
        self.name = name

    def inbound(self, text: str = "", **kwargs: Any) -> Inbound:
        return Inbound(self.channel, self.user_id, text=text, name=self.name, **kwargs)

    async def say(self, text: str = "", **kwargs: Any) -> list[Reply]:
        return await self.core.engine.handle(self.inbound(text, **kwargs))

    async def press(self, payload: str) -> list[Reply]:
        return await self.core.engine.handle(self.inbound(payload=payload))

    async def start(self) -> list[Reply]:
        return await self.core.engine.welcome(self.inbound())

    async def conversation(self):
        conv = await self.core.storage.conversations.find(self.inbound().customer)
        assert conv is not None
        return conv

    async def open_ticket(self):
        conv = await self.conversation()
        return await self.core.storage.tickets.open_for(conv.id)

    async def log(self):
        conv = await self.conversation()
        return await self.core.storage.messages.for_conversation(conv.id, 1000)


@dataclass
class Collector:
    """A delivery sender that keeps what it was given; `fail` decides per item whether
    to raise instead (an exception instance or None)."""

    items: list[OutboxItem] = field(default_factory=list)
    fail: Callable[[OutboxItem], BaseException | None] | None = None
    calls: int = 0

    async def send(self, item: OutboxItem) -> None:
        self.calls += 1
        if self.fail is not None:
            error = self.fail(item)
            if error is not None:
                raise error
        self.items.append(item)

    def texts(self) -> list[str]:
        out = []
        for item in self.items:
            if "reply" in item.payload:
                out.append(item.payload["reply"]["text"])
            else:
                out.append(str(item.payload.get("text", "")))
        return out

    def kinds(self) -> list[str]:
        return [item.kind for item in self.items]


def flat_ids(reply: Reply) -> list[str]:
    return [button.id for button in reply.flat_buttons]


def titles(reply: Reply) -> list[str]:
    return [button.title for button in reply.flat_buttons]


def all_text(replies: list[Reply]) -> str:
    return "\n".join(reply.text for reply in replies)


def db_rows(settings: Settings, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    """Read the test's database over a connection of its own — plain sqlite3, or asyncpg
    for PostgreSQL — (an independent check of what the bot wrote)."""
    url = settings.database_url
    if url.startswith("sqlite://"):
        conn = sqlite3.connect(url.removeprefix("sqlite://")[1:])
        conn.row_factory = sqlite3.Row
        try:
            return [dict(row) for row in conn.execute(sql, params)]
        finally:
            conn.close()

    async def fetch() -> list[dict[str, Any]]:
        import asyncpg

        conn = await asyncpg.connect(url)
        try:
            return [dict(r) for r in await conn.fetch(to_numbered_placeholders(sql), *params)]
        finally:
            await conn.close()

    return list(run_sync(fetch()))


async def outbox_items(core: Core, status: str | None = None) -> list[dict[str, Any]]:
    sql = "SELECT * FROM outbox"
    params: tuple[Any, ...] = ()
    if status is not None:
        sql += " WHERE status = ?"
        params = (status,)
    return await core.storage.db.fetchall(sql + " ORDER BY id", params)


async def bot_answers_delivered(core: Core) -> None:
    """The bot's own answers to customers went out and are gone from the outbox (for tests
    about what comes after them: operators' replies, notices)."""
    await core.storage.db.execute(
        "DELETE FROM outbox WHERE channel <> 'operators' AND status = 'pending'"
    )
