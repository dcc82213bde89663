"""The database connection behind every repository.

Repositories write portable SQL with `?` placeholders; each `Database` runs it on its own
driver:

- `SQLiteDatabase`, the embedded default. The statements of a turn take microseconds on a
  local WAL file, far less than a hop to a database thread, so they run on the event
  loop's own thread through the standard `sqlite3` module: a transaction is one
  uninterrupted stretch of work (`BEGIN IMMEDIATE` … `COMMIT`) that no other coroutine can
  interleave with, and nothing waits on a lock across an event-loop turn. Another process
  holding the write lock (a console chat, `supportbot train`) is waited for
  asynchronously. Long reads — KPI reports, `/stats` — go to a separate read-only
  aiosqlite connection (`reader()`), off the event loop.
- `PostgresDatabase` (asyncpg, optional extra `postgres`) serves the same SQL to several
  replicas; row locks and conditional updates serialise what they share.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Protocol

Row = dict[str, Any]
Params = Sequence[Any]

BUSY_DEADLINE = 30.0  # seconds another SQLite process may hold the write lock
MIGRATION_LOCK = 7_381_204_551  # PostgreSQL advisory lock key: one migrator at a time


class Executor(Protocol):
    """What a repository needs: run a statement, read rows."""

    dialect: str

    async def execute(self, sql: str, params: Params = ()) -> int: ...
    async def fetchone(self, sql: str, params: Params = ()) -> Row | None: ...
    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]: ...


class Database(Executor, Protocol):
    def transaction(self) -> Any:
        """`async with db.transaction() as tx:` — all or nothing."""
        ...

    def reader(self) -> Any:
        """`async with db.reader() as ex:` — long read-only queries off the event loop."""
        ...

    def migration_lock(self) -> Any:
        """`async with db.migration_lock() as ex:` — one migrating process at a time."""
        ...

    async def close(self) -> None: ...


# ---------------------------------------------------------------------------- SQLite
class _SQLiteExecutor:
    """Statements on a plain `sqlite3` connection, run where they are called."""

    dialect = "sqlite"

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Params = ()) -> int:
        return self._conn.execute(sql, tuple(params)).rowcount

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        row = self._conn.execute(sql, tuple(params)).fetchone()
        return dict(row) if row is not None else None

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        return [dict(row) for row in self._conn.execute(sql, tuple(params)).fetchall()]


class _AioSQLiteExecutor:
    """The same statements on an aiosqlite connection (its own thread)."""

    dialect = "sqlite"

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Params = ()) -> int:
        cursor = await self._conn.execute(sql, tuple(params))
        count = cursor.rowcount
        await cursor.close()
        return int(count)

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        rows = await self._conn.execute_fetchall(sql, tuple(params))
        return dict(rows[0]) if rows else None

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        return [dict(row) for row in await self._conn.execute_fetchall(sql, tuple(params))]


def _is_busy(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc).lower()


class SQLiteDatabase:
    """One WAL-mode connection used from the event loop's thread (see the module doc).

    Commits only append to the write-ahead log; copying it back into the database file
    (a checkpoint, which syncs to disk) is done by a thread of its own on its own
    connection (`_checkpoints`), never by a commit on the event loop.
    """

    dialect = "sqlite"
    CHECKPOINT_EVERY = 1.0  # seconds between checkpoints of the write-ahead log

    def __init__(self, conn: sqlite3.Connection, path: str) -> None:
        self._conn = conn
        self.path = path
        self._executor = _SQLiteExecutor(conn)
        # Held for a whole transaction. A transaction whose body never awaits anything
        # else (the rule) finishes before any other coroutine runs, so this is never
        # waited on; it only guards a body that does await.
        self._lock = asyncio.Lock()
        self._closing = threading.Event()
        self._checkpointer: threading.Thread | None = None
        if path != ":memory:":
            self._checkpointer = threading.Thread(
                target=self._checkpoints, name="sqlite-checkpoint", daemon=True
            )
            self._checkpointer.start()

    def _checkpoints(self) -> None:
        """Copy the write-ahead log into the database file now and then, off the loop."""
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error:
            return
        try:
            conn.execute("PRAGMA busy_timeout=1000")
            while not self._closing.wait(self.CHECKPOINT_EVERY):
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
                except sqlite3.Error:
                    continue  # busy or gone: the next round tries again
        finally:
            conn.close()

    @classmethod
    async def open(cls, path: str) -> SQLiteDatabase:
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        # A short busy timeout: the event loop must not block on another process; longer
        # waits for its write lock are done asynchronously (`_retry_busy`).
        conn.execute("PRAGMA busy_timeout=20")
        await _retry_busy(lambda: conn.execute("PRAGMA journal_mode=WAL"))
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA wal_autocheckpoint=0")  # checkpoints run in a thread instead
        return cls(conn, path)

    async def execute(self, sql: str, params: Params = ()) -> int:
        async with self._lock:
            return await _retry_busy(lambda: self._conn.execute(sql, tuple(params)).rowcount)

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        async with self._lock:
            row = await _retry_busy(lambda: self._conn.execute(sql, tuple(params)).fetchone())
            return dict(row) if row is not None else None

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        async with self._lock:
            rows = await _retry_busy(lambda: self._conn.execute(sql, tuple(params)).fetchall())
            return [dict(row) for row in rows]

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Executor]:
        async with self._lock:
            await _retry_busy(lambda: self._conn.execute("BEGIN IMMEDIATE"))
            try:
                yield self._executor
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            else:
                self._conn.execute("COMMIT")

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[Executor]:
        """A read-only aiosqlite connection of its own: long queries run in its thread."""
        if self.path == ":memory:":  # no second connection can see it: read here
            yield self
            return
        import aiosqlite  # on first use: only long reads need it, a turn never does

        conn = await aiosqlite.connect(f"file:{self.path}?mode=ro", uri=True)
        conn.row_factory = aiosqlite.Row
        try:
            yield _AioSQLiteExecutor(conn)
        finally:
            await conn.close()

    @asynccontextmanager
    async def migration_lock(self) -> AsyncIterator[Executor]:
        """Migrations run inside one `BEGIN IMMEDIATE`: a second process waits for it."""
        async with self.transaction() as tx:
            yield tx

    async def close(self) -> None:
        self._closing.set()
        if self._checkpointer is not None:
            await asyncio.to_thread(self._checkpointer.join, 5.0)
        self._conn.close()


async def _retry_busy(work: Any, deadline: float = BUSY_DEADLINE) -> Any:
    """Run `work()`; while another process holds SQLite's write lock, wait asynchronously."""
    give_up = time.monotonic() + deadline
    delay = 0.005
    while True:
        try:
            return work()
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc) or time.monotonic() > give_up:
                raise
        await asyncio.sleep(delay)
        delay = min(0.2, delay * 2)


# ---------------------------------------------------------------------------- PostgreSQL
_QMARK = re.compile(r"\?")


def to_numbered_placeholders(sql: str) -> str:
    """`a = ? AND b = ?` → `a = $1 AND b = $2` (our SQL has no `?` inside literals)."""
    counter = iter(range(1, 10_000))
    return _QMARK.sub(lambda _m: f"${next(counter)}", sql)


class _PostgresExecutor:
    dialect = "postgresql"

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Params = ()) -> int:
        status = await self._conn.execute(to_numbered_placeholders(sql), *params)
        tail = str(status).rsplit(" ", 1)[-1]
        return int(tail) if tail.isdigit() else 0

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        row = await self._conn.fetchrow(to_numbered_placeholders(sql), *params)
        return dict(row) if row is not None else None

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        rows = await self._conn.fetch(to_numbered_placeholders(sql), *params)
        return [dict(row) for row in rows]


class PostgresDatabase:
    """A connection pool for several replicas; needs the `postgres` extra (asyncpg)."""

    dialect = "postgresql"

    def __init__(self, pool: Any) -> None:
        self._pool = pool

    @classmethod
    async def open(cls, dsn: str) -> PostgresDatabase:
        try:
            import asyncpg  # an optional extra, needed only for a PostgreSQL URL
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise RuntimeError(
                "DATABASE_URL points at PostgreSQL: install the extra with "
                "`pip install -e .[postgres]`"
            ) from exc
        pool = await asyncpg.create_pool(
            dsn.replace("postgres://", "postgresql://", 1),
            min_size=2,
            max_size=20,
            reset=_nothing_to_reset,
        )
        return cls(pool)

    async def execute(self, sql: str, params: Params = ()) -> int:
        async with self._pool.acquire() as conn:
            return await _PostgresExecutor(conn).execute(sql, params)

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        async with self._pool.acquire() as conn:
            return await _PostgresExecutor(conn).fetchone(sql, params)

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        async with self._pool.acquire() as conn:
            return await _PostgresExecutor(conn).fetchall(sql, params)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Executor]:
        async with self._pool.acquire() as conn, conn.transaction():
            yield _PostgresExecutor(conn)

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[Executor]:
        async with self._pool.acquire() as conn:
            yield _PostgresExecutor(conn)

    @asynccontextmanager
    async def migration_lock(self) -> AsyncIterator[Executor]:
        """A session advisory lock: replicas starting together migrate one at a time."""
        async with self._pool.acquire() as conn:
            await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
            try:
                yield _PostgresExecutor(conn)
            finally:
                try:
                    await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
                except BaseException as exc:
                    # Not unlocked: the session ends, and its lock with it — the pool
                    # resets nothing (`_nothing_to_reset`), so it must never go back there.
                    conn.terminate()
                    if not isinstance(exc, Exception):
                        raise

    async def close(self) -> None:
        await self._pool.close()


async def _nothing_to_reset(conn: Any) -> None:
    """asyncpg's pool runs a reset query (advisory locks, cursors, LISTEN, settings) on
    every connection given back to it: a round trip each time. Ours leave nothing of the
    kind behind — transactions end before release (asyncpg rolls back one left open
    anyway), the outbox's advisory locks are transaction locks, and the migrations'
    session lock is released explicitly (or its connection closed) — so there is nothing
    to reset."""


async def open_database(url: str) -> SQLiteDatabase | PostgresDatabase:
    """`sqlite:///relative/path.db`, `sqlite:////abs/path.db`, `sqlite://:memory:` or a
    `postgresql://` DSN."""
    if url.startswith("sqlite://"):
        return await SQLiteDatabase.open(sqlite_path(url))
    if url.startswith(("postgresql://", "postgres://")):
        return await PostgresDatabase.open(url)
    raise ValueError(f"unsupported DATABASE_URL: {url.split(':', 1)[0]}")


def sqlite_path(url: str) -> str:
    """The file of a `sqlite://` URL (`:memory:` when none is named)."""
    path = url.removeprefix("sqlite://")
    path = path.removeprefix("/") if not path.startswith("//") else path[1:]
    return path or ":memory:"


def is_unique_violation(exc: BaseException) -> bool:
    """True when a statement broke a unique constraint (SQLite or PostgreSQL)."""
    if isinstance(exc, sqlite3.IntegrityError):
        return "UNIQUE" in str(exc).upper()
    return type(exc).__name__ == "UniqueViolationError"
